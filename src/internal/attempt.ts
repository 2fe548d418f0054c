/**
 * One attempt of a run: the stage between its source's decoded events and
 * the consumer, one chunk array at a time. Its text lives in a
 * `Transcript`; it reports to the bus through its run and ends with a
 * value, `Failed` or the `Complete` event, from which the run's loop
 * decides what follows.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import { isFramingPart } from "../adapters/effectAi.js"
import type * as EventBus from "../EventBus.js"
import type { CategoryError } from "../L0Error.js"
import { ContentError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import type { L0State, RunViolation } from "../L0State.js"
import type { Checkpointer } from "./durable.js"
import { Guard } from "./guard.js"
import type * as Health from "./health.js"
import type { AttemptContext, StreamSource } from "./l0Types.js"
import type { Resolved } from "./options.js"
import * as Source from "./source.js"
import type { AttemptStats, RunTelemetry } from "./telemetry.js"
import { Transcript } from "./transcript.js"

export type Factory = (ctx: AttemptContext) => StreamSource

export type Events = Arr.NonEmptyReadonlyArray<L0Event.L0Event>

const BLANK = /^\s*$/

/** A complete answer of nothing fails its attempt like a guardrail violation would: it is retried. */
const emptyAnswer = (): ContentError =>
  new ContentError({
    rule: "empty",
    message: "The answer is empty: no text, tool call or data (allowEmpty: true accepts it)"
  })

/**
 * Checks a finished attempt's text and tool calls before its `Complete` is
 * emitted (structured output decodes the reply here). A failure fails the
 * attempt like a guardrail violation, so it retries and falls back; the
 * value travels on the `Complete` event.
 */
export type Check<A> = (content: string, toolCalls: ReadonlyArray<L0Event.ToolCall>) => Effect.Effect<A, CategoryError>

/** The last event of an attempt that passed its check: the check's value with the state. */
export interface Completed<A> extends L0Event.Complete {
  readonly value: A
}

/** What an attempt needs of its run: its inputs, its reporting, and the counts of the whole run for the state. */
export interface Run<A> {
  readonly id: string
  readonly config: Resolved<Factory>
  readonly bus: EventBus.Service
  readonly check: Check<A> | undefined
  readonly checkpointer: Checkpointer | undefined
  readonly telemetry: RunTelemetry
  readonly attemptCount: number
  readonly modelRetries: number
  readonly networkRetries: number
  now(): number
  emit<T extends EventBus.EventType>(type: T, streamId: string, data: EventBus.EventData[T]): void
}

/** What an attempt starts from: what the consumer holds, and what earlier attempts left. */
export interface Carry {
  /** Text the consumer keeps across attempts, which this attempt continues (continuation only). */
  readonly checkpoint: string
  /** The consumer holds text that the attempt's first emission must reset first. */
  readonly resetPending: boolean
  /** The text emitted before this attempt, resets applied. */
  readonly held: string
  /** The text at the last safe point of an earlier attempt. */
  readonly good: string
  /** Every guardrail violation of the run before this attempt. */
  readonly violations: ReadonlyArray<RunViolation>
}

/**
 * How a failed attempt ended: its error, whether the consumer was shown
 * events of it, whether a reset the attempt owed is still undelivered, the
 * text the consumer holds (the checkpoint it kept, then the attempt's), the
 * part of it that was emitted, its text at its last safe point, if any, the
 * run's violations so far, and the attempt's figures.
 */
export interface Failed {
  readonly _tag: "Failed"
  readonly error: CategoryError
  readonly emitted: boolean
  readonly resetOwed: boolean
  readonly text: string
  readonly shown: string
  readonly good: string | undefined
  readonly violations: ReadonlyArray<RunViolation>
  readonly stats: AttemptStats
}

/**
 * What the next attempt starts from after `failed`: the text it continues
 * (when `continues`), whether it owes a reset, and what the run recorded.
 */
