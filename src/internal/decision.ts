/**
 * What follows an attempt of a run, decided in one place from values: the
 * attempt's outcome, the source's retry budget, the provider's health and
 * the run's options. The attempt loop (`run.ts`) carries the decisions out
 * and decides nothing itself; `Retry.policy` and `L0.orElse` ask the same
 * functions.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { CategoryError } from "../L0Error.js"
import { isL0Error } from "../L0Error.js"
import type { L0Error } from "../L0Error.js"

/** How much of one source's retry budget its attempts used: attempts that count against `maxAttempts`, and retries. */
export interface Budget {
  readonly attempts: number
  readonly retries: number
}

/** The budget of a source before its first attempt. */
export const fresh: Budget = { attempts: 1, retries: 0 }

/** The retry limits of the run's options. */
export interface Limits {
  readonly maxAttempts: number
  readonly maxRetries: number
  readonly maxDelay: Duration.Duration
}

/** The facts a decision after a failed attempt is made from. */
export interface Facts {
  readonly error: CategoryError
  readonly budget: Budget
  readonly limits: Limits
  /** No source follows this one. */
  readonly lastSource: boolean
}

/** The source is done with: the next one starts on a fresh budget, or, after the last one, the run fails with an `ExhaustedError`. */
export type MoveOn = { readonly _tag: "NextSource" } | { readonly _tag: "Exhausted" }

/**
 * What follows an attempt that ended without an answer: `Retry` the source
 * after `delay`, with the budget the retry leaves (`counts` says which retry
 * count of the run it adds to); move on (`MoveOn`); or `EndRun`, when no
 * source can fix the error, which the run then fails with.
 */
export type Next =
  | {
    readonly _tag: "Retry"
    readonly delay: Duration.Duration
    readonly budget: Budget
    readonly counts: "model" | "network"
  }
  | MoveOn
  | { readonly _tag: "EndRun" }

const nextSource: MoveOn = { _tag: "NextSource" }
const exhausted: MoveOn = { _tag: "Exhausted" }
const endRun: Next = { _tag: "EndRun" }

/**
 * The next delay of the backoff of the error's category, or `None` once that
 * backoff is spent. Each category steps its own copy, so three network
 * retries do not lengthen the wait before the first retry of a model error.
 */
export type Backoff = (error: CategoryError) => Effect.Effect<Option.Option<Duration.Duration>>

/** Invalid options and fatal guardrail violations: no other source can fix them. */
export const endsRun = (error: CategoryError): boolean =>
  error._tag === "FatalError" && (error.reason === "options" || error.reason === "guardrail")

/** An L0 error that another source may fix, for `L0.orElse`: all but those that end the run. */
export const fallsBack = <E>(error: E): error is Extract<E, L0Error> =>
  isL0Error(error) && (error._tag === "ExhaustedError" || !endsRun(error))

/** Model and content errors use up `maxAttempts`; network and transient errors only `maxRetries`. */
const consumesAttempt = (error: CategoryError): boolean => error.category === "model" || error.category === "content"

const moveOn = (lastSource: boolean): MoveOn => lastSource ? exhausted : nextSource

/**
 * After an attempt that provider health did not let out (its circuit is
 * open, or its shared rate limit asks for more than the run may wait): it
 * is never retried, the run moves on to its next source.
 */
export const afterSkip = (lastSource: boolean): MoveOn => moveOn(lastSource)

/**
 * The decision after a failed attempt: `backoff` is stepped only when the
 * budget allows a retry. A `Retry-After` the error carries replaces the
 * backoff's delay, capped by `maxDelay`.
 */
export const afterAttempt = (facts: Facts, backoff: Backoff): Effect.Effect<Next> => {
  const { budget, error, lastSource, limits } = facts
  if (endsRun(error)) return Effect.succeed(endRun)
  const consumes = consumesAttempt(error)
  if (
    error.category === "fatal" || budget.retries >= limits.maxRetries ||
    (consumes && budget.attempts >= limits.maxAttempts)
  ) {
    return Effect.succeed(moveOn(lastSource))
  }
  return Effect.map(backoff(error), (delay): Next =>
    delay._tag === "None" ? moveOn(lastSource) : {
      _tag: "Retry",
      delay: error.retryAfter === undefined ? delay.value : Duration.min(error.retryAfter, limits.maxDelay),
      budget: { attempts: consumes ? budget.attempts + 1 : budget.attempts, retries: budget.retries + 1 },
      counts: consumes ? "model" : "network"
    })
}

/**
 * Whether the attempt after a failed one continues the text the consumer
 * holds (with `continuation`) or starts over: a content error's text is
 * what was wrong, so it is never continued.
 */
export const continues = (error: CategoryError, continuation: boolean): boolean =>
  continuation && error.category !== "content"

/** What the shared rate limit of a keyed source says before an attempt goes out. */
export interface Limited {
  /** The wait before the attempt: the retry's backoff, zero for a source's first attempt. */
  readonly backoff: Duration.Duration
  /** How long the provider's shared rate limit asks to wait. */
  readonly limit: Duration.Duration
  readonly whenLimited: "wait" | "fallback"
  /** The run's `retry.maxDelay`: no run waits longer for a shared limit. */
  readonly maxDelay: Duration.Duration
}

/**
 * Whether an attempt goes out after `wait` (`limited`: the shared rate limit
 * made it longer than the backoff), or is skipped: the limit asks for more
 * than the backoff and the run falls back when limited, or it asks for more
 * than the run's `maxDelay`.
 */
export type Send =
  | { readonly _tag: "Send"; readonly wait: Duration.Duration; readonly limited: boolean }
  | { readonly _tag: "Skip" }

const skip: Send = { _tag: "Skip" }

export const beforeSend = (facts: Limited): Send => {
  if (!Duration.isGreaterThan(facts.limit, facts.backoff)) return { _tag: "Send", wait: facts.backoff, limited: false }
  if (facts.whenLimited === "fallback" || Duration.isGreaterThan(facts.limit, facts.maxDelay)) return skip
  return { _tag: "Send", wait: facts.limit, limited: true }
}

/**
 * The watchdog found the source silent past its limit. An answer whose
 * finish reason already arrived is whole (only a trailer, such as usage or
 * the end marker, is late) and completes; any other attempt times out.
 */
export const onSilence = (finishReasonSeen: boolean): "Complete" | "TimedOut" =>
  finishReasonSeen ? "Complete" : "TimedOut"
