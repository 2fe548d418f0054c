import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { Adapter, L0, L0Error, L0Event, L0State } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset, failureOf, httpError, noDelay } from "./support.js"

const tokens = (events: ReadonlyArray<L0Event.L0Event>) => events.filter(L0Event.isToken).map((event) => event.value)

const completeOf = (events: ReadonlyArray<L0Event.L0Event>) => {
  const last = events.at(-1)
  if (last?._tag !== "Complete") throw new Error(`expected Complete last, got ${last?._tag}`)
  return last
}

describe("L0.stream happy path", () => {
  it.effect("emits tokens in order and a Complete carrying the state", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(10_000)
      const source = TestSource.make(["Hel", "lo", TestSource.sleep("2 seconds"), " world"])
      const fiber = yield* Effect.forkChild(Stream.runCollect(L0.stream({ stream: source.stream })))
      yield* advance("2 seconds")
      const events = yield* Fiber.join(fiber)
      expect(tokens(events)).toEqual(["Hel", "lo", " world"])
      const { state, usage } = completeOf(events)
      expect(usage).toBeUndefined()
      expect(state).toEqual({
        content: "Hello world",
        tokenCount: 3,
        firstTokenAt: 10_000,
        lastTokenAt: 12_000,
        attempt: 1,
        totalAttempts: 1,
        modelRetryCount: 0,
        networkRetryCount: 0,
        fallbackIndex: 0,
        checkpoint: "",
        finishReason: undefined,
        toolCalls: [],
        violations: [],
        lastGoodContent: "Hello world",
        completed: true,
        aborted: false
      })
      expect(source.calls).toHaveLength(1)
      expect(source.calls[0]!.context).toMatchObject({ attempt: 1, fallbackIndex: 0, checkpoint: "" })
      expect(source.calls[0]!.finished).toBe(true)
    }))

  it.effect("L0.run returns text, state and usage; L0.text the text", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", "b", "c"])
      const result = yield* L0.run({ stream: source.stream })
      expect(result.text).toBe("abc")
      expect(result.state.tokenCount).toBe(3)
      expect(yield* L0.text({ stream: source.stream })).toBe("abc")
    }))

  it.effect("accepts every source shape: AsyncIterable, Promise, Stream, Effect of either", () =>
    Effect.gen(function*() {
      async function* generate() {
        yield "a"
        yield "b"
      }
      const shapes: ReadonlyArray<L0.SourceFactory> = [
        () => generate(),
        () => Promise.resolve(generate()),
        () => Stream.make("a", "b"),
        () => Effect.succeed(Stream.make("a", "b")),
        () => Effect.succeed(generate())
      ]
      for (const stream of shapes) {
        expect(yield* L0.text({ stream })).toBe("ab")
      }
    }))

  it.effect("passes Data and ToolCall events through and records tool calls", () =>
    Effect.gen(function*() {
      const call = L0Event.toolCall("call_1", "lookup", "{\"q\":1}")
      const source = TestSource.make([L0Event.data({ n: 1 }), "x", call])
      const events = yield* Stream.runCollect(L0.stream({ stream: source.stream }))
      expect(events.slice(0, 3)).toEqual([L0Event.data({ n: 1 }), L0Event.token("x"), call])
      expect(completeOf(events).state.toolCalls).toEqual([call])
    }))

  it.effect("an object tagged like an event of another kind is a protocol error, not lost text", () =>
    Effect.gen(function*() {
      const source = TestSource.make([L0Event.token("a"), { _tag: "Message", role: "assistant", content: "hi" }])
      const error = yield* Effect.flip(L0.text({ stream: source.stream }))
      expect(error).toMatchObject({ _tag: "ExhaustedError", category: "fatal" })
      const cause = error._tag === "ExhaustedError" ? error.attempts[0]?.error : undefined
      expect(cause).toMatchObject({ _tag: "FatalError", reason: "protocol" })
      expect(cause?.message).toContain("\"events\" adapter")
      expect(cause?.message).not.toContain("hi")
    }))

  it.effect("an L0 stream can be the source of another: its Complete is dropped and its Reset applied", () =>
    Effect.gen(function*() {
      const inner = TestSource.make(["a", "b", TestSource.fail(connectionReset())], ["c"])
      const outer = L0.stream({
        stream: () => L0.stream({ stream: inner.stream, retry: noDelay })
      })
      const events = yield* Stream.runCollect(outer)
      expect(events.map((e) => e._tag)).toEqual(["Token", "Token", "Reset", "Token", "Complete"])
      expect(completeOf(events).state.content).toBe("c")
    }))
})

