/**
 * First-token and inter-token timeouts. A timeout fails the attempt with a
 * retryable `NetworkError` (`reason: "timeout"`) and aborts its request;
 * once the protocol's finish reason has arrived, it completes the attempt
 * with what arrived instead (only a trailer such as usage was late).
 * `initialToken` applies until the first output and `interToken` after it,
 * each at its own deadline; output already waiting to be read counts.
 *
 * The clock counts model output, not bytes: keep-alive pings and role-only
 * chunks do not reset it, tool-call argument deltas do. While L0 waits for a
 * slow consumer (back-pressure), the clock is paused.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"

/**
 * @category models
 * @since 0.1.0
 */
export interface TimeoutOptions {
  /** Longest wait for the first output of an attempt, request included. Default 5 seconds. */
  readonly initialToken?: Duration.Input | undefined
  /** Longest gap between two outputs. Default 10 seconds. `"Infinity"` disables either. */
  readonly interToken?: Duration.Input | undefined
}

/**
 * @category defaults
 * @since 0.1.0
 */
export const defaults = { initialToken: "5 seconds", interToken: "10 seconds" } as const

/**
 * Both limits in milliseconds (`Infinity` when disabled).
 *
 * @category models
 * @since 0.1.0
 */
export interface Limits {
  readonly initialToken: number
  readonly interToken: number
}

/**
 * Resolves options against the defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const limits = (options: TimeoutOptions | undefined): Limits => ({
  initialToken: Duration.toMillis(Duration.fromInputUnsafe(options?.initialToken ?? defaults.initialToken)),
  interToken: Duration.toMillis(Duration.fromInputUnsafe(options?.interToken ?? defaults.interToken))
})
