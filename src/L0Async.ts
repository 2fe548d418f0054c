/**
 * L0 for code that does not use Effect: promises, `for await` and
 * `AbortSignal`, on the same runtime as `L0.stream`.
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as EventBus from "./EventBus.js"
import type { Violation } from "./Guardrail.js"
import { OnComplete } from "./internal/l0.js"
import * as L0 from "./L0.js"
import { safeCause } from "./internal/cause.js"
import { checkKeys } from "./internal/optionSchema.js"
import type { ErrorCategory, FatalError } from "./L0Error.js"
import type { L0Event } from "./L0Event.js"
import type * as Structured from "./Structured.js"

/**
 * A retry of the same source, from `retry_attempt`.
 *
 * @category models
 * @since 0.1.0
 */
export interface RetryInfo {
  readonly source: number
  /** The attempt about to start (1-based). */
  readonly attempt: number
  readonly category: ErrorCategory
  readonly delayMs: number
}

/**
 * A switch to the next source, from `fallback_start`.
 *
 * @category models
 * @since 0.1.0
 */
export interface FallbackInfo {
  /** 1 for the first fallback, … */
  readonly fallbackIndex: number
  /** The category of the error that exhausted the previous source. */
  readonly category: ErrorCategory
}

/**
 * A failed attempt, from `error_<category>`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorInfo {
  readonly source: number
  readonly attempt: number
  readonly category: ErrorCategory
  /** The error's `_tag`, such as `"NetworkError"`. */
  readonly tag: string
  readonly message: string
  readonly status: number | undefined
}

/**
 * The successful attempt, from `stream_complete`.
 *
 * @category models
 * @since 0.1.0
 */
export interface CompleteInfo {
  readonly source: number
  readonly attempt: number
  readonly tokenCount: number
  /** The name of the adapter that decoded the source. */
  readonly adapter: string | undefined
}

/**
 * Callbacks of one run. Each gets what the EventBus event carries and the
 * event itself. A callback that throws is reported once through the Effect
 * logger and never breaks the run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Callbacks {
  /** Every delivered token. Only this callback makes L0 report tokens on the bus. */
  readonly onToken?: ((value: string, event: EventBus.BusEvent<"stream_token">) => void) | undefined
  /** Before the delay of a retry of the same source. */
  readonly onRetry?: ((info: RetryInfo, event: EventBus.BusEvent<"retry_attempt">) => void) | undefined
  /** When the run moves to the next fallback source. */
  readonly onFallback?: ((info: FallbackInfo, event: EventBus.BusEvent<"fallback_start">) => void) | undefined
  /** When the consumer must drop its text after the first `kept` characters. */
  readonly onReset?: ((kept: number, event: EventBus.BusEvent<"reset">) => void) | undefined
  /** Each guardrail violation, errors and warnings. */
  readonly onViolation?: ((violation: Violation, event: EventBus.BusEvent<"guardrail_violation">) => void) | undefined
  /** When the run's successful attempt completes. */
  readonly onComplete?: ((info: CompleteInfo, event: EventBus.BusEvent<"stream_complete">) => void) | undefined
  /** Each failed attempt, whether a retry or a fallback follows or not. */
  readonly onError?: ((info: ErrorInfo, event: EventBus.BusEvent<`error_${ErrorCategory}`>) => void) | undefined
}

/**
 * What every function of this module accepts besides the L0 options.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOptions extends Callbacks {
  /**
   * Aborting it aborts the current request and rejects with an {@link AbortError}. Once the run's `Complete` has
   * been delivered, it changes nothing: a finished answer stays finished.
   */
  readonly signal?: AbortSignal | undefined
}

/**
 * The rejection of a run whose `signal` aborted. Its `cause` is the
 * signal's `reason`.
 *
 * @category errors
 * @since 0.1.0
 */
export class AbortError extends Error {
  override readonly name = "AbortError"
  readonly code = "ABORT_ERR"

  constructor(reason: unknown) {
    super("The operation was aborted", { cause: safeCause(reason) })
  }
}

