import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { EventBus, EventLog, L0, L0Error } from "effect-l0"
import type { Guardrail, L0Async } from "effect-l0"
import { TestSource } from "effect-l0/testing"

/** What a handler sees after narrowing on `type`. */
const narrowed = (event: EventBus.BusEvent) => {
  switch (event.type) {
    case "retry_attempt":
      return event.data
    case "guardrail_violation":
      return event.data
    case "batch_complete":
      return event.data
    default:
      return undefined
  }
}

describe("EventBus events are a union keyed by type", () => {
  it("narrowing on type gives the data of that type", () => {
    expectTypeOf(narrowed).returns.toEqualTypeOf<
      | EventBus.EventData["retry_attempt"]
      | Guardrail.Violation
      | EventBus.EventData["batch_complete"]
      | undefined
    >()
    expectTypeOf<EventBus.BusEvent<"retry_attempt">["data"]>().toEqualTypeOf<{
      readonly source: number
      readonly attempt: number
      readonly category: L0Error.ErrorCategory
      readonly delayMs: number
    }>()
    expectTypeOf<EventBus.BusEvent<"timeout">["data"]["phase"]>().toEqualTypeOf<"initial" | "inter">()
    expectTypeOf<EventBus.BusEvent<"session_end">["data"]["outcome"]>().toEqualTypeOf<EventBus.Outcome>()
    expectTypeOf<EventBus.BusEvent["type"]>().toEqualTypeOf<EventBus.EventType>()
    // one type's event is an event of the union
    expectTypeOf<EventBus.BusEvent<"reset">>().toExtend<EventBus.BusEvent>()
    // without narrowing, only what every type shares is readable
    const read = (event: EventBus.BusEvent) =>
      // @ts-expect-error `delayMs` belongs to `retry_attempt` only
      event.data.delayMs
    expect(read).toBeTypeOf("function")
  })

  it("L0Async callbacks get the narrowed event", () => {
    expectTypeOf<Parameters<NonNullable<L0Async.Callbacks["onRetry"]>>[1]>().toEqualTypeOf<
      EventBus.BusEvent<"retry_attempt">
    >()
    expectTypeOf<Parameters<NonNullable<L0Async.Callbacks["onError"]>>[1]["type"]>().toEqualTypeOf<
      "error_network" | "error_transient" | "error_model" | "error_content" | "error_fatal"
    >()
  })

  it.effect("the data a run emits matches the types it is narrowed to", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.fail(new L0Error.NetworkError({ message: "reset" }))], ["ok"])
      yield* L0.text({ stream: source.stream, retry: { baseDelay: 0 } })
      const events = yield* (yield* EventBus.Collected).events
      const retry = events.find((event) => event.type === "retry_attempt")
      expect(retry?.data).toEqual({ source: 0, attempt: 2, category: "network", delayMs: 0 })
      const failed = events.find((event) => event.type === "error_network")
      expect(failed?.data).toEqual({ source: 0, attempt: 1, tag: "NetworkError", message: "reset", status: undefined })
    }).pipe(Effect.provide(EventBus.layerCollect)))
})

describe("EventLog checks the data of each bus event it reads", () => {
  it.effect("a bus event whose data does not fit its type is a corrupt line", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      yield* Stream.runDrain(
        L0.stream({ stream: TestSource.make(["a"]).stream }).pipe(
          EventLog.record({ write: (more) => void lines.push(...more) })
        )
      )
      const start = lines.findIndex((line) => line.includes("\"session_start\""))
      expect(start).toBeGreaterThan(0)
      expect((yield* EventLog.fromLines(lines)).busEvents[0]).toMatchObject({
        type: "session_start",
        data: { sources: 1 }
      })
      const wrong = lines.map((line, i) => i === start ? line.replace("\"sources\":1", "\"sources\":\"one\"") : line)
      const error = yield* Effect.flip(EventLog.fromLines(wrong))
      expect(error).toMatchObject({ _tag: "EventLogError", reason: "Corrupt", line: start + 1 })
      const swapped = lines.map((line, i) => i === start ? line.replace("\"session_start\"", "\"reset\"") : line)
      expect(yield* Effect.flip(EventLog.fromLines(swapped))).toMatchObject({ reason: "Corrupt", line: start + 1 })
    }))
})
