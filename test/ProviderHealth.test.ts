import { NodeRedis } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as CircuitBreaker from "effect/persistence/CircuitBreaker"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as Stream from "effect/Stream"
import { EventBus, L0, L0Error, ProviderHealth } from "effect-l0"
import { advance, connectionReset, failureOf, httpError, lastErrorOf } from "./support.js"
import { hasRedis, startRedis, useRedis } from "./fleet/redis.js"

/** A provider that fails with `failure` until it is healthy, counting its calls. */
const provider = (key: string, failure: () => Error) => {
  const state = { calls: 0, healthy: false }
  const source = ProviderHealth.keyed(key, () => {
    state.calls++
    if (!state.healthy) throw failure()
    return Stream.make("primary")
  })
  return { state, source }
}

const backup: L0.SourceFactory = () => Stream.make("backup")
/** One request per source, so each run is one attempt on each. */
const once = { maxRetries: 0 } as const

const collected = Effect.gen(function*() {
  return yield* (yield* EventBus.Collected).events
})

const eventsOf = (events: ReadonlyArray<EventBus.BusEvent>, type: EventBus.EventType) =>
  events.filter((event) => event.type === type).map((event) => event.data)

describe("ProviderHealth: circuit breaker", () => {
  it.effect("repeated network failures open the circuit: runs skip the source, then a probe closes it", () =>
    Effect.gen(function*() {
      const { source, state } = provider("primary", connectionReset)
      const run = L0.text({ stream: source, fallbacks: [backup], retry: once })
      expect(yield* run).toBe("backup")
      expect(yield* run).toBe("backup")
      expect(state.calls).toBe(2)
      // open: the third run goes straight to the fallback
      expect(yield* run).toBe("backup")
      expect(state.calls).toBe(2)
      expect(eventsOf(yield* collected, "circuit_open")).toEqual([{ source: 0, key: "primary", retryAfterMs: 30_000 }])
      // still open a moment before the open duration ends
      yield* advance("29 seconds")
      expect(yield* run).toBe("backup")
      expect(state.calls).toBe(2)
      // half-open: the probe goes out, succeeds and closes the circuit
      yield* advance("1 second")
      state.healthy = true
      expect(yield* run).toBe("primary")
      expect(yield* run).toBe("primary")
      expect(state.calls).toBe(4)
    }).pipe(Effect.provide(Layer.merge(
      ProviderHealth.layerMemory({ failures: 2, openDuration: "30 seconds", rateLimit: false }),
      EventBus.layerCollect
    ))))

  it.effect("a failed probe opens the circuit again", () =>
    Effect.gen(function*() {
      const { source, state } = provider("primary", connectionReset)
      const run = L0.text({ stream: source, fallbacks: [backup], retry: once })
      yield* run
      expect(state.calls).toBe(1)
      yield* advance("10 seconds")
      yield* run
      expect(state.calls).toBe(2)
      yield* run
      expect(state.calls).toBe(2)
    }).pipe(Effect.provide(ProviderHealth.layerMemory({ failures: 1, openDuration: "10 seconds", rateLimit: false }))))

  it.effect("model, content and fatal errors never open it; other keys and unkeyed sources are not affected", () =>
    Effect.gen(function*() {
      const auth = provider("auth", () => httpError(401))
      const other = provider("other", connectionReset)
      for (let i = 0; i < 3; i++) yield* L0.text({ stream: auth.source, fallbacks: [backup], retry: once })
      expect(auth.state.calls).toBe(3)
      yield* L0.text({ stream: other.source, fallbacks: [backup], retry: once })
      yield* L0.text({ stream: other.source, fallbacks: [backup], retry: once })
      expect(other.state.calls).toBe(1)
      let plain = 0
      for (let i = 0; i < 2; i++) {
        yield* Effect.exit(L0.text({
          stream: () => {
            plain++
            throw connectionReset()
          },
          fallbacks: [backup],
          retry: once
        }))
      }
      expect(plain).toBe(2)
    }).pipe(Effect.provide(ProviderHealth.layerMemory({ failures: 1, rateLimit: false }))))

  it.effect("with every source open, the run fails with an ExhaustedError that says why", () =>
    Effect.gen(function*() {
      const { source } = provider("only", connectionReset)
      yield* Effect.exit(L0.text({ stream: source, retry: once }))
      const error = failureOf(yield* Effect.exit(L0.text({ stream: source, retry: once })))
      expect(error._tag).toBe("ExhaustedError")
      expect(error.message).toContain("last: TransientError: Circuit open for provider \"only\"")
    }).pipe(Effect.provide(ProviderHealth.layerMemory({ failures: 1, rateLimit: false }))))

  it.effect("without a ProviderHealth layer a keyed source is a plain source", () =>
    Effect.gen(function*() {
      const { source, state } = provider("primary", connectionReset)
      for (let i = 0; i < 3; i++) yield* L0.text({ stream: source, fallbacks: [backup], retry: once })
      expect(state.calls).toBe(3)
    }))
})

