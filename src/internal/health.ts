/**
 * Provider health in the attempt loop: a source named with
 * `ProviderHealth.keyed` goes through the circuit breaker and the shared
 * rate limit of the `ProviderHealth` service, when one is provided.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as CircuitBreaker from "effect/persistence/CircuitBreaker"
import type * as RateLimiter from "effect/persistence/RateLimiter"
import type * as Scope from "effect/Scope"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type { CategoryError, FatalError } from "../L0Error.js"
import { TransientError } from "../L0Error.js"
import type { AttemptContext, SourceFactory } from "./l0Types.js"
import { isRecord } from "./decode.js"
import type { KeyShape } from "./optionSchema.js"
import { checkKeys, durationMillis, invalidOption } from "./optionSchema.js"
import { bounded } from "./bounded.js"
import * as RetryAfter from "./retryAfter.js"

/** What `ProviderHealth.layer` provides. */
export interface Service {
  readonly breaker: CircuitBreaker.CircuitBreaker | undefined
  readonly limiter: RateLimiter.RateLimiter | undefined
  /** The rate the limiter assumes until a 429 teaches it one. */
  readonly limit: number
  readonly window: Duration.Duration
  /** What a run does when the provider's shared rate limit asks to wait. */
  readonly whenLimited: "wait" | "fallback"
  /** How long a store operation may take before the run goes on without it. */
  readonly storeTimeout: Duration.Duration
}

export const ProviderHealth: Context.Reference<Service | undefined> = Context.Reference<Service | undefined>(
  "effect-l0/ProviderHealth",
  { defaultValue: () => undefined }
)

const keyId: unique symbol = Symbol.for("effect-l0/ProviderHealth/key")

/** A source factory that carries its provider key. */
export interface Keyed {
  readonly [keyId]: string
}

export const keyed = (key: string, factory: SourceFactory): SourceFactory & Keyed =>
  Object.assign((context: AttemptContext) => factory(context), { [keyId]: key })

export const keyOf = (factory: unknown): string | undefined =>
  typeof factory === "function" && keyId in factory ? (factory as unknown as Keyed)[keyId] : undefined

/** Network and transient errors say the provider is unwell; the others are about the request. */
const unhealthy = (error: CategoryError | undefined): error is CategoryError =>
  error !== undefined && (error.category === "network" || error.category === "transient")

const classify = (exit: Exit.Exit<CategoryError | undefined>): CircuitBreaker.Outcome =>
  exit._tag === "Failure"
    ? { _tag: "Ignored" }
    : exit.value === undefined
    ? { _tag: "Success" }
    : unhealthy(exit.value)
    ? {
      _tag: "Failure",
      retryAfter: exit.value.retryAfter === undefined ? undefined : RetryAfter.clamp(exit.value.retryAfter)
    }
    : { _tag: "Ignored" }

/** The layer options, validated. */
export interface Settings {
  readonly failures: number | false
  readonly openDuration: Duration.Duration
  readonly rateLimit: boolean
  readonly limit: number
  readonly window: Duration.Duration
  readonly whenLimited: "wait" | "fallback"
  readonly storeTimeout: Duration.Duration
}

const positiveDuration = (u: unknown, fallback: string): Duration.Duration | undefined => {
  const millis = durationMillis(u ?? fallback)
  return millis > 0 ? Duration.millis(millis) : undefined
}

/** The keys of the options; `layerRedis` adds `prefix`. */
const KEYS = {
  failures: true,
  openDuration: true,
  storeTimeout: true,
  rateLimit: { limit: true, window: true, whenLimited: true }
} as const

export const settings = (options: unknown, extra: KeyShape = {}): Result.Result<Settings, FatalError> => {
  if (!isRecord(options)) return Result.fail(invalidOption("ProviderHealth options", "an options object", options))
  const unknown = checkKeys(options, { ...KEYS, ...extra })
  if (unknown !== undefined) return Result.fail(unknown)
  const failures = options.failures ?? 5
  if (failures !== false && !(typeof failures === "number" && Number.isInteger(failures) && failures >= 1)) {
    return Result.fail(invalidOption("failures", "an integer ≥ 1 or false", failures))
  }
  const openDuration = positiveDuration(options.openDuration, "30 seconds")
  if (openDuration === undefined) {
    return Result.fail(invalidOption("openDuration", "a positive duration", options.openDuration))
  }
  const rateLimit = options.rateLimit ?? {}
  if (rateLimit !== false && !isRecord(rateLimit)) {
    return Result.fail(invalidOption("rateLimit", "false or { limit?, window?, whenLimited? }", rateLimit))
  }
  const limits = rateLimit === false ? {} : rateLimit
  const limit = limits.limit ?? 60
  if (!(typeof limit === "number" && Number.isInteger(limit) && limit >= 1)) {
    return Result.fail(invalidOption("rateLimit.limit", "an integer ≥ 1", limit))
  }
  const window = positiveDuration(limits.window, "1 minute")
  if (window === undefined) return Result.fail(invalidOption("rateLimit.window", "a positive duration", limits.window))
  const whenLimited = limits.whenLimited ?? "wait"
  if (whenLimited !== "wait" && whenLimited !== "fallback") {
    return Result.fail(invalidOption("rateLimit.whenLimited", "\"wait\" or \"fallback\"", whenLimited))
  }
  const storeTimeout = positiveDuration(options.storeTimeout, "1 second")
  if (storeTimeout === undefined) {
    return Result.fail(invalidOption("storeTimeout", "a positive duration", options.storeTimeout))
  }
  return Result.succeed({
    failures,
    openDuration,
    rateLimit: rateLimit !== false,
    limit,
    window,
    whenLimited,
    storeTimeout
  })
}