/** The category each `error_<category>` event reports. */
const errorCategory = {
  error_network: "network",
  error_transient: "transient",
  error_model: "model",
  error_content: "content",
  error_fatal: "fatal"
} as const

const dispatch = (callbacks: Callbacks) => (event: EventBus.BusEvent): void => {
  switch (event.type) {
    case "stream_token":
      return callbacks.onToken?.(event.data.value, event)
    case "retry_attempt":
      return callbacks.onRetry?.(event.data, event)
    case "fallback_start":
      return callbacks.onFallback?.(event.data, event)
    case "reset":
      return callbacks.onReset?.(event.data.kept, event)
    case "guardrail_violation":
      return callbacks.onViolation?.(event.data, event)
    case "stream_complete":
      return callbacks.onComplete?.(event.data, event)
    case "error_network":
    case "error_transient":
    case "error_model":
    case "error_content":
    case "error_fatal":
      return callbacks.onError?.({ ...event.data, category: errorCategory[event.type] }, event)
  }
}

/**
 * An `EventBus` layer that calls `callbacks`: usable from Effect code too.
 *
 * **Example** (Logging retries of an Effect program)
 * ```ts
 * yield* L0.text(options).pipe(Effect.provide(L0Async.layer({ onRetry: (info) => console.log("retry", info) })))
 * ```
 * @category layers
 * @since 0.1.0
 */
export const layer = (callbacks: Callbacks): Layer.Layer<never, FatalError> => {
  const unknown = checkKeys(callbacks, CALLBACK_KEYS)
  return unknown === undefined ? bus(callbacks) : Layer.effectDiscard(Effect.fail(unknown))
}

const CALLBACK_KEYS = {
  onToken: true,
  onRetry: true,
  onFallback: true,
  onReset: true,
  onViolation: true,
  onComplete: true,
  onError: true
} as const

const RUN_KEYS = { ...CALLBACK_KEYS, signal: true } as const

/** The bus of checked callbacks. */
const bus = (callbacks: Callbacks): Layer.Layer<never, FatalError> =>
  EventBus.layer(dispatch(callbacks), { tokens: callbacks.onToken !== undefined })

const hasCallbacks = (options: RunOptions): boolean =>
  options.onToken !== undefined || options.onRetry !== undefined || options.onFallback !== undefined ||
  options.onReset !== undefined || options.onViolation !== undefined || options.onComplete !== undefined ||
  options.onError !== undefined

/** The typed error itself, an `AbortError` after `signal` aborted, or the defect. */
const rejection = (cause: Cause.Cause<unknown>, signal: AbortSignal | undefined): unknown =>
  signal?.aborted === true && Cause.hasInterrupts(cause)
    ? new AbortError(signal.reason)
    : Cause.squash(cause)

/**
 * Runs a run to its value. Once the run's `Complete` has been read the
 * answer is known: an abort after that point lets the run's end (closing
 * its source) finish, so a finished answer never rejects as aborted.
 */
const runPromise = async <A, E>(effect: Effect.Effect<A, E>, options: RunOptions): Promise<A> => {
  const unknown = checkKeys(options, RUN_KEYS)
  if (unknown !== undefined) throw unknown
  const { signal } = options
  if (signal?.aborted === true) throw new AbortError(signal.reason)
  const provided = hasCallbacks(options) ? Effect.provide(effect, bus(options)) : effect
  let answered = false
  const fiber = Effect.runFork(
    signal === undefined ? provided : Effect.provideService(provided, OnComplete, () => {
      answered = true
    })
  )
  const onAbort = () => {
    if (!answered) fiber.interruptUnsafe()
  }
  signal?.addEventListener("abort", onAbort, { once: true })
  const exit = await new Promise<Exit.Exit<A, E | FatalError>>((resolve) => fiber.addObserver(resolve))
  signal?.removeEventListener("abort", onAbort)
  if (Exit.isSuccess(exit)) return exit.value
  throw rejection(exit.cause, signal)
}

/**
 * Runs to completion and resolves with the final text, resets applied.
 * Rejects with the `L0Error` itself, or an {@link AbortError}.
 *
 * **Example** (Cancelling after 30 seconds)
 * ```ts
 * const answer = await L0Async.text(
 *   { stream: ({ signal }) => client.chat.completions.create(request, { signal }) },
 *   { signal: AbortSignal.timeout(30_000) }
 * )
 * ```
 * @category running
 * @since 0.1.0
 */
