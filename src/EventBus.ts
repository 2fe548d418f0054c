/**
 * Observability for L0 runs. `EventBus` is a `Context.Reference` with a
 * no-op default, so `L0.stream` needs no service unless you provide a layer.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as LogLevel from "effect/LogLevel"
import * as Predicate from "effect/Predicate"
import type { Violation } from "./Guardrail.js"
import { safeCause } from "./internal/cause.js"
import { checkKeys } from "./internal/optionSchema.js"
import type { ErrorCategory, FatalError } from "./L0Error.js"
import * as Metrics from "./Metrics.js"

/**
 * How an attempt, a batch or a window ended, in `session_end`,
 * `batch_complete` and `window_complete`.
 *
 * @category models
 * @since 0.1.0
 */
export type Outcome = "success" | "failure" | "interrupted"

/**
 * The `data` of the `error_<category>` events: one per failed attempt.
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorData {
  readonly source: number
  readonly attempt: number
  /** The error's `_tag`, such as `"NetworkError"`. */
  readonly tag: string
  readonly message: string
  readonly status: number | undefined
}

/**
 * The `data` of every bus event type, keyed by the type. `source` is the
 * 0-based index of the source (0 the primary, then the fallbacks) and
 * `attempt` the 1-based attempt of that source. `batch_start` and
 * `batch_complete` come from `L0.batched` (`batch` is 0-based, `completed`
 * counts items finished over all batches so far); `window_start` and
 * `window_complete` come from `Window.process` (`index` is 0-based).
 * `checkpoint_saved` and `checkpoint_restored` come from runs with a
 * `sessionId` (see `Checkpoint`); `circuit_open` and `rate_limited` from
 * `ProviderHealth`.
 *
 * @category models
 * @since 0.1.0
 */
export interface EventData {
  readonly session_start: { readonly sources: number }
  readonly session_end: { readonly outcome: Outcome; readonly attempts: number }
  readonly stream_start: { readonly source: number; readonly attempt: number }
  readonly stream_token: { readonly value: string; readonly index: number }
  readonly stream_complete: {
    readonly source: number
    readonly attempt: number
    readonly tokenCount: number
    /** The name of the adapter that decoded the source. */
    readonly adapter: string | undefined
  }
  readonly stream_progress: {
    readonly source: number
    readonly attempt: number
    readonly tokenCount: number
    readonly elapsedMs: number
    readonly tokensPerSecond: number | undefined
  }
  readonly retry_attempt: {
    readonly source: number
    /** The attempt about to start. */
    readonly attempt: number
    readonly category: ErrorCategory
    readonly delayMs: number
  }
  readonly retry_exhausted: { readonly source: number; readonly attempts: number; readonly category: ErrorCategory }
  readonly fallback_start: { readonly fallbackIndex: number; readonly category: ErrorCategory }
  readonly fallback_success: { readonly fallbackIndex: number }
  readonly guardrail_check: { readonly completed: boolean; readonly tokenCount: number; readonly violations: number }
  readonly guardrail_violation: Violation
  readonly timeout: { readonly phase: "initial" | "inter"; readonly limitMs: number }
  readonly reset: { readonly kept: number }
  readonly error_network: ErrorData
  readonly error_transient: ErrorData
  readonly error_model: ErrorData
  readonly error_content: ErrorData
  readonly error_fatal: ErrorData
  readonly batch_start: { readonly batch: number; readonly batches: number; readonly size: number }
  readonly batch_complete: {
    readonly batch: number
    readonly batches: number
    readonly size: number
    readonly outcome: Outcome
    readonly succeeded: number
    readonly failed: number
    readonly completed: number
    readonly total: number
  }
  readonly tool_call: { readonly id: string; readonly name: string; readonly arguments: string }
  readonly window_start: { readonly index: number; readonly total: number }
  readonly window_complete: {
    readonly index: number
    readonly total: number
    readonly outcome: Outcome
    readonly completed: number
  }
  /** A run with a `sessionId` stored its checkpoint (`length` in characters). */
  readonly checkpoint_saved: { readonly length: number; readonly seq: number }
  /** A resumed run starts from its stored checkpoint. */
  readonly checkpoint_restored: { readonly length: number; readonly seq: number }
  /** `ProviderHealth`: the source's circuit is open, so the run skipped it. */
  readonly circuit_open: { readonly source: number; readonly key: string; readonly retryAfterMs: number }
  /**
   * `ProviderHealth`: the provider's shared rate limit holds for
   * `retryAfterMs` more; the run waits exactly that (`action: "wait"`, never
   * longer than its `retry.maxDelay`) or goes to its next source at once.
   */
  readonly rate_limited: {
    readonly source: number
    readonly key: string
    readonly retryAfterMs: number
    readonly action: "wait" | "fallback"
  }
}