describe("resets", () => {
  it.effect("a failure after tokens is followed by Reset { kept: 0 } before the next attempt's first token", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", "b", "c", TestSource.fail(connectionReset())], ["x", "y"])
      const events = yield* Stream.runCollect(L0.stream({ stream: source.stream, retry: noDelay }))
      expect(events.map((e) => e._tag === "Token" ? e.value : e._tag)).toEqual([
        "a",
        "b",
        "c",
        "Reset",
        "x",
        "y",
        "Complete"
      ])
      expect(events[3]).toEqual(L0Event.reset(0))
      const folded = events.reduce(L0Event.applyTo, "")
      expect(folded).toBe("xy")
      expect(
        yield* L0.text({
          stream: TestSource.make(["a", TestSource.fail(connectionReset())], ["xy"]).stream,
          retry: noDelay
        })
      )
        .toBe("xy")
    }))

  it.effect("no Reset when the failed attempt emitted nothing", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.fail(connectionReset())], ["x"])
      const events = yield* Stream.runCollect(L0.stream({ stream: source.stream, retry: noDelay }))
      expect(events.map((e) => e._tag)).toEqual(["Token", "Complete"])
    }))

  it.effect("a Reset still comes before Complete when the successful attempt emits no token", () =>
    Effect.gen(function*() {
      // an empty string is a chunk without a token; a source without any chunk fails (EndOfStream.test.ts)
      const source = TestSource.make(["partial", TestSource.fail(connectionReset())], [""])
      const events = yield* Stream.runCollect(L0.stream({ stream: source.stream, retry: noDelay, allowEmpty: true }))
      expect(events.map((e) => e._tag)).toEqual(["Token", "Reset", "Complete"])
      expect(completeOf(events).state.content).toBe("")
    }))

  it.effect("several failed attempts in a row give one Reset per attempt that emitted", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        ["a", TestSource.fail(connectionReset())],
        [TestSource.fail(connectionReset())],
        ["b", TestSource.fail(httpError(503))],
        ["ok"]
      )
      const events = yield* Stream.runCollect(L0.stream({ stream: source.stream, retry: noDelay }))
      expect(events.map((e) => e._tag === "Token" ? e.value : e._tag)).toEqual([
        "a",
        "Reset",
        "b",
        "Reset",
        "ok",
        "Complete"
      ])
      expect(completeOf(events).state).toMatchObject({ content: "ok", attempt: 4, networkRetryCount: 3 })
    }))
})

describe("continuation", () => {
  it.effect("passes the text so far as checkpoint and appends the next attempt as is", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        ["The quick ", "brown fox", TestSource.fail(connectionReset())],
        [" jumps", " over"]
      )
      const events = yield* Stream.runCollect(
        L0.stream({ stream: source.stream, retry: noDelay, continuation: true })
      )
      expect(source.calls[1]!.context.checkpoint).toBe("The quick brown fox")
      expect(events.find((e) => e._tag === "Reset")).toEqual(L0Event.reset("The quick brown fox".length))
      expect(events.reduce(L0Event.applyTo, "")).toBe("The quick brown fox jumps over")
      const { state } = completeOf(events)
      expect(state.content).toBe("The quick brown fox jumps over")
      expect(state.checkpoint).toBe("The quick brown fox")
      expect(tokens(events)).toEqual(["The quick ", "brown fox", " jumps", " over"])
    }))

  it.effect("never removes a head that repeats the checkpoint's tail unless asked to", () =>
    Effect.gen(function*() {
      const repeated = TestSource.make(["Hello world", TestSource.fail(connectionReset())], ["world"])
      expect(yield* L0.text({ stream: repeated.stream, retry: noDelay, continuation: true })).toBe("Hello worldworld")
      const deduplicated = TestSource.make(["Hello world", TestSource.fail(connectionReset())], ["world"])
      expect(yield* L0.text({ stream: deduplicated.stream, retry: noDelay, continuation: { deduplicate: true } }))
        .toBe("Hello world")
    }))

  it.effect("accumulates the checkpoint over several failures and clears it after a content error", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        ["one ", TestSource.fail(connectionReset())],
        ["two ", TestSource.fail(connectionReset())],
        ["three"]
      )
      expect(yield* L0.text({ stream: source.stream, retry: noDelay, continuation: true })).toBe("one two three")
      expect(source.calls.map((call) => call.context.checkpoint)).toEqual(["", "one ", "one two "])

      const content = TestSource.make(["bad ", TestSource.fail(new L0Error.ContentError({ message: "nope" }))], [
        "good"
      ])
      const events = yield* Stream.runCollect(L0.stream({ stream: content.stream, retry: noDelay, continuation: true }))
      expect(content.calls[1]!.context.checkpoint).toBe("")
      expect(events.find((e) => e._tag === "Reset")).toEqual(L0Event.reset(0))
      expect(completeOf(events).state.content).toBe("good")
    }))
})

