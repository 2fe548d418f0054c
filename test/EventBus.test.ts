import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { EventBus, L0, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset, httpError } from "./support.js"

const collectLogs = () => {
  const logs: Array<{ level: string; message: unknown }> = []
  const layer = Logger.layer([
    Logger.make((options) => void logs.push({ level: options.logLevel, message: options.message }))
  ])
  return { logs, layer }
}

/** A logger that keeps each line's level, first message part, whole message and annotations. */
const collectAnnotatedLogs = () => {
  const logs: Array<
    { level: string; text: unknown; message: unknown; annotations: Readonly<Record<string, unknown>> }
  > = []
  const layer = Logger.layer([Logger.make((options) => {
    const message = options.message as ReadonlyArray<unknown>
    logs.push({
      level: options.logLevel,
      text: message[0],
      message,
      annotations: options.fiber.getRef(References.CurrentLogAnnotations)
    })
  })])
  return { logs, layer }
}

describe("EventBus", () => {
  it.effect("reports the progress of a long attempt every progressInterval tokens, with its rate from Clock", () =>
    Effect.gen(function*() {
      const source = TestSource.make(TestSource.paced(Array.from({ length: 7 }, (_, i) => `t${i}`), "1 second"))
      const fiber = yield* Effect.forkChild(
        Effect.gen(function*() {
          const text = yield* L0.text({
            stream: source.stream,
            progressInterval: 3,
            timeout: { interToken: "1 minute" }
          })
          return { text, events: yield* (yield* EventBus.Collected).events }
        }).pipe(Effect.provide(EventBus.layerCollect))
      )
      for (let i = 0; i < 7; i++) yield* TestSource.advance("1 second")
      const { events, text } = yield* Fiber.join(fiber)
      expect(text).toBe("t0t1t2t3t4t5t6")
      expect(events.filter((event) => event.type === "stream_progress").map((event) => event.data)).toEqual([
        { source: 0, attempt: 1, tokenCount: 3, elapsedMs: 3000, tokensPerSecond: 1 },
        { source: 0, attempt: 1, tokenCount: 6, elapsedMs: 6000, tokensPerSecond: 1 }
      ])
    }))

  it.effect("an invalid progressInterval fails before any source is called", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a"])
      const error = yield* Effect.flip(L0.text({ stream: source.stream, progressInterval: 0 }))
      expect(error.message).toContain(`Invalid option "progressInterval"`)
      expect(source.calls.length).toBe(0)
    }))

  it.effect("reports each tool call with its name and complete arguments, once per attempt that received it", () =>
    Effect.gen(function*() {
      const call = L0Event.toolCall("call_1", "lookup", "{\"q\":1}")
      const source = TestSource.make([L0Event.token("x"), call, TestSource.fail(connectionReset())], [call,
        L0Event.token("y")])
      const events = yield* Effect.gen(function*() {
        yield* L0.text({ stream: source.stream, retry: { backoff: "fixed", baseDelay: "0 millis" } })
        return yield* (yield* EventBus.Collected).events
      }).pipe(Effect.provide(EventBus.layerCollect))
      const calls = events.filter((event) => event.type === "tool_call")
      expect(calls.map((event) => event.data)).toEqual([
        { id: "call_1", name: "lookup", arguments: "{\"q\":1}" },
        { id: "call_1", name: "lookup", arguments: "{\"q\":1}" }
      ])
      expect(new Set(calls.map((event) => event.streamId)).size).toBe(2)
    }))

  it.effect("reports the documented events in order, one sessionId per run, timestamps from Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000)
      const primary = TestSource.make(["a", TestSource.fail(connectionReset())], [TestSource.fail(httpError(401))])
      const fallback = TestSource.make(["b", "c"])
      const fiber = yield* Effect.forkChild(
        Effect.gen(function*() {
          const text = yield* L0.text({
            stream: primary.stream,
            fallbacks: [fallback.stream],
            retry: { backoff: "fixed", baseDelay: "1 second" }
          })
          const collected = yield* EventBus.Collected
          return { text, events: yield* collected.events }
        }).pipe(Effect.provide(EventBus.layerCollect))
      )
      yield* advance("1 second")
      const { text, events } = yield* Fiber.join(fiber)
      expect(text).toBe("bc")
      expect(events.map((event) => event.type)).toEqual([
        "session_start",
        "stream_start",
        "stream_token",
        "error_network",
        "retry_attempt",
        "stream_start",
        "error_fatal",
        "retry_exhausted",
        "fallback_start",
        "stream_start",
        "reset",
        "stream_token",
        "stream_token",
        "stream_complete",
        "fallback_success",
        "session_end"
      ])
      const sessionId = events[0]!.sessionId
      expect(events.every((event) => event.sessionId === sessionId)).toBe(true)
      const attempts = new Set(events.filter((event) => event.type === "stream_start").map((event) => event.streamId))
      expect(attempts.size).toBe(3)
      expect(events.map((event) => event.timestamp)).toEqual([
        1_000,
        1_000,
        1_000,
        1_000,
        1_000,
        2_000,
        2_000,
        2_000,
        2_000,
        2_000,
        2_000,
        2_000,
        2_000,
        2_000,
        2_000,
        2_000
      ])
      expect(events.find((event) => event.type === "retry_attempt")?.data).toEqual({
        source: 0,
        attempt: 2,
        category: "network",
        delayMs: 1000
      })
      expect(events.find((event) => event.type === "error_fatal")?.data).toMatchObject({
        status: 401,
        tag: "FatalError"
      })
      expect(events.filter((event) => event.type === "stream_token").map((event) => event.data.value)).toEqual([
        "a",
        "b",
        "c"
      ])
      expect(events.at(-1)?.data).toEqual({ outcome: "success", attempts: 3 })
    }))

  it.effect("two runs get two sessions; a failed run ends its session with outcome failure", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        yield* L0.text({ stream: TestSource.make(["x"]).stream })
        yield* Effect.exit(L0.text({ stream: TestSource.make([TestSource.fail(httpError(403))]).stream }))
        const collected = yield* EventBus.Collected
        return yield* collected.events
      }).pipe(Effect.provide(EventBus.layerCollect))
      const events = yield* program
      const sessions = new Set(events.map((event) => event.sessionId))
      expect(sessions.size).toBe(2)
      expect(events.filter((event) => event.type === "session_end").map((event) => event.data.outcome)).toEqual([
        "success",
        "failure"
      ])
    }))

  it.effect("an interrupted run ends its session with outcome interrupted", () =>
    Effect.gen(function*() {
      const events: Array<EventBus.BusEvent> = []
      const source = TestSource.make(["a", TestSource.stall])
      const fiber = yield* Effect.forkChild(
        Stream.runDrain(L0.stream({ stream: source.stream })).pipe(
          Effect.provide(EventBus.layer((event) => void events.push(event)))
        )
      )
      yield* advance("1 second")
      yield* Fiber.interrupt(fiber)
      expect(events.at(-1)).toMatchObject({ type: "session_end", data: { outcome: "interrupted" } })
    }))

  it.effect("the default bus is a no-op and the stream needs no service", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.EventBus
      expect(bus).toBe(EventBus.noop)
      expect(bus.tokens).toBe(false)
      const stream: Stream.Stream<unknown, unknown, never> = L0.stream({ stream: TestSource.make(["x"]).stream })
      expect((yield* Stream.runCollect(stream)).length).toBe(2)
    }))

  it.effect("a handler that throws does not break the stream and is reported once through the logger", () =>
    Effect.gen(function*() {
      const { logs, layer } = collectLogs()
      let calls = 0
      const throwing = EventBus.layer(() => {
        calls++
        throw new Error("handler bug")
      })
      const text = yield* L0.text({ stream: TestSource.make(["a", "b"]).stream }).pipe(
        Effect.provide(Layer.merge(throwing, layer))
      )
      expect(text).toBe("ab")
      expect(calls).toBeGreaterThan(3)
      yield* Effect.yieldNow
      const reports = logs.filter((log) => JSON.stringify(log.message).includes("EventBus handler threw"))
      expect(reports).toHaveLength(1)
      expect(reports[0]!.level).toBe("Warn")
    }))

  it.effect("tokens: false leaves out stream_token events", () =>
    Effect.gen(function*() {
      const types: Array<string> = []
      yield* L0.text({ stream: TestSource.make(["a", "b"]).stream }).pipe(
        Effect.provide(EventBus.layer((event) => void types.push(event.type), { tokens: false }))
      )
      expect(types).not.toContain("stream_token")
      expect(types).toContain("stream_complete")
    }))

  it.effect("layerLogger writes retries at warning, exhaustion and fatal errors at error, detail at debug, with annotations", () =>
    Effect.gen(function*() {
      const { layer, logs } = collectAnnotatedLogs()
      const source = TestSource.make([TestSource.fail(connectionReset())], [TestSource.fail(httpError(401))])
      const exit = yield* Effect.exit(L0.text({ stream: source.stream, retry: { backoff: "fixed", baseDelay: 0 } }))
        .pipe(
          Effect.provide(Layer.merge(EventBus.layerLogger, layer)),
          Effect.provideService(References.MinimumLogLevel, "All")
        )
      expect(exit._tag).toBe("Failure")
      expect(logs.map((log) => [log.level, log.text])).toEqual([
        ["Info", "effect-l0 session_start"],
        ["Debug", "effect-l0 stream_start"],
        ["Warn", "effect-l0 error_network"],
        ["Warn", "effect-l0 retry_attempt"],
        ["Debug", "effect-l0 stream_start"],
        ["Error", "effect-l0 error_fatal"],
        ["Error", "effect-l0 retry_exhausted"],
        ["Error", "effect-l0 session_end"]
      ])
      const sessionId = logs[0]!.annotations.sessionId
      expect(typeof sessionId).toBe("string")
      expect(logs.every((log) => log.annotations.sessionId === sessionId)).toBe(true)
      expect(logs[2]!.annotations).toEqual({
        sessionId,
        streamId: `${sessionId}/1`,
        source: 0,
        attempt: 1,
        category: "network"
      })
      expect(logs[3]!.annotations).toMatchObject({ streamId: `${sessionId}/1`, attempt: 2, category: "network" })
      expect(logs[5]!.annotations).toMatchObject({ streamId: `${sessionId}/2`, attempt: 2, category: "fatal" })
      expect(logs[6]!.annotations).toMatchObject({ source: 0, category: "fatal" })
    }))

  it.effect("layerLogger writes a successful run at info and leaves debug lines to the minimum level", () =>
    Effect.gen(function*() {
      const { layer, logs } = collectAnnotatedLogs()
      const source = TestSource.make(["a", TestSource.fail(connectionReset())], ["ok"])
      yield* L0.text({ stream: source.stream, retry: { backoff: "fixed", baseDelay: 0 } }).pipe(
        Effect.provide(Layer.merge(EventBus.layerLogger, layer))
      )
      expect(logs.map((log) => [log.level, log.text])).toEqual([
        ["Info", "effect-l0 session_start"],
        ["Warn", "effect-l0 error_network"],
        ["Warn", "effect-l0 retry_attempt"],
        ["Info", "effect-l0 stream_complete"],
        ["Info", "effect-l0 session_end"]
      ])
    }))

  it.effect("layerLogger never writes a secret that the provider echoed in its error", () =>
    Effect.gen(function*() {
      const { layer, logs } = collectAnnotatedLogs()
      const key = "sk-live-0123456789abcdef"
      const source = TestSource.make([
        TestSource.fail(Object.assign(new Error(`401 invalid key ${key}`), { status: 401 }))
      ])
      yield* Effect.exit(L0.text({ stream: source.stream, redact: [key] })).pipe(
        Effect.provide(Layer.merge(EventBus.layerLogger, layer)),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
      const fatal = logs.find((log) => log.text === "effect-l0 error_fatal")!
      expect(JSON.stringify(fatal.message)).toContain("401 invalid key")
      for (const log of logs) expect(JSON.stringify([log.message, log.annotations])).not.toContain(key)
    }))
})
