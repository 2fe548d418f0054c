import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type * as Duration from "effect/Duration"
import type { L0Error, Multi } from "effect-l0"
import { EventBus, L0, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { expectTypeOf } from "vitest"
import {
  activity,
  advance,
  connectionReset,
  Farewell,
  farewelled,
  farewellLayer,
  Greeting,
  greeted,
  greetingLayer,
  httpError,
  noDelay,
  plain,
  settle
} from "./support.js"

type L0Options = L0.L0Options

/** A run that answers `text` after `delay`. */
const slow = (text: string, delay: Duration.Input) => TestSource.make([TestSource.sleep(delay), text])

const noRetry = { retry: { maxAttempts: 1, maxRetries: 0 } } as const

/** Every event of a hedge. */
const hedged = (options: L0Options, after: Duration.Input) => Stream.runCollect(L0.hedge(options, { after }))

const textOf = (events: ReadonlyArray<L0Event.L0Event>): string => events.reduce(L0Event.applyTo, "")

const bothServices = Layer.mergeAll(greetingLayer, farewellLayer)

describe("L0.parallel", () => {
  it.effect("returns results in input order, whatever order they complete in", () =>
    Effect.gen(function*() {
      const sources = [slow("a", "3 seconds"), slow("b", "2 seconds"), slow("c", "1 second")]
      const fiber = yield* Effect.forkChild(L0.parallel(sources.map((source) => ({ stream: source.stream }))))
      for (let i = 0; i < 3; i++) yield* advance("1 second")
      const results = yield* Fiber.join(fiber)
      expect(results.map((result) => result.text)).toEqual(["a", "b", "c"])
    }))

  it.effect("never runs more than `concurrency` sources at once", () =>
    Effect.gen(function*() {
      const { counter, track } = activity()
      const sources = Array.from({ length: 5 }, (_, i) => slow(`r${i}`, "1 second"))
      const fiber = yield* Effect.forkChild(
        L0.parallel(sources.map((source) => ({ stream: track(source.stream) })), { concurrency: 2 })
      )
      yield* settle
      expect(counter.started).toBe(2)
      yield* advance("1 second")
      expect(counter.started).toBe(4)
      yield* advance("1 second")
      yield* advance("1 second")
      const results = yield* Fiber.join(fiber)
      expect(results.map((result) => result.text)).toEqual(["r0", "r1", "r2", "r3", "r4"])
      expect(counter.peak).toBe(2)
      expect(counter.active).toBe(0)
    }))

  it.effect("fail-fast: the first failure fails the whole and aborts the runs still going", () =>
    Effect.gen(function*() {
      const stalled = [TestSource.make([TestSource.stall]), TestSource.make(["x", TestSource.stall])]
      const failing = TestSource.make([TestSource.sleep("1 second"), TestSource.fail(httpError(401))])
      const fiber = yield* Effect.forkChild(Effect.exit(L0.parallel([
        { stream: stalled[0]!.stream, timeout: { initialToken: "1 minute" } },
        { stream: failing.stream },
        { stream: stalled[1]!.stream, timeout: { interToken: "1 minute" } }
      ])))
      yield* advance("1 second")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toContain("401")
      for (const source of stalled) {
        expect(source.calls[0]!.context.signal.aborted).toBe(true)
        expect(source.calls[0]!.returned).toBe(true)
        expect(source.calls[0]!.finished).toBe(false)
      }
    }))

  it.effect("settle: every run finishes and each outcome is a Result", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(L0.parallel([
        { stream: slow("ok", "2 seconds").stream },
        { stream: TestSource.make([TestSource.fail(httpError(403))]).stream },
        { stream: slow("also ok", "1 second").stream }
      ], { concurrency: 3, mode: "settle" }))
      yield* advance("1 second")
      yield* advance("1 second")
      const outcomes = yield* Fiber.join(fiber)
      expect(outcomes.map((outcome) => Result.isSuccess(outcome) ? outcome.success.text : outcome.failure._tag))
        .toEqual(["ok", "ExhaustedError", "also ok"])
    }))

  it.effect("requires the union of its sources' services, provided once around the call, on every attempt", () =>
    Effect.gen(function*() {
      async function* tokens() {
        yield "a"
      }
      expectTypeOf(L0.parallel([{ stream: plain("a") }, { stream: tokens }])).toEqualTypeOf<
        Effect.Effect<Array<L0.L0Result>, L0Error.L0Error, never>
      >()
      const withSignal = L0.parallel([{
        stream: ({ signal }) => {
          signal.throwIfAborted()
          return Promise.resolve(tokens())
        }
      }])
      expectTypeOf(withSignal).toEqualTypeOf<Effect.Effect<Array<L0.L0Result>, L0Error.L0Error, never>>()
      expectTypeOf(L0.parallel([{ stream: greeted() }, { stream: plain("a") }], { mode: "settle" })).toEqualTypeOf<
        Effect.Effect<Array<Multi.Settled>, L0Error.FatalError, Greeting>
      >()
      const typed: ReadonlyArray<L0.L0Options<Greeting>> = [{ stream: greeted() }]
      expectTypeOf(L0.parallel(typed)).toEqualTypeOf<Effect.Effect<Array<L0.L0Result>, L0Error.L0Error, Greeting>>()
      let calls = 0
      const program = L0.parallel([
        { stream: greeted(" world") },
        { stream: farewelled(" world") },
        { stream: () => calls++ === 0 ? Stream.fail(connectionReset()) : greeted(" again")(), retry: noDelay },
        { stream: plain("plain"), fallbacks: [farewelled()] }
      ])
      expectTypeOf(program).toEqualTypeOf<
        Effect.Effect<Array<L0.L0Result>, L0Error.L0Error, Greeting | Farewell>
      >()
      const results = yield* program.pipe(Effect.provide(bothServices))
      expect(results.map((result) => result.text)).toEqual(["hello world", "goodbye world", "hello again", "plain"])
      expect(calls).toBe(2)
    }))

  it("a misspelt option in a list stays a type error, as in a single run's options", () => {
    // only type-checked: the runs would ignore the misspelt key
    const misspelt = () => [
      // @ts-expect-error: `retyr` is no option
      L0.parallel([{ stream: greeted(), retyr: noDelay }]),
      // @ts-expect-error: `retyr` is no option
      L0.race([{ stream: plain("a") }, { stream: greeted(), retyr: noDelay }]),
      // @ts-expect-error: `retyr` is no option
      L0.batched([{ stream: plain("a"), retyr: noDelay }], { size: 1 })
    ]
    expectTypeOf(misspelt).toBeFunction()
  })

  it.effect("an empty list gives no results", () =>
    Effect.gen(function*() {
      expect(yield* L0.parallel([])).toEqual([])
    }))

  it.effect("invalid options fail with a FatalError naming the option", () =>
    Effect.gen(function*() {
      const options = [{ stream: slow("a", "1 second").stream }]
      const concurrency = yield* Effect.flip(L0.parallel(options, { concurrency: 0 }))
      expect(concurrency.message).toBe(
        `Invalid option "concurrency": expected a positive integer or "unbounded", got 0`
      )
      const mode = yield* Effect.flip(L0.parallel(options, { mode: "fast" as "fail-fast" }))
      expect(mode.message).toContain(`"mode"`)
      const list = yield* Effect.flip(L0.parallel("nope" as unknown as ReadonlyArray<L0Options>))
      expect(list.message).toContain(`"options": expected an array of L0 options, got a string`)
      const config = yield* Effect.flip(L0.parallel(options, 3 as unknown as { concurrency: number }))
      expect(config.message).toContain(`"config"`)
    }))
})

