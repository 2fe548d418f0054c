import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Pull from "effect/Pull"
import * as Schedule from "effect/Schedule"
import type { CategoryError } from "../L0Error.js"
import type { RetryInput, RetryOptions } from "../Retry.js"
import { strategies } from "./backoff.js"
import * as Decision from "./decision.js"

/** The retry options with defaults applied and the backoff built. */
export interface Settings {
  readonly maxAttempts: number
  readonly maxRetries: number
  readonly maxDelay: Duration.Duration
  readonly backoff: Schedule.Schedule<unknown, CategoryError>
}

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

type Step = (now: number, error: CategoryError) => Pull.Pull<[unknown, Duration.Duration], never, unknown>

/**
 * The backoff of one source: each error category steps its own copy of the
 * schedule, built at its first retry, so three network retries do not
 * lengthen the wait before the first retry of a model error.
 */
export class Backoff {
  /** Made at the first retry: most runs never need one. */
  private steps: Map<CategoryError["category"], Step> | undefined = undefined

  constructor(private readonly schedule: Schedule.Schedule<unknown, CategoryError>) {}

  /** The next delay for `error`'s category at `now`, or `None` once its schedule is done. */
  next(now: number, error: CategoryError): Effect.Effect<Option.Option<Duration.Duration>> {
    const steps = this.steps ??= new Map()
    const step = steps.get(error.category)
    const stepped = step !== undefined ? step(now, error) : Effect.flatMap(Schedule.toStep(this.schedule), (made) => {
      steps.set(error.category, made)
      return made(now, error)
    })
    return stepped.pipe(
      Effect.map(([, delay]) => Option.some(delay)),
      Pull.catchDone(() => Effect.succeed(Option.none()))
    )
  }
}

/** The body of `Retry.policy`: the run's decision after each failed attempt of one source, as a schedule step. */
export const policy = (settings: Settings): Schedule.Schedule<Duration.Duration, CategoryError> =>
  Schedule.fromStep(Effect.sync(() => {
    const backoff = new Backoff(settings.backoff)
    let budget = Decision.fresh
    return (now: number, error: CategoryError) =>
      Effect.flatMap(
        Decision.afterAttempt(
          { error, budget, limits: settings, lastSource: true },
          (failed) => backoff.next(now, failed)
        ),
        (next) => {
          if (next._tag !== "Retry") return Cause.done(Duration.zero)
          budget = next.budget
          return Effect.succeed<[Duration.Duration, Duration.Duration]>([next.delay, next.delay])
        }
      )
  }))