describe("ProviderHealth: shared rate limit", () => {
  const limited = () => provider("limited", () => httpError(429, { "retry-after": "20" }))

  it.effect("after a 429 with Retry-After 20, the next run falls back at once instead of sending", () =>
    Effect.gen(function*() {
      const { source, state } = limited()
      const run = L0.text({ stream: source, fallbacks: [backup], retry: once })
      expect(yield* run).toBe("backup")
      expect(state.calls).toBe(1)
      yield* advance("19 seconds")
      expect(yield* run).toBe("backup")
      expect(state.calls).toBe(1)
      expect(eventsOf(yield* collected, "rate_limited")).toEqual([
        { source: 0, key: "limited", retryAfterMs: 1000, action: "fallback" }
      ])
      yield* advance("1 second")
      state.healthy = true
      expect(yield* run).toBe("primary")
    }).pipe(Effect.provide(Layer.merge(
      ProviderHealth.layerMemory({ failures: false, rateLimit: { whenLimited: "fallback" } }),
      EventBus.layerCollect
    ))))

  it.effect("with whenLimited \"wait\", the next run waits the 20 seconds out, then sends", () =>
    Effect.gen(function*() {
      const { source, state } = limited()
      const run = L0.text({ stream: source, fallbacks: [backup], retry: { ...once, maxDelay: "30 seconds" } })
      expect(yield* run).toBe("backup")
      state.healthy = true
      const waiting = yield* Effect.forkChild(run)
      yield* advance("19 seconds")
      expect(state.calls).toBe(1)
      expect(eventsOf(yield* collected, "rate_limited")).toEqual([
        { source: 0, key: "limited", retryAfterMs: 20_000, action: "wait" }
      ])
      yield* advance("1 second")
      expect(yield* Fiber.join(waiting)).toBe("primary")
      expect(state.calls).toBe(2)
    }).pipe(Effect.provide(Layer.merge(
      ProviderHealth.layerMemory({ failures: false }),
      EventBus.layerCollect
    ))))
})

/** The run's exit if it ended by now, without moving the clock. */
const exitNow = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.sync(() => fiber.pollUnsafe())

/** What a run did: its exit once the clock has moved `by` at most, the requests sent and the bus events. */
const observe = <A, E>(run: Effect.Effect<A, E>, by: Duration.Input, calls: () => number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(run)
    yield* advance(by)
    const exit = yield* exitNow(fiber)
    yield* Fiber.interrupt(fiber)
    const events = yield* collected
    return {
      exit,
      calls: calls(),
      waits: events.filter((event) => event.type === "retry_attempt" || event.type === "rate_limited").map((event) =>
        event.type === "retry_attempt"
          ? { retry: event.data.delayMs }
          : { [event.data.action]: event.data.retryAfterMs }
      )
    }
  })

