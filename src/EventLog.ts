/**
 * Record a run (its events, its EventBus events and how it ended) to a
 * memory or JSONL log, and replay it later without calling any provider.
 *
 * @since 0.1.0
 */
import type * as NodeFs from "node:fs"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { BusEvent } from "./EventBus.js"
import * as internal from "./internal/eventLog.js"
import { EventLogError } from "./internal/eventLogError.js"
import { checkKeys } from "./internal/optionSchema.js"
import type { FatalError, L0Error } from "./L0Error.js"
import type { L0Event } from "./L0Event.js"

// defined beside the log's runtime, which fails with it; documented there
export { EventLogError } from "./internal/eventLogError.js"

/**
 * How a recorded run ended. `Interrupted` also covers a consumer that stopped
 * pulling (`Stream.take`) before the end; a `Defect` is recorded without its
 * value, which may hold anything.
 *
 * @category models
 * @since 0.1.0
 */
export type Outcome =
  | { readonly _tag: "Success" }
  | { readonly _tag: "Failure"; readonly error: L0Error }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Defect" }

/**
 * One line of a log. `at` is the `Clock` time (epoch millis) at which the
 * recorder saw the entry. A log is a `Start`, then `Event` and `Bus` entries
 * in the order they happened, then an `End`.
 *
 * @category models
 * @since 0.1.0
 */
export type Entry =
  | { readonly _tag: "Start"; readonly at: number; readonly version: 1 }
  | { readonly _tag: "Event"; readonly at: number; readonly event: L0Event }
  | { readonly _tag: "Bus"; readonly at: number; readonly event: BusEvent }
  | { readonly _tag: "End"; readonly at: number; readonly outcome: Outcome }

/**
 * A decoded log.
 *
 * @category models
 * @since 0.1.0
 */
export interface Recording {
  readonly entries: ReadonlyArray<Entry>
  /** The run's events, in order. */
  readonly events: ReadonlyArray<L0Event>
  /** The run's EventBus events, in order. */
  readonly busEvents: ReadonlyArray<BusEvent>
  /** How the run ended; `undefined` for a log cut short, read with `allowIncomplete`. */
  readonly outcome: Outcome | undefined
}

/**
 * Where a recorder writes. `write` receives one or more entries, each a line
 * of JSON without its newline, and returns once they are stored; it may
 * throw, and the recorded stream then fails with an `EventLogError`. A sink
 * holds one run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Sink {
  readonly write: (lines: ReadonlyArray<string>) => void
}

/**
 * A sink that keeps its lines in memory.
 *
 * @category models
 * @since 0.1.0
 */
export interface MemorySink extends Sink {
  /** The lines written so far. */
  readonly lines: Effect.Effect<ReadonlyArray<string>>
}

/**
 * Options of `record`: what goes into the log besides the run's events.
 *
 * @category models
 * @since 0.1.0
 */
export interface RecordOptions {
  /**
   * Also record `stream_token` bus events, one line per token. Default
   * `false`: the `Token` events already hold the text.
   */
  readonly tokens?: boolean | undefined
}

/**
 * Options of `fromLines` and `readFile`: whether a log cut short by a crash
 * is accepted.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReadOptions {
  /**
   * Accept a log cut short by a crash: a torn last line is dropped, and a log
   * without its end replays its events and then ends. Default `false`: such a
   * log is a `Truncated` or `Incomplete` error.
   */
  readonly allowIncomplete?: boolean | undefined
}

/**
 * Options of `replay`: whether the recorded timing is kept and whether the
 * recorded bus events are emitted again.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReplayOptions {
  /**
   * Wait the recorded gaps between entries on the Effect `Clock` (so
   * `TestClock` controls them). Default `true`; `false` replays at once.
   */
  readonly timing?: boolean | undefined
  /**
   * Emit the recorded EventBus events, with their recorded timestamps, on the
   * `EventBus` of the replaying program. Default `true`.
   */
  readonly bus?: boolean | undefined
}

