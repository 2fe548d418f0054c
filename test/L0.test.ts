import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset } from "./support.js"

describe("L0.stream", () => {
  it.effect("happy path", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["Hel", "lo", TestSource.sleep("1 second"), " world"])
      const fiber = yield* Effect.forkChild(Stream.runCollect(L0.stream({ stream: source.stream })))
      yield* advance("1 second")
      const events = yield* Fiber.join(fiber)
      console.log(JSON.stringify(events))
    }))
  it.effect("reset", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", "b", "c", TestSource.fail(connectionReset())], ["x", "y"])
      const fiber = yield* Effect.forkChild(Stream.runCollect(L0.stream({ stream: source.stream, retry: { backoff: "fixed" } })))
      yield* advance("1 second")
      const events = yield* Fiber.join(fiber)
      console.log(JSON.stringify(events.map((e) => e._tag === "Complete" ? { ...e, state: { ...e.state, content: e.state.content } } : e)))
      expect(source.calls.length).toBe(2)
    }))
})