export const carryOn = (carry: Carry, failed: Failed, continues: boolean): Carry => {
  const checkpoint = continues ? failed.text : ""
  return {
    checkpoint,
    resetPending: failed.emitted || failed.resetOwed || checkpoint !== carry.checkpoint,
    held: failed.emitted ? failed.shown : carry.held,
    good: failed.good ?? carry.good,
    violations: failed.violations
  }
}

export class Attempt<A> {
  readonly startedAt: number
  private readonly transcript: Transcript
  private readonly toolCalls: Array<L0Event.ToolCall> = []
  /** Guardrail violations of this attempt. */
  private readonly violations: Array<RunViolation> = []
  /** A `Data` event came: an answer of data only is not empty. */
  private sawData = false
  /** Parts the consumer was given. */
  private shownParts = 0
  private finishReason: string | undefined = undefined
  private firstTokenAt: number | undefined = undefined
  private lastTokenAt: number | undefined = undefined
  private emitted = false
  private finished = false
  /** The attempt delivered its `Complete`. */
  private completedRun = false
  private tokensReported = 0
  /** The token count at which the next `stream_progress` event is due. */
  private nextProgress: number
  /** The opened source, once the attempt's stream starts: its adapter names the provider. */
  private source: Source.Opened | undefined = undefined

  constructor(
    private readonly run: Run<A>,
    readonly streamId: string,
    readonly index: number,
    readonly number: number,
    private readonly carry: Carry,
    /** Tells a keyed source's provider health how the attempt ended. */
    readonly health: Health.Report | undefined
  ) {
    this.startedAt = run.now()
    const config = run.config
    this.nextProgress = config.progressInterval
    const guard = config.guardrails.length === 0
      ? undefined
      : new Guard(config.guardrails, config.checkInterval, carry.checkpoint)
    this.transcript = new Transcript(carry.checkpoint, config.continuation, guard, carry.resetPending)
  }

  pull(source: Source.Opened): Pull.Pull<Events, Failed, void> {
    this.source = source
    const upstream = source.pull
    const run = this.run
    // built once: a pull per received array then allocates no new Effect chain
    const step: Pull.Pull<Events, Failed, void> = upstream.pipe(
      Effect.flatMap((events) => {
        const result = this.receive(events)
        if (!Array.isArray(result)) return Effect.fail(result as CategoryError)
        const save = run.checkpointer?.due(this.shown)
        return save === undefined ? Effect.succeed(result) : Effect.map(save, (saved) => {
          if (saved !== undefined) run.emit("checkpoint_saved", run.id, { length: saved.text.length, seq: saved.seq })
          return result
        })
      }),
      Pull.catchDone((ended) => this.complete(ended)),
      Effect.mapError((error) => this.failed(error)),
      Effect.flatMap((out): Pull.Pull<Events, Failed, void> =>
        out.length === 0 ? next : Effect.succeed(out as unknown as Events)
      )
    )
    const next: Pull.Pull<Events, Failed, void> = Effect.suspend(() => this.finished ? Cause.done() : step)
    return next
  }

  /** The text the consumer holds, for a durable checkpoint. */
  private readonly shown = (): string => this.transcript.text()

  /** The attempt's figures, for telemetry. */
  stats(): AttemptStats {
    return {
      adapter: this.source?.adapter,
      tokenCount: this.transcript.tokenCount,
      firstTokenAt: this.firstTokenAt,
      lastTokenAt: this.lastTokenAt
    }
  }

  /** Runs the guardrails on the text so far; returns the error that ends the attempt, if any. */
  private guarded(completed: boolean): CategoryError | undefined {
    const check = this.transcript.check(this.toolCalls.length, completed)
    const { tokenCount, violations } = check
    const run = this.run
    run.emit("guardrail_check", this.streamId, { completed, tokenCount, violations: violations.length })
    for (const violation of violations) {
      run.emit("guardrail_violation", this.streamId, { ...violation })
      this.violations.push({ ...violation, source: this.index, attempt: this.number })
    }
    return check.error
  }

