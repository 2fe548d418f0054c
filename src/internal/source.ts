import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Adapter from "../Adapter.js"
import type { Completion, Decoder } from "../Adapter.js"
import type { L0Event } from "../L0Event.js"
import type { CategoryError } from "../L0Error.js"
import { ExhaustedError, FatalError, fromUnknown, NetworkError } from "../L0Error.js"
import type { Limits } from "../Timeout.js"

/** What the factory may return; see `L0Options.stream`. */
export type Produced =
  | AsyncIterable<unknown>
  | Promise<AsyncIterable<unknown>>
  | Stream.Stream<unknown, unknown>
  | Effect.Effect<AsyncIterable<unknown> | Stream.Stream<unknown, unknown>, unknown>

/** @internal */
export interface SourceConfig {
  readonly call: (signal: AbortSignal) => Produced
  readonly adapter: Adapter.Adapter | undefined
  readonly registry: ReadonlyArray<Adapter.Adapter>
  readonly limits: Limits
  readonly clock: Clock.Clock
  readonly onTimeout: (phase: "initial" | "inter", limit: number) => void
}

/** Filled by the pump; read by the attempt once its stream has ended. */
export interface AttemptHandle {
  completion: Completion | undefined
  adapter: string | undefined
}

/** Enough buffer for a whole network read of tokens; a full queue pauses the source. */
const BUFFER_SIZE = 1024

/** An `ExhaustedError` from a nested run counts as its last error. */
export const toCategoryError = (u: unknown, now: number): CategoryError => {
  const error = fromUnknown(u, now)
  return error instanceof ExhaustedError
    ? error.lastError ?? new FatalError({ message: error.message, reason: "protocol" })
    : error
}

const isAsyncIterable = (u: unknown): u is AsyncIterable<unknown> =>
  typeof u === "object" && u !== null && typeof (u as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function"

const isPromiseLike = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as PromiseLike<unknown>).then === "function"

/**
 * Moves chunks from the provider into the attempt's queue: decoding,
 * timing the output for the watchdog, and closing the request when the
 * attempt's scope closes. Plain JavaScript, so no Effect step per token.
 */
class Pump {
  closed = false
  started = false
  blocked = false
  lastActivity: number
  iterator: AsyncIterator<unknown> | undefined = undefined
  decoder: Decoder | undefined = undefined
  private readonly out: Array<L0Event> = []
  readonly controller = new AbortController()

  constructor(
    readonly queue: Queue.Queue<L0Event, CategoryError | Cause.Done>,
    readonly config: SourceConfig,
    readonly handle: AttemptHandle
  ) {
    this.lastActivity = config.clock.currentTimeMillisUnsafe()
  }

  now(): number {
    return this.config.clock.currentTimeMillisUnsafe()
  }

  decode(chunk: unknown, out: Array<L0Event>): void {
    let decoder = this.decoder
    if (decoder === undefined) {
      const adapter = this.config.adapter ?? Adapter.detect(this.config.registry, chunk)
      if (adapter === undefined) {
        throw new FatalError({
          reason: "protocol",
          message: `No adapter recognizes the first chunk, ${
            Adapter.describe(chunk)
          }: pass options.adapter or add one with Adapter.register`
        })
      }
      this.handle.adapter = adapter.name
      decoder = this.decoder = adapter.make()
    }
    if (decoder.push(chunk, out)) {
      this.started = true
      this.lastActivity = this.now()
    }
  }

  /** Decodes and offers one chunk; returns the events a full queue did not take. */
  push(chunk: unknown): Array<L0Event> | undefined {
    const out = this.out
    out.length = 0
    this.decode(chunk, out)
    if (out.length === 0) return undefined
    if (out.length === 1) return Queue.offerUnsafe(this.queue, out[0]!) ? undefined : [out[0]!]
    const rest = Queue.offerAllUnsafe(this.queue, out)
    return rest.length === 0 ? undefined : rest
  }

  /** Waits for room in the queue; the watchdog does not count this time. */
  offer(events: ReadonlyArray<L0Event>): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.blocked = true
      return Queue.offerAll(this.queue, events)
    }).pipe(Effect.ensuring(Effect.sync(() => {
      this.blocked = false
      this.lastActivity = this.now()
    })))
  }

  finish(): void {
    if (this.closed) return
    const out: Array<L0Event> = []
    this.handle.completion = this.decoder?.end(out)
    if (out.length > 0) Queue.offerAllUnsafe(this.queue, out)
    Queue.endUnsafe(this.queue)
  }

  fail(error: unknown): void {
    if (this.closed) return
    Queue.failCauseUnsafe(this.queue, Cause.fail(toCategoryError(error, this.now())))
  }

  timeout(phase: "initial" | "inter", limit: number): void {
    if (this.closed) return
    this.config.onTimeout(phase, limit)
    this.fail(
      new NetworkError({
        reason: "timeout",
        message: phase === "initial" ? `No output within ${limit} ms of the request` : `No output for ${limit} ms`
      })
    )
  }

  close(): void {
    this.closed = true
    this.controller.abort()
    const iterator = this.iterator
    if (iterator?.return === undefined) return
    // fire and forget: a generator parked in an await settles its return() only later
    try {
      Promise.resolve(iterator.return()).catch(() => {})
    } catch {
      // a throwing return() must not break the scope's other finalizers
    }
  }
}

