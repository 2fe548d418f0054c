/**
 * Spans and metrics of one run, fed by values the run produces: the events
 * it reports to its bus (`observe`, called from `Session.emit`) and the
 * figures of each attempt once it ended (`ended`). The runtime wraps each
 * attempt's stream in `trace`; nothing here runs once per token.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type { BusEvent, ErrorData } from "../EventBus.js"
import * as Metrics from "../Metrics.js"

/** An attempt as it starts. */
export interface AttemptStart {
  readonly streamId: string
  readonly index: number
  readonly number: number
  readonly startedAt: number
}

/** The figures of an attempt that ended: completed, failed or interrupted. */
export interface AttemptStats {
  readonly adapter: string | undefined
  readonly tokenCount: number
  readonly firstTokenAt: number | undefined
  readonly lastTokenAt: number | undefined
}

/** An attempt that ended before anything was decoded. */
const none: AttemptStats = { adapter: undefined, tokenCount: 0, firstTokenAt: undefined, lastTokenAt: undefined }

/** The failure of an attempt as the bus reported it: its message is already scrubbed of secrets. */
class AttemptFailure extends Error {
  constructor(readonly tag: string, message: string) {
    super(message)
    this.name = tag
    // the exporter sends stacks: keep them to the reported, scrubbed message
    this.stack = `${tag}: ${message}`
  }
}

interface Traced {
  readonly attempt: AttemptStart
  readonly span: Tracer.Span
  stats: AttemptStats
  failure: AttemptFailure | undefined
}

const interrupted = Exit.interrupt()
const ended = Exit.void

const failedExit = (traced: Traced): Exit.Exit<never, AttemptFailure> =>
  Exit.fail(traced.failure ?? new AttemptFailure("Failure", "The attempt ended without a reported error"))

const provider = (stats: AttemptStats): string => stats.adapter ?? "unknown"

/** The metrics, spans and attributes of one `L0.stream` run. */
export class RunTelemetry {
  private readonly open = new Map<string, Traced>()
  private readonly startedAt: number
  private runSpan: Tracer.Span | undefined

  constructor(private readonly clock: Clock.Clock) {
    this.startedAt = clock.currentTimeMillisUnsafe()
  }