  /** The run's violations: the earlier attempts', then this one's. */
  private runViolations(): ReadonlyArray<RunViolation> {
    return this.violations.length === 0 ? this.carry.violations : this.carry.violations.concat(this.violations)
  }

  /** The attempt's outcome when it fails: what the consumer holds, and whether it still owes a reset. */
  private failed(failure: CategoryError | Source.TimedOut): Failed {
    let error: CategoryError
    if (failure instanceof Source.TimedOut) {
      this.run.emit("timeout", this.streamId, { phase: failure.phase, limitMs: failure.limitMs })
      error = failure.error
    } else {
      error = failure
    }
    const transcript = this.transcript
    transcript.flush()
    return {
      _tag: "Failed",
      error,
      emitted: this.emitted,
      resetOwed: transcript.resetOwed,
      text: transcript.text(),
      shown: this.emittedText() ?? "",
      good: transcript.safe ? transcript.goodText() : undefined,
      violations: this.runViolations(),
      stats: this.stats()
    }
  }

  /** The text the consumer was given, resets applied; `undefined` before this attempt emitted. */
  private emittedText(): string | undefined {
    return this.emitted ? this.transcript.textUpTo(this.shownParts) : undefined
  }

  /** The run's state as this attempt sees it: the text emitted so far, or the text held before it. */
  state(): L0State {
    return this.stateWith(this.emittedText() ?? this.carry.held, this.run)
  }

  private stateWith(content: string, run: Run<A>): L0State {
    const transcript = this.transcript
    return {
      content,
      tokenCount: transcript.tokenCount,
      firstTokenAt: this.firstTokenAt,
      lastTokenAt: this.lastTokenAt,
      attempt: this.number,
      totalAttempts: run.attemptCount,
      modelRetryCount: run.modelRetries,
      networkRetryCount: run.networkRetries,
      fallbackIndex: this.index,
      checkpoint: transcript.keptCheckpoint(),
      finishReason: this.finishReason,
      toolCalls: this.toolCalls.slice(),
      violations: this.carry.violations.concat(this.violations),
      lastGoodContent: transcript.safe ? transcript.goodText() : this.carry.good,
      completed: this.completedRun,
      aborted: false
    }
  }

