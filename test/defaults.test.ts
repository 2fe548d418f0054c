import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import { EventBus, L0, L0Error } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { activity, advance, connectionReset, failureOf, httpError, noDelay, withRetries } from "./support.js"

/** A Random whose every draw is `value`: 0 gives the shortest jittered delays, 1 the longest. */
const always = (value: number): Random.Random => ({ nextDoubleUnsafe: () => value, nextIntUnsafe: () => 0 })

/**
 * Runs a source that never answers with the default options, moving the
 * TestClock half a second at a time (every default delay is a multiple of
 * it), and returns the requests made and how long the run took.
 */
const neverAnswering = (draw: number) =>
  Effect.gen(function*() {
    const source = TestSource.make([TestSource.stall])
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.forkChild(
      L0.run({ stream: source.stream }).pipe(
        Effect.exit,
        Effect.flatMap((exit) => Effect.map(Clock.currentTimeMillis, (end) => ({ exit, took: end - start })))
      )
    )
    for (let step = 0; step < 400 && fiber.pollUnsafe() === undefined; step++) yield* advance("500 millis")
    const { exit, took } = yield* Fiber.join(fiber)
    return { error: failureOf(exit), requests: source.calls.length, took }
  }).pipe(Effect.provideService(Random.Random, always(draw)))

describe("the defaults", () => {
  it.effect("a source that never answers gets 11 requests and fails after 92.5 s to 130 s", () =>
    Effect.gen(function*() {
      // 11 first-token timeouts of 5 s, and 10 fixed-jitter backoffs with t = 1, 2, 4, 8, then 10 s, between t/2 and t
      const longest = yield* neverAnswering(1)
      expect(longest.requests).toBe(11)
      expect(longest.took).toBe(11 * 5_000 + 75_000)
      expect(longest.error).toBeInstanceOf(L0Error.ExhaustedError)
      expect(longest.error._tag === "ExhaustedError" && longest.error.attempts).toHaveLength(11)
      const shortest = yield* neverAnswering(0)
      expect(shortest.requests).toBe(11)
      expect(shortest.took).toBe(11 * 5_000 + 37_500)
    }))
})

/** A run that answers `text` once `delay` has passed. */
const answering = (text: string, delay: Duration.Input = "1 second"): L0.L0Options => ({
  stream: TestSource.make([TestSource.sleep(delay), text]).stream,
  timeout: { initialToken: "1 minute" }
})

