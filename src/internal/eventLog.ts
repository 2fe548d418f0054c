import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as EventBus from "../EventBus.js"
import type { Entry, Outcome, ReadOptions, RecordOptions, Recording, ReplayOptions, Sink } from "../EventLog.js"
import type { L0Error } from "../L0Error.js"
import { isL0Error } from "../L0Error.js"
import type { L0Event } from "../L0Event.js"
import { describeThrown } from "./classify.js"
import * as Codec from "./eventLogCodec.js"
import { EventLogError } from "./eventLogError.js"

const encodeEntries = Schema.encodeResult(Schema.Array(Codec.Entry))
const decodeEntries = Schema.decodeUnknownResult(Schema.Array(Codec.Entry))
const decodeEntry = Schema.decodeUnknownResult(Codec.Entry)

/** Lines decoded per call when reading a log. */
const CHUNK = 1024

/** Sinks that already hold a run: a second run in the same log could not be told apart from the first. */
const claimed = new WeakSet<Sink>()

/** The records of one run: every write goes to the sink before the events it holds go on. */
class Recorder {
  /** Set once the log cannot be written: the stream fails with it, and nothing more is written. */
  failure: EventLogError | undefined = undefined
  private ended = false

  constructor(readonly sink: Sink, readonly clock: Clock.Clock) {}

  now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  write(entries: ReadonlyArray<Entry>): void {
    if (this.failure !== undefined || this.ended) return
    const encoded = encodeEntries(entries)
    if (Result.isFailure(encoded)) {
      this.failure = new EventLogError({
        reason: "Encode",
        message: `Cannot encode a log entry: ${encoded.failure.message}`,
        cause: encoded.failure
      })
      return
    }
    const lines: Array<string> = []
    try {
      for (const entry of encoded.success) lines.push(JSON.stringify(entry))
    } catch (cause) {
      this.failure = new EventLogError({
        reason: "Encode",
        message: `Cannot write a log entry as JSON: ${messageOf(cause)}`,
        cause
      })
      return
    }
    try {
      this.sink.write(lines)
    } catch (cause) {
      this.failure = new EventLogError({
        reason: "Write",
        message: `Cannot write to the event log: ${messageOf(cause)}`,
        cause
      })
    }
  }

  end(outcome: Outcome): void {
    this.write([{ _tag: "End", at: this.now(), outcome }])
    this.ended = true
  }

  /** The bus the recorded stream sees: each event is logged, then handed to the bus around it. */
  tee(outer: EventBus.Service, tokens: boolean): EventBus.Service {
    return {
      tokens: tokens || outer.tokens,
      emit: (event) => {
        const token = event.type === "stream_token"
        if (!token || tokens) this.write([{ _tag: "Bus", at: this.now(), event }])
        if (!token || outer.tokens) outer.emit(event)
      }
    }
  }

  pull<E extends L0Error>(
    upstream: Pull.Pull<Arr.NonEmptyReadonlyArray<L0Event>, E, void>
  ): Pull.Pull<Arr.NonEmptyReadonlyArray<L0Event>, E | EventLogError, void> {
    return Effect.matchCauseEffect(upstream, {
      onSuccess: (events) => {
        const at = this.now()
        this.write(events.map((event): Entry => ({ _tag: "Event", at, event })))
        return this.failure === undefined ? Effect.succeed(events) : Effect.fail(this.failure)
      },
      onFailure: (cause) => {
        this.end(outcomeOf(cause))
        if (this.failure === undefined) return Effect.failCause(cause)
        // the run's own error comes first; the broken log is reported with it
        return Pull.isDoneCause(cause)
          ? Effect.fail(this.failure)
          : Effect.failCause(Cause.combine(cause, Cause.fail(this.failure)))
      }
    })
  }
}

export const messageOf: (u: unknown) => string = describeThrown

const outcomeOf = <E>(cause: Cause.Cause<E>): Outcome => {
  if (Pull.isDoneCause(cause)) return { _tag: "Success" }
  const error = Cause.findError(cause)
  if (Result.isSuccess(error) && isL0Error(error.success)) return { _tag: "Failure", error: error.success }
  return Cause.hasDies(cause) ? { _tag: "Defect" } : { _tag: "Interrupted" }
}

export const record = <E extends L0Error, R>(
  self: Stream.Stream<L0Event, E, R>,
  sink: Sink,
  options: RecordOptions | undefined
): Stream.Stream<L0Event, E | EventLogError, R> =>
  Stream.unwrap(Effect.gen(function*() {
    if (claimed.has(sink)) {
      return Stream.fail(
        new EventLogError({ reason: "InUse", message: "This sink already holds a run: record each run to a new sink" })
      )
    }
    claimed.add(sink)
    const recorder = new Recorder(sink, yield* Clock.Clock)
    recorder.write([{ _tag: "Start", at: recorder.now(), version: Codec.VERSION }])
    if (recorder.failure !== undefined) return Stream.fail(recorder.failure)
    const bus = recorder.tee(yield* EventBus.EventBus, options?.tokens === true)
    return Stream.transformPull(
      Stream.provideService(self, EventBus.EventBus, bus),
      (upstream, scope) =>
        // a run that never reached its end was interrupted, or its consumer stopped pulling
        Effect.as(
          Scope.addFinalizer(scope, Effect.sync(() => recorder.end({ _tag: "Interrupted" }))),
          recorder.pull(upstream)
        )
    )
  }))

