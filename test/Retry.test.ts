import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { EventBus, L0, L0Error, Retry } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset, failureOf, httpError, noDelay, settle } from "./support.js"

const modelError = () => new Error("the model returned nonsense")

describe("budgets", () => {
  it.effect("network and transient errors retry past maxAttempts, bounded by maxRetries", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.fail(connectionReset())], [TestSource.fail(httpError(529))])
      const error = failureOf(
        yield* Effect.exit(L0.text({ stream: source.stream, retry: { ...noDelay, maxAttempts: 1, maxRetries: 4 } }))
      )
      expect(source.calls).toHaveLength(5)
      expect(error).toBeInstanceOf(L0Error.ExhaustedError)
      expect((error as L0Error.ExhaustedError).attempts.map((a) => a.error.category)).toEqual([
        "network",
        "transient",
        "transient",
        "transient",
        "transient"
      ])
    }))

  it.effect("model and content errors consume maxAttempts", () =>
    Effect.gen(function*() {
      const model = TestSource.make([TestSource.fail(modelError())])
      yield* Effect.exit(L0.text({ stream: model.stream, retry: { ...noDelay, maxAttempts: 3 } }))
      expect(model.calls).toHaveLength(3)
      const content = TestSource.make([TestSource.fail(new L0Error.ContentError({ message: "bad" }))])
      yield* Effect.exit(L0.text({ stream: content.stream, retry: { ...noDelay, maxAttempts: 2 } }))
      expect(content.calls).toHaveLength(2)
    }))

  it.effect("fatal errors are not retried", () =>
    Effect.gen(function*() {
      for (const status of [400, 401, 403, 404, 422]) {
        const source = TestSource.make([TestSource.fail(httpError(status))])
        const error = failureOf(yield* Effect.exit(L0.text({ stream: source.stream, retry: noDelay })))
        expect(source.calls).toHaveLength(1)
        expect((error as L0Error.ExhaustedError).lastError).toMatchObject({ _tag: "FatalError", status })
      }
    }))

  it.effect("counters do not reset when an attempt emits tokens", () =>
    Effect.gen(function*() {
      const tokensThen = (error: unknown) => ["1", "2", "3", "4", "5", TestSource.fail(error)]
      const model = TestSource.make(tokensThen(modelError()))
      const modelExit = yield* Effect.exit(L0.text({ stream: model.stream, retry: { ...noDelay, maxAttempts: 2 } }))
      expect(Exit.isFailure(modelExit)).toBe(true)
      expect(model.calls).toHaveLength(2)
      expect(model.calls.every((call) => call.emitted === 5)).toBe(true)

      const network = TestSource.make(tokensThen(connectionReset()))
      const networkExit = yield* Effect.exit(L0.text({ stream: network.stream, retry: { ...noDelay, maxRetries: 3 } }))
      expect(Exit.isFailure(networkExit)).toBe(true)
      expect(network.calls).toHaveLength(4)
    }))

  it.effect("model errors among network errors still exhaust maxAttempts", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        [TestSource.fail(modelError())],
        [TestSource.fail(connectionReset())],
        [TestSource.fail(httpError(503))],
        [TestSource.fail(modelError())],
        ["never reached"]
      )
      const exit = yield* Effect.exit(L0.text({ stream: source.stream, retry: { ...noDelay, maxAttempts: 2 } }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(source.calls).toHaveLength(4)
    }))

  it.effect("the state counts model and network retries over the run", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        [TestSource.fail(connectionReset())],
        [TestSource.fail(modelError())],
        [TestSource.fail(httpError(429))],
        ["done"]
      )
      const { state } = yield* L0.run({ stream: source.stream, retry: noDelay })
      expect(state).toMatchObject({ attempt: 4, modelRetryCount: 1, networkRetryCount: 2 })
    }))
})

/** Runs a source that fails `delays.length` times and checks that each retry starts exactly after its delay. */
const expectDelays = (
  retry: L0.L0Options["retry"],
  delays: ReadonlyArray<number>,
  error: () => unknown = connectionReset
) =>
  Effect.gen(function*() {
    const source = TestSource.make(...delays.map(() => [TestSource.fail(error())]), ["ok"])
    const fiber = yield* Effect.forkChild(L0.text({ stream: source.stream, retry }))
    yield* settle
    for (const [i, delay] of delays.entries()) {
      expect(source.calls).toHaveLength(i + 1)
      if (delay > 1) {
        yield* advance(delay - 1)
        expect(source.calls).toHaveLength(i + 1)
        yield* advance(1)
      } else {
        yield* advance(delay)
      }
      expect(source.calls).toHaveLength(i + 2)
    }
    expect(yield* Fiber.join(fiber)).toBe("ok")
  })