export const text = (options: L0.L0Options, runOptions: RunOptions = {}): Promise<string> =>
  runPromise(L0.text(options), runOptions)

/**
 * Runs to completion and resolves with the text, the final state and usage.
 *
 * @category running
 * @since 0.1.0
 */
export const run = (options: L0.L0Options, runOptions: RunOptions = {}): Promise<L0.L0Result> =>
  runPromise(L0.run(options), runOptions)

/**
 * Runs `L0.structured`: resolves with the decoded value.
 *
 * @category running
 * @since 0.1.0
 */
export const structured = <S extends L0.StructuredSchema>(
  schema: S,
  options: L0.StructuredOptions,
  runOptions: RunOptions = {}
): Promise<Structured.TypeOf<S>> => runPromise(L0.structured(schema, options), runOptions)

/**
 * The events of a run as an `AsyncIterable`. The run reads the stream one
 * array at a time (`Stream.runForEachArray`) and waits while the loop works
 * through the array, event by event in plain JavaScript, so the runtime
 * steps once per array, not per event. Leaving the loop early (`break`,
 * `return`, a throw) or aborting `signal` ends the run and aborts its
 * request; after an abort the loop throws an {@link AbortError}, unless it
 * already got the `Complete` event: then it ends as usual. Each
 * `for await` starts its own run.
 *
 * **Example** (Showing tokens, applying resets)
 * ```ts
 * let shown = ""
 * for await (const event of L0Async.events({ stream: ({ signal }) => client.chat.completions.create(request, { signal }) })) {
 *   if (event._tag === "Token") shown += event.value
 *   if (event._tag === "Reset") shown = shown.slice(0, event.kept)
 * }
 * ```
 * @category running
 * @since 0.1.0
 */
export const events = (options: L0.L0Options, runOptions: RunOptions = {}): AsyncIterable<L0Event> => ({
  [Symbol.asyncIterator]: () => new Reader(L0.stream(options), runOptions, (events) => events)
})

/**
 * The events of a run as an `AsyncIterable` of arrays: each read gives the
 * events the source delivered together, in order, resets included. It
 * works like {@link events} (leaving the loop or aborting `signal` aborts
 * the request), but pays one promise per array rather than per event: the
 * cheaper loop when a run streams many small tokens.
 *
 * **Example** (Showing tokens, one update per array)
 * ```ts
 * let shown = ""
 * for await (const events of L0Async.batches({ stream: ({ signal }) => client.chat.completions.create(request, { signal }) })) {
 *   for (const event of events) {
 *     if (event._tag === "Token") shown += event.value
 *     if (event._tag === "Reset") shown = shown.slice(0, event.kept)
 *   }
 * }
 * ```
 * @category running
 * @since 0.1.0
 */
export const batches = (
  options: L0.L0Options,
  runOptions: RunOptions = {}
): AsyncIterable<Arr.NonEmptyReadonlyArray<L0Event>> => ({
  [Symbol.asyncIterator]: () => new Reader(L0.stream(options), runOptions, (events) => [events])
})

interface Waiter<A> {
  readonly resolve: (result: IteratorResult<A>) => void
  readonly reject: (error: unknown) => void
}

const DONE: IteratorResult<never> = { done: true, value: undefined }

/**
 * One iteration of {@link events} or {@link batches}: a fiber runs the
 * stream and hands each array over as the items the loop reads (its events,
 * or the array itself), then waits until the loop has taken all of them.
 * Waiting for the loop lets the source fill the next array meanwhile, as
 * `runForEachArray` does, rather than being pulled one event at a time.
 * Reads asked for before earlier ones settled queue up and get the next
 * items in order.
 */