const drive = async (pump: Pump, iterable: AsyncIterable<unknown>): Promise<void> => {
  try {
    const iterator = iterable[Symbol.asyncIterator]()
    pump.iterator = iterator
    // the attempt may have ended while the request was starting
    if (pump.closed) return pump.close()
    while (!pump.closed) {
      const result = await iterator.next()
      if (pump.closed) return
      if (result.done) return pump.finish()
      const pending = pump.push(result.value)
      if (pending !== undefined) await Effect.runPromise(pump.offer(pending))
    }
  } catch (error) {
    pump.fail(error)
  }
}

const runStream = (pump: Pump, stream: Stream.Stream<unknown, unknown>): Effect.Effect<void> =>
  Stream.runForEachArray(stream, (chunks) =>
    Effect.suspend(() => {
      const out: Array<L0Event> = []
      try {
        for (const chunk of chunks) pump.decode(chunk, out)
      } catch (error) {
        // deliver what the array decoded before the failing chunk, as the iterator path does
        return out.length === 0 ? Effect.fail(error) : Effect.andThen(pump.offer(out), Effect.fail(error))
      }
      return out.length === 0 ? Effect.void : pump.offer(out)
    })).pipe(
      Effect.matchCause({
        onSuccess: () => pump.finish(),
        onFailure: (cause) => pump.fail(Cause.squash(cause))
      })
    )

const consume = (pump: Pump, produced: unknown): Effect.Effect<void> => {
  if (Stream.isStream(produced)) return runStream(pump, produced as Stream.Stream<unknown, unknown>)
  if (Effect.isEffect(produced)) {
    return Effect.matchCauseEffect(produced as Effect.Effect<unknown, unknown>, {
      onSuccess: (inner) =>
        Stream.isStream(inner) || isAsyncIterable(inner) ? consume(pump, inner) : consume(pump, invalid(inner)),
      onFailure: (cause) => Effect.sync(() => pump.fail(Cause.squash(cause)))
    })
  }
  return Effect.sync(() => {
    if (isAsyncIterable(produced)) {
      void drive(pump, produced)
    } else if (isPromiseLike(produced)) {
      Promise.resolve(produced).then(
        (iterable) => isAsyncIterable(iterable) ? drive(pump, iterable) : pump.fail(invalid(iterable)),
        (error) => pump.fail(error)
      )
    } else {
      pump.fail(invalid(produced))
    }
  })
}

const invalid = (u: unknown): FatalError =>
  new FatalError({
    reason: "options",
    message: `options.stream must return an AsyncIterable, a Promise of one, a Stream or an Effect; it returned ${
      Adapter.describe(u)
    }`
  })

const watchdog = (pump: Pump, limits: Limits): Effect.Effect<void> =>
  Effect.gen(function*() {
    while (!pump.closed) {
      const phase = pump.started ? "inter" : "initial"
      const limit = phase === "inter" ? limits.interToken : limits.initialToken
      if (limit === Infinity) {
        // only the first-token limit is off: poll until output starts
        if (phase === "inter") return
        yield* Effect.sleep(limits.interToken)
        continue
      }
      const now = pump.now()
      const deadline = pump.blocked ? now + limit : pump.lastActivity + limit
      if (now >= deadline) return pump.timeout(phase, limit)
      yield* Effect.sleep(deadline - now)
    }
  })

/**
 * One attempt: calls the factory and streams its decoded events. The
 * request's `AbortSignal` is aborted and its iterator returned when the
 * stream's scope closes, whether it ended, failed, timed out or was
 * interrupted.
 *
 * @internal
 */
export const make = (config: SourceConfig, handle: AttemptHandle): Stream.Stream<L0Event, CategoryError> =>
  Stream.callback<L0Event, CategoryError>((queue) =>
    Effect.gen(function*() {
      const pump = new Pump(queue, config, handle)
      yield* Effect.addFinalizer(() => Effect.sync(() => pump.close()))
      if (config.limits.initialToken !== Infinity || config.limits.interToken !== Infinity) {
        yield* Effect.forkScoped(watchdog(pump, config.limits))
      }
      let produced: unknown
      try {
        produced = config.call(pump.controller.signal)
      } catch (error) {
        return pump.fail(error)
      }
      yield* consume(pump, produced)
    }), { bufferSize: BUFFER_SIZE })
