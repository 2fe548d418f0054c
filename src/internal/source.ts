import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Pull from "effect/Pull"
import * as Scope from "effect/Scope"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as Adapter from "../Adapter.js"
import type { Completion, Decoder } from "../Adapter.js"
import type { L0Event } from "../L0Event.js"
import type { CategoryError } from "../L0Error.js"
import { ExhaustedError, FatalError, fromUnknown, ModelError, NetworkError } from "../L0Error.js"
import * as Decision from "./decision.js"
import type { StreamSource } from "./l0Types.js"
import type { Limits } from "./timeout.js"
import { isJsonContentType, isRecord } from "./decode.js"

/** @internal */
export interface SourceConfig {
  readonly call: (signal: AbortSignal) => StreamSource
  readonly adapter: Adapter.Adapter | undefined
  readonly registry: ReadonlyArray<Adapter.Adapter>
  readonly limits: Limits
  readonly clock: Clock.Clock
}

/** How a source ended: what its decoder saw at the end, and which adapter decoded it. */
export interface Ended {
  readonly completion: Completion | undefined
  readonly adapter: string | undefined
}

/** The watchdog ended the attempt: no output within `limitMs` of the request (`initial`) or of the last output. */
export class TimedOut {
  readonly _tag = "TimedOut"
  constructor(readonly phase: "initial" | "inter", readonly limitMs: number, readonly error: NetworkError) {}
}

/** How one attempt's events end: a failure, or `Cause.Done` with how the source ended. */
export type SourcePull = Pull.Pull<Arr.NonEmptyReadonlyArray<L0Event>, CategoryError | TimedOut, Ended>

/** An opened source: its pull, and the name of the adapter decoding it once its first chunk arrived. */
export interface Opened {
  readonly pull: SourcePull
  readonly adapter: string | undefined
}

/** Enough buffer for a whole network read of tokens; a full buffer pauses the source. */
const BUFFER_SIZE = 1024

/**
 * The reason every attempt's signal is aborted with: what `abort()` would
 * create, built once (a DOMException per request costs several microseconds).
 */
const aborted = new DOMException("This operation was aborted", "AbortError")

/** An `ExhaustedError` from a nested run counts as its last error. */
const toCategoryError = (u: unknown, now: number): CategoryError => {
  const error = fromUnknown(u, now)
  return error instanceof ExhaustedError
    ? error.lastError ?? new FatalError({ message: error.message, reason: "protocol" })
    : error
}

/** A guard that says no, instead of throwing, for a revoked Proxy or a getter that throws. */
const safe = <A>(guard: (u: unknown) => u is A) => (u: unknown): u is A => {
  try {
    return guard(u)
  } catch {
    return false
  }
}