describe("fallbacks", () => {
  it.effect("a fatal error moves to the next source at once; counters and fallbackIndex are reported", () =>
    Effect.gen(function*() {
      const primary = TestSource.make(["x", TestSource.fail(httpError(401))])
      const secondary = TestSource.make(["fine"])
      const events = yield* Stream.runCollect(
        L0.stream({ stream: primary.stream, fallbacks: [secondary.stream], retry: noDelay })
      )
      expect(primary.calls).toHaveLength(1)
      expect(secondary.calls[0]!.context).toMatchObject({ attempt: 1, fallbackIndex: 1 })
      expect(secondary.calls[0]!.context.previousError?._tag).toBe("FatalError")
      expect(events.map((e) => e._tag)).toEqual(["Token", "Reset", "Token", "Complete"])
      expect(completeOf(events).state).toMatchObject({ content: "fine", fallbackIndex: 1, attempt: 1 })
    }))

  it.effect("an exhausted source moves to the next; each fallback has a fresh budget", () =>
    Effect.gen(function*() {
      const badOutput = TestSource.fail(new Error("the model produced garbage"))
      const primary = TestSource.make([badOutput])
      const secondary = TestSource.make([badOutput], ["ok"])
      const result = yield* L0.run({
        stream: primary.stream,
        fallbacks: [secondary.stream],
        retry: { ...noDelay, maxAttempts: 2 }
      })
      expect(primary.calls).toHaveLength(2)
      expect(secondary.calls).toHaveLength(2)
      expect(result.state).toMatchObject({ content: "ok", fallbackIndex: 1, attempt: 2, modelRetryCount: 2 })
    }))

  it.effect("when every source fails, ExhaustedError lists each attempt with its source, error and delay", () =>
    Effect.gen(function*() {
      const primary = TestSource.make([TestSource.fail(httpError(503))], [TestSource.fail(httpError(400))])
      const secondary = TestSource.make([TestSource.fail(connectionReset())])
      const fiber = yield* Effect.forkChild(Effect.exit(L0.text({
        stream: primary.stream,
        fallbacks: [secondary.stream],
        retry: { backoff: "fixed", baseDelay: "1 second", maxRetries: 1 }
      })))
      yield* advance("1 second")
      yield* advance("1 second")
      const exhausted = failureOf(yield* Fiber.join(fiber))
      expect(exhausted).toBeInstanceOf(L0Error.ExhaustedError)
      const attempts = (exhausted as L0Error.ExhaustedError).attempts
      expect(attempts.map((a) => [a.source, a.attempt, a.error._tag, a.error.status, Duration.toMillis(a.delay)]))
        .toEqual([
          [0, 1, "TransientError", 503, 1000],
          [0, 2, "FatalError", 400, 0],
          [1, 1, "NetworkError", undefined, 1000],
          [1, 2, "NetworkError", undefined, 0]
        ])
      expect((exhausted as L0Error.ExhaustedError).category).toBe("network")
      expect((exhausted as L0Error.ExhaustedError).message).toContain("All 2 source(s) failed after 4 attempt(s)")
    }))
})

describe("interruption", () => {
  it.effect("interrupting the consumer aborts the current source and leaves nothing running", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.stall])
      const fiber = yield* Effect.forkChild(
        Stream.runCollect(
          L0.stream({ stream: source.stream, timeout: { initialToken: "Infinity", interToken: "Infinity" } })
        )
      )
      yield* advance("1 second")
      expect(source.calls[0]!.emitted).toBe(1)
      expect(source.calls[0]!.context.signal.aborted).toBe(false)
      yield* Fiber.interrupt(fiber)
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
      expect(source.calls[0]!.returned).toBe(true)
      // the watchdog and pump are gone: time passing starts no new attempt
      yield* advance("1 minute")
      expect(source.calls).toHaveLength(1)
    }))

  it.effect("interrupting during a retry delay starts no further attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.fail(connectionReset())], ["late"])
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, retry: { backoff: "fixed", baseDelay: "5 seconds" } })
      )
      yield* advance("1 second")
      yield* Fiber.interrupt(fiber)
      yield* advance("10 seconds")
      expect(source.calls).toHaveLength(1)
    }))

  it.effect("taking a prefix of the stream closes the source", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", "b", TestSource.stall])
      const events = yield* Stream.runCollect(Stream.take(L0.stream({ stream: source.stream }), 2))
      expect(tokens(events)).toEqual(["a", "b"])
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
    }))
})

