import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Schedule from "effect/Schedule"
import type { CategoryError } from "../L0Error.js"
import type { RetryInput, RetryOptions } from "../Retry.js"
import { strategies } from "./backoff.js"

/** What follows a failed attempt; the attempt loop carries it out and decides nothing itself. */
export type Decision =
  | { readonly _tag: "Retry"; readonly delay: Duration.Duration }
  | { readonly _tag: "NextSource" }
  | { readonly _tag: "EndRun" }

const nextSource: Decision = { _tag: "NextSource" }
const endRun: Decision = { _tag: "EndRun" }

/** The retry options with defaults applied and the backoff built. */
export interface Settings {
  readonly maxAttempts: number
  readonly maxRetries: number
  readonly maxDelay: Duration.Duration
  readonly backoff: Schedule.Schedule<unknown, CategoryError>
}

/** Decides what follows each failed attempt of one source. */
export type Decide = (now: number, error: CategoryError) => Effect.Effect<Decision>

export const defaults = {
  maxAttempts: 3,
  maxRetries: 10,
  baseDelay: "1 second",
  maxDelay: "10 seconds",
  backoff: "fixed-jitter"
} as const

/** Builds the settings: defaults applied, the named backoff built. */
export const settings = (input: RetryInput): Settings => {
  const options: RetryOptions = Schedule.isSchedule(input) ? { backoff: input } : input
  const maxDelay = Duration.fromInputUnsafe(options.maxDelay ?? defaults.maxDelay)
  const chosen = options.backoff ?? defaults.backoff
  return {
    maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
    maxRetries: options.maxRetries ?? defaults.maxRetries,
    maxDelay,
    backoff: Schedule.isSchedule(chosen) ? chosen
      : strategies[chosen](options.baseDelay ?? defaults.baseDelay, maxDelay)
  }
}

/** Invalid options and fatal guardrail violations: no other source can fix them. */
export const endsRun = (error: CategoryError): boolean =>
  error._tag === "FatalError" && (error.reason === "options" || error.reason === "guardrail")

/** Model and content errors use up `maxAttempts`; network and transient errors only `maxRetries`. */
const consumesAttempt = (error: CategoryError): boolean => error.category === "model" || error.category === "content"

/** Retries of the whole run by kind, for `L0State`: counted where they are decided. */
export class Tally {
  model = 0
  network = 0
}

type Step = (now: number, error: CategoryError) => Pull.Pull<[unknown, Duration.Duration], never, unknown>

/**
 * A fresh budget for one source: the only place where a failed attempt's
 * error becomes a retry (after the backoff's delay, or `Retry-After` capped
 * by `maxDelay`), the next source, or the end of the run. Each error
 * category steps its own copy of the backoff, so three network retries do
 * not lengthen the wait before the first retry of a model error.
 */
export const budget = (settings: Settings, tally: Tally = new Tally()): Effect.Effect<Decide> =>
  Effect.sync(() => {
    let attempts = 1
    let retries = 0
    const steps = new Map<CategoryError["category"], Step>()
    const stepOf = (category: CategoryError["category"]): Effect.Effect<Step> => {
      const step = steps.get(category)
      return step !== undefined ? Effect.succeed(step) : Effect.map(Schedule.toStep(settings.backoff), (made) => {
        steps.set(category, made)
        return made
      })
    }
    return (now, error) => {
      if (endsRun(error)) return Effect.succeed(endRun)
      const consumes = consumesAttempt(error)
      if (
        error.category === "fatal" || retries >= settings.maxRetries || (consumes && attempts >= settings.maxAttempts)
      ) {
        return Effect.succeed(nextSource)
      }
      return stepOf(error.category).pipe(
        Effect.flatMap((step) => step(now, error)),
        Effect.map(([, delay]): Decision => {
          retries++
          if (consumes) {
            attempts++
            tally.model++
          } else {
            tally.network++
          }
          return {
            _tag: "Retry",
            delay: error.retryAfter === undefined ? delay : Duration.min(error.retryAfter, settings.maxDelay)
          }
        }),
        Pull.catchDone(() => Effect.succeed(nextSource))
      )
    }
  })