describe("ProviderHealth: a shared rate limit never outwaits the run's own limits", () => {
  /** Answers 429 with `retryAfter` once, then the answer. */
  const limitedOnce = (key: string, retryAfter: string) => {
    const state = { calls: 0 }
    const source = ProviderHealth.keyed(key, () => {
      state.calls++
      if (state.calls === 1) throw httpError(429, { "retry-after": retryAfter })
      return Stream.make("primary")
    })
    return { state, source }
  }
  const retry = { backoff: "fixed", baseDelay: "1 second", maxDelay: "1 second" } as const
  const layer = Layer.merge(ProviderHealth.layerMemory({ failures: false }), EventBus.layerCollect)

  it.effect("Retry-After 3600 with maxDelay 1 s: the run goes to its fallback at once, not in an hour", () =>
    Effect.gen(function*() {
      const { source, state } = limitedOnce("hour", "3600")
      const seen = yield* observe(
        L0.text({ stream: source, fallbacks: [backup], retry }),
        "0 millis",
        () => state.calls
      )
      expect(seen.exit).toEqual(Exit.succeed("backup"))
      expect(seen.calls).toBe(1)
      // the provider's hour, clamped to five minutes before it is shared; no wait happened
      expect(seen.waits).toEqual([{ fallback: 300_000 }])
    }).pipe(Effect.provide(layer)))

  it.effect("with no source left, the run fails at once with a retryable TransientError carrying the wait", () =>
    Effect.gen(function*() {
      for (const retryAfter of ["3600", "999999999"]) {
        const { source, state } = limitedOnce(`only-${retryAfter}`, retryAfter)
        const seen = yield* observe(L0.text({ stream: source, retry }), "0 millis", () => state.calls)
        const error = lastErrorOf(failureOf(seen.exit!))
        expect(error).toMatchObject({ _tag: "TransientError", category: "transient" })
        expect(error.message).toBe(`Rate limited for provider "only-${retryAfter}"`)
        expect(Duration.toMillis(error.retryAfter!)).toBe(300_000)
        expect(seen.calls).toBe(1)
      }
    }).pipe(Effect.provide(layer)))

  it.effect("every other run on the key goes to its fallback at once too; once the limit has passed it sends", () =>
    Effect.gen(function*() {
      const { source, state } = limitedOnce("shared", "3600")
      const run = L0.text({ stream: source, fallbacks: [backup], retry })
      yield* run
      const seen = yield* observe(run, "0 millis", () => state.calls)
      expect(seen.exit).toEqual(Exit.succeed("backup"))
      expect(seen.calls).toBe(1)
      yield* advance("5 minutes")
      expect(yield* run).toBe("primary")
    }).pipe(Effect.provide(layer)))

  it.effect("an error built by hand with an hour's retryAfter is clamped too: circuit and limit hold five minutes", () =>
    Effect.gen(function*() {
      const hour = () =>
        new L0Error.TransientError({ message: "slow down", status: 429, retryAfter: Duration.hours(1) })
      const run = (key: string) =>
        L0.text({
          stream: ProviderHealth.keyed(key, () => Stream.fail(hour())),
          fallbacks: [backup],
          retry: { maxRetries: 0 }
        })
      const twice = (key: string) => Effect.andThen(run(key), run(key))
      yield* twice("circuit").pipe(Effect.provide(ProviderHealth.layerMemory({ failures: 1, rateLimit: false })))
      yield* twice("limit").pipe(Effect.provide(ProviderHealth.layerMemory({ failures: false })))
      const events = yield* collected
      expect(eventsOf(events, "circuit_open")).toEqual([{ source: 0, key: "circuit", retryAfterMs: 300_000 }])
      expect(eventsOf(events, "rate_limited")).toEqual([
        { source: 0, key: "limit", retryAfterMs: 300_000, action: "fallback" }
      ])
    }).pipe(Effect.provide(EventBus.layerCollect)))

  it.effect("a limit within maxDelay is waited once: the retry's wait is the limit's, and the events say so", () =>
    Effect.gen(function*() {
      const { source, state } = limitedOnce("short", "3")
      const fiber = yield* Effect.forkChild(L0.text({ stream: source, retry: { ...retry, maxDelay: "10 seconds" } }))
      yield* advance("2999 millis")
      expect(yield* exitNow(fiber)).toBeUndefined()
      expect(state.calls).toBe(1)
      yield* advance("1 millis")
      expect(yield* exitNow(fiber)).toEqual(Exit.succeed("primary"))
      expect(state.calls).toBe(2)
      const events = yield* collected
      expect(eventsOf(events, "retry_attempt").map((data) => (data as { delayMs: number }).delayMs)).toEqual([3000])
      expect(eventsOf(events, "rate_limited")).toEqual([])
    }).pipe(Effect.provide(layer)))

  it.effect("the backoff and the shared limit are not added up: a retry waits the longer of the two", () =>
    Effect.gen(function*() {
      const state = { calls: 0 }
      // the first attempt fails with a reset after 1 s; its retry's backoff is 1 s
      const source = ProviderHealth.keyed("both", () => {
        state.calls++
        return state.calls === 1
          ? Stream.fromEffect(Effect.andThen(Effect.sleep("1 second"), Effect.fail(connectionReset())))
          : Stream.make("primary")
      })
      const fiber = yield* Effect.forkChild(L0.text({ stream: source, retry: { ...retry, maxDelay: "10 seconds" } }))
      yield* advance("500 millis")
      // meanwhile another run learns a limit of 3 s: until 3.5 s
      const teacher = limitedOnce("both", "3")
      yield* Effect.exit(L0.text({ stream: teacher.source, retry: { maxRetries: 0 } }))
      yield* advance("500 millis")
      yield* advance("2499 millis")
      expect(state.calls).toBe(1)
      yield* advance("1 millis")
      expect(yield* exitNow(fiber)).toEqual(Exit.succeed("primary"))
      expect(state.calls).toBe(2)
      // one wait of 2.5 s, the limit's, not 1 s + 2.5 s
      const events = yield* collected
      expect(eventsOf(events, "rate_limited")).toEqual([{ source: 0, key: "both", retryAfterMs: 2500, action: "wait" }])
      expect(eventsOf(events, "retry_attempt").map((data) => (data as { delayMs: number }).delayMs)).toEqual([2500])
    }).pipe(Effect.provide(layer)))
})