const corrupt = (line: number, message: string, cause?: unknown) =>
  new EventLogError({ reason: "Corrupt", line, message: `Line ${line} of the event log ${message}`, cause })

/** Decodes complete lines; `torn` is a last line that was cut before its newline. */
export const decode = (
  lines: ReadonlyArray<string>,
  torn: string | undefined,
  options: ReadOptions | undefined
): Effect.Effect<Recording, EventLogError> =>
  Effect.suspend(() => {
    const incomplete = options?.allowIncomplete === true
    if (torn !== undefined && !incomplete) {
      const line = lines.length + 1
      return Effect.fail(
        new EventLogError({
          reason: "Truncated",
          line,
          message: `Line ${line} of the event log was cut before its end (the recording process died while writing it)`
        })
      )
    }
    if (lines.length === 0) {
      return Effect.fail(new EventLogError({ reason: "Incomplete", message: "The event log is empty" }))
    }
    const entries: Array<Entry> = []
    const events: Array<L0Event> = []
    const busEvents: Array<EventBus.BusEvent> = []
    let outcome: Outcome | undefined = undefined
    // decoding a chunk of lines in one call is several times faster than line by line
    for (let start = 0; start < lines.length; start += CHUNK) {
      const end = Math.min(start + CHUNK, lines.length)
      const json: Array<unknown> = []
      let problem: EventLogError | undefined = undefined
      for (let i = start; i < end && problem === undefined; i++) {
        try {
          json.push(JSON.parse(lines[i]!))
        } catch (cause) {
          problem = corrupt(i + 1, `is not JSON: ${messageOf(cause)}`, cause)
        }
      }
      let decoded: ReadonlyArray<Entry>
      const all = decodeEntries(json)
      if (Result.isSuccess(all)) {
        decoded = all.success
      } else {
        // find the first line that is not an entry
        const good: Array<Entry> = []
        for (const value of json) {
          const one = decodeEntry(value)
          if (Result.isFailure(one)) {
            problem = corrupt(start + good.length + 1, `is not a log entry: ${one.failure.message}`, one.failure)
            break
          }
          good.push(one.success)
        }
        decoded = good
      }
      for (let j = 0; j < decoded.length; j++) {
        const entry = decoded[j]!
        const line = start + j + 1
        if (outcome !== undefined) return Effect.fail(corrupt(line, "follows the end of the run"))
        if ((entry._tag === "Start") !== (line === 1)) {
          return Effect.fail(
            corrupt(line, line === 1 ? "is not the start of a run" : "starts a second run: a log holds one run")
          )
        }
        if (entry._tag === "Event") events.push(entry.event)
        else if (entry._tag === "Bus") busEvents.push(entry.event)
        else if (entry._tag === "End") outcome = entry.outcome
        entries.push(entry)
      }
      if (problem !== undefined) return Effect.fail(problem)
    }
    if (outcome === undefined && !incomplete) {
      return Effect.fail(
        new EventLogError({
          reason: "Incomplete",
          line: lines.length,
          message: `The event log ends at line ${lines.length} before the end of its run (the recording was cut)`
        })
      )
    }
    return Effect.succeed({ entries, events, busEvents, outcome })
  })

/** Splits a log's text into lines; a last line without its newline was cut while it was written. */
export const fromText = (text: string, options: ReadOptions | undefined): Effect.Effect<Recording, EventLogError> => {
  const lines = text.split("\n")
  const last = lines.pop()!
  return decode(lines, last === "" ? undefined : last, options)
}

export const replay = (recording: Recording, options: ReplayOptions | undefined): Stream.Stream<L0Event, L0Error> =>
  Stream.unwrap(Effect.map(EventBus.EventBus, (bus) => {
    const timing = options?.timing !== false
    const emit = options?.bus !== false
    return Stream.fromPull(Effect.sync(() => {
      const { entries } = recording
      let index = 0
      let previous = entries[0]?.at ?? 0
      const next = (): Pull.Pull<Arr.NonEmptyReadonlyArray<L0Event>, L0Error, void> => {
        while (index < entries.length) {
          const entry = entries[index]!
          const wait = timing ? entry.at - previous : 0
          previous = entry.at
          // the clock is the caller's: under TestClock the recorded gaps pass only when the test adjusts it
          if (wait > 0) return Effect.andThen(Effect.sleep(Duration.millis(wait)), Effect.suspend(next))
          index++
          switch (entry._tag) {
            case "Start":
              break
            case "Bus": {
              if (emit && (entry.event.type !== "stream_token" || bus.tokens)) bus.emit(entry.event)
              break
            }
            case "Event": {
              const batch: Arr.NonEmptyArray<L0Event> = [entry.event]
              for (
                let after = entries[index];
                after?._tag === "Event" && after.at === entry.at;
                after = entries[++index]
              ) {
                batch.push(after.event)
              }
              return Effect.succeed(batch)
            }
            case "End": {
              const { outcome } = entry
              if (outcome._tag === "Failure") return Effect.fail(outcome.error)
              if (outcome._tag === "Defect") return Effect.die(new Error("The recorded run ended with a defect"))
              return Cause.done()
            }
          }
        }
        return Cause.done()
      }
      return Effect.suspend(next)
    }))
  }))
