import { describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import type { L0, L0Error } from "effect-l0"
import { EventBus, Window } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { expectTypeOf } from "vitest"
import {
  activity,
  advance,
  connectionReset,
  type Farewell,
  farewelled,
  farewellLayer,
  type Greeting,
  greeted,
  greetingLayer,
  httpError,
  noDelay,
  plain,
  settle
} from "./support.js"

type ProcessEffect<R> = Effect.Effect<ReadonlyArray<L0.L0Result>, Window.WindowError | L0Error.FatalError, R>

const windowsOf = (text: string, options: Window.SplitOptions): ReadonlyArray<Window.Window> =>
  Result.getOrThrow(Window.split(text, options))

const withoutOverlap = (windows: ReadonlyArray<Window.Window>): string =>
  windows.map((window) => window.text.slice(window.overlap)).join("")

/** Boundaries a grapheme segmenter accepts. */
const graphemeBoundaries = (text: string): Set<number> => {
  const bounds = new Set<number>([text.length])
  for (const segment of new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)) {
    bounds.add(segment.index)
  }
  return bounds
}

const noRetry = { retry: { maxAttempts: 1, maxRetries: 0 } } as const

describe("Window.split", () => {
  it("splits by characters with overlap", () => {
    const windows = windowsOf("abcdefghij", { by: "characters", size: 4, overlap: 1 })
    expect(windows.map((w) => w.text)).toEqual(["abcd", "defg", "ghij"])
    expect(windows.map((w) => [w.index, w.total, w.start, w.end, w.overlap])).toEqual([
      [0, 3, 0, 4, 0],
      [1, 3, 3, 7, 1],
      [2, 3, 6, 10, 1]
    ])
  })

  it("counts a token as 4 characters", () => {
    const windows = windowsOf("a".repeat(20), { size: 2, overlap: 1 })
    expect(windows.map((w) => [w.start, w.end])).toEqual([[0, 8], [4, 12], [8, 16], [12, 20]])
  })

  it("splits by sentences and by paragraphs, keeping the blanks after each", () => {
    const text = "One. Two! Three? Four… Five."
    expect(windowsOf(text, { by: "sentences", size: 2 }).map((w) => w.text))
      .toEqual(["One. Two! ", "Three? Four… ", "Five."])
    expect(windowsOf(text, { by: "sentences", size: 3, overlap: 1 }).map((w) => w.text))
      .toEqual(["One. Two! Three? ", "Three? Four… Five."])
    const paragraphs = "First\nline.\n\nSecond.\r\n  \r\nThird.\n\n\n"
    expect(windowsOf(paragraphs, { by: "paragraphs", size: 1 }).map((w) => w.text))
      .toEqual(["First\nline.\n\n", "Second.\r\n  \r\n", "Third.\n\n\n"])
  })

  it("an empty text has no windows; a short one has one window", () => {
    expect(windowsOf("", { size: 10 })).toEqual([])
    expect(windowsOf("short", { by: "sentences", size: 5, overlap: 2 }).map((w) => w.text)).toEqual(["short"])
    expect(windowsOf("short", { size: 100 }).map((w) => w.text)).toEqual(["short"])
  })

  it("never cuts a surrogate pair, a combining mark or a joined emoji", () => {
    const text = "a👍🏽e\u0301👨\u200D👩b"
    for (let size = 1; size < 6; size++) {
      const windows = windowsOf(text, { by: "characters", size })
      const bounds = graphemeBoundaries(text)
      for (const window of windows) expect(bounds.has(window.end)).toBe(true)
      expect(withoutOverlap(windows)).toBe(text)
    }
    expect(windowsOf("Hi.  \u0301Yes.", { by: "sentences", size: 1 }).map((w) => w.text)).toEqual(["Hi.  \u0301",
      "Yes."])
  })

  it("invalid options give a FatalError naming the option", () => {
    const message = (text: unknown, options: unknown): string => {
      const result = Window.split(text as string, options as Window.SplitOptions)
      return Result.isFailure(result) ? result.failure.message : "ok"
    }
    expect(message("x", { size: 0 })).toBe(`Invalid option "size": expected a positive integer, got 0`)
    expect(message("x", { size: 3, overlap: 3 })).toBe(
      `Invalid option "overlap": expected an integer ≥ 0 and < size (3), got 3`
    )
    expect(message("x", { size: 3, overlap: -1 })).toContain(`"overlap"`)
    expect(message("x", { size: 3, by: "words" })).toContain(`"by"`)
    expect(message(3, { size: 3 })).toContain(`"text"`)
    expect(message("x", null)).toContain(`"options"`)
  })

  it("property: windows cover the text in order, and without overlaps join to it", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            "a",
            " ",
            ".",
            "!",
            "\n",
            "\r",
            "é",
            "e\u0301",
            "👍🏽",
            "\u200D",
            "\uD83D",
            "\uDC4D",
            "”"
          ),
          maxLength: 80
        }),
        fc.constantFrom<Window.Unit>("tokens", "characters", "sentences", "paragraphs"),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(5),
        (text, by, size, rawOverlap) => {
          const overlap = rawOverlap % size
          const windows = windowsOf(text, { by, size, overlap })
          expect(withoutOverlap(windows)).toBe(text)
          let previous = { start: -1, end: 0 }
          for (const window of windows) {
            expect(window.text.length).toBeGreaterThan(0)
            expect(window.text).toBe(text.slice(window.start, window.end))
            expect(window.start).toBeGreaterThan(previous.start)
            expect(window.start).toBeLessThanOrEqual(previous.end)
            expect(window.overlap).toBe(previous.end - window.start)
            for (const at of [window.start, window.end]) {
              const before = text.charCodeAt(at - 1)
              const after = text.charCodeAt(at)
              expect(before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff).toBe(false)
            }
            previous = window
          }
          expect(windows.length === 0 ? 0 : windows[windows.length - 1]!.end).toBe(text.length)
        }
      ),
      { seed: 17, numRuns: 500 }
    )
  })
})