  /** Handles one array of decoded events; copies it only when an event changes. */
  private receive(events: Events): ReadonlyArray<L0Event.L0Event> | CategoryError {
    const transcript = this.transcript
    const tokensBefore = transcript.tokenCount
    let out: Array<L0Event.L0Event> | undefined
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!
      let emitted: L0Event.L0Event | undefined = event
      switch (event._tag) {
        case "Token": {
          const value = transcript.token(event.value)
          emitted = value === undefined ? undefined : value === event.value ? event : L0Event.token(value)
          break
        }
        case "Data": {
          this.sawData ||= !isFramingPart(event.value)
          break
        }
        case "ToolCall": {
          this.toolCalls.push(event)
          this.run.emit("tool_call", this.streamId, { id: event.id, name: event.name, arguments: event.arguments })
          break
        }
        case "Reset": {
          emitted = undefined
          out ??= events.slice(0, i)
          const kept = transcript.reset(event.kept)
          if (kept !== undefined) out.push(L0Event.reset(kept))
          break
        }
        case "Complete": {
          emitted = undefined
          break
        }
      }
      if (emitted !== event && out === undefined) out = events.slice(0, i)
      if (out !== undefined && emitted !== undefined) out.push(emitted)
    }
    transcript.flush()
    const tokenCount = transcript.tokenCount
    if (tokenCount > tokensBefore) {
      const now = this.run.now()
      this.firstTokenAt ??= now
      this.lastTokenAt = now
      if (tokenCount >= this.nextProgress) this.progress(now)
    }
    const guard = transcript.guard
    if (guard === undefined) transcript.markSafe()
    else if (guard.due(tokenCount)) {
      const error = this.guarded(false)
      if (error !== undefined) return error
      transcript.markSafe()
    }
    return this.deliver(out ?? events)
  }

  /** Reports how far a long attempt has come: at most one event per received array. */
  private progress(now: number): void {
    const tokenCount = this.transcript.tokenCount
    const interval = this.run.config.progressInterval
    this.nextProgress = tokenCount - (tokenCount % interval) + interval
    const elapsedMs = now - this.startedAt
    this.run.emit("stream_progress", this.streamId, {
      source: this.index,
      attempt: this.number,
      tokenCount,
      elapsedMs,
      tokensPerSecond: elapsedMs > 0 ? Math.round(tokenCount * 1000 / elapsedMs) : undefined
    })
  }

  /** Puts a pending reset in front of the first events of this attempt, and reports the tokens. */
  private deliver(out: ReadonlyArray<L0Event.L0Event>): ReadonlyArray<L0Event.L0Event> {
    if (out.length === 0) return out
    const transcript = this.transcript
    this.emitted = true
    this.shownParts = transcript.partCount
    const run = this.run
    let delivered = out
    if (transcript.takeReset()) {
      const kept = transcript.kept
      run.emit("reset", this.streamId, { kept })
      delivered = [L0Event.reset(kept), ...out]
    }
    if (run.bus.tokens) {
      for (const event of out) {
        if (event._tag === "Token") {
          run.emit("stream_token", this.streamId, { value: event.value, index: this.tokensReported++ })
        }
      }
    }
    return delivered
  }

  /** The source ended: the last guardrail check and the run's check decide whether the attempt completes. */
  private complete(ended: Source.Ended): Effect.Effect<ReadonlyArray<L0Event.L0Event>, CategoryError> {
    this.finished = true
    const transcript = this.transcript
    const out: Array<L0Event.L0Event> = []
    const rest = transcript.end()
    if (rest !== undefined) out.push(L0Event.token(rest))
    transcript.flush()
    if (transcript.guard !== undefined) {
      const error = this.guarded(true)
      if (error !== undefined) return Effect.fail(error)
    }
    const content = transcript.text()
    if (this.isEmpty(content)) return Effect.fail(emptyAnswer())
    transcript.markSafe()
    const check = this.run.check
    return check === undefined
      ? this.completed(out, ended, content, undefined)
      : Effect.flatMap(check(content, this.toolCalls), (value) => this.completed(out, ended, content, { value }))
  }

  /** An answer of nothing: no text but whitespace, no tool call, no data, and `allowEmpty` is off. */
  private isEmpty(content: string): boolean {
    return !this.run.config.allowEmpty && this.toolCalls.length === 0 && !this.sawData && BLANK.test(content)
  }

  /** Delivers the `Complete` event, with the check's value when there is a check. */
  private completed(
    out: Array<L0Event.L0Event>,
    ended: Source.Ended,
    content: string,
    checked: { readonly value: A } | undefined
  ): Effect.Effect<ReadonlyArray<L0Event.L0Event>> {
    const run = this.run
    const { completion } = ended
    this.finishReason = completion?.finishReason
    this.completedRun = true
    const state = this.stateWith(content, run)
    const complete: L0Event.Complete = { _tag: "Complete", usage: completion?.usage, state }
    if (checked === undefined) out.push(complete)
    else {
      const withValue: Completed<A> = { ...complete, value: checked.value }
      out.push(withValue)
    }
    run.telemetry.ended(this.streamId, this.stats())
    run.emit("stream_complete", this.streamId, {
      source: this.index,
      attempt: this.number,
      tokenCount: this.transcript.tokenCount,
      adapter: ended.adapter
    })
    if (this.index > 0) run.emit("fallback_success", this.streamId, { fallbackIndex: this.index })
    const reported = this.health === undefined ? Effect.void : this.health(undefined)
    // the answer is whole: a stored checkpoint has nothing left to resume
    const finished = run.checkpointer === undefined ? reported : Effect.andThen(run.checkpointer.finish(), reported)
    return Effect.as(finished, this.deliver(out))
  }
}
