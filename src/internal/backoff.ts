/**
 * The built-in backoff schedules, by name. `Retry` documents and re-exports
 * them; the option check and the retry budget use them from here.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type { BackoffName } from "../Retry.js"

const backoff =
  (delay: (retry: number, base: number, cap: number, random: number) => number, random: boolean) =>
  (base: Duration.Input, cap: Duration.Input): Schedule.Schedule<Duration.Duration> => {
    const baseMillis = Duration.toMillis(Duration.fromInputUnsafe(base))
    const capMillis = Duration.toMillis(Duration.fromInputUnsafe(cap))
    const compute = (attempt: number, r: number): [Duration.Duration, Duration.Duration] => {
      const duration = Duration.millis(delay(attempt - 1, baseMillis, capMillis, r))
      return [duration, duration]
    }
    return Schedule.fromStepWithMetadata(
      Effect.succeed((meta) =>
        random ? Effect.map(Random.next, (r) => compute(meta.attempt, r)) : Effect.succeed(compute(meta.attempt, 0))
      )
    )
  }

const grown = (retry: number, base: number, cap: number): number => Math.min(base * 2 ** retry, cap)

export const exponential: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> = backoff(
  grown,
  false
)

export const linear: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> = backoff(
  (retry, base, cap) => Math.min(base * (retry + 1), cap),
  false
)

export const fixed: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> = backoff(
  (_, base, cap) => Math.min(base, cap),
  false
)

export const fixedJitter: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> = backoff(
  (retry, base, cap, random) => {
    const t = grown(retry, base, cap)
    return t / 2 + random * t / 2
  },
  true
)

export const fullJitter: (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration> = backoff(
  (retry, base, cap, random) => random * grown(retry, base, cap),
  true
)

export const strategies: Readonly<
  Record<BackoffName, (base: Duration.Input, cap: Duration.Input) => Schedule.Schedule<Duration.Duration>>
> = {
  "exponential": exponential,
  "linear": linear,
  "fixed": fixed,
  "fixed-jitter": fixedJitter,
  "full-jitter": fullJitter
}

export const isBackoffName = (u: unknown): u is BackoffName =>
  typeof u === "string" && Object.prototype.hasOwnProperty.call(strategies, u)