/**
 * A sink in memory, for tests and for runs you replay in the same process.
 *
 * @category sinks
 * @since 0.1.0
 */
export const memorySink: Effect.Effect<MemorySink> = Effect.sync(() => {
  const lines: Array<string> = []
  return {
    write: (more) => {
      for (const line of more) lines.push(line)
    },
    lines: Effect.sync(() => lines.slice())
  }
})

/** Node's `fs`, looked up at run time so that the main entry imports nothing from Node and bundles for browsers. */
const nodeFs = (): typeof NodeFs | undefined => globalThis.process?.getBuiltinModule?.("node:fs")

const noFileSystem = "This runtime has no Node file system (process.getBuiltinModule needs Node 20.16 or later)"

/**
 * A sink that appends JSON lines to a new file at `path`, one write per batch
 * of events, before those events go on: a process that dies loses at most
 * the line it was writing, never an event its consumer saw. Fails with
 * `EventLogError` (`Open`) if the file exists. The file is closed with the
 * scope.
 *
 * **Example** (Recording a run to a file)
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sink = yield* EventLog.fileSink("runs/2024-06-01T10-00-00.jsonl")
 *   return yield* Stream.runCollect(L0.stream(options).pipe(EventLog.record(sink)))
 * }))
 * ```
 * @category sinks
 * @since 0.1.0
 */
export const fileSink = (path: string): Effect.Effect<Sink, EventLogError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const fs = nodeFs()
        if (fs === undefined) throw new Error(noFileSystem)
        return { fs, fd: fs.openSync(path, "ax") }
      },
      catch: (cause) =>
        new EventLogError({
          reason: "Open",
          message: `Cannot create the event log ${path}: ${internal.messageOf(cause)}`,
          cause
        })
    }),
    ({ fd, fs }) => Effect.sync(() => fs.closeSync(fd)).pipe(Effect.ignore)
  ).pipe(Effect.map(({ fd, fs }): Sink => ({
    write: (lines) => {
      const bytes = new TextEncoder().encode(lines.join("\n") + "\n")
      for (let written = 0; written < bytes.length;) written += fs.writeSync(fd, bytes, written)
    }
  })))

/**
 * Records a run to `sink`: every event, every EventBus event the run emits
 * (provide your bus layers outside `record`, they still receive them), and
 * how the run ended, each with its `Clock` time. Events are written before
 * they are passed on. A sink that cannot be written, or an event that is not
 * JSON, fails the stream with `EventLogError` instead of leaving a log with
 * a hole; when the run itself failed, its error comes first in the cause.
 *
 * `Data` values and `usage.raw` are written as JSON (`JSON.stringify`), so
 * they replay as their JSON form; errors are written with their tag,
 * category, message, status, `Retry-After` and details, never their `cause`.
 *
 * **Example** (Recording a run in memory)
 * ```ts
 * const sink = yield* EventLog.memorySink
 * const text = yield* L0.stream(options).pipe(EventLog.record(sink), Stream.runFold(() => "", L0Event.applyTo))
 * const lines = yield* sink.lines
 * ```
 * @category recording
 * @since 0.1.0
 */
export const record: {
  (sink: Sink, options?: RecordOptions): <E extends L0Error, R>(
    self: Stream.Stream<L0Event, E, R>
  ) => Stream.Stream<L0Event, E | EventLogError | FatalError, R>
  <E extends L0Error, R>(
    self: Stream.Stream<L0Event, E, R>,
    sink: Sink,
    options?: RecordOptions
  ): Stream.Stream<L0Event, E | EventLogError | FatalError, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <E extends L0Error, R>(self: Stream.Stream<L0Event, E, R>, sink: Sink, options?: RecordOptions) =>
    Stream.suspend((): Stream.Stream<L0Event, E | EventLogError | FatalError, R> => {
      const unknown = checkKeys(options, RECORD_KEYS)
      return unknown === undefined ? internal.record(self, sink, options) : Stream.fail(unknown)
    })
)

