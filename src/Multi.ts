/**
 * Several L0 runs at once: `parallel`, `race`, `batched` and `hedge`, also
 * available as `L0.parallel`, `L0.race`, `L0.batched` and `L0.hedge`. Every
 * entry is a whole `L0Options`, so each run keeps its own retries,
 * fallbacks, timeouts and guardrails.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  contest,
  decodeList,
  decodeNonEmptyList,
  describeFailures,
  groupReporter,
  ModeSchema
} from "./internal/contest.js"
import { ClosedStruct, decoder, durationMillis, guarded, IntAtLeast, withDefault } from "./internal/optionSchema.js"
import { run, stream } from "./internal/l0.js"
import type { L0Options, L0Result, Services, Strict } from "./internal/l0Types.js"
import type * as EventBus from "./EventBus.js"
import type { FatalError, L0Error } from "./L0Error.js"
import type { L0Event } from "./L0Event.js"

/**
 * `"fail-fast"` fails on the first failure and interrupts the runs still
 * going; `"settle"` runs everything and reports each outcome.
 *
 * @category models
 * @since 0.1.0
 */
export type Mode = "fail-fast" | "settle"

/**
 * The outcome of one run in `"settle"` mode.
 *
 * @category models
 * @since 0.1.0
 */
export type Settled = Result.Result<L0Result, L0Error>

/**
 * Options of `parallel`: how many runs at once and whether one failure ends
 * them all.
 *
 * @category models
 * @since 0.1.0
 */
export interface ParallelOptions {
  /** How many runs at once: a positive integer (default 5) or `"unbounded"`. */
  readonly concurrency?: number | "unbounded" | undefined
  /** Default `"fail-fast"`. */
  readonly mode?: Mode | undefined
}

/**
 * Options of `batched`: the batch size and whether one failure ends them
 * all.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchedOptions {
  /** Runs per batch; a batch starts once the previous one has ended. */
  readonly size: number
  /** Default `"fail-fast"`. */
  readonly mode?: Mode | undefined
}

/**
 * Options of `hedge`: how long to wait for the first run's output before
 * starting a second one.
 *
 * @category models
 * @since 0.1.0
 */
export interface HedgeOptions {
  /** How long the first run may go without output before an identical second run starts. */
  readonly after: Duration.Input
}

/**
 * The winner of a race: its position in the input and its result.
 *
 * @category models
 * @since 0.1.0
 */
export interface RaceResult {
  readonly index: number
  readonly result: L0Result
}

/**
 * One failed run, by its position in the input.
 *
 * @category models
 * @since 0.1.0
 */
export interface Failure {
  readonly index: number
  readonly error: L0Error
}

/**
 * Ends a race or a consensus whose runs all failed; `failures` lists each
 * run's error in input order.
 *
 * @category errors
 * @since 0.1.0
 */
export class AllFailedError extends Data.TaggedError("AllFailedError")<{
  readonly message: string
  readonly failures: ReadonlyArray<Failure>
}> {}

/**
 * How many runs `parallel` starts at once unless told otherwise: enough to
 * overlap slow requests, few enough not to trip a provider's rate limit.
 *
 * @category defaults
 * @since 0.1.0
 */
export const defaultConcurrency: number = 5

const decodeParallelOptions = decoder(
  Schema.UndefinedOr(
    ClosedStruct({
      concurrency: withDefault(
        Schema.Union([Schema.Literal("unbounded"), IntAtLeast(1)]).annotate({
          expected: `a positive integer or "unbounded"`
        }),
        defaultConcurrency
      ),
      mode: ModeSchema
    }, "{ concurrency?, mode? }")
  ).annotate({ expected: "{ concurrency?, mode? }" }),
  "config"
)

const decodeBatchedOptions = decoder(
  ClosedStruct({ size: IntAtLeast(1, "a positive integer"), mode: ModeSchema }, "{ size, mode? }"),
  "config"
)

const decodeHedgeOptions = decoder(
  ClosedStruct({
    after: guarded(
      (u): u is Duration.Input => Number.isFinite(durationMillis(u)) && durationMillis(u) >= 0,
      "a finite duration ≥ 0"
    )
  }, "{ after }"),
  "config"
)