const isAsyncIterable = safe((u): u is AsyncIterable<unknown> =>
  typeof u === "object" && u !== null && typeof (u as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function"
)

const isPromiseLike = safe(Predicate.isPromiseLike)

/** @internal */
export const isStream = safe(Stream.isStream)

/** @internal */
export const isEffect = safe(Effect.isEffect)

/**
 * Moves chunks from the provider to the attempt: decoding, timing the output
 * for the watchdog, and closing the request when the attempt's scope closes.
 * Plain JavaScript, so no Effect step per token: decoders append straight to
 * `buffer`, which the consumer takes whole, one array per pull.
 */
class Pump implements Opened {
  closed = false
  /** The source ended or failed: nothing more goes into `buffer`. */
  ended = false
  private failure: CategoryError | TimedOut | undefined = undefined
  private completion: Completion | undefined = undefined
  adapter: string | undefined = undefined
  started = false
  blocked = false
  lastActivity: number
  iterator: AsyncIterator<unknown> | undefined = undefined
  decoder: Decoder | undefined = undefined
  private buffer: Array<L0Event> = []
  readonly controller = new AbortController()
  /** Resumes the consumer parked on an empty buffer. */
  private waiter: (() => void) | undefined = undefined
  /** Resumes the producer parked on a full buffer. */
  private space: (() => void) | undefined = undefined
  /** `lastActivity` holds the time of an output of the current event-loop turn. */
  private stamped = false
  /** Outputs since `lastActivity` was taken, in the same turn. */
  private unstamped = 0
  private tickScheduled = false

  constructor(readonly config: SourceConfig) {
    this.lastActivity = config.clock.currentTimeMillisUnsafe()
  }

  now(): number {
    return this.config.clock.currentTimeMillisUnsafe()
  }

  /**
   * Runs once per event-loop turn that saw output or left events for a
   * parked consumer. Outputs of one turn share the clock reading of the
   * first; if more followed, the time is read again here, so the watchdog
   * never sees an output as older than it is.
   */
  private readonly tick = (): void => {
    this.tickScheduled = false
    if (this.unstamped > 0) this.lastActivity = this.now()
    this.unstamped = 0
    this.stamped = false
    const waiter = this.waiter
    if (waiter !== undefined && (this.buffer.length > 0 || this.ended)) {
      this.waiter = undefined
      waiter()
    }
  }

  private scheduleTick(): void {
    if (this.tickScheduled) return
    this.tickScheduled = true
    setImmediate(this.tick)
  }

  private output(): void {
    this.started = true
    if (this.stamped) {
      this.unstamped++
      return
    }
    this.lastActivity = this.now()
    this.stamped = true
    this.scheduleTick()
  }

  private decodeInto(chunk: unknown, buffer: Array<L0Event>): void {
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
      this.adapter = adapter.name
      decoder = this.decoder = adapter.make()
    }
    if (decoder.push(chunk, buffer)) this.output()
  }

  /** Decodes one chunk into the buffer; a chunk that fails to decode leaves no event behind. */
  private decodeChunk(chunk: unknown, buffer: Array<L0Event>): void {
    const before = buffer.length
    try {
      this.decodeInto(chunk, buffer)
    } catch (error) {
      buffer.length = before
      throw error
    }
  }

  /** Decodes one chunk; returns whether the buffer is full. */
  push(chunk: unknown): boolean {
    if (this.ended) return false
    const before = this.buffer.length
    this.decodeChunk(chunk, this.buffer)
    return this.pushed(before)
  }

  /** Decodes an array of chunks; if one fails, the events of the chunks before it are still delivered. */
  pushAll(chunks: ReadonlyArray<unknown>): boolean {
    if (this.ended) return false
    const buffer = this.buffer
    const before = buffer.length
    for (let i = 0; i < chunks.length; i++) this.decodeChunk(chunks[i], buffer)
    return this.pushed(before)
  }

  /** Wakes a consumer parked on the empty buffer; returns whether the buffer is full. */
  private pushed(before: number): boolean {
    const length = this.buffer.length
    if (before === 0 && length > 0 && this.waiter !== undefined) this.scheduleTick()
    return length >= BUFFER_SIZE
  }

  /** Parks the producer until the consumer takes the buffer; the watchdog does not count this time. */
  waitForSpace(): Promise<void> {
    this.blocked = true
    return new Promise<void>((resolve) => {
      this.space = resolve
    }).then(() => {
      this.blocked = false
      this.lastActivity = this.now()
      this.unstamped = 0
    })
  }

  private releaseSpace(): void {
    const space = this.space
    if (space === undefined) return
    this.space = undefined
    space()
  }

  /** The next events for the consumer, its failure, or its end. */
  readonly pull: SourcePull = Effect.suspend(() => {
    const events = this.buffer
    if (events.length > 0) {
      this.buffer = []
      this.releaseSpace()
      return Effect.succeed(events as unknown as Arr.NonEmptyReadonlyArray<L0Event>)
    }
    if (this.ended) {
      return this.failure === undefined
        ? Cause.done({ completion: this.completion, adapter: this.adapter })
        : Effect.fail(this.failure)
    }
    return Effect.flatMap(this.parked, () => this.pull)
  })

  private readonly parked: Effect.Effect<void> = Effect.callback<void>((resume) => {
    this.waiter = () => resume(Effect.void)
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })

  private end(failure: CategoryError | TimedOut | undefined): void {
    this.ended = true
    this.failure = failure
    this.releaseSpace()
    if (this.waiter !== undefined) this.scheduleTick()
  }

  finish(): void {
    if (this.closed || this.ended) return
    const decoder = this.decoder
    if (decoder === undefined) return this.fail(nothingReceived(this.config.adapter))
    const buffer = this.buffer
    const before = buffer.length
    try {
      this.completion = decoder.end(buffer)
    } catch (error) {
      buffer.length = before
      return this.fail(error)
    }
    this.end(undefined)
  }

  fail(error: unknown): void {
    if (this.closed || this.ended) return
    this.end(toCategoryError(error, this.now()))
  }

  timeout(phase: "initial" | "inter", limit: number): void {
    if (this.closed || this.ended) return
    if (Decision.onSilence(this.decoder?.finished?.() === true) === "Complete") return this.finish()
    this.end(
      new TimedOut(
        phase,
        limit,
        new NetworkError({
          reason: "timeout",
          message: phase === "initial" ? `No output within ${limit} ms of the request` : `No output for ${limit} ms`
        })
      )
    )
  }

  close(): void {
    this.closed = true
    this.releaseSpace()
    this.controller.abort(aborted)
    const iterator = this.iterator
    // fire and forget: a generator parked in an await settles its return() only later
    try {
      if (iterator?.return !== undefined) Promise.resolve(iterator.return()).catch(() => {})
    } catch {
      // a throwing return() must not break the scope's other finalizers
    }
  }
}

