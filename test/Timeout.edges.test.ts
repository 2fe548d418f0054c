import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scheduler from "effect/Scheduler"
import { TestClock } from "effect/testing"
import { EventBus, L0 } from "effect-l0"
import { ProviderServer, TestSource } from "effect-l0/testing"
import type { Client } from "./clients.js"
import { allClients } from "./clients.js"
import { advance, failureOf, lastErrorOf, noDelay, settle } from "./support.js"

const collectBus = () => {
  const events: Array<EventBus.BusEvent> = []
  return { events, layer: EventBus.layer((event) => void events.push(event), { tokens: false }) }
}

describe("the watchdog fires at the deadline of the phase it is in", () => {
  // [initialToken, interToken, first token at (ms) or none, timeout expected at (ms), phase]
  const cases = [
    [10_000, 500, 1000, 1500, "inter"],
    [1000, 500, 300, 800, "inter"],
    [1000, 500, 999, 1499, "inter"],
    [500, 2000, 400, 2400, "inter"],
    [1000, 1000, 900, 1900, "inter"],
    [10_000, 500, undefined, 10_000, "initial"],
    [300, 1000, undefined, 300, "initial"]
  ] as const
  for (const [initial, inter, firstAt, expected, phase] of cases) {
    const label = firstAt === undefined ? "no token" : `a token at ${firstAt} ms`
    it.effect(`initialToken ${initial} ms, interToken ${inter} ms, ${label}: the ${phase} timeout at ${expected} ms`, () =>
      Effect.gen(function*() {
        const bus = collectBus()
        const first = firstAt === undefined ? [TestSource.stall] : [TestSource.sleep(firstAt), "a", TestSource.stall]
        const source = TestSource.make(first, ["ok"])
        const fiber = yield* Effect.forkChild(
          L0.text({ stream: source.stream, retry: noDelay, timeout: { initialToken: initial, interToken: inter } })
            .pipe(
              Effect.provide(bus.layer)
            )
        )
        yield* advance(expected - 1)
        expect(source.calls).toHaveLength(1)
        yield* advance(1)
        expect(source.calls).toHaveLength(2)
        expect(yield* Fiber.join(fiber)).toBe("ok")
        expect(bus.events.find((event) => event.type === "timeout")?.data).toEqual({
          phase,
          limitMs: phase === "initial" ? initial : inter
        })
      }))
  }

  it.effect("steady output after a slow first token keeps the stream alive, whatever the first-token limit", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.sleep("9 seconds"),
        ...TestSource.paced(["a", "b", "c"], "400 millis")])
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, timeout: { initialToken: "10 seconds", interToken: "500 millis" } })
      )
      yield* advance("9 seconds")
      for (let i = 0; i < 3; i++) yield* advance("400 millis")
      expect(yield* Fiber.join(fiber)).toBe("abc")
      expect(source.calls).toHaveLength(1)
    }))
})

describe("output that already waits is read before a timeout", () => {
  it.effect("after the event loop was blocked past the limit, waiting data keeps the attempt alive", () =>
    Effect.gen(function*() {
      let deliver: (() => void) | undefined
      const source: L0.SourceFactory = () => ({
        async *[Symbol.asyncIterator]() {
          yield "a"
          await new Promise<void>((resolve) => deliver = resolve)
          yield "b"
        }
      })
      const fiber = yield* Effect.forkChild(
        L0.text({
          stream: source,
          retry: { maxRetries: 0 },
          timeout: { initialToken: "1 second", interToken: "1 second" }
        })
      )
      yield* settle
      // the loop was blocked for 1.5 s: "b" arrived meanwhile and is delivered in the next I/O phase,
      // while the watchdog's timer is already due; the sync scheduler runs it first, as Node runs a due timer
      yield* Effect.sync(() => setImmediate(() => deliver?.()))
      yield* TestClock.adjust("1500 millis")
      yield* settle
      expect(yield* Fiber.join(fiber)).toBe("ab")
    }).pipe(Effect.provideService(Scheduler.Scheduler, new Scheduler.MixedScheduler("sync"))))
})

const chatChunk = (delta: object, finish: string | null = null, extra: object = {}) => ({
  object: "chat.completion.chunk",
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...extra
})

const anthropicEvents = (text: string) => [
  {
    type: "message_start",
    message: { id: "msg_1", type: "message", role: "assistant", usage: { input_tokens: 3, output_tokens: 1 } }
  },
  { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } },
  { type: "content_block_stop", index: 0 },
  { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 5 } }
]

const messageStop = { type: "message_stop" }

