import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type { L0Error } from "effect-l0"
import { EventBus, L0, L0Event, Timeout } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, noDelay, settle } from "./support.js"

const collectBus = () => {
  const events: Array<EventBus.BusEvent> = []
  return { events, layer: EventBus.layer((event) => void events.push(event), { tokens: false }) }
}

describe("timeouts", () => {
  it.effect("no first token within initialToken fails the attempt with a timeout NetworkError and retries", () =>
    Effect.gen(function*() {
      const bus = collectBus()
      const source = TestSource.make([TestSource.stall], ["ok"])
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, retry: noDelay, timeout: { initialToken: "2 seconds" } }).pipe(
          Effect.provide(bus.layer)
        )
      )
      yield* advance("1999 millis")
      expect(source.calls).toHaveLength(1)
      expect(source.calls[0]!.context.signal.aborted).toBe(false)
      yield* advance("1 millis")
      expect(source.calls).toHaveLength(2)
      // the timed-out attempt's request is aborted and its iterator returned
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
      expect(source.calls[0]!.returned).toBe(true)
      expect(yield* Fiber.join(fiber)).toBe("ok")
      const timeout = bus.events.find((event) => event.type === "timeout")
      expect(timeout?.data).toEqual({ phase: "initial", limitMs: 2000 })
      const error = bus.events.find((event) => event.type === "error_network")
      expect(error?.data).toMatchObject({ tag: "NetworkError", message: "No output within 2000 ms of the request" })
      // reported by the attempt that timed out, right before its error
      const first = bus.events.filter((event) => event.streamId === timeout?.streamId).map((event) => event.type)
      expect(first).toEqual(["stream_start", "timeout", "error_network", "retry_attempt"])
    }))

  it.effect("a gap over interToken fails the attempt, and the retry follows a Reset", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", "b", TestSource.stall], ["c"])
      const fiber = yield* Effect.forkChild(
        Stream.runCollect(L0.stream({ stream: source.stream, retry: noDelay, timeout: { interToken: "3 seconds" } }))
      )
      yield* advance("2999 millis")
      expect(source.calls).toHaveLength(1)
      yield* advance("1 millis")
      const events = yield* Fiber.join(fiber)
      expect(events.map((e) => e._tag === "Token" ? e.value : e._tag)).toEqual(["a", "b", "Reset", "c", "Complete"])
      expect(source.calls[0]!.returned).toBe(true)
    }))

  it.effect("slow but steady output within the limits does not time out", () =>
    Effect.gen(function*() {
      const source = TestSource.make(TestSource.paced(["a", "b", "c", "d"], "1500 millis"))
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, timeout: { initialToken: "2 seconds", interToken: "2 seconds" } })
      )
      for (let i = 0; i < 4; i++) yield* advance("1500 millis")
      expect(yield* Fiber.join(fiber)).toBe("abcd")
      expect(source.calls).toHaveLength(1)
    }))

  it.effect("the first-token limit covers a request that never answers", () =>
    Effect.gen(function*() {
      let aborted = false
      const never = ({ signal }: L0.AttemptContext) =>
        new Promise<AsyncIterable<string>>(() => signal.addEventListener("abort", () => aborted = true))
      const fiber = yield* Effect.forkChild(
        Effect.exit(
          L0.text({ stream: never, retry: { ...noDelay, maxRetries: 0 }, timeout: { initialToken: "1 second" } })
        )
      )
      yield* advance("1 second")
      const exit = yield* Fiber.join(fiber)
      expect(aborted).toBe(true)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail" ? exit.cause.reasons[0].error
        : undefined
      expect((error as L0Error.ExhaustedError).lastError).toMatchObject({ _tag: "NetworkError", reason: "timeout" })
    }))

  it.effect("chunks without model output do not reset the clock", () =>
    Effect.gen(function*() {
      // empty strings are keep-alives for the text adapter
      const source = TestSource.make([...TestSource.paced(["", "", "", ""], "1 second"), "late"], ["ok"])
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, retry: noDelay, timeout: { initialToken: "2500 millis" } })
      )
      yield* advance("1 second")
      yield* advance("1 second")
      expect(source.calls).toHaveLength(1)
      yield* advance("500 millis")
      expect(source.calls).toHaveLength(2)
      expect(yield* Fiber.join(fiber)).toBe("ok")
    }))

  it.effect("\"Infinity\" disables a limit; the other still applies", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.sleep("1 hour"), "a", TestSource.stall], ["b"])
      const fiber = yield* Effect.forkChild(
        L0.text({
          stream: source.stream,
          retry: noDelay,
          timeout: { initialToken: "Infinity", interToken: "5 seconds" }
        })
      )
      yield* advance("1 hour")
      expect(source.calls).toHaveLength(1)
      yield* advance("5 seconds")
      expect(yield* Fiber.join(fiber)).toBe("b")
    }))

  it.effect("a slow consumer (back-pressure) does not count as a stalled provider", () =>
    Effect.gen(function*() {
      const count = 5000
      const source = TestSource.make(Array.from({ length: count }, () => "x"))
      let received = 0
      const fiber = yield* Effect.forkChild(
        Stream.runForEachArray(
          L0.stream({ stream: source.stream, timeout: { interToken: "1 second" } }),
          (events) => {
            received += events.filter(L0Event.isToken).length
            return Effect.sleep("3 seconds")
          }
        )
      )
      for (let i = 0; i < 20 && fiber.pollUnsafe() === undefined; i++) yield* advance("3 seconds")
      yield* Fiber.join(fiber)
      expect(received).toBe(count)
      expect(source.calls).toHaveLength(1)
    }))

  it("documents its defaults, which the tests below observe", () => {
    expect(Timeout.defaults).toEqual({ initialToken: "5 seconds", interToken: "10 seconds" })
  })

  it.effect("the default first-token limit is 5 seconds", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.stall], ["ok"])
      const fiber = yield* Effect.forkChild(L0.text({ stream: source.stream, retry: noDelay }))
      yield* advance("4999 millis")
      expect(source.calls).toHaveLength(1)
      yield* advance("1 millis")
      yield* settle
      expect(source.calls).toHaveLength(2)
      expect(yield* Fiber.join(fiber)).toBe("ok")
    }))

  it.effect("the default inter-token limit is 10 seconds", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.stall], ["ok"])
      const fiber = yield* Effect.forkChild(L0.text({ stream: source.stream, retry: noDelay }))
      yield* settle
      yield* advance("9999 millis")
      expect(source.calls).toHaveLength(1)
      yield* advance("1 millis")
      yield* settle
      expect(source.calls).toHaveLength(2)
      expect(yield* Fiber.join(fiber)).toBe("ok")
    }))
})
