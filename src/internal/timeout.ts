import * as Duration from "effect/Duration"

/**
 * The two token timeouts of an attempt.
 *
 * @category models
 * @since 0.1.0
 */
export interface TimeoutOptions {
  /** Longest wait for the first output of an attempt, request included. Default 5 seconds. */
  readonly initialToken?: Duration.Input | undefined
  /** Longest gap between two outputs. Default 10 seconds. `"Infinity"` disables either. */
  readonly interToken?: Duration.Input | undefined
}

/** @internal */
export const defaults = { initialToken: "5 seconds", interToken: "10 seconds" } as const

/**
 * Both limits in milliseconds (`Infinity` when disabled).
 *
 * @internal
 */
export interface Limits {
  readonly initialToken: number
  readonly interToken: number
}

/**
 * Resolves options against the defaults.
 *
 * @internal
 */
export const limits = (options: TimeoutOptions | undefined): Limits => ({
  initialToken: Duration.toMillis(Duration.fromInputUnsafe(options?.initialToken ?? defaults.initialToken)),
  interToken: Duration.toMillis(Duration.fromInputUnsafe(options?.interToken ?? defaults.interToken))
})
