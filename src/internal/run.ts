/**
 * The attempt loop of one `L0.stream` run: it starts attempts, hands each
 * outcome to `Decision`, and carries the decision out (a retry after its
 * wait, the next source, the end of the run). Everything the run depends on
 * is an input of its construction.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Adapter from "../Adapter.js"
import * as EventBus from "../EventBus.js"
import type { AttemptFailure, CategoryError, L0Error } from "../L0Error.js"
import { ExhaustedError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import type { L0State } from "../L0State.js"
import { initial } from "../L0State.js"
import type { Carry, Check, Failed, Factory, Run } from "./attempt.js"
import { Attempt, carryOn } from "./attempt.js"
import * as Decision from "./decision.js"
import type { Checkpointer } from "./durable.js"
import * as Health from "./health.js"
import type { Resolved } from "./options.js"
import * as Redact from "./redact.js"
import * as Retry from "./retry.js"
import * as Source from "./source.js"
import type { RunTelemetry } from "./telemetry.js"

export type { Check, Completed } from "./attempt.js"

/** Everything a run depends on. */
export interface Inputs<A> {
  readonly config: Resolved<Factory>
  readonly bus: EventBus.Service
  readonly clock: Clock.Clock
  readonly telemetry: RunTelemetry
  /** The adapter the options name, or `undefined` to detect one from the first chunk. */
  readonly adapter: Adapter.Adapter | undefined
  readonly registry: ReadonlyArray<Adapter.Adapter>
  /** The check a completed attempt must pass (structured output). */
  readonly check: Check<A> | undefined
  /** Circuit breakers and rate limits of keyed sources, when provided. */
  readonly health: Health.Service | undefined
  /** Saves checkpoints of a run with a `sessionId`. */
  readonly checkpointer: Checkpointer | undefined
  /** The text a stored session already showed (a resumed `sessionId`), which the run continues; else `""`. */
  readonly restored: string
}

/** An attempt to make: its source and number, its source's budget and backoff, and what it starts from. */
interface Turn {
  readonly index: number
  readonly number: number
  readonly budget: Decision.Budget
  readonly backoff: Retry.Backoff
  readonly previousError: CategoryError | undefined
  readonly carry: Carry
  /** The failed attempt this one retries after `delay`, recorded once the wait is known. */
  readonly retrying: Retrying | undefined
}

interface Retrying {
  readonly streamId: string
  readonly source: number
  readonly attempt: number
  readonly error: CategoryError
  /** The backoff's delay, or the error's `Retry-After`. */
  readonly delay: Duration.Duration
}

/** One run of `L0.stream`: the loop that joins its attempts, and the counts of the whole run. */
export class Session<A> implements Run<A> {
  readonly id = globalThis.crypto.randomUUID()
  readonly config: Resolved<Factory>
  readonly bus: EventBus.Service
  readonly check: Check<A> | undefined
  readonly checkpointer: Checkpointer | undefined
  readonly telemetry: RunTelemetry
  private readonly clock: Clock.Clock
  private readonly inputs: Inputs<A>
  /** Removes `redact`'s secrets from each failed attempt's error before anything reports it. */
  private readonly scrub: Redact.Scrub | undefined
  private readonly failures: Array<AttemptFailure> = []
  private attempts = 0
  private readonly retries = { model: 0, network: 0 }
  /** The attempt running, or the last one: the live state reads it. */
  private current: Attempt<A> | undefined = undefined

  constructor(inputs: Inputs<A>) {
    this.inputs = inputs
    this.config = inputs.config
    this.bus = inputs.bus
    this.check = inputs.check
    this.checkpointer = inputs.checkpointer
    this.telemetry = inputs.telemetry
    this.clock = inputs.clock
    this.scrub = Redact.exact(inputs.config.redact)
  }

  now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  /** Attempts started or skipped so far, over every source: `L0State.totalAttempts`. */
  get attemptCount(): number {
    return this.attempts
  }

  get modelRetries(): number {
    return this.retries.model
  }

  get networkRetries(): number {
    return this.retries.network
  }

  emit<T extends EventBus.EventType>(type: T, streamId: string, data: EventBus.EventData[T]): void {
    // the signature ties `data` to `type`; TypeScript cannot follow that tie into the union
    const event = { type, sessionId: this.id, streamId, timestamp: this.now(), data } as EventBus.BusEvent
    this.telemetry.observe(event)
    if (this.bus !== EventBus.noop) this.bus.emit(event)
  }