const runAll = <R>(
  options: ReadonlyArray<L0Options<R>>,
  concurrency: number | "unbounded",
  mode: Mode | undefined,
  wrap: (effect: Effect.Effect<L0Result, L0Error, R>) => Effect.Effect<L0Result, L0Error, R> = (effect) => effect
): Effect.Effect<Array<L0Result> | Array<Settled>, L0Error, R> =>
  mode === "settle"
    ? Effect.forEach(options, (item) => Effect.result(wrap(run(item))), { concurrency })
    : Effect.forEach(options, (item) => wrap(run(item)), { concurrency })

/**
 * Runs every entry, at most `concurrency` at once, and returns the results
 * in input order. In `"fail-fast"` mode (default) the first failure fails
 * the whole and interrupts the runs still going; in `"settle"` mode every
 * run finishes and each outcome is a `Result`. It requires the services of
 * every entry's sources (see `L0.Services`).
 *
 * **Example** (Three prompts, two at a time, keeping every outcome)
 * ```ts
 * const outcomes = yield* L0.parallel(prompts.map(toOptions), { concurrency: 2, mode: "settle" })
 * for (const outcome of outcomes) {
 *   if (Result.isSuccess(outcome)) console.log(outcome.success.text)
 * }
 * ```
 * @category running
 * @since 0.1.0
 */
export function parallel<O extends L0Options<unknown> = L0Options>(
  options: ReadonlyArray<Strict<O>>,
  config: ParallelOptions & { readonly mode: "settle" }
): Effect.Effect<Array<Settled>, FatalError, Services<O>>
export function parallel<O extends L0Options<unknown> = L0Options>(
  options: ReadonlyArray<Strict<O>>,
  config?: ParallelOptions & { readonly mode?: "fail-fast" | undefined }
): Effect.Effect<Array<L0Result>, L0Error, Services<O>>
export function parallel<R>(
  options: ReadonlyArray<L0Options<R>>,
  config?: ParallelOptions
): Effect.Effect<Array<L0Result> | Array<Settled>, L0Error, R> {
  return Effect.suspend(() => {
    const decoded = Result.flatMap(decodeList(options), () => decodeParallelOptions(config))
    if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
    return runAll(options, decoded.success?.concurrency ?? defaultConcurrency, decoded.success?.mode)
  })
}

/**
 * Starts every entry at once; the first run to complete successfully wins.
 * The others are then interrupted and their requests aborted before `race`
 * returns. A run that fails does not end the race while others are still
 * going; when all have failed, the race fails with an `AllFailedError`
 * listing each error.
 *
 * **Example** (Two providers, the faster answer wins)
 * ```ts
 * const { index, result } = yield* L0.race([
 *   { stream: ({ signal }) => openai.chat.completions.create(chatRequest, { signal }) },
 *   { stream: ({ signal }) => anthropic.messages.create(messagesRequest, { signal }) }
 * ])
 * ```
 * @category running
 * @since 0.1.0
 */
export function race<O extends L0Options<unknown> = L0Options>(
  options: ReadonlyArray<Strict<O>>
): Effect.Effect<RaceResult, AllFailedError | FatalError, Services<O>>
export function race<R>(
  options: ReadonlyArray<L0Options<R>>
): Effect.Effect<RaceResult, AllFailedError | FatalError, R> {
  return Effect.suspend((): Effect.Effect<RaceResult, AllFailedError | FatalError, R> => {
    const invalid = decodeNonEmptyList(options)
    if (Result.isFailure(invalid)) return Effect.fail(invalid.failure)
    const failures: Array<Failure> = []
    return contest(options.map(run), (index, outcome) => {
      if (outcome._tag === "Success") return Exit.succeed({ index, result: outcome.success })
      failures.push({ index, error: outcome.failure })
      return failures.length === options.length ? Exit.fail(new AllFailedError(describeFailures(failures))) : undefined
    })
  })
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): EventBus.Outcome =>
  Exit.isSuccess(exit) ? "success" : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failure"

/**
 * Runs the entries in consecutive batches of `size`: a batch runs its
 * entries together and the next starts once it has ended. Results come in
 * input order; `mode` works as in `parallel`. Each batch reports
 * `batch_start` and `batch_complete` on the `EventBus`.
 *
 * **Example** (Fifty summaries, ten at a time, with progress)
 * ```ts
 * const results = yield* L0.batched(documents.map(toOptions), { size: 10 }).pipe(
 *   Effect.provide(EventBus.layer((event) => {
 *     if (event.type === "batch_complete") console.log(`${event.data.completed}/${event.data.total}`)
 *   }))
 * )
 * ```
 * @category running
 * @since 0.1.0
 */