  /** Runs `stream` in an `l0.attempt` span, child of the run's span, that `observe` ends once the attempt is decided. */
  trace<A, E, R>(attempt: AttemptStart, stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> {
    return Stream.unwrap(Effect.map(
      Effect.makeSpan("l0.attempt", {
        attributes: { "l0.source": attempt.index, "l0.attempt": attempt.number, "l0.stream_id": attempt.streamId }
      }),
      (span) => {
        if (this.runSpan === undefined && Option.isSome(span.parent) && span.parent.value._tag === "Span") {
          this.runSpan = span.parent.value
        }
        this.open.set(attempt.streamId, { attempt, span, stats: none, failure: undefined })
        return Stream.provideService(stream, Tracer.ParentSpan, span)
      }
    ))
  }

  /** The figures of an attempt that ended, before its end is reported on the bus; its span ends once it is decided. */
  ended(streamId: string, stats: AttemptStats): void {
    const traced = this.open.get(streamId)
    if (traced !== undefined) traced.stats = stats
  }

  /** Updates metrics and spans for one bus event. */
  observe(event: BusEvent): void {
    const streamId = event.streamId
    switch (event.type) {
      case "error_network":
      case "error_transient":
      case "error_model":
      case "error_content":
      case "error_fatal":
        return this.failed(streamId, event.type.slice(6), event.data)
      case "retry_attempt": {
        const traced = this.open.get(streamId)
        if (traced === undefined) return
        traced.span.attribute("l0.retry.delay_ms", event.data.delayMs)
        this.update(
          Metric.withAttributes(Metrics.retries, {
            category: event.data.category,
            provider: provider(traced.stats)
          }),
          1
        )
        return this.end(traced, failedExit(traced))
      }
      case "retry_exhausted": {
        const traced = this.open.get(streamId)
        if (traced === undefined) return
        traced.span.attribute("l0.retry.exhausted", true)
        return this.end(traced, failedExit(traced))
      }
      case "stream_complete":
        return this.succeeded(streamId)
      case "fallback_start": {
        this.runSpan?.event("l0.fallback", this.nanos(), {
          "l0.fallback_index": event.data.fallbackIndex,
          "l0.failure.category": event.data.category
        })
        return this.update(Metric.withAttributes(Metrics.fallbacks, { category: event.data.category }), 1)
      }
      case "reset": {
        this.open.get(streamId)?.span.event("l0.reset", this.nanos(), { "l0.kept": event.data.kept })
        return this.update(Metrics.resets, 1)
      }
      case "timeout": {
        this.open.get(streamId)?.span.event("l0.timeout", this.nanos(), {
          "l0.timeout.phase": event.data.phase,
          "l0.timeout.limit_ms": event.data.limitMs
        })
        return this.update(Metric.withAttributes(Metrics.timeouts, { phase: event.data.phase }), 1)
      }
      case "guardrail_violation": {
        // the violation's message may quote the model's text: spans and metrics carry only the rule
        this.open.get(streamId)?.span.event("l0.guardrail_violation", this.nanos(), {
          "l0.guardrail.rule": event.data.rule,
          "l0.guardrail.severity": event.data.severity
        })
        return this.update(
          Metric.withAttributes(Metrics.violations, {
            rule: String(event.data.rule),
            severity: String(event.data.severity)
          }),
          1
        )
      }
      case "session_end":
        return this.finished(event.data.outcome, event.data.attempts)
    }
  }

  private failed(streamId: string, category: string, data: ErrorData): void {
    const traced = this.open.get(streamId)
    if (traced === undefined) return
    traced.failure = new AttemptFailure(data.tag, data.message)
    traced.span.attribute("l0.failure.category", category)
    traced.span.attribute("l0.failure.error", data.tag)
    this.update(Metric.withAttributes(Metrics.attempts, { outcome: category, provider: provider(traced.stats) }), 1)
  }

  private succeeded(streamId: string): void {
    const traced = this.open.get(streamId)
    if (traced === undefined) return
    const { firstTokenAt, lastTokenAt, tokenCount } = traced.stats
    const attributes = { provider: provider(traced.stats) }
    this.update(Metric.withAttributes(Metrics.attempts, { outcome: "success", ...attributes }), 1)
    this.update(Metric.withAttributes(Metrics.tokens, attributes), tokenCount)
    if (firstTokenAt !== undefined && lastTokenAt !== undefined && lastTokenAt > firstTokenAt) {
      this.update(
        Metric.withAttributes(Metrics.tokensPerSecond, attributes),
        (tokenCount - 1) * 1000 / (lastTokenAt - firstTokenAt)
      )
    }
    this.end(traced, ended)
  }

  /** The run ended: spans still open belong to attempts that failed without a decision or were interrupted. */
  private finished(outcome: string, attempts: number): void {
    for (const traced of this.open.values()) {
      this.end(traced, outcome === "interrupted" ? interrupted : failedExit(traced))
    }
    this.runSpan?.attribute("l0.outcome", outcome)
    this.runSpan?.attribute("l0.attempts", attempts)
    this.update(Metric.withAttributes(Metrics.runs, { outcome }), 1)
    this.update(
      Metric.withAttributes(Metrics.runDuration, { outcome }),
      this.clock.currentTimeMillisUnsafe() - this.startedAt
    )
  }

  private end(traced: Traced, exit: Exit.Exit<unknown, unknown>): void {
    const { attempt, span, stats } = traced
    this.open.delete(attempt.streamId)
    if (stats.adapter !== undefined) span.attribute("l0.adapter", stats.adapter)
    span.attribute("l0.tokens", stats.tokenCount)
    if (stats.firstTokenAt !== undefined) {
      const ms = stats.firstTokenAt - attempt.startedAt
      span.attribute("l0.time_to_first_token_ms", ms)
      this.update(Metric.withAttributes(Metrics.timeToFirstToken, { provider: provider(stats) }), ms)
    }
    span.end(this.nanos(), exit)
  }

  private nanos(): bigint {
    return this.clock.currentTimeNanosUnsafe()
  }

  /** Metrics follow the services of the fiber that reports: a registry or attributes provided to the run apply. */
  private update<In>(metric: Metric.Metric<In, unknown>, input: In): void {
    const context: Context.Context<never> | undefined = Fiber.getCurrent()?.context
    if (context !== undefined) metric.updateUnsafe(input, context)
  }
}
