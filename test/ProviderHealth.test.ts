import { NodeRedis } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { EventBus, L0, ProviderHealth } from "effect-l0"
import { advance, connectionReset, failureOf, httpError } from "./support.js"
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
      const run = L0.text({ stream: source, fallbacks: [backup], retry: once })
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
      expect(yield* messageOf(null as never)).toContain("Invalid option \"ProviderHealth options\"")
    }))
})