export function batched<O extends L0Options<unknown> = L0Options>(
  options: ReadonlyArray<Strict<O>>,
  config: BatchedOptions & { readonly mode: "settle" }
): Effect.Effect<Array<Settled>, FatalError, Services<O>>
export function batched<O extends L0Options<unknown> = L0Options>(
  options: ReadonlyArray<Strict<O>>,
  config: BatchedOptions & { readonly mode?: "fail-fast" | undefined }
): Effect.Effect<Array<L0Result>, L0Error, Services<O>>
export function batched<R>(
  options: ReadonlyArray<L0Options<R>>,
  config: BatchedOptions
): Effect.Effect<Array<L0Result> | Array<Settled>, L0Error, R> {
  return Effect.gen(function*() {
    yield* Effect.fromResult(decodeList(options))
    const { mode, size } = yield* Effect.fromResult(decodeBatchedOptions(config))
    const emit = yield* groupReporter
    const total = options.length
    const batches = Math.ceil(total / size)
    const results: Array<L0Result | Settled> = []
    let completed = 0
    for (let batch = 0; batch < batches; batch++) {
      const items = options.slice(batch * size, (batch + 1) * size)
      let succeeded = 0
      let failed = 0
      const count = (effect: Effect.Effect<L0Result, L0Error, R>) =>
        Effect.onExit(effect, (exit) =>
          Effect.sync(() => {
            if (Exit.isSuccess(exit)) succeeded++
            else if (!Cause.hasInterruptsOnly(exit.cause)) failed++
          }))
      emit("batch_start", { batch, batches, size: items.length })
      const done = yield* runAll(items, "unbounded", mode, count).pipe(Effect.onExit((exit) =>
        Effect.sync(() => {
          completed += succeeded + failed
          emit("batch_complete", {
            batch,
            batches,
            size: items.length,
            outcome: outcomeOf(exit),
            succeeded,
            failed,
            completed,
            total
          })
        })
      ))
      results.push(...done)
    }
    return results as Array<L0Result> | Array<Settled>
  })
}

/** Room for a few network reads of the winner's events; a full buffer pauses the winner. */
const HEDGE_BUFFER = 1024

/**
 * Streams `options`, and if no output has arrived after `after`, starts an
 * identical second run (a hedged request). Whichever run emits first wins:
 * the other is interrupted, its request aborted, and the stream continues
 * with the winner's events only. A run that fails before any output does
 * not end the hedge while the other is going; if the first run fails before
 * `after`, no second run starts and its error ends the stream.
 *
 * It returns a stream, so it composes like `L0.stream`: `Stream.runCollect`,
 * `L0Event.applyTo`, or as the source of another run.
 *
 * **Example** (A second request when the first is slow to start)
 * ```ts
 * const events = L0.hedge(
 *   { stream: ({ signal }) => client.chat.completions.create(request, { signal }) },
 *   { after: "2 seconds" }
 * )
 * ```
 * @category running
 * @since 0.1.0
 */
export const hedge = <R = never>(options: L0Options<R>, config: HedgeOptions): Stream.Stream<L0Event, L0Error, R> =>
  Stream.callback<L0Event, L0Error, R>((queue) =>
    Effect.gen(function*() {
      const after = durationMillis((yield* Effect.fromResult(decodeHedgeOptions(config))).after)
      const fibers: Array<Fiber.Fiber<unknown>> = []
      let winner: number | undefined
      let failed = 0
      const contender = (index: number): Effect.Effect<unknown, never, R> =>
        Stream.runForEachArray(stream(options), (events) => {
          if (winner === undefined) {
            winner = index
            const other = fibers[1 - index]
            if (other !== undefined) return Effect.andThen(Fiber.interrupt(other), Queue.offerAll(queue, events))
          }
          return winner === index ? Queue.offerAll(queue, events) : Effect.interrupt
        }).pipe(Effect.matchCauseEffect({
          onSuccess: () => Queue.end(queue),
          onFailure: (cause) =>
            !Cause.hasInterruptsOnly(cause) && (winner === index || winner === undefined && ++failed === fibers.length)
              ? Queue.failCause(queue, cause)
              : Effect.void
        }))
      fibers.push(yield* Effect.forkScoped(contender(0)))
      yield* Effect.sleep(Duration.millis(after))
      if (winner === undefined && failed === 0) fibers.push(yield* Effect.forkScoped(contender(1)))
    }), { bufferSize: HEDGE_BUFFER })
