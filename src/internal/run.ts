import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Stream from "effect/Stream"
import type * as Adapter from "../Adapter.js"
import { isFramingPart } from "../adapters/effectAi.js"
import * as EventBus from "../EventBus.js"
import type { AttemptContext, StreamSource } from "./l0Types.js"
import type { AttemptFailure, CategoryError, L0Error } from "../L0Error.js"
import { ContentError, ExhaustedError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import type { L0State, RunViolation } from "../L0State.js"
import { initial } from "../L0State.js"
import { Joint } from "./continuation.js"
import type { Checkpointer } from "./durable.js"
import * as Fallback from "./fallback.js"
import type { GuardCheck } from "./guard.js"
import { Guard } from "./guard.js"
import * as Health from "./health.js"
import type { Resolved } from "./options.js"
import * as Redact from "./redact.js"
import * as Retry from "./retry.js"
import * as Source from "./source.js"
import { RunTelemetry } from "./telemetry.js"

type Factory = (ctx: AttemptContext) => StreamSource

const BLANK = /^\s*$/

/** A complete answer of nothing fails its attempt like a guardrail violation would: it is retried. */
const emptyAnswer = (): ContentError =>
  new ContentError({
    rule: "empty",
    message: "The answer is empty: no text, tool call or data (allowEmpty: true accepts it)"
  })
type Events = Arr.NonEmptyReadonlyArray<L0Event.L0Event>

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

/**
 * How a failed attempt ended: its error, whether the consumer was shown
 * events of it, whether a reset the attempt owed is still undelivered, the
 * text the consumer holds (the checkpoint it kept, then the attempt's), the
 * part of it that was emitted, and its text at its last safe point, if any.
 */
export interface Failed {
  readonly _tag: "Failed"
  readonly error: CategoryError
  readonly emitted: boolean
  readonly resetOwed: boolean
  readonly text: string
  readonly shown: string
  readonly good: string | undefined
}

/**
 * A retry decided on a failed attempt, carried out by the next attempt once
 * it knows the wait: the backoff's `delay`, or longer when a shared rate
 * limit asks for more. `record` records the failed attempt with that wait,
 * or with none when the retry is not sent (the rate limit sent the run on).
 */
interface Retrying {
  readonly delay: Duration.Duration
  readonly record: (wait: Duration.Duration | undefined) => void
}

/** What an attempt reports while it runs: the single way its observations reach the EventBus. */
type Report =
  | { readonly _tag: "Timeout"; readonly phase: "initial" | "inter"; readonly limitMs: number }
  | { readonly _tag: "Guardrails"; readonly check: GuardCheck }

/** One run of `L0.stream`: the state shared by its attempts and the loop that joins them. */
export class Session<A> {
  readonly id = globalThis.crypto.randomUUID()
  readonly failures: Array<AttemptFailure> = []
  readonly retries = new Retry.Tally()
  /** Text the consumer keeps across attempts (continuation only). */
  private checkpoint = ""
  /** The consumer holds text that the next emission must reset first. */
  private resetPending = false
  /** Saves checkpoints of a run with a `sessionId`. */
  checkpointer: Checkpointer | undefined = undefined
  /** Circuit breakers and rate limits of keyed sources, when provided. */
  health: Health.Service | undefined = undefined
  private attempts = 0
  /** The attempt that ended the last exhausted source: `fallback_start` is reported on it. */
  private exhaustedStreamId = ""
  /** Every guardrail violation of the run, for `L0State.violations`. */
  readonly violations: Array<RunViolation> = []
  /** The attempt running, or the last one: the live state reads it. */
  private current: Attempt<A> | undefined = undefined
  /** The text emitted before the current attempt emitted anything, resets applied. */
  private held = ""
  /** The text at the last safe point of an earlier attempt. */
  good = ""
  completed = false
  aborted = false
  /** Removes `redact`'s secrets from each failed attempt's error before anything reports it. */
  private readonly scrub: Redact.Scrub | undefined
  private readonly telemetry: RunTelemetry

  constructor(
    readonly config: Resolved<Factory>,
    readonly bus: EventBus.Service,
    readonly clock: Clock.Clock,
    readonly adapter: Adapter.Adapter | undefined,
    readonly registry: ReadonlyArray<Adapter.Adapter>,
    readonly check: Check<A> | undefined
  ) {
    this.scrub = Redact.exact(config.redact)
    this.telemetry = new RunTelemetry(clock)
  }

  now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  emit<T extends EventBus.EventType>(type: T, streamId: string, data: EventBus.EventData[T]): void {
    // the signature ties `data` to `type`; TypeScript cannot follow that tie into the union
    const event = { type, sessionId: this.id, streamId, timestamp: this.now(), data } as EventBus.BusEvent
    this.telemetry.observe(event)
    if (this.bus !== EventBus.noop) this.bus.emit(event)
  }

  nextStreamId(): string {
    return `${this.id}/${++this.attempts}`
  }

  /** Attempts started or skipped so far, over every source: `L0State.totalAttempts`. */
  get attemptCount(): number {
    return this.attempts
  }

  stream(): Stream.Stream<L0Event.L0Event, L0Error> {
    this.emit("session_start", this.id, { sources: this.config.sources.length })
    let chain: Stream.Stream<L0Event.L0Event, CategoryError> = this.source(0, undefined)
    for (let index = 1; index < this.config.sources.length; index++) {
      chain = Fallback.chain(chain, (error) => this.source(index, error), {
        // the next source's first attempt resets what the consumer holds, as a retry does
        kept: undefined,
        started: (error) =>
          this.emit("fallback_start", this.exhaustedStreamId, { fallbackIndex: index, category: error.category })
      })
    }
    return chain.pipe(
      Stream.catch((error) => Stream.fail(Retry.endsRun(error) ? error : this.exhausted(error))),
      Stream.onExit((exit) =>
        Effect.sync(() =>
          this.emit("session_end", this.id, {
            outcome: exit._tag === "Success" ? "success"
              : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failure",
            attempts: this.attempts
          })
        )
      ),
      // the call site captured for the span would be this line, not the user's: skip the stack trace
      Stream.withSpan("effect-l0.stream", { attributes: { "l0.session": this.id }, captureStackTrace: false })
    )
  }

  /** Every source failed: the last one with `error`. */
  private exhausted(error: CategoryError): ExhaustedError {
    return new ExhaustedError({
      attempts: this.failures.slice(),
      state: this.finalState(),
      message:
        `All ${this.config.sources.length} source(s) failed after ${this.failures.length} attempt(s); last: ${error._tag}: ${error.message}`
    })
  }

  /**
   * A fresh retry budget for source `index`. It fails with the error of its
   * last attempt once its budget says to move on: the fallback chain takes
   * it from there.
   */
  source(index: number, previousError: CategoryError | undefined): Stream.Stream<L0Event.L0Event, CategoryError> {
    return Stream.unwrap(
      Effect.map(
        Retry.budget(this.config.retry, this.retries),
        (decide) => this.attempt(index, 1, decide, previousError, undefined)
      )
    )
  }

  /**
   * An attempt, after the wait of the retry that calls it (none for a
   * source's first attempt). A keyed source asks its provider's health
   * first: the shared rate limit may lengthen the wait, up to the run's own
   * `maxDelay`, or send the run to its next source at once; then the
   * circuit breaker may skip the source.
   */
  attempt(
    index: number,
    number: number,
    decide: Retry.Decide,
    previousError: CategoryError | undefined,
    retry: Retrying | undefined
  ): Stream.Stream<L0Event.L0Event, CategoryError> {
    const health = this.health
    const key = health === undefined ? undefined : Health.keyOf(this.config.sources[index])
    if (health === undefined || key === undefined) {
      const sent = this.send(index, number, decide, previousError, undefined)
      return retry === undefined ? sent : Stream.unwrap(Effect.suspend(() => {
        retry.record(retry.delay)
        return Effect.as(Effect.sleep(retry.delay), sent)
      }))
    }
    return Stream.unwrap(Effect.gen({ self: this }, function*() {
      const backoff = retry?.delay ?? Duration.zero
      const { delay, feedback } = yield* Health.reserve(health, key)
      if (Duration.isGreaterThan(delay, backoff)) {
        if (health.whenLimited === "fallback" || Duration.isGreaterThan(delay, this.config.retry.maxDelay)) {
          retry?.record(undefined)
          return this.skip(index, number, key, Health.rejection("rate_limited", key, delay))
        }
        this.emit("rate_limited", this.id, {
          source: index,
          key,
          retryAfterMs: Duration.toMillis(delay),
          action: "wait"
        })
      }
      const wait = Duration.max(backoff, delay)
      retry?.record(wait)
      yield* Effect.sleep(wait)
      const admission = yield* Health.admit(health, key, feedback)
      return admission._tag === "Admitted"
        ? this.send(index, number, decide, previousError, admission.report)
        : this.skip(index, number, key, admission.rejection)
    }))
  }

  /** The source's circuit is open or its rate limit says fall back: the next source goes at once. */
  private skip(
    index: number,
    number: number,
    key: string,
    rejection: Health.Rejection
  ): Stream.Stream<L0Event.L0Event, CategoryError> {
    const streamId = this.nextStreamId()
    const { error, event, retryAfter } = rejection
    const retryAfterMs = Duration.toMillis(retryAfter)
    if (event === "rate_limited") this.emit(event, streamId, { source: index, key, retryAfterMs, action: "fallback" })
    else this.emit(event, streamId, { source: index, key, retryAfterMs })
    this.failures.push({ source: index, attempt: number, error, delay: Duration.zero })
    return this.fallback(streamId, error)
  }

  private send(
    index: number,
    number: number,
    decide: Retry.Decide,
    previousError: CategoryError | undefined,
    health: Health.Report | undefined
  ): Stream.Stream<L0Event.L0Event, CategoryError> {
    return Stream.suspend(() => {
      const checkpoint = this.checkpoint
      const attempt = new Attempt(this, index, number, checkpoint, this.resetPending, health)
      this.current = attempt
      this.emit("stream_start", attempt.streamId, { source: index, attempt: number })
      const factory = this.config.sources[index]!
      const config: Source.SourceConfig = {
        call: (signal) =>
          factory(
            previousError === undefined
              ? { attempt: number, fallbackIndex: index, checkpoint, signal }
              : { attempt: number, fallbackIndex: index, checkpoint, signal, previousError }
          ),
        adapter: this.adapter,
        registry: this.registry,
        limits: this.config.limits,
        clock: this.clock
      }
      const staged = Stream.fromChannel(
        Channel.fromTransform((_, scope) => Effect.map(Source.open(config, scope), (opened) => attempt.pull(opened)))
      )
      return this.telemetry.trace(attempt, staged).pipe(
        Stream.catch((failed: Failed) => this.recover(attempt, failed, decide))
      )
    })
  }

  /** Starts the run from text a stored session already showed (a resumed `sessionId`). */
  restore(text: string): void {
    this.checkpoint = text
    this.held = text
  }

  /** Records what the consumer holds after a failed attempt, for the next attempt's checkpoint and reset. */
  private settle(failed: Failed): void {
    const before = this.checkpoint
    if (failed.emitted) this.held = failed.shown
    if (failed.good !== undefined) this.good = failed.good
    this.checkpoint = this.config.continuation !== undefined && failed.error.category !== "content" ? failed.text : ""
    this.resetPending = failed.emitted || failed.resetOwed || this.checkpoint !== before
  }

  /** The state of the run so far, as `L0.start`'s handle and an `ExhaustedError` show it. */
  snapshot(): L0State {
    const attempt = this.current
    if (attempt !== undefined) return attempt.state(attempt.emittedText() ?? this.held)
    return this.aborted ? { ...initial, aborted: true } : initial
  }

  /** The final state for an `ExhaustedError`: no secret of `redact`, and no key-shaped text, in any of its texts. */
  private finalState(): L0State {
    const exact = this.scrub
    const scrub = (text: string): string => Redact.redactSecrets(exact === undefined ? text : exact(text))
    const state = this.snapshot()
    return {
      ...state,
      content: scrub(state.content),
      checkpoint: scrub(state.checkpoint),
      lastGoodContent: scrub(state.lastGoodContent),
      toolCalls: state.toolCalls.map((call) =>
        L0Event.toolCall(scrub(call.id), scrub(call.name), scrub(call.arguments))
      ),
      violations: state.violations.map((violation) => ({ ...violation, message: scrub(violation.message) }))
    }
  }

  /** Carries out the retry policy's decision on a failed attempt: a retry after its delay, the next source, or the end. */
  recover(attempt: Attempt<A>, failed: Failed, decide: Retry.Decide): Stream.Stream<L0Event.L0Event, CategoryError> {
    return Stream.unwrap(Effect.gen({ self: this }, function*() {
      const error = this.scrub === undefined ? failed.error : Redact.error(failed.error, this.scrub)
      const { index, number, streamId } = attempt
      if (attempt.health !== undefined) yield* attempt.health(error)
      this.emit(`error_${error.category}`, streamId, {
        source: index,
        attempt: number,
        tag: error._tag,
        message: error.message,
        status: error.status
      })
      const decision = yield* decide(this.now(), error)
      if (decision._tag === "EndRun") return Stream.fail(error)
      this.settle(failed)
      if (decision._tag === "Retry") {
        return this.attempt(index, number + 1, decide, error, {
          delay: decision.delay,
          record: (wait) => {
            this.failures.push({ source: index, attempt: number, error, delay: wait ?? Duration.zero })
            if (wait === undefined) return
            this.emit("retry_attempt", streamId, {
              source: index,
              attempt: number + 1,
              category: error.category,
              delayMs: Duration.toMillis(wait)
            })
          }
        })
      }
      this.failures.push({ source: index, attempt: number, error, delay: Duration.zero })
      this.emit("retry_exhausted", streamId, { source: index, attempts: number, category: error.category })
      return this.fallback(streamId, error)
    }))
  }

  /** The current source is done with: the fallback chain goes on to the next one or ends the run. */
  private fallback(streamId: string, error: CategoryError): Stream.Stream<L0Event.L0Event, CategoryError> {
    this.exhaustedStreamId = streamId
    return Stream.fail(error)
  }
}

/**
 * `head` then `parts`, concatenated rather than joined: V8 keeps the result
 * as a rope and copies nothing until something reads its characters (a
 * caller printing the text pays one copy, as with `join`; one that only
 * passes it on pays none).
 */
const concat = (head: string, parts: ReadonlyArray<string>): string => {
  let text = head
  for (let i = 0; i < parts.length; i++) text += parts[i]!
  return text
}

/** The stage of one attempt: bookkeeping, resets, the continuation joint and guardrails, one chunk array at a time. */
class Attempt<A> {
  readonly streamId: string
  /** The attempt's text: one string per received array, joined once at the end. */
  private readonly parts: Array<string> = []
  /** The kept checkpoint then `parts`, joined once until they change. */
  private joinedText: string | undefined = undefined
  /** Token values of the array being received, not yet joined into `parts`. */
  private readonly pending: Array<string> = []
  private readonly toolCalls: Array<L0Event.ToolCall> = []
  /** A `Data` event came: an answer of data only is not empty. */
  private sawData = false
  /** Characters in `parts`, and how many of them had passed the guardrails at the last safe point. */
  private textLength = 0
  private goodLength = 0
  /** A safe point was reached: without guardrails, any received array; with them, a passed check. */
  private safe = false
  /** Parts the consumer was given. */
  private shownParts = 0
  private finishReason: string | undefined = undefined
  /** Set until the joint with the checkpoint is decided, then dropped: tokens pass through untouched. */
  private joint: Joint | undefined
  /** Characters of the checkpoint the consumer keeps under this attempt's text. */
  private kept: number
  /** The head of the source's text that the decided joint did not pass on. */
  private taken = ""
  private readonly guard: Guard | undefined
  tokenCount = 0
  firstTokenAt: number | undefined = undefined
  lastTokenAt: number | undefined = undefined
  private emitted = false
  private finished = false

  private tokensReported = 0
  /** The token count at which the next `stream_progress` event is due. */
  private nextProgress: number

  readonly startedAt: number
  /** The opened source, once the attempt's stream starts: telemetry reads its adapter. */
  private source: Source.Opened | undefined = undefined

  /**
   * `checkpoint` is the text the consumer holds when the attempt starts;
   * `resetOwed` says that it must be reset before this attempt's first event.
   */
  get adapter(): string | undefined {
    return this.source?.adapter
  }

  constructor(
    readonly session: Session<A>,
    readonly index: number,
    readonly number: number,
    private readonly checkpoint: string,
    private resetOwed: boolean,
    /** Tells a keyed source's provider health how the attempt ended. */
    readonly health: Health.Report | undefined
  ) {
    this.streamId = session.nextStreamId()
    this.startedAt = session.now()
    this.nextProgress = session.config.progressInterval
    const config = session.config
    this.joint = config.continuation === undefined ? undefined : Joint.make(checkpoint, config.continuation)
    this.kept = checkpoint.length
    this.guard = config.guardrails.length === 0
      ? undefined
      : new Guard(config.guardrails, config.checkInterval, checkpoint)
  }

  pull(source: Source.Opened): Pull.Pull<Events, Failed, void> {
    this.source = source
    const upstream = source.pull
    // built once: a pull per received array then allocates no new Effect chain
    const step: Pull.Pull<Events, Failed, void> = upstream.pipe(
      Effect.flatMap((events) => {
        const result = this.receive(events)
        if (!Array.isArray(result)) return Effect.fail(result as CategoryError)
        const save = this.session.checkpointer?.due(this.shown)
        return save === undefined ? Effect.succeed(result) : Effect.as(save, result)
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
  private readonly shown = (): string => this.fullText()

  /** The kept checkpoint and the attempt's text: completion, failure and the last safe text share one join. */
  private fullText(): string {
    return this.joinedText ??= concat(this.checkpoint.slice(0, this.kept), this.parts)
  }

  /** Sends what the attempt observed to the EventBus; keeps warnings for the final state. */
  private report(report: Report): void {
    const session = this.session
    switch (report._tag) {
      case "Timeout": {
        session.emit("timeout", this.streamId, { phase: report.phase, limitMs: report.limitMs })
        break
      }
      case "Guardrails": {
        const { completed, tokenCount, violations } = report.check
        session.emit("guardrail_check", this.streamId, { completed, tokenCount, violations: violations.length })
        for (const violation of violations) {
          session.emit("guardrail_violation", this.streamId, { ...violation })
          session.violations.push({ ...violation, source: this.index, attempt: this.number })
        }
      }
    }
  }

  /** Runs the guardrails on the text so far; returns the error that ends the attempt, if any. */
  private guarded(guard: Guard, completed: boolean): CategoryError | undefined {
    const check = guard.run(this.parts, this.tokenCount, this.toolCalls.length, completed)
    this.report({ _tag: "Guardrails", check })
    return check.error
  }

  /** The attempt's outcome when it fails: what the consumer holds, and whether it still owes a reset. */
  private failed(failure: CategoryError | Source.TimedOut): Failed {
    let error: CategoryError
    if (failure instanceof Source.TimedOut) {
      this.report({ _tag: "Timeout", phase: failure.phase, limitMs: failure.limitMs })
      error = failure.error
    } else {
      error = failure
    }
    this.flush()
    return {
      _tag: "Failed",
      error,
      emitted: this.emitted,
      resetOwed: this.resetOwed,
      text: this.fullText(),
      shown: this.emittedText() ?? "",
      good: this.safe ? this.goodText() : undefined
    }
  }

  /** The text the consumer was given, resets applied; `undefined` before this attempt emitted. */
  emittedText(): string | undefined {
    if (!this.emitted) return undefined
    if (this.shownParts === this.parts.length) return this.fullText()
    return concat(this.checkpoint.slice(0, this.kept), this.parts.slice(0, this.shownParts))
  }

  private goodText(): string {
    return this.fullText().slice(0, this.kept + this.goodLength)
  }

  private markSafe(): void {
    this.safe = true
    this.goodLength = this.textLength
  }

  /** The run's state as this attempt sees it, `content` being the text emitted so far. */
  state(content: string): L0State {
    const session = this.session
    return {
      content,
      tokenCount: this.tokenCount,
      firstTokenAt: this.firstTokenAt,
      lastTokenAt: this.lastTokenAt,
      attempt: this.number,
      totalAttempts: session.attemptCount,
      modelRetryCount: session.retries.model,
      networkRetryCount: session.retries.network,
      fallbackIndex: this.index,
      checkpoint: this.checkpoint.slice(0, this.kept),
      finishReason: this.finishReason,
      toolCalls: this.toolCalls.slice(),
      violations: session.violations.slice(),
      lastGoodContent: this.safe ? this.goodText() : session.good,
      completed: session.completed,
      aborted: session.aborted
    }
  }

  private addToken(event: L0Event.Token): void {
    this.pending.push(event.value)
    this.tokenCount++
  }

  /** Joins the pending token values into one part: one join per array rather than one huge join per attempt. */
  private flush(): void {
    const pending = this.pending
    if (pending.length === 0) return
    const part = pending.length === 1 ? pending[0]! : pending.join("")
    this.parts.push(part)
    this.joinedText = undefined
    this.textLength += part.length
    pending.length = 0
  }

  /** Handles one array of decoded events; copies it only when an event changes. */
  private receive(events: Events): ReadonlyArray<L0Event.L0Event> | CategoryError {
    const tokensBefore = this.tokenCount
    let out: Array<L0Event.L0Event> | undefined
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!
      let emitted: L0Event.L0Event | undefined = event
      switch (event._tag) {
        case "Token": {
          const joint = this.joint
          if (joint !== undefined) {
            const value = joint.feed(event.value)
            if (joint.decided) this.joined(joint)
            emitted = value.length === 0 ? undefined : value === event.value ? event : L0Event.token(value)
          }
          if (emitted !== undefined) this.addToken(emitted as L0Event.Token)
          break
        }
        case "Data": {
          this.sawData ||= !isFramingPart(event.value)
          break
        }
        case "ToolCall": {
          this.toolCalls.push(event)
          this.session.emit("tool_call", this.streamId, { id: event.id, name: event.name, arguments: event.arguments })
          break
        }
        case "Reset": {
          emitted = undefined
          out ??= events.slice(0, i)
          this.nestedReset(event, out)
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
    this.flush()
    if (this.tokenCount > tokensBefore) {
      const now = this.session.now()
      this.firstTokenAt ??= now
      this.lastTokenAt = now
      if (this.tokenCount >= this.nextProgress) this.progress(now)
    }
    if (this.guard === undefined) this.markSafe()
    else if (this.guard.due(this.tokenCount)) {
      const error = this.guarded(this.guard, false)
      if (error !== undefined) return error
      this.markSafe()
    }
    return this.deliver(out ?? events)
  }

  /** Reports how far a long attempt has come: at most one event per received array. */
  private progress(now: number): void {
    const interval = this.session.config.progressInterval
    this.nextProgress = this.tokenCount - (this.tokenCount % interval) + interval
    const elapsedMs = now - this.startedAt
    this.session.emit("stream_progress", this.streamId, {
      source: this.index,
      attempt: this.number,
      tokenCount: this.tokenCount,
      elapsedMs,
      tokensPerSecond: elapsedMs > 0 ? Math.round(this.tokenCount * 1000 / elapsedMs) : undefined
    })
  }

  /** The joint is decided: from now on tokens pass through; a joint that keeps less of the checkpoint resets it. */
  private joined(joint: Joint): void {
    this.joint = undefined
    this.taken = joint.taken
    if (joint.kept === this.kept) return
    this.kept = joint.kept
    this.joinedText = undefined
    this.guard?.rebase(this.checkpoint.slice(0, joint.kept))
    this.resetOwed = true
  }

  /** The attempt ends undecided: the joint decides with what it holds, which becomes a token. */
  private lastHeld(joint: Joint): L0Event.Token | undefined {
    const value = joint.decide()
    this.joined(joint)
    if (value.length === 0) return undefined
    const event = L0Event.token(value)
    this.addToken(event)
    return event
  }

  /**
   * A source that is itself an L0 stream reset its text: apply it to ours.
   * Its text is what the joint took, then this attempt's parts.
   */
  private nestedReset(event: L0Event.Reset, out: Array<L0Event.L0Event>): void {
    const joint = this.joint
    if (joint !== undefined) {
      // undecided: nothing of this attempt was shown, the decision starts over with what the source keeps
      joint.hold(joint.held.slice(0, event.kept))
      return
    }
    this.flush()
    const text = this.parts.join("")
    this.parts.length = 0
    this.joinedText = undefined
    this.textLength = 0
    this.guard?.restart()
    const own = event.kept - this.taken.length
    if (own >= 0) {
      const kept = text.slice(0, own)
      if (kept.length > 0) this.parts.push(kept)
      this.textLength = kept.length
      this.goodLength = Math.min(this.goodLength, kept.length)
      out.push(L0Event.reset(this.kept + kept.length))
      return
    }
    // it took back part of what the joint removed: decide again from what it keeps
    this.goodLength = 0
    out.push(L0Event.reset(this.kept))
    const retained = this.taken.slice(0, event.kept)
    this.taken = ""
    // a joint took text, so continuation is on and the checkpoint has overlaps or held whitespace to decide on
    this.joint = Joint.make(this.checkpoint, this.session.config.continuation!, this.kept)!
    this.joint.hold(retained)
  }

  /** Puts a pending reset in front of the first events of this attempt, and reports the tokens. */
  private deliver(out: ReadonlyArray<L0Event.L0Event>): ReadonlyArray<L0Event.L0Event> {
    if (out.length === 0) return out
    this.emitted = true
    this.shownParts = this.parts.length
    const session = this.session
    let delivered = out
    if (this.resetOwed) {
      this.resetOwed = false
      const kept = this.kept
      session.emit("reset", this.streamId, { kept })
      delivered = [L0Event.reset(kept), ...out]
    }
    if (session.bus.tokens) {
      for (const event of out) {
        if (event._tag === "Token") {
          session.emit("stream_token", this.streamId, { value: event.value, index: this.tokensReported++ })
        }
      }
    }
    return delivered
  }

  /** The source ended: the last guardrail check and the session's check decide whether the attempt completes. */
  private complete(ended: Source.Ended): Effect.Effect<ReadonlyArray<L0Event.L0Event>, CategoryError> {
    this.finished = true
    const out: Array<L0Event.L0Event> = []
    const rest = this.joint === undefined ? undefined : this.lastHeld(this.joint)
    if (rest !== undefined) out.push(rest)
    this.flush()
    if (this.guard !== undefined) {
      const error = this.guarded(this.guard, true)
      if (error !== undefined) return Effect.fail(error)
    }
    const content = this.fullText()
    if (this.isEmpty(content)) return Effect.fail(emptyAnswer())
    this.markSafe()
    const check = this.session.check
    return check === undefined
      ? this.completed(out, ended, content, undefined)
      : Effect.flatMap(check(content, this.toolCalls), (value) => this.completed(out, ended, content, { value }))
  }

  /** An answer of nothing: no text but whitespace, no tool call, no data, and `allowEmpty` is off. */
  private isEmpty(content: string): boolean {
    return !this.session.config.allowEmpty && this.toolCalls.length === 0 && !this.sawData && BLANK.test(content)
  }

  /** Delivers the `Complete` event, with the check's value when there is a check. */
  private completed(
    out: Array<L0Event.L0Event>,
    ended: Source.Ended,
    content: string,
    checked: { readonly value: A } | undefined
  ): Effect.Effect<ReadonlyArray<L0Event.L0Event>> {
    const session = this.session
    const { completion } = ended
    this.finishReason = completion?.finishReason
    session.completed = true
    const state = this.state(content)
    const complete: L0Event.Complete = { _tag: "Complete", usage: completion?.usage, state }
    if (checked === undefined) out.push(complete)
    else {
      const withValue: Completed<A> = { ...complete, value: checked.value }
      out.push(withValue)
    }
    session.emit("stream_complete", this.streamId, {
      source: this.index,
      attempt: this.number,
      tokenCount: this.tokenCount,
      adapter: ended.adapter
    })
    if (this.index > 0) session.emit("fallback_success", this.streamId, { fallbackIndex: this.index })
    const reported = this.health === undefined ? Effect.void : this.health(undefined)
    // the answer is whole: a stored checkpoint has nothing left to resume
    const finished = session.checkpointer === undefined ? reported
      : Effect.andThen(session.checkpointer.finish(), reported)
    return Effect.as(finished, this.deliver(out))
  }
}