const RECORD_KEYS = { tokens: true } as const
const READ_KEYS = { allowIncomplete: true } as const
const REPLAY_KEYS = { timing: true, bus: true } as const

/** Fails with the `FatalError` of a key no option has, before `effect` runs. */
const checked = <A, E>(
  options: unknown,
  keys: Record<string, true>,
  effect: () => Effect.Effect<A, E>
): Effect.Effect<A, E | FatalError> =>
  Effect.suspend((): Effect.Effect<A, E | FatalError> => {
    const unknown = checkKeys(options, keys)
    return unknown === undefined ? effect() : Effect.fail(unknown)
  })

/**
 * Decodes a log's text (a JSONL file's content). Fails with `EventLogError`
 * naming the first line that is corrupt, cut or out of place.
 *
 * @category reading
 * @since 0.1.0
 */
export const fromText = (text: string, options?: ReadOptions): Effect.Effect<Recording, EventLogError | FatalError> =>
  checked(options, READ_KEYS, () => internal.fromText(text, options))

/**
 * Decodes a log's lines, as a `MemorySink` holds them.
 *
 * @category reading
 * @since 0.1.0
 */
export const fromLines = (
  lines: ReadonlyArray<string>,
  options?: ReadOptions
): Effect.Effect<Recording, EventLogError | FatalError> =>
  checked(options, READ_KEYS, () => internal.decode(lines, undefined, options))

/**
 * Reads and decodes the log file at `path`.
 *
 * @category reading
 * @since 0.1.0
 */
export const readFile = (path: string, options?: ReadOptions): Effect.Effect<Recording, EventLogError | FatalError> =>
  checked(options, READ_KEYS, () => read(path, options))

const read = (path: string, options: ReadOptions | undefined): Effect.Effect<Recording, EventLogError> =>
  Effect.tryPromise({
    try: () => {
      const fs = nodeFs()
      return fs === undefined ? Promise.reject(new Error(noFileSystem)) : fs.promises.readFile(path, "utf8")
    },
    catch: (cause) =>
      new EventLogError({
        reason: "Read",
        message: `Cannot read the event log ${path}: ${internal.messageOf(cause)}`,
        cause
      })
  }).pipe(Effect.flatMap((text) => internal.fromText(text, options)))

/**
 * Plays a recorded run back: the same events in the same batches' order,
 * then the same end (the decoded error is an instance of the same class
 * with the same fields, without its `cause`). No provider is called. The
 * recorded gaps are waited on the Effect `Clock` and the recorded EventBus
 * events are emitted on the current bus, unless `options` turn them off.
 *
 * **Example** (Replaying a logged run under TestClock)
 * ```ts
 * const recording = yield* EventLog.readFile("runs/failed.jsonl")
 * const fiber = yield* Effect.forkChild(Stream.runCollect(EventLog.replay(recording)))
 * yield* TestClock.adjust("1 minute")
 * const exit = yield* Fiber.await(fiber) // the run's events, then its L0Error
 * ```
 * @category replaying
 * @since 0.1.0
 */
export const replay = (recording: Recording, options?: ReplayOptions): Stream.Stream<L0Event, L0Error> =>
  Stream.suspend(() => {
    const unknown = checkKeys(options, REPLAY_KEYS)
    return unknown === undefined ? internal.replay(recording, options) : Stream.fail(unknown)
  })

/**
 * Reads the log file at `path` and replays it.
 *
 * @category replaying
 * @since 0.1.0
 */
export const replayFile = (
  path: string,
  options?: ReadOptions & ReplayOptions
): Stream.Stream<L0Event, L0Error | EventLogError> =>
  Stream.unwrap(
    checked(options, { ...READ_KEYS, ...REPLAY_KEYS }, () =>
      Effect.map(read(path, options), (recording) =>
        internal.replay(recording, options)))
  )
