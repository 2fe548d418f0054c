/**
 * Provider health shared by every run of a process, or of a fleet on Redis.
 * Name a source with `keyed` (for example base URL + model) and provide a
 * `ProviderHealth` layer:
 *
 * - a `CircuitBreaker` from `effect/persistence` per key: after `failures`
 *   network or transient failures in a row the circuit opens, and runs skip
 *   that source for `openDuration` and go straight to the next fallback
 *   (EventBus `circuit_open`); then one probe attempt goes out, and its
 *   success closes the circuit.
 * - a shared `RateLimiter` per key that learns from `429` answers: once one
 *   run gets `Retry-After: 20`, the others wait those 20 seconds (or fall
 *   back, with `whenLimited: "fallback"`) instead of sending more requests
 *   (EventBus `rate_limited`). No run waits longer than its own
 *   `retry.maxDelay`: a longer limit sends it to its next fallback, or ends
 *   it with a `TransientError` carrying the limit's `retryAfter`. A
 *   `Retry-After` is clamped to five minutes before it is shared.
 *
 * Model, content and fatal errors are about the request, not the provider:
 * they never open a circuit. When the store fails (Redis down) or does not
 * answer within `storeTimeout`, runs go on as if there were no breaker and
 * no limit (fail open).
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CircuitBreaker from "effect/persistence/CircuitBreaker"
import * as RateLimiter from "effect/persistence/RateLimiter"
import type * as Redis from "effect/persistence/Redis"
import * as Result from "effect/Result"
import * as internal from "./internal/health.js"
import type { SourceFactory } from "./internal/l0Types.js"
import type { FatalError } from "./L0Error.js"

export {
  /**
   * The health service of the context; none by default, and then keyed
   * sources run as plain ones.
   *
   * @category services
   * @since 0.1.0
   */
  ProviderHealth
} from "./internal/health.js"

export type {
  /**
   * @category models
   * @since 0.1.0
   */
  Service
} from "./internal/health.js"

/**
 * Names a source's provider, so that runs share its health under `key`.
 *
 * **Example** (Two providers, each with its own circuit)
 * ```ts
 * const options: L0.L0Options = {
 *   stream: ProviderHealth.keyed("openai:gpt-4o", ({ signal }) => openai.chat.completions.create(request, { signal })),
 *   fallbacks: [ProviderHealth.keyed("anthropic:claude-sonnet-4-5", ({ signal }) => anthropic.messages.create(body, { signal }))]
 * }
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const keyed: (key: string, factory: SourceFactory) => SourceFactory = internal.keyed

/**
 * Options of the health layers.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Network or transient failures in a row that open a circuit (default 5); `false`: no breaker. */
  readonly failures?: number | false | undefined
  /** How long an opened circuit rejects attempts before its probe (default 30 seconds). */
  readonly openDuration?: Duration.Input | undefined
  /** `false`: no shared rate limit. */
  readonly rateLimit?: false | {
    /** The rate assumed until a `429` teaches the limiter one (default 60 per minute). */
    readonly limit?: number | undefined
    readonly window?: Duration.Input | undefined
    /**
     * Wait until the provider accepts requests again (default), or go to the
     * next fallback at once. A run never waits longer than its own
     * `retry.maxDelay`: a longer limit sends it to its next fallback, as
     * `"fallback"` does.
     */
    readonly whenLimited?: "wait" | "fallback" | undefined
  } | undefined
  /**
   * How long a store operation (Redis) may take before the run goes on as
   * if there were no breaker and no limit (default 1 second).
   */
  readonly storeTimeout?: Duration.Input | undefined
}

/**
 * Health on the breaker and rate limiter stores of the context
 * (`CircuitBreaker.CircuitBreakerStore`, `RateLimiter.RateLimiterStore`).
 * Invalid options fail the layer with a `FatalError` that names the option.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<never, FatalError, CircuitBreaker.CircuitBreakerStore | RateLimiter.RateLimiterStore> =>
  layerWith(options, {})

/** `layer`, whose options may also have the keys of `extra` (`layerRedis`'s `prefix`). */
const layerWith = (
  options: Options,
  extra: { readonly prefix?: true }
): Layer.Layer<never, FatalError, CircuitBreaker.CircuitBreakerStore | RateLimiter.RateLimiterStore> =>
  Layer.effect(
    internal.ProviderHealth,
    Effect.gen(function*() {
      const settings = yield* Effect.fromResult(internal.settings(options, extra))
      const breaker = settings.failures === false ? undefined : yield* CircuitBreaker.make({
        tripPolicy: CircuitBreaker.consecutive(settings.failures),
        openDuration: settings.openDuration
      })
      return {
        breaker,
        limiter: settings.rateLimit ? yield* RateLimiter.make : undefined,
        limit: settings.limit,
        window: settings.window,
        whenLimited: settings.whenLimited,
        storeTimeout: settings.storeTimeout
      }
    })
  )

/**
 * Health kept in this process: the runs of one process share it.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory = (options: Options = {}): Layer.Layer<never, FatalError> =>
  layer(options).pipe(
    Layer.provide(Layer.merge(CircuitBreaker.layerStoreMemory(), RateLimiter.layerStoreMemory))
  )

/**
 * Health in Redis under `prefix` (default `"effect-l0:health:"`), shared by
 * every process of a fleet, through the `Redis` service of
 * `effect/persistence`, for example `NodeRedis.layer({ url })` from
 * `@effect/platform-node`.
 *
 * **Example** (A fleet sharing circuits and rate limits)
 * ```ts
 * import { NodeRedis } from "@effect/platform-node"
 *
 * const Health = ProviderHealth.layerRedis({ failures: 5, openDuration: "30 seconds" }).pipe(
 *   Layer.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 * const text = yield* L0.text(options).pipe(Effect.provide(Health))
 * ```
 * @category layers
 * @since 0.1.0
 */
export const layerRedis = (
  options: Options & { readonly prefix?: string | undefined } = {}
): Layer.Layer<never, FatalError, Redis.Redis> => {
  // checked before the stores are built: they talk to Redis at once
  const checked = internal.settings(options, { prefix: true })
  if (Result.isFailure(checked)) return Layer.effectDiscard(Effect.fail(checked.failure))
  const prefix = options.prefix ?? "effect-l0:health:"
  return layerWith(options, { prefix: true }).pipe(
    Layer.provide(Layer.merge(
      CircuitBreaker.layerStoreRedis({ prefix: `${prefix}circuit:` }),
      RateLimiter.layerStoreRedis({ prefix: `${prefix}rate:` })
    ))
  )
}