describe("Window.process", () => {
  it.effect("runs every window and merges results in window order despite out-of-order completion", () =>
    Effect.gen(function*() {
      const { counter, track } = activity()
      const delays: ReadonlyArray<Duration.Input> = ["3 seconds", "1 second", "2 seconds", "1 second", "1 second"]
      const fiber = yield* Effect.forkChild(
        Window.process("abcdefghij", { by: "characters", size: 2, concurrency: 2 }, (window) => ({
          stream: track(TestSource.make([TestSource.sleep(delays[window.index]!), window.text.toUpperCase()]).stream)
        }))
      )
      for (let i = 0; i < 5; i++) yield* advance("1 second")
      const results = yield* Fiber.join(fiber)
      expect(results.map((result) => result.text)).toEqual(["AB", "CD", "EF", "GH", "IJ"])
      expect(counter.peak).toBe(2)
      expect(counter.started).toBe(5)
      expect(counter.active).toBe(0)
    }))

  it.effect("retries inside a window and reports progress on the EventBus", () =>
    Effect.gen(function*() {
      const flaky = TestSource.make(["x", TestSource.fail(connectionReset())], ["second"])
      const fiber = yield* Effect.forkChild(
        Window.process("One. Two.", { by: "sentences", size: 1, concurrency: 1 }, (window) => ({
          stream: window.index === 1 ? flaky.stream : TestSource.make(["first"]).stream
        })).pipe(
          Effect.flatMap((results) =>
            Effect.gen(function*() {
              const events = yield* (yield* EventBus.Collected).events
              return { results, events }
            })
          ),
          Effect.provide(EventBus.layerCollect)
        )
      )
      for (let i = 0; i < 5; i++) yield* advance("5 seconds")
      const { events, results } = yield* Fiber.join(fiber)
      expect(results.map((result) => result.text)).toEqual(["first", "second"])
      expect(flaky.calls.length).toBe(2)
      const windowEvents = events.filter((event) => event.type === "window_start" || event.type === "window_complete")
      expect(windowEvents.map((event) => [event.type, event.data.index, event.data.total])).toEqual([
        ["window_start", 0, 2],
        ["window_complete", 0, 2],
        ["window_start", 1, 2],
        ["window_complete", 1, 2]
      ])
      expect(windowEvents[3]!.data).toMatchObject({ outcome: "success", completed: 2 })
      expect(events.some((event) => event.type === "retry_attempt")).toBe(true)
    }))

  it.effect("a failing window fails the whole with its index and the results so far", () =>
    Effect.gen(function*() {
      const stalled = TestSource.make([TestSource.stall])
      const fiber = yield* Effect.forkChild(Effect.flip(
        Window.process("aabbccdd", { by: "characters", size: 2, concurrency: 2 }, (window) => ({
          ...noRetry,
          stream: window.index === 0
            ? TestSource.make(["A"]).stream
            : window.index === 1
            ? TestSource.make([TestSource.sleep("1 second"), TestSource.fail(httpError(401))]).stream
            : stalled.stream,
          timeout: { initialToken: "1 minute" }
        }))
      ))
      yield* advance("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("WindowError")
      if (error._tag !== "WindowError") return
      expect(error.index).toBe(1)
      expect(error.total).toBe(4)
      expect(error.message).toContain("Window 1 of 4 failed")
      expect(error.results.map(({ result, window }) => [window.index, result.text])).toEqual([[0, "A"]])
      expect(stalled.calls[0]!.context.signal.aborted).toBe(true)
    }))

  it.effect("options that throw fail that window with a FatalError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Window.process("abc", { by: "characters", size: 1 }, (window) => {
        if (window.index === 2) throw new Error("boom")
        return { stream: TestSource.make(["ok"]).stream }
      }))
      expect(error._tag).toBe("WindowError")
      if (error._tag === "WindowError") {
        expect(error.index).toBe(2)
        expect(error.error._tag).toBe("FatalError")
      }
    }))

  it.effect("requires the services of the sources it builds, provided once around the call", () =>
    Effect.gen(function*() {
      const split = { by: "characters", size: 4 } as const
      expectTypeOf(Window.process("abcd", split, (window) => ({ stream: plain(window.text) }))).toEqualTypeOf<
        ProcessEffect<never>
      >()
      expectTypeOf(Window.process("abcd", split, () => ({ stream: greeted() }))).toEqualTypeOf<
        ProcessEffect<Greeting>
      >()
      const program = Window.process(
        "abcdefghij",
        { ...split, concurrency: 2 },
        (window) =>
          window.index % 2 === 0 ? { stream: greeted(" ", window.text) } : { stream: farewelled(" ", window.text) }
      )
      expectTypeOf(program).toEqualTypeOf<ProcessEffect<Greeting | Farewell>>()
      const results = yield* program.pipe(Effect.provide(Layer.mergeAll(greetingLayer, farewellLayer)))
      expect(results.map((result) => result.text)).toEqual(["hello abcd", "goodbye efgh", "hello ij"])
    }))

  it("a misspelt option that toOptions returns stays a type error", () => {
    // only type-checked: the runs would ignore the misspelt key
    const misspelt = () =>
      // @ts-expect-error: `retyr` is no option
      Window.process("abcd", { size: 1 }, () => ({ stream: greeted(), retyr: noDelay }))
    expectTypeOf(misspelt).toBeFunction()
  })

  it.effect("an empty document runs nothing", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["never"])
      expect(yield* Window.process("", { size: 10 }, () => ({ stream: source.stream }))).toEqual([])
      expect(source.calls.length).toBe(0)
    }))

  it.effect("invalid options fail with a FatalError before any source is called", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["never"])
      const toOptions = () => ({ stream: source.stream })
      const concurrency = yield* Effect.flip(Window.process("abc", { size: 1, concurrency: 0 }, toOptions))
      expect(concurrency.message).toBe(`Invalid option "concurrency": expected a positive integer, got 0`)
      const overlap = yield* Effect.flip(Window.process("abc", { size: 1, overlap: 1 }, toOptions))
      expect(overlap.message).toContain(`"overlap"`)
      const fn = yield* Effect.flip(
        Window.process("abc", { size: 1 }, "nope" as unknown as (window: Window.Window) => L0.L0Options)
      )
      expect(fn.message).toContain(`"toOptions"`)
      const none = yield* Effect.flip(Window.process("abc", null as unknown as Window.ProcessOptions, toOptions))
      expect(none.message).toContain(`"options"`)
      yield* settle
      expect(source.calls.length).toBe(0)
    }))
})