/**
 * Reads the source one chunk at a time with promise callbacks: a reaction
 * per chunk costs less than resuming an `async` function after each `await`,
 * and this loop runs once per token.
 */
const drive = (pump: Pump, iterable: AsyncIterable<unknown>): void => {
  let iterator: AsyncIterator<unknown>
  try {
    iterator = iterable[Symbol.asyncIterator]()
  } catch (error) {
    return pump.fail(error)
  }
  pump.iterator = iterator
  // the attempt may have ended while the request was starting
  if (pump.closed) return pump.close()
  const failed = (error: unknown): void => pump.fail(error)
  const next = (): void => {
    if (pump.closed || pump.ended) return
    try {
      Promise.resolve(iterator.next()).then(received, failed)
    } catch (error) {
      pump.fail(error)
    }
  }
  const received = (result: IteratorResult<unknown>): void => {
    if (pump.closed) return
    try {
      if (result.done) return pump.finish()
      if (pump.push(result.value)) pump.waitForSpace().then(next)
      else next()
    } catch (error) {
      pump.fail(error)
    }
  }
  next()
}

const runStream = (pump: Pump, stream: Stream.Stream<unknown, unknown>): Effect.Effect<void> =>
  Stream.runForEachArray(
    stream,
    (chunks) => Effect.suspend(() => pump.pushAll(chunks) ? Effect.promise(() => pump.waitForSpace()) : Effect.void)
  ).pipe(
    Effect.matchCause({
      onSuccess: () => pump.finish(),
      onFailure: (cause) => pump.fail(Cause.squash(cause))
    })
  )

/** The `APIPromise` of the openai and Anthropic SDKs: `withResponse()` gives the stream and its HTTP response. */
interface ApiPromise extends PromiseLike<unknown> {
  readonly withResponse: () => PromiseLike<unknown>
}

const isApiPromise = (u: PromiseLike<unknown>): u is ApiPromise => typeof (u as ApiPromise).withResponse === "function"

interface HttpResponse {
  readonly headers: { readonly get: (name: string) => string | null }
  readonly text: () => Promise<string>
}

const isHttpResponse = (u: unknown): u is HttpResponse =>
  isRecord(u) && isRecord(u.headers) && typeof u.headers.get === "function" && typeof u.text === "function"

/**
 * A gateway that ignored `stream: true` answered with the whole completion
 * as JSON, which the SDK's SSE parser would read as no events at all: the
 * body is decoded as one chunk instead.
 */
const readWhole = async (pump: Pump, response: HttpResponse): Promise<void> => {
  try {
    const body = (await response.text()).trim()
    if (pump.closed) return
    if (body.length > 0) {
      let whole: unknown
      try {
        whole = JSON.parse(body)
      } catch {
        return pump.fail(
          new ModelError({ message: "The provider answered with JSON instead of a stream, and it is not valid JSON" })
        )
      }
      pump.push(whole)
    }
    pump.finish()
  } catch (error) {
    pump.fail(error)
  }
}

const driveResolved = (pump: Pump, promise: PromiseLike<unknown>): void => {
  Promise.resolve(promise).then(
    (iterable) => isAsyncIterable(iterable) ? drive(pump, iterable) : pump.fail(invalid(iterable)),
    (error) => pump.fail(error)
  )
}

/** Drives the stream an SDK's `APIPromise` resolves to, or its whole answer when it was not streamed. */
const openApiPromise = (pump: Pump, promise: ApiPromise): void => {
  Promise.resolve(promise.withResponse()).then(
    (opened) => {
      // not an SDK stream (a request without `stream: true`, another library): the promise's own value decides
      if (!isRecord(opened) || !isAsyncIterable(opened.data)) return driveResolved(pump, promise)
      const response = opened.response
      return isHttpResponse(response) && isJsonContentType(response.headers.get("content-type"))
        ? readWhole(pump, response)
        : drive(pump, opened.data)
    },
    (error) => pump.fail(error)
  )
}

/**
 * The `fullStream` of an object that has one: the result of the AI SDK's
 * `streamText` or `streamObject`, which is not itself iterable. Read in a
 * `try`: a getter that throws or a revoked Proxy makes it no source.
 */