describe.skipIf(!hasRedis)(
  "ProviderHealth on Redis: separate layer instances share health (skipped where redis-server is not installed)",
  () => {
    const redis = useRedis()

    /** A new instance per run: its own Redis connection, breaker and limiter, as in another process. */
    const onRedis = (prefix: string, options: ProviderHealth.Options) =>
      ProviderHealth.layerRedis({ ...options, prefix }).pipe(Layer.provide(NodeRedis.layer({ url: redis.url })))

    it.live("a circuit opened through one instance is open for another", () =>
      Effect.gen(function*() {
        const { source, state } = provider("openai:gpt", connectionReset)
        const health = onRedis("circuit-test:", { failures: 2, openDuration: "1 minute", rateLimit: false })
        const run = L0.text({ stream: source, fallbacks: [backup], retry: once })
        yield* Effect.provide(run, health)
        yield* Effect.provide(run, health)
        expect(state.calls).toBe(2)
        expect(yield* Effect.provide(run, health)).toBe("backup")
        expect(state.calls).toBe(2)
      }))

    it.live("a 429 seen through one instance makes another fall back", () =>
      Effect.gen(function*() {
        const { source, state } = provider("anthropic:claude", () => httpError(429, { "retry-after": "20" }))
        const health = onRedis("rate-test:", { failures: false, rateLimit: { whenLimited: "fallback" } })
        const run = L0.text({ stream: source, fallbacks: [backup], retry: once })
        yield* Effect.provide(run, health)
        expect(yield* Effect.provide(run, health)).toBe("backup")
        expect(state.calls).toBe(1)
      }))

    it.effect("an absurd Retry-After seen through one instance: another instance's run falls back at once, the shared wait clamped", () =>
      Effect.gen(function*() {
        const state = { calls: 0 }
        const source = ProviderHealth.keyed("absurd", () => {
          state.calls++
          throw httpError(429, { "retry-after": "999999999" })
        })
        const health = () => onRedis("absurd-test:", { failures: false })
        yield* L0.text({ stream: source, fallbacks: [backup], retry: { maxRetries: 0 } }).pipe(Effect.provide(health()))
        const run = Effect.zip(
          L0.text({ stream: source, fallbacks: [backup], retry: { maxDelay: "1 second" } }),
          collected
        )
        const fiber = yield* Effect.forkChild(Effect.provide(run, Layer.merge(health(), EventBus.layerCollect)))
        // Redis answers in real time; the run itself must not wait on the clock at all
        const [text, events] = yield* Fiber.join(fiber)
        expect(text).toBe("backup")
        expect(state.calls).toBe(1)
        const [limited] = eventsOf(events, "rate_limited") as Array<EventBus.EventData["rate_limited"]>
        expect(limited!.action).toBe("fallback")
        expect(limited!.retryAfterMs).toBeGreaterThan(1000)
        expect(limited!.retryAfterMs).toBeLessThanOrEqual(300_000)
      }))

    it.live("Redis down: runs go on as without a breaker (fail open)", () =>
      Effect.gen(function*() {
        const down = yield* Effect.promise(() => startRedis())
        const health = ProviderHealth.layerRedis({ failures: 1, rateLimit: { whenLimited: "fallback" } }).pipe(
          // without the offline queue, commands fail at once while the client reconnects
          Layer.provide(NodeRedis.layer({ url: down.url, disableOfflineQueue: true }))
        )
        const { source, state } = provider("down", connectionReset)
        const run = L0.text({ stream: source, fallbacks: [backup], retry: once })
        yield* Effect.scoped(Effect.gen(function*() {
          const context = yield* Layer.build(health)
          yield* Effect.promise(() => down.stop())
          state.healthy = true
          expect(yield* Effect.provideContext(run, context)).toBe("primary")
          expect(yield* Effect.provideContext(run, context)).toBe("primary")
          expect(state.calls).toBe(2)
        }))
      }))
  }
)

