import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { L0Error } from "../L0Error.js"
import { FatalError } from "../L0Error.js"
import type { Complete, L0Event } from "../L0Event.js"
import type { L0State } from "../L0State.js"
import { prepare, resultOf } from "./l0.js"
import type { L0Options, L0Result } from "./l0Types.js"
import type { Session } from "./run.js"
import { initial } from "../L0State.js"

/**
 * A run started by `L0.start`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handle {
  /**
   * The run's events, buffered from the start. Single consumer: a second
   * subscription fails at once with a `FatalError` (`reason: "options"`).
   * Ending the subscription early does not stop the run (use `abort`).
   */
  readonly events: Stream.Stream<L0Event, L0Error>
  /** The state so far; after the end, the final state (also after a failure or `abort`). */
  readonly state: Effect.Effect<L0State>
  /**
   * Stops the run and waits until its request is aborted. `state.aborted`
   * becomes true, and `events` and `join` fail with a `FatalError`
   * (`reason: "aborted"`). Once the run has delivered its `Complete` (or
   * ended), the answer stays finished: `join` succeeds and `events` end
   * after `Complete`, also when the scope closes.
   */
  readonly abort: Effect.Effect<void>
  /** Waits for the end of the run: its result, or the error it failed with. */
  readonly join: Effect.Effect<L0Result, L0Error>
  /** Waits for the end of the run and returns how it ended, without failing. */
  readonly await: Effect.Effect<Exit.Exit<L0Result, L0Error>>
}

const stopped = (byHandle: boolean): FatalError =>
  new FatalError({
    reason: "aborted",
    message: byHandle ? "The run was aborted by its handle" : "The run was stopped: the scope of L0.start closed"
  })

const alreadySubscribed = (): FatalError =>
  new FatalError({
    reason: "options",
    message: "A run's handle.events has a single consumer and was already subscribed"
  })

/** @internal */
export const start = <R = never>(options: L0Options<R>): Effect.Effect<Handle, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<L0Event, L0Error | Cause.Done>()
    const outcome = yield* Deferred.make<L0Result, L0Error>()
    const made = yield* Effect.exit(prepare<never, R>(options, undefined))
    let session: Session<never> | undefined
    let byHandle = false
    /** The run was stopped before its answer: the state the handle shows says so. */
    let aborted = false
    const end = (exit: Exit.Exit<L0Result, L0Error>): Effect.Effect<void> =>
      Effect.sync(() => {
        if (Exit.isSuccess(exit)) Queue.endUnsafe(queue)
        else Queue.failCauseUnsafe(queue, exit.cause)
      }).pipe(Effect.andThen(Deferred.done(outcome, exit)))
    const fiber: Fiber.Fiber<unknown> = yield* Exit.match(made, {
      onFailure: (cause) => Effect.forkScoped(end(Exit.failCause(cause))),
      onSuccess: (prepared) => {
        session = prepared.session
        let complete: Complete | undefined
        const run = Stream.runForEachArray(prepared.events, (events: Arr.NonEmptyReadonlyArray<L0Event>) => {
          const last = events[events.length - 1]!
          if (last._tag === "Complete") complete = last
          Queue.offerAllUnsafe(queue, events)
          return Effect.void
        })
        return Effect.forkScoped(run.pipe(
          Effect.map(() => resultOf(complete!)),
          Effect.onExit((exit) => {
            if (Exit.isSuccess(exit) || !Cause.hasInterruptsOnly(exit.cause)) return end(exit)
            // stopped after its Complete went out: only the run's end (closing its source) was cut short
            if (complete !== undefined) return end(Exit.succeed(resultOf(complete)))
            aborted = true
            return end(Exit.fail(stopped(byHandle)))
          }),
          Effect.exit
        ))
      }
    })
    let subscribed = false
    return {
      events: Stream.suspend(() => {
        if (subscribed) return Stream.fail(alreadySubscribed())
        subscribed = true
        return Stream.fromQueue(queue)
      }),
      state: Effect.sync(() => {
        const state = session?.snapshot() ?? initial
        return aborted ? { ...state, aborted: true } : state
      }),
      abort: Effect.suspend(() => {
        if (fiber.pollUnsafe() !== undefined) return Effect.void
        byHandle = true
        return Fiber.interrupt(fiber)
      }),
      join: Deferred.await(outcome),
      await: Effect.exit(Deferred.await(outcome))
    }
  })