  private nextStreamId(): string {
    return `${this.id}/${++this.attempts}`
  }

  stream(): Stream.Stream<L0Event.L0Event, L0Error> {
    this.emit("session_start", this.id, { sources: this.config.sources.length })
    const restored = this.inputs.restored
    const first: Carry = { checkpoint: restored, resetPending: false, held: restored, good: "", violations: [] }
    return this.source(0, undefined, first).pipe(
      Stream.onExit((exit) =>
        Effect.sync(() => {
          // an attempt cut short by the end of the run reports its figures here
          const attempt = this.current
          if (attempt !== undefined) this.telemetry.ended(attempt.streamId, attempt.stats())
          this.emit("session_end", this.id, {
            outcome: exit._tag === "Success" ? "success"
              : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failure",
            attempts: this.attempts
          })
        })
      ),
      // the call site captured for the span would be this line, not the user's: skip the stack trace
      Stream.withSpan("effect-l0.stream", { attributes: { "l0.session": this.id }, captureStackTrace: false })
    )
  }

  /** The first attempt of source `index`, on a fresh retry budget. */
  private source(
    index: number,
    previousError: CategoryError | undefined,
    carry: Carry
  ): Stream.Stream<L0Event.L0Event, L0Error> {
    return this.attempt({
      index,
      number: 1,
      budget: Decision.fresh,
      backoff: new Retry.Backoff(this.config.retry.backoff),
      previousError,
      carry,
      retrying: undefined
    })
  }

  /**
   * An attempt, after the wait of the retry that calls it (none for a
   * source's first attempt). A keyed source asks its provider's health
   * first: the shared rate limit may lengthen the wait or skip the source,
   * then the circuit breaker may skip it.
   */
  private attempt(turn: Turn): Stream.Stream<L0Event.L0Event, L0Error> {
    const health = this.inputs.health
    const key = health === undefined ? undefined : Health.keyOf(this.config.sources[turn.index])
    const retrying = turn.retrying
    if (health === undefined || key === undefined) {
      const sent = this.send(turn, undefined)
      return retrying === undefined ? sent : Stream.unwrap(Effect.suspend(() => {
        this.retried(retrying, retrying.delay)
        return Effect.as(Effect.sleep(retrying.delay), sent)
      }))
    }
    return Stream.unwrap(Effect.gen({ self: this }, function*() {
      const backoff = retrying?.delay ?? Duration.zero
      const { delay, feedback } = yield* Health.reserve(health, key)
      const send = Decision.beforeSend({
        backoff,
        limit: delay,
        whenLimited: health.whenLimited,
        maxDelay: this.config.retry.maxDelay
      })
      if (send._tag === "Skip") {
        if (retrying !== undefined) this.retried(retrying, undefined)
        return this.skip(turn, key, Health.rejection("rate_limited", key, delay))
      }
      if (send.limited) {
        this.emit("rate_limited", this.id, {
          source: turn.index,
          key,
          retryAfterMs: Duration.toMillis(delay),
          action: "wait"
        })
      }
      if (retrying !== undefined) this.retried(retrying, send.wait)
      yield* Effect.sleep(send.wait)
      const admission = yield* Health.admit(health, key, feedback)
      return admission._tag === "Admitted"
        ? this.send(turn, admission.report)
        : this.skip(turn, key, admission.rejection)
    }))
  }

  /** Records the failed attempt that a retry follows, with the wait before it, or with none when it is not sent. */
  private retried(retrying: Retrying, wait: Duration.Duration | undefined): void {
    const { attempt, error, source, streamId } = retrying
    this.failures.push({ source, attempt, error, delay: wait ?? Duration.zero })
    if (wait === undefined) return
    this.emit("retry_attempt", streamId, {
      source,
      attempt: attempt + 1,
      category: error.category,
      delayMs: Duration.toMillis(wait)
    })
  }

  /** Provider health did not let the attempt go out: recorded like a failed attempt, then decided on. */
  private skip(
    turn: Turn,
    key: string,
    rejection: Health.Rejection
  ): Stream.Stream<L0Event.L0Event, L0Error> {
    const streamId = this.nextStreamId()
    const { error, event, retryAfter } = rejection
    const { index, number } = turn
    const retryAfterMs = Duration.toMillis(retryAfter)
    if (event === "rate_limited") this.emit(event, streamId, { source: index, key, retryAfterMs, action: "fallback" })
    else this.emit(event, streamId, { source: index, key, retryAfterMs })
    this.failures.push({ source: index, attempt: number, error, delay: Duration.zero })
    return this.moveOn(Decision.afterSkip(this.lastSource(turn)), turn, streamId, error, turn.carry)
  }