describe("a late trailer does not discard a finished answer", () => {
  const once = { ...noDelay, maxRetries: 0 }
  const timeout = { initialToken: "1 second", interToken: "1 second" } as const

  it.effect("OpenAI Chat: finish_reason came, the usage chunk and [DONE] did not: the answer completes at the timeout", () =>
    Effect.gen(function*() {
      const bus = collectBus()
      const source = TestSource.make([
        chatChunk({ content: "Hel" }),
        chatChunk({ content: "lo" }),
        chatChunk({}, "stop"),
        TestSource.stall,
        chatChunk({}, null, { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })
      ])
      const fiber = yield* Effect.forkChild(
        L0.run({ stream: source.stream, retry: once, timeout }).pipe(Effect.provide(bus.layer))
      )
      yield* advance("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.text).toBe("Hello")
      expect(result.state.finishReason).toBe("stop")
      expect(result.usage).toBeUndefined()
      expect(source.calls).toHaveLength(1)
      // the request is closed all the same
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
      expect(bus.events.map((event) => event.type)).not.toContain("timeout")
    }))

  it.effect("Anthropic: stop_reason came, message_stop did not: the answer completes with its usage", () =>
    Effect.gen(function*() {
      const source = TestSource.make([...anthropicEvents("Hello"), TestSource.stall, messageStop])
      const fiber = yield* Effect.forkChild(L0.run({ stream: source.stream, retry: once, timeout }))
      yield* advance("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.text).toBe("Hello")
      expect(result.state.finishReason).toBe("end_turn")
      expect(result.usage).toMatchObject({ inputTokens: 3, outputTokens: 5 })
      expect(source.calls).toHaveLength(1)
    }))

  it.effect("before the finish reason, a stall is still a timeout", () =>
    Effect.gen(function*() {
      const source = TestSource.make([chatChunk({ content: "Hel" }), TestSource.stall])
      const fiber = yield* Effect.forkChild(Effect.exit(L0.run({ stream: source.stream, retry: once, timeout })))
      yield* advance("1 second")
      expect(lastErrorOf(failureOf(yield* Fiber.join(fiber)))).toMatchObject({
        _tag: "NetworkError",
        reason: "timeout"
      })
    }))
})

describe("Anthropic: events after message_stop are ignored", () => {
  it.effect("by the adapter", () =>
    Effect.gen(function*() {
      const late = { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " and more" } }
      const error = { type: "error", error: { type: "overloaded_error" } }
      const source = TestSource.make([...anthropicEvents("Hello"), messageStop, late, error])
      expect(yield* L0.text({ stream: source.stream, retry: { maxRetries: 0 } })).toBe("Hello")
    }))
})

/** SSE of `chunks`, one event each, as the protocol frames them. */
const sse = (protocol: ProviderServer.Protocol, chunks: ReadonlyArray<object>): string =>
  chunks.map((chunk) =>
    protocol === "anthropic"
      ? `event: ${(chunk as { type: string }).type}\ndata: ${JSON.stringify(chunk)}\n\n`
      : `data: ${JSON.stringify(chunk)}\n\n`
  ).join("")

const chatBody = [
  chatChunk({ role: "assistant", content: "" }),
  chatChunk({ content: "Hel" }),
  chatChunk({ content: "lo" }),
  chatChunk({}, "stop")
]
const usageChunk = chatChunk({}, null, { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })

/** The body up to the finish reason, then the trailer; the trailer's events counted. */
const finishedThen = (client: Client): readonly [string, string] =>
  client.protocol === "anthropic"
    ? [sse("anthropic", anthropicEvents("Hello")), sse("anthropic", [messageStop])]
    : [sse("openai-chat", chatBody), sse("openai-chat", [usageChunk]) + "data: [DONE]\n\n"]

describe("through the real clients", () => {
  const timeout = { initialToken: "250 millis", interToken: "250 millis" } as const
  const withTrailers = allClients.filter((client) => client.protocol !== "openai-responses")

  const run = (client: Client, answer: ProviderServer.Answer) =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([answer])
      const exit = yield* Effect.exit(L0.run({ stream: client.source(server), retry: { maxRetries: 0 }, timeout }))
      return { server, exit, end: yield* server.awaitEnd(0) }
    }))

  for (const client of withTrailers) {
    it.live(`${client.name}: a stall after the finish reason completes the answer and closes the request`, () =>
      Effect.gen(function*() {
        const [body, trailer] = finishedThen(client)
        const events = (body.match(/\n\n/g) ?? []).length
        const stalled = ProviderServer.replay(body + trailer, { fault: ProviderServer.stallAfter(events) })
        const { end, exit, server } = yield* run(client, stalled)
        expect(Exit.isSuccess(exit) && exit.value.text).toBe("Hello")
        expect(Exit.isSuccess(exit) && exit.value.state.finishReason).toBe(
          client.protocol === "anthropic" ? "end_turn" : "stop"
        )
        expect(server.requests.length).toBe(1)
        expect(end).toBe("disconnected")
      }))

    it.live(`${client.name}: a clean end after the finish reason without the trailer is a success`, () =>
      Effect.gen(function*() {
        const [body] = finishedThen(client)
        const { exit } = yield* run(client, ProviderServer.replay(body))
        expect(Exit.isSuccess(exit) && exit.value.text).toBe("Hello")
      }))
  }

  for (const client of allClients.filter((c) => c.protocol === "anthropic")) {
    it.live(`${client.name}: events after message_stop are ignored`, () =>
      Effect.gen(function*() {
        const late = { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " and more" } }
        const body = sse("anthropic", [...anthropicEvents("Hello"), messageStop, late])
        const { exit } = yield* run(client, ProviderServer.replay(body))
        expect(Exit.isSuccess(exit) && exit.value.text).toBe("Hello")
      }))
  }
})