describe("backoff", () => {
  const options = (backoff: Retry.BackoffName): Retry.RetryOptions => ({
    backoff,
    baseDelay: "1 second",
    maxDelay: "10 seconds"
  })

  it.effect("exponential waits min(base * 2^n, cap)", () =>
    expectDelays(options("exponential"), [1000, 2000, 4000, 8000, 10_000, 10_000]))

  it.effect("linear waits min(base * (n + 1), cap)", () => expectDelays(options("linear"), [1000, 2000, 3000, 4000]))

  it.effect("fixed waits base every time", () => expectDelays(options("fixed"), [1000, 1000, 1000]))

  it.effect("fixed-jitter waits t/2 + random * t/2 and full-jitter random * t", () =>
    Effect.gen(function*() {
      // a Random whose every draw is 0.25
      const quarter: Random.Random = { nextDoubleUnsafe: () => 0.25, nextIntUnsafe: () => 0 }
      yield* expectDelays(options("fixed-jitter"), [625, 1250, 2500, 5000, 6250]).pipe(
        Effect.provideService(Random.Random, quarter)
      )
      yield* expectDelays(options("full-jitter"), [250, 500, 1000, 2000, 2500]).pipe(
        Effect.provideService(Random.Random, quarter)
      )
    }))

  it.effect("jittered delays stay within their bounds", () =>
    Effect.gen(function*() {
      const delays: Array<number> = []
      const bus = EventBus.layer((event) => {
        if (event.type === "retry_attempt") delays.push(event.data.delayMs as number)
      })
      const fails = 8
      for (const backoff of ["fixed-jitter", "full-jitter"] as const) {
        delays.length = 0
        const source = TestSource.make(...Array.from({ length: fails }, () => [TestSource.fail(connectionReset())]), [
          "ok"
        ])
        const fiber = yield* Effect.forkChild(
          L0.text({ stream: source.stream, retry: { backoff, baseDelay: "100 millis", maxDelay: "3 seconds" } }).pipe(
            Effect.provide(bus)
          )
        )
        for (let i = 0; i < fails; i++) yield* advance("3 seconds")
        expect(yield* Fiber.join(fiber)).toBe("ok")
        expect(delays).toHaveLength(fails)
        delays.forEach((delay, n) => {
          const t = Math.min(100 * 2 ** n, 3000)
          expect(delay).toBeLessThanOrEqual(t)
          expect(delay).toBeGreaterThanOrEqual(backoff === "fixed-jitter" ? t / 2 : 0)
        })
      }
    }))

  it.effect("the default is fixed-jitter from 1 second", () =>
    expectDelays(undefined, [750, 1500]).pipe(
      Effect.provideService(Random.Random, { nextDoubleUnsafe: () => 0.5, nextIntUnsafe: () => 0 })
    ))

  it.effect("Retry-After overrides the delay, capped at maxDelay", () =>
    Effect.gen(function*() {
      yield* expectDelays(options("fixed"), [3000], () => httpError(429, { "retry-after": "3" }))
      yield* expectDelays(options("fixed"), [10_000], () => httpError(529, { "Retry-After": "120" }))
      yield* expectDelays(options("fixed"), [250], () => httpError(429, { "retry-after-ms": "250" }))
      const now = yield* Clock.currentTimeMillis
      const at = new Date(Math.ceil((now + 4000) / 1000) * 1000)
      const wait = at.getTime() - now
      yield* expectDelays(options("fixed"), [wait], () => httpError(503, { "retry-after": at.toUTCString() }))
    }))

  it.effect("a Retry-After that is not delta-seconds or an HTTP date is ignored: the computed backoff applies", () =>
    Effect.gen(function*() {
      for (const value of ["-5", "-1", "Retry later 2", "1.5", "2026-01-01T00:00:00Z"]) {
        yield* expectDelays(options("fixed"), [1000, 1000], () => httpError(429, { "retry-after": value }))
      }
      yield* expectDelays(options("fixed"), [1000], () => httpError(429, { "retry-after-ms": "-5" }))
    }))

  it.effect("a user-supplied Schedule is honoured, and its end exhausts the source", () =>
    Effect.gen(function*() {
      yield* expectDelays(Schedule.spaced("3 seconds"), [3000, 3000])
      yield* expectDelays(
        { backoff: Schedule.exponential("100 millis", 3), maxAttempts: 5 },
        [100, 300, 900],
        modelError
      )
      const source = TestSource.make([TestSource.fail(connectionReset())])
      const exit = yield* Effect.exit(L0.text({ stream: source.stream, retry: Schedule.recurs(2) }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(source.calls).toHaveLength(3)
    }))
})

describe("Retry.policy", () => {
  it.effect("is a Schedule that can be stepped directly", () =>
    Effect.gen(function*() {
      const step = yield* Schedule.toStep(Retry.policy({ backoff: "exponential", maxAttempts: 2 }))
      const network = new L0Error.NetworkError({ message: "reset" })
      const [first] = yield* step(0, network)
      const [second] = yield* step(0, network)
      expect([Duration.toMillis(first), Duration.toMillis(second)]).toEqual([1000, 2000])
      const model = new L0Error.ModelError({ message: "bad" })
      yield* step(0, model)
      const exhausted = yield* Effect.exit(step(0, model))
      expect(Exit.isFailure(exhausted)).toBe(true)
    }))

  it.effect("exposes the strategies by name", () =>
    Effect.sync(() => {
      expect(Object.keys(Retry.strategies)).toEqual(["exponential", "linear", "fixed", "fixed-jitter", "full-jitter"])
      expect(Retry.isBackoffName("linear")).toBe(true)
      expect(Retry.isBackoffName("toString")).toBe(false)
    }))
})
