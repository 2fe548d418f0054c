import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as EventBus from "../EventBus.js"
import type { L0Error } from "../L0Error.js"
import { decoder, guarded, withDefault } from "./optionSchema.js"

/**
 * Runs every effect at once. `decide` sees each typed outcome as it arrives
 * and may end the contest with an exit; the effects still running are then
 * interrupted and awaited, so their requests are aborted before the contest
 * returns. A defect ends the contest as it is. `decide` must not throw, and
 * must return an exit by the last outcome at the latest.
 *
 * @internal
 */
export const contest = <A, E, R, B, E2>(
  effects: ReadonlyArray<Effect.Effect<A, E, R>>,
  decide: (index: number, outcome: Result.Result<A, E>) => Exit.Exit<B, E2> | undefined
): Effect.Effect<B, E2, R> =>
  Effect.scoped(Effect.gen(function*() {
    const decided = yield* Deferred.make<B, E2>()
    const settle = (index: number, exit: Exit.Exit<A, E>): Effect.Effect<unknown> => {
      let outcome: Result.Result<A, E>
      if (exit._tag === "Success") {
        outcome = Result.succeed(exit.value)
      } else {
        const error = Cause.findError(exit.cause)
        if (error._tag === "Failure") return Deferred.failCause(decided, error.failure)
        outcome = Result.fail(error.success)
      }
      const decision = decide(index, outcome)
      return decision === undefined ? Effect.void : Deferred.done(decided, decision)
    }
    for (let index = 0; index < effects.length; index++) {
      yield* Effect.forkScoped(Effect.flatMap(Effect.exit(effects[index]!), (exit) => settle(index, exit)))
    }
    return yield* Deferred.await(decided)
  }))

const listOf = (nonEmpty: boolean) =>
  guarded(
    (u): u is ReadonlyArray<unknown> => Array.isArray(u) && (!nonEmpty || u.length > 0),
    nonEmpty ? "a non-empty array of L0 options" : "an array of L0 options"
  )

/**
 * Checks the list of `L0Options` given to a multi-stream function; each
 * entry is validated by the run that uses it.
 *
 * @internal
 */
export const decodeList = decoder(listOf(false))

/** @internal */
export const decodeNonEmptyList = decoder(listOf(true))

/**
 * How a group of runs ends when one fails: `"fail-fast"` (default) or `"settle"`.
 *
 * @internal
 */
export const ModeSchema = withDefault(Schema.Literals(["fail-fast", "settle"]), "fail-fast")

/**
 * The fields of an `AllFailedError`: the failures in input order and a
 * message naming each.
 *
 * @internal
 */
export const describeFailures = <F extends { readonly index: number; readonly error: L0Error }>(
  failures: ReadonlyArray<F>
): { readonly failures: ReadonlyArray<F>; readonly message: string } => {
  const sorted = failures.slice().sort((a, b) => a.index - b.index)
  return {
    failures: sorted,
    message: `All ${sorted.length} runs failed: ${
      sorted.map(({ error, index }) => `#${index} ${error._tag}: ${error.message}`).join("; ")
    }`
  }
}

/**
 * Reports the progress of a run made of several L0 runs (batches, document
 * windows) on the EventBus, under one id used as both session and stream.
 * Builds nothing when no bus is provided.
 *
 * @internal
 */
export const groupReporter: Effect.Effect<
  <T extends "batch_start" | "batch_complete" | "window_start" | "window_complete">(
    type: T,
    data: EventBus.EventData[T]
  ) => void
> = Effect.gen(function*() {
  const bus = yield* EventBus.EventBus
  const clock = yield* Clock.Clock
  const id = globalThis.crypto.randomUUID()
  return (type, data) => {
    if (bus !== EventBus.noop) {
      // the signature ties `data` to `type`; TypeScript cannot follow that tie into the union
      bus.emit(
        { type, sessionId: id, streamId: id, timestamp: clock.currentTimeMillisUnsafe(), data } as EventBus.BusEvent
      )
    }
  }
})