/**
 * The kinds of bus events.
 *
 * @category models
 * @since 0.1.0
 */
export type EventType = keyof EventData

/**
 * One observation. `sessionId` is shared by every event of one run,
 * `streamId` by every event of one attempt; `timestamp` comes from `Clock`.
 * `BusEvent` alone is the union of every type, so a handler narrows `data`
 * by testing `event.type`; `BusEvent<"retry_attempt">` is one type's event.
 *
 * **Example** (Narrowing on the type)
 * ```ts
 * const delays = (event: EventBus.BusEvent): number | undefined =>
 *   event.type === "retry_attempt" ? event.data.delayMs : undefined
 * ```
 * @category models
 * @since 0.1.0
 */
export type BusEvent<T extends EventType = EventType> = {
  readonly [K in EventType]: {
    readonly type: K
    readonly sessionId: string
    readonly streamId: string
    readonly timestamp: number
    readonly data: EventData[K]
  }
}[T]

/**
 * The service: `emit` is synchronous so that L0 can report from its hot
 * loop; `tokens` says whether `stream_token` events are wanted at all.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  readonly emit: (event: BusEvent) => void
  readonly tokens: boolean
}

/**
 * The default bus: it drops every event, and L0 skips building them.
 * Provide it to silence a bus that an outer layer set up, for one part of a
 * program.
 *
 * **Example** (No events from one run)
 * ```ts
 * yield* L0.text(options).pipe(Effect.provideService(EventBus.EventBus, EventBus.noop))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const noop: Service = { emit: () => {}, tokens: false }

/**
 * @category services
 * @since 0.1.0
 */
export const EventBus: Context.Reference<Service> = Context.Reference<Service>("effect-l0/EventBus", {
  defaultValue: () => noop
})

/**
 * Options of the bus layers.
 *
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions {
  /** Deliver `stream_token` events, one per token. Default `true`. */
  readonly tokens?: boolean | undefined
}

/**
 * The services the layer was built with, overridden by those of the fiber
 * that emits: a logger provided to the layer or to the program both work.
 */
const currentContext = (built: Context.Context<never>): Context.Context<never> => {
  const fiber = Fiber.getCurrent()
  return fiber === undefined ? built : Context.merge(built, fiber.context)
}

/** Wraps a handler so that a throw is reported once through the Effect logger and never reaches the stream. */
const guarded = (
  handler: (event: BusEvent) => void,
  options: LayerOptions | undefined,
  defaultTokens: boolean
): Effect.Effect<Service> =>
  Effect.map(Effect.context<never>(), (built) => {
    let reported = false
    return {
      tokens: options?.tokens ?? defaultTokens,
      emit: (event) => {
        try {
          handler(event)
        } catch (error) {
          if (reported) return
          reported = true
          // what the handler threw may be anything: the log gets a value that prints safely
          Effect.runSyncWith(currentContext(built))(
            Effect.logWarning(
              `effect-l0 EventBus handler threw on "${event.type}"; later failures are not reported`,
              safeCause(error)
            ).pipe(Effect.catchDefect(() => Effect.void))
          )
        }
      }
    }
  })

/**
 * A bus that calls `handler` for every event.
 *
 * **Example** (Printing retries)
 * ```ts
 * const Observed = EventBus.layer((event) => {
 *   if (event.type === "retry_attempt") console.log("retrying", event.data)
 * })
 * yield* L0.text(options).pipe(Effect.provide(Observed))
 * ```
 * @category layers
 * @since 0.1.0
 */
export const layer = (handler: (event: BusEvent) => void, options?: LayerOptions): Layer.Layer<never, FatalError> =>
  Layer.effect(
    EventBus,
    Effect.suspend(() => {
      const unknown = checkKeys(options, { tokens: true })
      return unknown === undefined ? guarded(handler, options, true) : Effect.fail(unknown)
    })
  )