describe("ProviderHealth: a store that does not answer", () => {
  const hung = <A>() => Effect.never as Effect.Effect<A>
  const stores = Layer.merge(
    Layer.succeed(CircuitBreaker.CircuitBreakerStore, { admit: hung, record: hung, state: hung }),
    Layer.succeed(RateLimiter.RateLimiterStore, {
      fixedWindow: hung,
      tokenBucket: hung,
      adaptiveConsume: hung,
      adaptiveFeedback: hung
    })
  )

  it.effect("runs go on after storeTimeout at each step, as without health (fail open), a 429 and its retry included", () =>
    Effect.gen(function*() {
      const state = { calls: 0 }
      const source = ProviderHealth.keyed("hung", () => {
        state.calls++
        if (state.calls === 1) throw httpError(429, { "retry-after": "1" })
        return Stream.make("primary")
      })
      const fiber = yield* Effect.forkChild(L0.text({ stream: source, retry: { maxDelay: "1 second" } }))
      // at most three bounded store steps per attempt (limit, breaker, report) and the retry's second
      for (let i = 0; i < 7 && fiber.pollUnsafe() === undefined; i++) yield* advance("1 second")
      expect(yield* exitNow(fiber)).toEqual(Exit.succeed("primary"))
      expect(state.calls).toBe(2)
    }).pipe(
      Effect.provide(ProviderHealth.layer({ failures: 1, storeTimeout: "1 second" }).pipe(Layer.provide(stores)))
    ))
})

describe("ProviderHealth: options", () => {
  it.effect("each bad option fails the layer with a FatalError that names it", () =>
    Effect.gen(function*() {
      const messageOf = (options: ProviderHealth.Options) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(Effect.provide(Effect.void, ProviderHealth.layerMemory(options)))
          return failureOf(exit).message
        })
      expect(yield* messageOf({ failures: 0 })).toBe(
        "Invalid option \"failures\": expected an integer ≥ 1 or false, got 0"
      )
      expect(yield* messageOf({ openDuration: "soon" as never })).toContain("Invalid option \"openDuration\"")
      expect(yield* messageOf({ rateLimit: 3 as never })).toContain("Invalid option \"rateLimit\"")
      expect(yield* messageOf({ rateLimit: { limit: 1.5 } })).toContain("Invalid option \"rateLimit.limit\"")
      expect(yield* messageOf({ rateLimit: { window: 0 } })).toContain("Invalid option \"rateLimit.window\"")
      expect(yield* messageOf({ rateLimit: { whenLimited: "retry" as never } })).toContain(
        "Invalid option \"rateLimit.whenLimited\""
      )
      expect(yield* messageOf({ storeTimeout: 0 })).toContain("Invalid option \"storeTimeout\"")
      expect(yield* messageOf(null as never)).toContain("Invalid option \"ProviderHealth options\"")
    }))
})