describe("invalid options", () => {
  const invalid = (options: unknown) => Effect.map(Effect.exit(L0.text(options as L0.L0Options)), failureOf)

  it.effect("fail with a FatalError naming the option, before any source is called", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["never"])
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [undefined, "\"options\""],
        [{}, "\"stream\""],
        [{ stream: "not a function" }, "\"stream\""],
        [{ stream: source.stream, retry: { maxAttempts: -1 } }, "\"retry.maxAttempts\""],
        [{ stream: source.stream, retry: { maxAttempts: 1.5 } }, "\"retry.maxAttempts\""],
        [{ stream: source.stream, retry: { maxRetries: -1 } }, "\"retry.maxRetries\""],
        [{ stream: source.stream, retry: { backoff: "sometimes" } }, "\"retry.backoff\""],
        [{ stream: source.stream, retry: { baseDelay: "soon" } }, "\"retry.baseDelay\""],
        [{ stream: source.stream, retry: 5 }, "\"retry\""],
        [{ stream: source.stream, fallbacks: [source.stream, 42] }, "\"fallbacks[1]\""],
        [{ stream: source.stream, fallbacks: source.stream }, "\"fallbacks\""],
        [{ stream: source.stream, guardrails: [{}] }, "\"guardrails[0]\""],
        [{ stream: source.stream, checkInterval: 0 }, "\"checkInterval\""],
        [{ stream: source.stream, timeout: { initialToken: -5 } }, "\"timeout.initialToken\""],
        [{ stream: source.stream, timeout: "5s" }, "\"timeout\""],
        [{ stream: source.stream, adapter: 3 }, "\"adapter\""],
        [{ stream: source.stream, adapter: "nope" }, "\"adapter\""],
        [{ stream: source.stream, continuation: "yes" }, "\"continuation\""],
        // NaN is not zero: Duration.fromInput would silently read it as 0
        [{ stream: source.stream, retry: { baseDelay: NaN } }, "\"retry.baseDelay\""],
        [{ stream: source.stream, retry: { maxDelay: NaN } }, "\"retry.maxDelay\""],
        [{ stream: source.stream, retry: { baseDelay: [NaN, 0] } }, "\"retry.baseDelay\""],
        [{ stream: source.stream, retry: { maxDelay: { seconds: NaN } } }, "\"retry.maxDelay\""],
        [{ stream: source.stream, retry: { maxAttempts: NaN } }, "\"retry.maxAttempts\""],
        [{ stream: source.stream, retry: { maxRetries: NaN } }, "\"retry.maxRetries\""],
        [{ stream: source.stream, timeout: { initialToken: NaN } }, "\"timeout.initialToken\""],
        [{ stream: source.stream, timeout: { interToken: NaN } }, "\"timeout.interToken\""],
        [{ stream: source.stream, checkInterval: NaN }, "\"checkInterval\""]
      ]
      for (const [options, name] of cases) {
        const error = yield* invalid(options)
        expect(error).toBeInstanceOf(L0Error.FatalError)
        expect(error.message).toContain(`Invalid option ${name}`)
        expect((error as L0Error.FatalError).reason).toBe("options")
      }
      expect(source.calls).toHaveLength(0)
    }))

  it.effect("a factory that returns something unusable or throws is reported clearly", () =>
    Effect.gen(function*() {
      const returnsNumber = yield* invalid({ stream: () => 42 })
      expect(returnsNumber.message).toContain("options.stream must return an AsyncIterable")
      expect(returnsNumber.message).toContain("a number")
      const resolvesNumber = yield* invalid({ stream: () => Promise.resolve(42) })
      expect(resolvesNumber.message).toContain("options.stream must return")
      const effectOfNumber = yield* invalid({ stream: () => Effect.succeed(42) })
      expect(effectOfNumber.message).toContain("options.stream must return")
      // throwing synchronously is categorized like any source error (here: fatal 401, no retry)
      let calls = 0
      const throws = yield* invalid({
        stream: () => {
          calls++
          throw httpError(401)
        }
      })
      expect(calls).toBe(1)
      expect((throws as L0Error.ExhaustedError).lastError?._tag).toBe("FatalError")
    }))

  it.effect("an unknown chunk shape fails the source with a FatalError describing it, not its content", () =>
    Effect.gen(function*() {
      const source = TestSource.make([{ weird: "secret payload", shape: 1 }])
      const error = yield* invalid({ stream: source.stream })
      const last = (error as L0Error.ExhaustedError).lastError
      expect(last?._tag).toBe("FatalError")
      expect(last?.message).toContain("an object with keys {weird, shape}")
      expect(last?.message).not.toContain("secret payload")
    }))

  it.effect("a named or custom adapter decodes the chunks", () =>
    Effect.gen(function*() {
      const pieces = Adapter.make({
        name: "pieces",
        detect: (chunk) => typeof chunk === "object" && chunk !== null && "piece" in chunk,
        make: () =>
          Adapter.stateless((chunk, out) => {
            out.push(L0Event.token((chunk as { piece: string }).piece))
            return true
          })
      })
      const source = TestSource.make([{ piece: "a" }, { piece: "b" }])
      expect(yield* L0.text({ stream: source.stream, adapter: pieces })).toBe("ab")
      expect(yield* L0.text({ stream: source.stream }).pipe(Effect.provide(Adapter.register(pieces)))).toBe("ab")
      expect(yield* L0.text({ stream: TestSource.make(["x"]).stream, adapter: "text" })).toBe("x")
    }))
})