const fullStreamOf = (u: unknown): AsyncIterable<unknown> | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  try {
    if (!("fullStream" in u)) return undefined
    const stream: unknown = (u as { readonly fullStream: unknown }).fullStream
    return isAsyncIterable(stream) ? stream : undefined
  } catch {
    return undefined
  }
}

/** Drives an `AsyncIterable`, a `Promise` of one or an AI SDK result with plain promises: no fiber. */
const start = (pump: Pump, produced: unknown): void => {
  if (isAsyncIterable(produced)) {
    drive(pump, produced)
  } else if (isPromiseLike(produced)) {
    if (isApiPromise(produced)) openApiPromise(pump, produced)
    else driveResolved(pump, produced)
  } else {
    const full = fullStreamOf(produced)
    if (full === undefined) pump.fail(invalid(produced))
    else drive(pump, full)
  }
}

/** Runs a `Stream` source, or an `Effect` that produces the source. */
const consume = (pump: Pump, produced: unknown): Effect.Effect<void> =>
  isStream(produced)
    ? runStream(pump, produced as Stream.Stream<unknown, unknown>)
    : Effect.matchCauseEffect(produced as Effect.Effect<unknown, unknown>, {
      onSuccess: (inner) =>
        isStream(inner)
          ? runStream(pump, inner as Stream.Stream<unknown, unknown>)
          : Effect.sync(() => isAsyncIterable(inner) ? start(pump, inner) : pump.fail(invalid(inner))),
      onFailure: (cause) => Effect.sync(() => pump.fail(Cause.squash(cause)))
    })

/**
 * A source that ended before its first chunk: an empty body, only
 * keep-alives, or a body that was not the stream asked for. Nothing tells
 * it apart from a connection cut before the answer, so it is retried.
 */
const nothingReceived = (adapter: Adapter.Adapter | undefined): NetworkError =>
  new NetworkError({
    reason: "eof",
    message: `The ${
      adapter === undefined ? "" : `${adapter.name} `
    }stream ended before its first chunk (an empty body, only keep-alives, or an answer that was not streamed)`
  })

const invalid = (u: unknown): FatalError =>
  new FatalError({
    reason: "options",
    message: "options.stream must return an AsyncIterable, a Promise of one, a Stream, an Effect or an AI SDK " +
      `result (an object with a fullStream); it returned ${Adapter.describe(u)}`
  })

/**
 * Resumes after the event loop's next I/O phase: a timer that fires once a
 * long block of the loop ends runs before the socket reads that the block
 * held up.
 */
const ioTurn: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const watchdog = (pump: Pump, limits: Limits): Effect.Effect<void> =>
  Effect.gen(function*() {
    let overdue = false
    while (!pump.closed) {
      const phase = pump.started ? "inter" : "initial"
      const limit = phase === "inter" ? limits.interToken : limits.initialToken
      if (phase === "inter" && limit === Infinity) return
      const now = pump.now()
      const deadline = pump.blocked ? now + limit : pump.lastActivity + limit
      if (now < deadline) {
        overdue = false
        // until output starts, wake within the inter-token limit too, so that its deadline is never overslept
        yield* Effect.sleep(phase === "inter" ? deadline - now : Math.min(deadline - now, limits.interToken))
        continue
      }
      // output that already waits to be read counts: check again after the event loop's I/O
      if (overdue) return pump.timeout(phase, limit)
      overdue = true
      yield* ioTurn
    }
  })

/**
 * Opens one attempt's source in `scope`: calls the factory and returns the
 * pull of its decoded events, which ends with how the source ended. The
 * request's `AbortSignal` is aborted and its iterator returned when the
 * scope closes, whether the attempt ended, failed, timed out or was
 * interrupted.
 *
 * @internal
 */
export const open = (config: SourceConfig, scope: Scope.Scope): Effect.Effect<Opened> =>
  Effect.gen(function*() {
    const pump = new Pump(config)
    yield* Scope.addFinalizer(scope, Effect.sync(() => pump.close()))
    if (config.limits.initialToken !== Infinity || config.limits.interToken !== Infinity) {
      yield* Effect.forkIn(watchdog(pump, config.limits), scope)
    }
    let produced: unknown
    try {
      produced = config.call(pump.controller.signal)
    } catch (error) {
      pump.fail(error)
      return pump
    }
    if (isStream(produced) || isEffect(produced)) {
      yield* Effect.forkIn(consume(pump, produced), scope, { startImmediately: true })
    } else {
      start(pump, produced)
    }
    return pump
  })
