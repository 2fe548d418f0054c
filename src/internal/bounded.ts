/**
 * A store operation bounded in time, for the stores a run leans on but
 * must not wait for (provider health, checkpoints).
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Option from "effect/Option"

/**
 * `effect`'s value, or `None` once `timeout` has passed. It runs in a fiber
 * of its own: an operation that cannot be interrupted (the circuit breaker
 * admits and records uninterruptibly) finishes in the background instead of
 * holding the run.
 */
export const bounded = <A, E>(
  effect: Effect.Effect<A, E>,
  timeout: Duration.Duration
): Effect.Effect<Option.Option<A>, E> =>
  Effect.flatMap(Effect.forkDetach(effect), (fiber) =>
    Fiber.join(fiber).pipe(
      Effect.timeoutOption(timeout),
      Effect.onExit(() => Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber))))
    ))