describe("L0.race", () => {
  it.effect("the first success wins; the losers are interrupted and their requests aborted", () =>
    Effect.gen(function*() {
      const sources = [slow("slow", "3 seconds"), slow("fast", "1 second"),
        TestSource.make(["partial", TestSource.stall])]
      const fiber = yield* Effect.forkChild(L0.race(sources.map((source) => ({ stream: source.stream }))))
      yield* advance("1 second")
      const { index, result } = yield* Fiber.join(fiber)
      expect(index).toBe(1)
      expect(result.text).toBe("fast")
      for (const loser of [sources[0]!, sources[2]!]) {
        expect(loser.calls[0]!.context.signal.aborted).toBe(true)
        expect(loser.calls[0]!.returned).toBe(true)
        expect(loser.calls[0]!.finished).toBe(false)
      }
      expect(sources[1]!.calls[0]!.finished).toBe(true)
    }))

  it.effect("a failure does not end the race while another run is going", () =>
    Effect.gen(function*() {
      const failing = TestSource.make([TestSource.fail(httpError(401))])
      const fiber = yield* Effect.forkChild(
        L0.race([{ stream: failing.stream }, { stream: slow("late", "5 seconds").stream }])
      )
      yield* advance("1 second")
      expect(failing.calls.length).toBe(1)
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* advance("4 seconds")
      const { index, result } = yield* Fiber.join(fiber)
      expect([index, result.text]).toEqual([1, "late"])
    }))

  it.effect("when every run fails, an AllFailedError lists each failure in input order", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.flip(L0.race([
        { stream: TestSource.make([TestSource.sleep("1 second"), TestSource.fail(httpError(401))]).stream },
        { stream: TestSource.make([TestSource.fail(connectionReset())]).stream, ...noRetry }
      ])))
      yield* advance("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("AllFailedError")
      if (error._tag !== "AllFailedError") return
      expect(error.failures.map(({ index }) => index)).toEqual([0, 1])
      expect(error.failures.map(({ error }) => error.category)).toEqual(["fatal", "network"])
      expect(error.message).toMatch(/^All 2 runs failed: #0 ExhaustedError: .*401.*; #1 ExhaustedError: /)
    }))

  it.effect("requires the union of its sources' services, provided once around the race", () =>
    Effect.gen(function*() {
      expectTypeOf(L0.race([{ stream: plain("a") }])).toEqualTypeOf<
        Effect.Effect<Multi.RaceResult, Multi.AllFailedError | L0Error.FatalError, never>
      >()
      const waitsForever = () => Effect.map(Effect.service(Farewell), () => Stream.never)
      const program = L0.race([
        { stream: waitsForever, timeout: { initialToken: "1 minute" } },
        { stream: greeted(", first") }
      ])
      expectTypeOf(program).toEqualTypeOf<
        Effect.Effect<Multi.RaceResult, Multi.AllFailedError | L0Error.FatalError, Greeting | Farewell>
      >()
      const { index, result } = yield* program.pipe(Effect.provide(bothServices))
      expect([index, result.text]).toEqual([1, "hello, first"])
    }))

  it.effect("an empty race is an invalid option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(L0.race([]))
      expect(error._tag).toBe("FatalError")
      expect(error.message).toContain("a non-empty array of L0 options")
    }))

  it.effect("interrupting the race aborts every run", () =>
    Effect.gen(function*() {
      const sources = [TestSource.make([TestSource.stall]), TestSource.make([TestSource.stall])]
      const fiber = yield* Effect.forkChild(
        L0.race(sources.map((source) => ({ stream: source.stream, timeout: { initialToken: "1 minute" } })))
      )
      yield* settle
      yield* Fiber.interrupt(fiber)
      expect(sources.map((source) => source.calls[0]!.context.signal.aborted)).toEqual([true, true])
    }))
})