describe("docs/testing.md", () => {
  it.effect("the TestSource example works as documented", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        ["Hel", "lo", TestSource.stall],
        ["Hello", TestSource.sleep("1 second"), "!"]
      )
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, timeout: { interToken: "2 seconds" }, retry: { backoff: "fixed" } })
      )
      yield* TestSource.advance("2 seconds")
      yield* TestSource.advance("1 second")
      yield* TestSource.advance("1 second")
      expect(yield* Fiber.join(fiber)).toBe("Hello!")
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
    }))
})

describe("plain async callers", () => {
  it("an AbortSignal passed to Effect.runPromise aborts the source", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const controller = new AbortController()
    const running = Effect.runPromise(L0.text({ stream: source.stream }), { signal: controller.signal })
    await Effect.runPromise(TestSource.settle)
    expect(source.calls[0]!.emitted).toBe(1)
    controller.abort()
    await expect(running).rejects.toBeDefined()
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
    expect(source.calls[0]!.returned).toBe(true)
  })

  it("leaving a for await loop early closes the source", async () => {
    const source = TestSource.make(["a", "b", TestSource.stall])
    const seen: Array<string> = []
    for await (const event of Stream.toAsyncIterable(L0.stream({ stream: source.stream }))) {
      if (event._tag === "Token") seen.push(event.value)
      if (seen.length === 2) break
    }
    await Effect.runPromise(TestSource.settle)
    expect(seen).toEqual(["a", "b"])
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })
})

describe("the attempts of a run", () => {
  it.effect("state.attempt counts within the source, state.totalAttempts over the whole run", () =>
    Effect.gen(function*() {
      const reset = TestSource.fail(connectionReset())
      const primary = TestSource.make(["Hel", reset], [reset], [reset])
      const fallback = TestSource.make(["Hello"])
      const events = yield* Stream.runCollect(L0.stream({
        stream: primary.stream,
        fallbacks: [fallback.stream],
        retry: { ...noDelay, maxRetries: 2 }
      }))
      expect(primary.calls).toHaveLength(3)
      expect(completeOf(events).state).toMatchObject({ attempt: 1, fallbackIndex: 1, totalAttempts: 4 })
    }))

  it.effect("an exhausted run's state counts every attempt its error lists", () =>
    Effect.gen(function*() {
      const failing = () => TestSource.make([TestSource.fail(httpError(503))])
      const exit = yield* Effect.exit(L0.text({
        stream: failing().stream,
        fallbacks: [failing().stream],
        retry: { ...noDelay, maxRetries: 1 }
      }))
      const error = failureOf(exit)
      expect(error._tag === "ExhaustedError" && [error.attempts.length, error.state?.totalAttempts]).toEqual([4, 4])
    }))

  it.effect("the state before the first attempt counts none; a live run counts the one it is in", () =>
    Effect.scoped(Effect.gen(function*() {
      expect(L0State.initial.totalAttempts).toBe(0)
      const run = yield* L0.start({ stream: TestSource.make([TestSource.stall]).stream })
      yield* TestSource.settle
      expect((yield* run.state).totalAttempts).toBe(1)
      yield* run.abort
    })))
})