/**
 * The events collected by `layerCollect`.
 *
 * @category services
 * @since 0.1.0
 */
export class Collected extends Context.Service<Collected, {
  readonly events: Effect.Effect<ReadonlyArray<BusEvent>>
}>()("effect-l0/EventBus/Collected") {}

/**
 * A bus that keeps every event in memory, for tests: read them with
 * `yield* EventBus.Collected` then `yield* collected.events`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerCollect: Layer.Layer<Collected> = Layer.effectContext(Effect.sync(() => {
  const events: Array<BusEvent> = []
  return Context.make(EventBus, { tokens: true, emit: (event: BusEvent) => void events.push(event) }).pipe(
    Context.add(Collected, { events: Effect.sync(() => events.slice()) })
  )
}))

/**
 * The level `layerLogger` writes an event at: failures that end a source or
 * a run at error, the retries and fallbacks that recover from one at
 * warning, the lifecycle at info, per-attempt detail at debug.
 */
const levelOf = (event: BusEvent): LogLevel.Severity => {
  switch (event.type) {
    case "error_fatal":
    case "retry_exhausted":
      return "Error"
    case "session_end":
      return event.data.outcome === "failure" ? "Error" : "Info"
    case "error_network":
    case "error_transient":
    case "error_model":
    case "error_content":
    case "retry_attempt":
    case "fallback_start":
    case "timeout":
    case "guardrail_violation":
      return "Warn"
    case "stream_start":
    case "stream_token":
    case "stream_progress":
    case "guardrail_check":
    case "reset":
    case "tool_call":
      return "Debug"
    default:
      return "Info"
  }
}

/** The annotations of a log line: the ids, and the attempt and category when the event has them. */
const annotationsOf = (event: BusEvent): Record<string, unknown> => {
  const annotations: Record<string, unknown> = { sessionId: event.sessionId, streamId: event.streamId }
  const data: object = event.data
  const field = (key: string): unknown => Predicate.hasProperty(data, key) ? data[key] : undefined
  const attempt = field("attempt"), category = field("category"), source = field("source")
  if (source !== undefined) annotations.source = source
  if (attempt !== undefined) annotations.attempt = attempt
  if (category !== undefined) annotations.category = category
  else if (event.type.startsWith("error_")) annotations.category = event.type.slice(6)
  return annotations
}

/**
 * A bus that writes every event but `stream_token` to the Effect logger,
 * annotated with `sessionId`, `streamId` and, when the event has them,
 * `source`, `attempt` and `category`. Levels: `error_fatal`,
 * `retry_exhausted` and a failed `session_end` at error; other attempt
 * errors, `retry_attempt`, `fallback_start`, `timeout` and
 * `guardrail_violation` at warning; `stream_start`, `stream_progress`,
 * `guardrail_check`, `reset` and `tool_call` at debug; the rest at info.
 * Error messages are those of the events, scrubbed of `redact`'s secrets.
 *
 * **Example** (Warnings and errors only)
 * ```ts
 * yield* L0.text(options).pipe(
 *   Effect.provide(EventBus.layerLogger),
 *   Effect.provideService(References.MinimumLogLevel, "Warn")
 * )
 * ```
 * @category layers
 * @since 0.1.0
 */
export const layerLogger: Layer.Layer<never> = Layer.effect(
  EventBus,
  Effect.flatMap(Effect.context<never>(), (built) =>
    guarded(
      (event) => {
        Effect.runSyncWith(currentContext(built))(
          Effect.logWithLevel(levelOf(event))(`effect-l0 ${event.type}`, event.data).pipe(
            Effect.annotateLogs(annotationsOf(event))
          )
        )
      },
      undefined,
      false
    ))
)

/**
 * The metrics of `Metrics` under their former names here.
 *
 * @deprecated Use the `Metrics` module, which also counts runs, resets,
 * timeouts and violations and labels attempts by provider.
 * @category metrics
 * @since 0.1.0
 */
export const metrics = {
  attempts: Metrics.attempts,
  retries: Metrics.retries,
  fallbacks: Metrics.fallbacks,
  tokens: Metrics.tokens,
  timeToFirstToken: Metrics.timeToFirstToken
}