describe("L0.batched", () => {
  it.effect("runs consecutive batches and reports them on the EventBus", () =>
    Effect.gen(function*() {
      const { counter, track } = activity()
      const sources = [1, 2, 1, 1, 1].map((seconds, i) => slow(`r${i}`, `${seconds} seconds`))
      const fiber = yield* Effect.forkChild(
        L0.batched(sources.map((source) => ({ stream: track(source.stream) })), { size: 2 })
      )
      yield* advance("1 second")
      // r0 is done but r1 is not: the next batch waits for the whole batch
      expect(counter.started).toBe(2)
      yield* advance("1 second")
      expect(counter.started).toBe(4)
      yield* advance("1 second")
      expect(counter.started).toBe(5)
      yield* advance("1 second")
      const results = yield* Fiber.join(fiber)
      expect(results.map((result) => result.text)).toEqual(["r0", "r1", "r2", "r3", "r4"])
      expect(counter.peak).toBe(2)
      const events = (yield* (yield* EventBus.Collected).events).filter((event) =>
        event.type === "batch_start" || event.type === "batch_complete"
      )
      expect(events.map((event) => [event.type, event.data.batch])).toEqual([
        ["batch_start", 0],
        ["batch_complete", 0],
        ["batch_start", 1],
        ["batch_complete", 1],
        ["batch_start", 2],
        ["batch_complete", 2]
      ])
      expect(events[5]!.data).toEqual({
        batch: 2,
        batches: 3,
        size: 1,
        outcome: "success",
        succeeded: 1,
        failed: 0,
        completed: 5,
        total: 5
      })
      expect(new Set(events.map((event) => event.sessionId)).size).toBe(1)
      expect(events.map((event) => event.timestamp)).toEqual([0, 2000, 2000, 3000, 3000, 4000])
    }).pipe(Effect.provide(EventBus.layerCollect)))

  it.effect("settle: failures are counted per batch and every batch runs", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(L0.batched([
        { stream: TestSource.make([TestSource.fail(httpError(401))]).stream },
        { stream: slow("b", "1 second").stream },
        { stream: slow("c", "1 second").stream }
      ], { size: 2, mode: "settle" }))
      yield* advance("1 second")
      yield* advance("1 second")
      const outcomes = yield* Fiber.join(fiber)
      expect(outcomes.map(Result.isSuccess)).toEqual([false, true, true])
      const completes = (yield* (yield* EventBus.Collected).events).filter((event) => event.type === "batch_complete")
      expect(completes.map((event) => [event.data.succeeded, event.data.failed, event.data.completed])).toEqual([
        [1, 1, 2],
        [1, 0, 3]
      ])
    }).pipe(Effect.provide(EventBus.layerCollect)))

  it.effect("fail-fast: a failing batch stops the run and no later batch starts", () =>
    Effect.gen(function*() {
      const later = slow("never", "1 second")
      const stalled = TestSource.make([TestSource.stall])
      const fiber = yield* Effect.forkChild(Effect.flip(L0.batched([
        { stream: stalled.stream, timeout: { initialToken: "1 minute" } },
        { stream: TestSource.make([TestSource.sleep("1 second"), TestSource.fail(httpError(401))]).stream },
        { stream: later.stream }
      ], { size: 2 })))
      yield* advance("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("ExhaustedError")
      expect(later.calls.length).toBe(0)
      expect(stalled.calls[0]!.context.signal.aborted).toBe(true)
      const events = (yield* (yield* EventBus.Collected).events).filter((event) =>
        event.type === "batch_start" || event.type === "batch_complete"
      )
      expect(events.map((event) => event.type)).toEqual(["batch_start", "batch_complete"])
      expect(events[1]!.data).toMatchObject({ outcome: "failure", succeeded: 0, failed: 1, completed: 1 })
    }).pipe(Effect.provide(EventBus.layerCollect)))

  it.effect("without a bus layer, batches run the same", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(L0.batched([{ stream: slow("a", "1 second").stream }], { size: 4 }))
      yield* advance("1 second")
      expect((yield* Fiber.join(fiber)).map((result) => result.text)).toEqual(["a"])
    }))

  it.effect("interrupting a batched run reports the batch as interrupted", () =>
    Effect.gen(function*() {
      const stalled = TestSource.make([TestSource.stall])
      const fiber = yield* Effect.forkChild(
        L0.batched([{ stream: stalled.stream, timeout: { initialToken: "1 minute" } }], { size: 1 })
      )
      yield* settle
      yield* Fiber.interrupt(fiber)
      expect(stalled.calls[0]!.context.signal.aborted).toBe(true)
      const events = (yield* (yield* EventBus.Collected).events).filter((event) => event.type === "batch_complete")
      expect(events.map((event) => [event.data.outcome, event.data.succeeded, event.data.failed])).toEqual([
        ["interrupted", 0, 0]
      ])
    }).pipe(Effect.provide(EventBus.layerCollect)))

  it.effect("requires the union of its sources' services, provided once around every batch", () =>
    Effect.gen(function*() {
      expectTypeOf(L0.batched([{ stream: plain("a") }], { size: 1 })).toEqualTypeOf<
        Effect.Effect<Array<L0.L0Result>, L0Error.L0Error, never>
      >()
      expectTypeOf(L0.batched([{ stream: greeted() }], { size: 1, mode: "settle" })).toEqualTypeOf<
        Effect.Effect<Array<Multi.Settled>, L0Error.FatalError, Greeting>
      >()
      const program = L0.batched(
        [{ stream: greeted(" 1") }, { stream: farewelled(" 2") }, { stream: greeted(" 3") }],
        { size: 2 }
      )
      expectTypeOf(program).toEqualTypeOf<
        Effect.Effect<Array<L0.L0Result>, L0Error.L0Error, Greeting | Farewell>
      >()
      const results = yield* program.pipe(Effect.provide(bothServices))
      expect(results.map((result) => result.text)).toEqual(["hello 1", "goodbye 2", "hello 3"])
    }))

  it.effect("invalid sizes fail with a FatalError naming the option", () =>
    Effect.gen(function*() {
      const options = [{ stream: slow("a", "1 second").stream }]
      for (const size of [0, 1.5, undefined]) {
        const error = yield* Effect.flip(L0.batched(options, { size } as { size: number }))
        expect(error.message).toContain(`Invalid option "size": expected a positive integer`)
      }
      const config = yield* Effect.flip(L0.batched(options, null as unknown as { size: number }))
      expect(config.message).toContain(`"config"`)
    }))
})