  private send(turn: Turn, health: Health.Report | undefined): Stream.Stream<L0Event.L0Event, L0Error> {
    return Stream.suspend(() => {
      const { carry, index, number, previousError } = turn
      const attempt = new Attempt(this, this.nextStreamId(), index, number, carry, health)
      this.current = attempt
      const { streamId, startedAt } = attempt
      this.emit("stream_start", streamId, { source: index, attempt: number })
      const factory = this.config.sources[index]!
      const checkpoint = carry.checkpoint
      const config: Source.SourceConfig = {
        call: (signal) =>
          factory(
            previousError === undefined
              ? { attempt: number, fallbackIndex: index, checkpoint, signal }
              : { attempt: number, fallbackIndex: index, checkpoint, signal, previousError }
          ),
        adapter: this.inputs.adapter,
        registry: this.inputs.registry,
        limits: this.config.limits,
        clock: this.clock
      }
      const staged = Stream.fromChannel(
        Channel.fromTransform((_, scope) => Effect.map(Source.open(config, scope), (opened) => attempt.pull(opened)))
      )
      return this.telemetry.trace({ streamId, index, number, startedAt }, staged).pipe(
        Stream.catch((failed: Failed) => this.recover(attempt, failed, turn))
      )
    })
  }

  /** The state of the run so far, as `L0.start`'s handle and an `ExhaustedError` show it. */
  snapshot(): L0State {
    return this.current?.state() ?? initial
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

  private lastSource(turn: Turn): boolean {
    return turn.index === this.config.sources.length - 1
  }

  /** Reports a failed attempt and carries out the decision on it. */
  private recover(attempt: Attempt<A>, failed: Failed, turn: Turn): Stream.Stream<L0Event.L0Event, L0Error> {
    return Stream.unwrap(Effect.gen({ self: this }, function*() {
      const error = this.scrub === undefined ? failed.error : Redact.error(failed.error, this.scrub)
      const { index, number, streamId } = attempt
      if (attempt.health !== undefined) yield* attempt.health(error)
      this.telemetry.ended(streamId, failed.stats)
      this.emit(`error_${error.category}`, streamId, {
        source: index,
        attempt: number,
        tag: error._tag,
        message: error.message,
        status: error.status
      })
      const next = yield* Decision.afterAttempt(
        { error, budget: turn.budget, limits: this.config.retry, lastSource: this.lastSource(turn) },
        (failure) => turn.backoff.next(this.now(), failure)
      )
      if (next._tag === "EndRun") return Stream.fail(error)
      const carry = carryOn(turn.carry, failed, Decision.continues(error, this.config.continuation !== undefined))
      if (next._tag === "Retry") {
        this.retries[next.counts]++
        return this.attempt({
          index,
          number: number + 1,
          budget: next.budget,
          backoff: turn.backoff,
          previousError: error,
          carry,
          retrying: { streamId, source: index, attempt: number, error, delay: next.delay }
        })
      }
      this.failures.push({ source: index, attempt: number, error, delay: Duration.zero })
      this.emit("retry_exhausted", streamId, { source: index, attempts: number, category: error.category })
      return this.moveOn(next, turn, streamId, error, carry)
    }))
  }

  /** The source is done with: the next one starts, or the run fails once every source is. */
  private moveOn(
    next: Decision.MoveOn,
    turn: Turn,
    streamId: string,
    error: CategoryError,
    carry: Carry
  ): Stream.Stream<L0Event.L0Event, L0Error> {
    if (next._tag === "Exhausted") {
      return Stream.fail(
        new ExhaustedError({
          attempts: this.failures.slice(),
          state: this.finalState(),
          message:
            `All ${this.config.sources.length} source(s) failed after ${this.failures.length} attempt(s); last: ${error._tag}: ${error.message}`
        })
      )
    }
    const index = turn.index + 1
    this.emit("fallback_start", streamId, { fallbackIndex: index, category: error.category })
    return this.source(index, error, carry)
  }
}