/** An admitted attempt reports how it ended: `undefined` for success. */
export type Report = (error: CategoryError | undefined) => Effect.Effect<void>

/** Why an attempt was not sent: its error, recorded like a failed attempt's, and the bus event. */
export interface Rejection {
  readonly error: TransientError
  readonly event: "circuit_open" | "rate_limited"
  readonly retryAfter: Duration.Duration
}

export type Admission =
  | { readonly _tag: "Admitted"; readonly report: Report }
  | { readonly _tag: "Rejected"; readonly rejection: Rejection }

export const rejection = (event: Rejection["event"], key: string, retryAfter: Duration.Duration): Rejection => ({
  event,
  retryAfter,
  error: new TransientError({
    message: `${event === "circuit_open" ? "Circuit open" : "Rate limited"} for provider ${JSON.stringify(key)}`,
    retryAfter
  })
})

/** What the shared rate limit says of an attempt on a key: how long it must wait, and how to report its answer. */
export interface Reservation {
  readonly delay: Duration.Duration
  readonly feedback: Report
}

const noWait: Reservation = { delay: Duration.zero, feedback: () => Effect.void }

/**
 * Takes a token of the shared rate limit of `key`. A store that fails or
 * does not answer within `storeTimeout` imposes no wait (fail open). A 429
 * teaches the limiter its `Retry-After`, clamped, so that no error built by
 * hand can hold the other runs back for longer.
 */
export const reserve = (health: Service, key: string): Effect.Effect<Reservation> => {
  const limiter = health.limiter
  if (limiter === undefined) return Effect.succeed(noWait)
  const consume = limiter.adaptiveConsume({
    key,
    tokens: 1,
    fallbackLimit: health.limit,
    fallbackWindow: health.window
  })
  return Effect.map(Effect.option(bounded(consume, health.storeTimeout)), (consumed): Reservation => {
    if (consumed._tag === "None" || consumed.value._tag === "None") return noWait
    const { delay, epoch } = consumed.value.value
    return {
      delay,
      feedback: (error) =>
        error?.status !== 429 ? Effect.void : Effect.ignore(bounded(
          limiter.adaptiveFeedback({
            key,
            epoch,
            tokens: 1,
            status: 429,
            retryAfter: error.retryAfter === undefined ? undefined : RetryAfter.clamp(error.retryAfter)
          }),
          health.storeTimeout
        ))
    }
  })
}

/**
 * Asks the breaker whether an attempt on `key` may go out. A store that
 * fails or does not answer within `storeTimeout` lets it go (fail open).
 * `feedback` is the rate limit's report, sent with the breaker's.
 */
export const admit = (
  health: Service,
  key: string,
  feedback: Report
): Effect.Effect<Admission, never, Scope.Scope> =>
  Effect.gen(function*() {
    const breaker = health.breaker
    if (breaker === undefined) return { _tag: "Admitted", report: feedback }
    const admitted = yield* Deferred.make<boolean>()
    const outcome = yield* Deferred.make<CategoryError | undefined>()
    // an attempt that ends without reporting (interrupted, or not admitted in time) is ignored by the breaker
    yield* Effect.addFinalizer(() => Deferred.interrupt(outcome))
    // detached: nothing waits for a store that hangs longer than `storeTimeout`
    const recorder = yield* Deferred.succeed(admitted, true).pipe(
      Effect.andThen(Deferred.await(outcome)),
      breaker.execute({ key, classify }),
      Effect.catch((error) =>
        Effect.asVoid(
          error.reason._tag === "CircuitOpen" || error.reason._tag === "CircuitHalfOpen"
            ? Deferred.succeed(admitted, false)
            : Deferred.succeed(admitted, true)
        )
      ),
      Effect.forkDetach
    )
    const answered = yield* Effect.timeoutOption(Deferred.await(admitted), health.storeTimeout)
    if (answered._tag === "None") {
      yield* Deferred.interrupt(outcome)
      return { _tag: "Admitted", report: feedback }
    }
    if (!answered.value) {
      const state = yield* Effect.orElseSucceed(bounded(breaker.state(key), health.storeTimeout), Option.none)
      const retryAfter = state._tag === "Some" && state.value._tag === "Open" ? state.value.retryAfter : Duration.zero
      return { _tag: "Rejected", rejection: rejection("circuit_open", key, retryAfter) }
    }
    return {
      _tag: "Admitted",
      // waits until the breaker has recorded the outcome, so the next attempt (here or in another process) sees it
      report: (error) =>
        Deferred.succeed(outcome, error).pipe(
          Effect.andThen(Effect.timeoutOption(Fiber.await(recorder), health.storeTimeout)),
          Effect.andThen(feedback(error))
        )
    }
  })
