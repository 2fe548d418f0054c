import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import { L0, L0Error } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, failureOf } from "./support.js"

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