class Reader<A> implements AsyncIterator<A> {
  private readonly stream: Stream.Stream<L0Event, unknown>
  private readonly signal: AbortSignal | undefined
  private fiber: Fiber.Fiber<void, unknown> | undefined
  private buffer: ReadonlyArray<A> = []
  private index = 0
  /** Resumes the run once the loop wants the next array. */
  private proceed: (() => void) | undefined
  private readonly waiters: Array<Waiter<A>> = []
  private exit: Exit.Exit<void, unknown> | undefined
  /** The index in `buffer` of the item that holds the run's `Complete`, or -1. */
  private completeAt = -1
  /** The loop has the run's `Complete`: the answer is finished, whatever aborts after. */
  private answered = false

  constructor(
    stream: Stream.Stream<L0Event, unknown>,
    options: RunOptions,
    private readonly items: (events: Arr.NonEmptyReadonlyArray<L0Event>) => ReadonlyArray<A>
  ) {
    const unknown = checkKeys(options, RUN_KEYS)
    this.stream = unknown !== undefined
      ? Stream.fail(unknown)
      : hasCallbacks(options)
      ? Stream.provide(stream, bus(options))
      : stream
    this.signal = unknown === undefined ? options.signal : undefined
  }

  next(): Promise<IteratorResult<A>> {
    if (this.waiters.length === 0) {
      if (this.index < this.buffer.length) return Promise.resolve({ done: false, value: this.take() })
      if (this.exit !== undefined) return this.settled(this.exit)
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      if (this.fiber === undefined) this.start()
      else this.resume()
    })
  }

  async return(): Promise<IteratorResult<A>> {
    this.buffer = []
    const fiber = this.exit === undefined ? this.fiber : undefined
    // a closed iterator stays done, from now on: no new run, no interruption error, even for reads asked for while
    // the run is being interrupted
    this.exit = Exit.void
    // reads still waiting for the next array end done, like every read after this one
    for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE)
    if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
    return DONE
  }

  /** Asks the run for the next array, unless it is already on its way. */
  private resume(): void {
    const proceed = this.proceed
    this.proceed = undefined
    // on the next event-loop turn, so that the run takes all the source produced meanwhile as one array:
    // resuming at once would take a half-filled buffer, then a quarter, … (and pay the run's per-array step for each)
    if (proceed !== undefined) setImmediate(proceed)
  }

  private start(): void {
    const signal = this.signal
    if (signal?.aborted === true) {
      this.end(Exit.interrupt())
      return
    }
    const run = Stream.runForEachArray(this.stream, (events) =>
      Effect.callback<void>((resume) => {
        const items = this.items(events)
        this.buffer = items
        this.index = 0
        this.completeAt = events[events.length - 1]!._tag === "Complete" ? items.length - 1 : -1
        this.proceed = () => resume(Effect.void)
        const waiters = this.waiters
        while (waiters.length > 0 && this.index < items.length) {
          waiters.shift()!.resolve({ done: false, value: this.take() })
        }
        if (waiters.length > 0) this.resume()
      }))
    this.fiber = Effect.runFork(run, signal === undefined ? undefined : { signal })
    this.fiber.addObserver((exit) => this.end(exit))
  }

  /** The next item for the loop. */
  private take(): A {
    if (this.index === this.completeAt) this.answered = true
    return this.buffer[this.index++]!
  }

  private end(ended: Exit.Exit<void, unknown>): void {
    // closed by return(): the interruption it caused is not news to anyone
    if (this.exit !== undefined) return
    // an abort after the loop got the answer only stopped the run's end (closing its source)
    const exit = this.answered && Exit.isFailure(ended) && Cause.hasInterruptsOnly(ended.cause) ? Exit.void : ended
    this.exit = exit
    // an abort drops what the loop has not read yet
    if (Exit.isFailure(exit)) this.buffer = []
    const [first, ...rest] = this.waiters.splice(0)
    if (first !== undefined) this.settled(exit).then(first.resolve, first.reject)
    // the run's outcome goes to the first waiting read; the iterator is finished for the reads after it
    for (const waiter of rest) waiter.resolve(DONE)
  }

  private settled(exit: Exit.Exit<void, unknown>): Promise<IteratorResult<A>> {
    return Exit.isSuccess(exit) ? Promise.resolve(DONE) : Promise.reject(rejection(exit.cause, this.signal))
  }
}