describe("L0.hedge", () => {
  it.effect("starts a second run when the first has no output after `after`; the first to emit wins", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.stall], ["fast ", TestSource.sleep("1 second"), "answer"])
      const fiber = yield* Effect.forkChild(
        hedged({ stream: source.stream, timeout: { initialToken: "1 minute" } }, "2 seconds")
      )
      yield* advance("1999 millis")
      expect(source.calls.length).toBe(1)
      yield* advance("1 milli")
      expect(source.calls.length).toBe(2)
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
      expect(source.calls[0]!.returned).toBe(true)
      yield* advance("1 second")
      const events = yield* Fiber.join(fiber)
      expect(textOf(events)).toBe("fast answer")
      expect(events.filter((event) => event._tag === "Complete")).toHaveLength(1)
    }))

  it.effect("no second run when the first emits before `after`", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.sleep("5 seconds"), "b"])
      const fiber = yield* Effect.forkChild(hedged({ stream: source.stream }, "1 second"))
      yield* advance("1 second")
      yield* advance("4 seconds")
      expect(textOf(yield* Fiber.join(fiber))).toBe("ab")
      expect(source.calls.length).toBe(1)
    }))

  it.effect("the first run can still win after the hedge started; then the hedge is aborted", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        [TestSource.sleep("1500 millis"), "first"],
        [TestSource.stall]
      )
      const fiber = yield* Effect.forkChild(
        hedged({ stream: source.stream, timeout: { initialToken: "1 minute" } }, "1 second")
      )
      yield* advance("1 second")
      expect(source.calls.length).toBe(2)
      yield* advance("500 millis")
      expect(textOf(yield* Fiber.join(fiber))).toBe("first")
      expect(source.calls[1]!.context.signal.aborted).toBe(true)
      expect(source.calls[1]!.returned).toBe(true)
    }))

  it.effect("a first run failing before `after` ends the stream with its error and starts no hedge", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.fail(httpError(401))], ["unused"])
      const fiber = yield* Effect.forkChild(Effect.flip(hedged({ stream: source.stream }, "1 second")))
      yield* advance("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("ExhaustedError")
      expect(source.calls.length).toBe(1)
    }))

  it.effect("a failure before any output waits for the other run; both failing fails the stream", () =>
    Effect.gen(function*() {
      const recovered = TestSource.make(
        [TestSource.sleep("2 seconds"), TestSource.fail(httpError(401))],
        [TestSource.sleep("2 seconds"), "hedged"]
      )
      const won = yield* Effect.forkChild(hedged({ stream: recovered.stream }, "1 second"))
      yield* advance("1 second")
      yield* advance("1 second")
      yield* advance("1 second")
      expect(textOf(yield* Fiber.join(won))).toBe("hedged")

      const failing = TestSource.make(
        [TestSource.sleep("2 seconds"), TestSource.fail(httpError(401))],
        [TestSource.sleep("2 seconds"), TestSource.fail(httpError(403))]
      )
      const lost = yield* Effect.forkChild(Effect.flip(hedged({ stream: failing.stream }, "1 second")))
      yield* advance("1 second")
      yield* advance("1 second")
      expect(lost.pollUnsafe()).toBeUndefined()
      yield* advance("1 second")
      const error = yield* Fiber.join(lost)
      expect(error.message).toContain("403")
    }))

  it.effect("the winner's later failure fails the stream", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.fail(httpError(401))])
      const error = yield* Effect.flip(hedged({ stream: source.stream }, "1 second"))
      expect(error.message).toContain("401")
    }))

  it.effect("interrupting the consumer aborts both runs", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.stall])
      const fiber = yield* Effect.forkChild(
        hedged({ stream: source.stream, timeout: { initialToken: "1 minute" } }, "1 second")
      )
      yield* advance("1 second")
      yield* Fiber.interrupt(fiber)
      expect(source.calls.map((call) => call.context.signal.aborted)).toEqual([true, true])
    }))

  it.effect("requires its sources' services, which the hedged second run gets too", () =>
    Effect.gen(function*() {
      expectTypeOf(L0.hedge({ stream: plain("a") }, { after: 1 })).toEqualTypeOf<
        Stream.Stream<L0Event.L0Event, L0Error.L0Error, never>
      >()
      let calls = 0
      const events = L0.hedge({
        stream: () =>
          Effect.map(Effect.service(Greeting), ({ word }) => calls++ === 0 ? Stream.never : Stream.make(word)),
        timeout: { initialToken: "1 minute" }
      }, { after: "2 seconds" })
      expectTypeOf(events).toEqualTypeOf<Stream.Stream<L0Event.L0Event, L0Error.L0Error, Greeting>>()
      const fiber = yield* Effect.forkChild(Stream.runCollect(events).pipe(Effect.provide(greetingLayer)))
      yield* advance("2 seconds")
      expect(textOf(yield* Fiber.join(fiber))).toBe("hello")
      expect(calls).toBe(2)
    }))

  it.effect("an invalid `after` fails with a FatalError", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a"])
      for (const after of ["soon", "Infinity", undefined, NaN, -1, [NaN, 0]]) {
        const error = yield* Effect.flip(
          Stream.runCollect(L0.hedge({ stream: source.stream }, { after } as unknown as Multi.HedgeOptions))
        )
        expect(error.message).toContain(`Invalid option "after": expected a finite duration`)
      }
      const config = yield* Effect.flip(
        Stream.runCollect(L0.hedge({ stream: source.stream }, 5 as unknown as { after: number }))
      )
      expect(config.message).toContain(`got 5`)
      expect(source.calls.length).toBe(0)
    }))
})