describe("the specification's defaults", () => {
  it.effect("L0.parallel runs at most 5 at once by default", () =>
    Effect.gen(function*() {
      const { counter, track } = activity()
      const runs = Array.from({ length: 12 }, (_, i) => {
        const options = answering(`answer ${i}`)
        return { ...options, stream: track(options.stream) }
      })
      const fiber = yield* Effect.forkChild(L0.parallel(runs))
      yield* advance("1 second")
      expect(counter.started).toBe(10)
      yield* advance("1 second")
      yield* advance("1 second")
      const results = yield* Fiber.join(fiber)
      expect(results.map((result) => result.text)).toEqual(runs.map((_, i) => `answer ${i}`))
      expect(counter.peak).toBe(5)
      const unbounded = yield* Effect.forkChild(
        L0.parallel(runs.map((run) => ({ ...run })), { concurrency: "unbounded" })
      )
      yield* advance("1 second")
      yield* Fiber.join(unbounded)
      expect(counter.peak).toBe(12)
    }))

  it.effect("L0.consensus decides by majority when no strategy is given", () =>
    Effect.gen(function*() {
      const agreed = yield* L0.consensus([answering("Paris"), answering("Lyon"), answering("paris ")]).pipe(
        (effect) => withRetries(effect)
      )
      expect(agreed.value).toBe("Paris")
      expect(agreed.agreement).toBeCloseTo(2 / 3)
      const split = yield* withRetries(Effect.flip(L0.consensus([answering("a"), answering("b"), answering("c")])))
      expect(split._tag).toBe("ContentError")
    }))

  it.effect("the most common answer without a majority: strategy majority with tieBreak first", () =>
    Effect.gen(function*() {
      const runs = ["a", "a", "b", "c", "d"].map((text) => answering(text))
      const strict = yield* withRetries(Effect.flip(L0.consensus(runs)))
      expect(strict._tag).toBe("ContentError")
      const plurality = yield* withRetries(L0.consensus(runs, { tieBreak: "first" }))
      expect([plurality.value, plurality.agreement]).toEqual(["a", 2 / 5])
    }))

  it.effect("best without score takes the first to finish; score by index gives the first in order", () =>
    Effect.gen(function*() {
      const runs = [answering("slow", "3 seconds"), answering("fast", "1 second")]
      const first = yield* withRetries(L0.consensus(runs, { strategy: "best" }))
      expect(first.value).toBe("fast")
      const inOrder = yield* withRetries(L0.consensus(runs, { strategy: "best", score: (output) => -output.index }), 3)
      expect(inOrder.value).toBe("slow")
    }))

  it.effect("maxRetries: Infinity retries network errors without end, while model errors still use maxAttempts", () =>
    Effect.gen(function*() {
      const resets = Array.from({ length: 30 }, () => ["x", TestSource.fail(connectionReset())])
      const flaky = TestSource.make(...resets, ["done"])
      const text = yield* L0.text({ stream: flaky.stream, retry: { ...noDelay, maxRetries: Infinity } })
      expect([text, flaky.calls.length]).toEqual(["done", 31])
      const broken = TestSource.make([TestSource.fail(new Error("the model said nonsense"))])
      const error = yield* Effect.flip(L0.text({ stream: broken.stream, retry: { ...noDelay, maxRetries: Infinity } }))
      expect(error._tag).toBe("ExhaustedError")
      expect(broken.calls.length).toBe(3)
      for (const maxRetries of [-1, 1.5, Number.NaN, -Infinity]) {
        const invalid = yield* Effect.flip(L0.text({ stream: flaky.stream, retry: { maxRetries } }))
        expect(invalid).toMatchObject({ _tag: "FatalError", reason: "options" })
        expect(invalid.message).toContain("retry.maxRetries")
      }
    }))

  it.effect("each category steps its own backoff: a model error after three network errors waits the base delay", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        [TestSource.fail(connectionReset())],
        [TestSource.fail(connectionReset())],
        [TestSource.fail(connectionReset())],
        [TestSource.fail(new Error("the model said nonsense"))],
        [TestSource.fail(httpError(503))],
        ["ok"]
      )
      const fiber = yield* Effect.forkChild(
        Effect.gen(function*() {
          const text = yield* L0.text({
            stream: source.stream,
            retry: { backoff: "exponential", baseDelay: "1 second" }
          })
          const events = yield* (yield* EventBus.Collected).events
          return { text, delays: events.filter((event) => event.type === "retry_attempt").map((e) => e.data.delayMs) }
        }).pipe(Effect.provide(EventBus.layerCollect))
      )
      for (let step = 0; step < 20 && fiber.pollUnsafe() === undefined; step++) yield* advance("1 second")
      const { delays, text } = yield* Fiber.join(fiber)
      expect(text).toBe("ok")
      // network 1, 2, 4 s; then the first model retry and the first transient retry each start again at 1 s
      expect(delays).toEqual([1000, 2000, 4000, 1000, 1000])
    }))
})

const chatChunk = (content: string, finish: string | null = null) => ({
  object: "chat.completion.chunk",
  choices: [{ index: 0, delta: { content }, finish_reason: finish }]
})

describe("adapter aliases", () => {
  const adapterOf = (adapter: string, chunks: ReadonlyArray<unknown>) =>
    Effect.gen(function*() {
      const text = yield* L0.text({ stream: TestSource.make(chunks).stream, adapter })
      const events = yield* (yield* EventBus.Collected).events
      return { text, adapter: events.find((event) => event.type === "stream_complete")?.data.adapter }
    }).pipe(Effect.provide(EventBus.layerCollect))

  it.effect("\"openai\" is OpenAI Chat Completions; \"ai-sdk\" and \"vercel\" are the Vercel AI SDK parts", () =>
    Effect.gen(function*() {
      const chat = [chatChunk("Hel"), chatChunk("lo", "stop")]
      expect(yield* adapterOf("openai", chat)).toEqual({ text: "Hello", adapter: "openai-chat" })
      const parts = [{ type: "text-delta", id: "t", text: "Hi" }, { type: "finish", finishReason: "stop" }]
      expect(yield* adapterOf("ai-sdk", parts)).toEqual({ text: "Hi", adapter: "vercel-ai" })
      expect(yield* adapterOf("vercel", parts)).toEqual({ text: "Hi", adapter: "vercel-ai" })
      const anthropic = [
        { type: "message_start", message: { usage: { input_tokens: 1 } } },
        { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Yo" } },
        { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 1 } }
      ]
      expect(yield* adapterOf("anthropic", anthropic)).toEqual({ text: "Yo", adapter: "anthropic" })
    }))

  it.effect("an alias decodes with its adapter, not by detection: \"openai\" on Anthropic events fails", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(L0.text({
        stream: TestSource.make([{ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Yo" } }])
          .stream,
        adapter: "openai",
        retry: { maxRetries: 0 }
      }))
      expect(error._tag).toBe("ExhaustedError")
      const unknown = yield* Effect.flip(L0.text({ stream: TestSource.make(["x"]).stream, adapter: "openia" }))
      expect(unknown).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(unknown.message).toContain(`or an alias ("openai", "ai-sdk", "vercel")`)
    }))
})
