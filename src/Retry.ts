/**
 * Backoff schedules and the category-aware retry policy.
 *
 * The policy is an ordinary `Schedule` whose input is the failed attempt's
 * error: network and transient errors retry without consuming `maxAttempts`,
 * model and content errors consume it, fatal errors end the source, and every
 * retry counts toward `maxRetries`. `Retry-After` replaces the computed delay.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Schedule from "effect/Schedule"
import * as backoff from "./internal/backoff.js"
import * as internal from "./internal/retry.js"
import type { CategoryError } from "./L0Error.js"

/**
 * The built-in backoff strategies, by the name `RetryOptions.backoff`
 * accepts.
 *
 * @category models
 * @since 0.1.0
 */
export type BackoffName = "exponential" | "linear" | "fixed" | "fixed-jitter" | "full-jitter"

/**
 * How a source is retried: attempt and retry budgets, and the delays between
 * attempts.
 *
 * @category models
 * @since 0.1.0
 */
export interface RetryOptions {
  /** Attempts of one source for model and content errors, the first included. Default 3. */
  readonly maxAttempts?: number | undefined
  /** Retries of one source for any reason (so `maxRetries + 1` requests at most). Default 10. */
  readonly maxRetries?: number | undefined
  /** Default `"1 second"`. */
  readonly baseDelay?: Duration.Input | undefined
  /** Caps every computed delay and `Retry-After`. Default `"10 seconds"`. */
  readonly maxDelay?: Duration.Input | undefined
  /** A strategy name, or any `Schedule` (its input is the error); default `"fixed-jitter"`. */
  readonly backoff?: BackoffName | Schedule.Schedule<unknown, CategoryError> | undefined
}

/**
 * What `L0Options.retry` accepts: options, or a `Schedule` used as the
 * backoff with the default budgets.
 *
 * @category models
 * @since 0.1.0
 */
export type RetryInput = RetryOptions | Schedule.Schedule<unknown, CategoryError>

/**
 * @category defaults
 * @since 0.1.0
 */
export const defaults: {
  readonly maxAttempts: 3
  readonly maxRetries: 10
  readonly baseDelay: "1 second"
  readonly maxDelay: "10 seconds"
  readonly backoff: "fixed-jitter"
} = internal.defaults

/**
 * `min(base * 2^n, cap)` for the n-th retry (n from 0).
 *
 * @category backoff
 * @since 0.1.0
 */
export const exponential: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> =
  backoff.exponential

/**
 * `min(base * (n + 1), cap)`.
 *
 * @category backoff
 * @since 0.1.0
 */
export const linear: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> =
  backoff.linear

/**
 * `min(base, cap)` every time.
 *
 * @category backoff
 * @since 0.1.0
 */
export const fixed: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> = backoff.fixed

/**
 * Half of the exponential delay plus a random share of the other half:
 * `t / 2 + random * t / 2` with `t = min(base * 2^n, cap)`. The default.
 *
 * @category backoff
 * @since 0.1.0
 */
export const fixedJitter: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> =
  backoff.fixedJitter

/**
 * `random * min(base * 2^n, cap)`.
 *
 * @category backoff
 * @since 0.1.0
 */
export const fullJitter: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> =
  backoff.fullJitter

/**
 * The backoff schedules by name, the names `RetryOptions.backoff` accepts:
 * for building the same delays as a `Schedule` of your own from a name in
 * configuration.
 *
 * @category backoff
 * @since 0.1.0
 */
export const strategies: Readonly<
  Record<BackoffName, (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration>>
> = backoff.strategies

/**
 * Whether `u` names a built-in backoff: for checking a name read from
 * configuration before it reaches `RetryOptions.backoff`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isBackoffName: (u: unknown) => u is BackoffName = backoff.isBackoffName

/**
 * Builds the category-aware policy. Step it once per failed attempt of one
 * source (a fresh step per source gives each fallback a fresh budget); it
 * ends (`Cause.Done`) when the source should not be retried again, else its
 * output is the delay to wait.
 *
 * **Example** (Exponential backoff, two model attempts, honouring Retry-After)
 * ```ts
 * const policy = Retry.policy({ maxAttempts: 2, backoff: "exponential", baseDelay: "500 millis" })
 * // or use any Schedule as the backoff:
 * const custom = Retry.policy({ backoff: Schedule.spaced("2 seconds") })
 * ```
 * @category policy
 * @since 0.1.0
 */
export const policy = (input: RetryInput = {}): Schedule.Schedule<Duration.Duration, CategoryError> =>
  internal.policy(internal.settings(input))
