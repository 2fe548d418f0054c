import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Adapter, L0, L0Event } from "effect-l0"
import { failureOf } from "./support.js"

/** Strings become tokens; the end of the stream adds a tool call, or throws with `failEnd`. */
const closing = (options: { readonly failEnd: boolean }) =>
  Adapter.make({
    name: "closing",
    detect: (chunk) => typeof chunk === "string",
    make: () => ({
      push: (chunk, out) => {
        out.push(L0Event.token(chunk as string))
        return true
      },
      end: (out) => {
        if (options.failEnd) throw new Error("trailer unreadable")
        out.push(L0Event.toolCall("call-1", "lookup", "{}"))
        return { finishReason: "tool_calls" }
      }
    })
  })

async function* letters(count: number): AsyncGenerator<string> {
  for (let i = 0; i < count; i++) yield String.fromCharCode(97 + (i % 26))
}

describe("source buffer", () => {
  it.effect("end events arrive even when the source filled the buffer exactly", () =>
    Effect.gen(function*() {
      for (const count of [1023, 1024, 2048, 3000]) {
        const events = yield* Stream.runCollect(
          L0.stream({ stream: () => letters(count), adapter: closing({ failEnd: false }) })
        )
        const complete = events.at(-1) as L0Event.Complete
        expect(events.filter(L0Event.isToken)).toHaveLength(count)
        expect(events.at(-2)).toEqual(L0Event.toolCall("call-1", "lookup", "{}"))
        expect(complete.state.toolCalls).toHaveLength(1)
        expect(complete.state.content).toHaveLength(count)
        expect(complete.state.finishReason).toBe("tool_calls")
      }
    }))

  it.effect("a decoder whose end throws fails the attempt with a typed error, for Stream sources too", () =>
    Effect.gen(function*() {
      const sources = [() => letters(3), () => Stream.make("a", "b", "c")]
      for (const stream of sources) {
        const exit = yield* Effect.exit(
          L0.text({ stream, adapter: closing({ failEnd: true }), retry: { maxAttempts: 1, maxRetries: 0 } })
        )
        const error = failureOf(exit)
        expect(error._tag).toBe("ExhaustedError")
        expect(error.message).toContain("trailer unreadable")
      }
    }))

  it.effect("a consumer that takes whole arrays receives every token once, in order", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      let arrays = 0
      yield* Stream.runForEachArray(L0.stream({ stream: () => letters(5000) }), (events) => {
        arrays++
        for (const event of events) if (event._tag === "Token") seen.push(event.value)
        return Effect.void
      })
      expect(seen.join("")).toBe(Array.from({ length: 5000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(""))
      // a source that never waits is delivered in large arrays, not one token per pull
      expect(arrays).toBeLessThan(50)
    }))

  it.effect("a Stream chunk array with an unreadable chunk delivers the events before it, then fails", () =>
    Effect.gen(function*() {
      const seen: Array<L0Event.L0Event> = []
      const exit = yield* Effect.exit(
        Stream.runForEach(
          L0.stream({
            stream: () => Stream.make("a", 42, "c"),
            adapter: "text",
            retry: { maxAttempts: 1, maxRetries: 0 }
          }),
          (event) => Effect.sync(() => seen.push(event))
        )
      )
      expect(seen).toEqual([L0Event.token("a")])
      expect(failureOf(exit).message).toContain("cannot read a number")
    }))

  it.effect("a Stream source that outruns the consumer waits for it and loses nothing", () =>
    Effect.gen(function*() {
      const letters = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(97 + (i % 26)))
      const seen: Array<string> = []
      yield* Stream.runForEachArray(L0.stream({ stream: () => Stream.fromIterable(letters) }), (events) => {
        for (const event of events) if (event._tag === "Token") seen.push(event.value)
        return Effect.yieldNow
      })
      expect(seen).toEqual(letters)
    }))
})
