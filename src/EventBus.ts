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
import * as Metric from "effect/Metric"
import type { Violation } from "./Guardrail.js"
import type { ErrorCategory } from "./L0Error.js"

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
          Effect.runSyncWith(currentContext(built))(
            Effect.logWarning(`effect-l0 EventBus handler threw on "${event.type}"; later failures are not reported`, error)
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
export const layer = (handler: (event: BusEvent) => void, options?: LayerOptions): Layer.Layer<never> =>
  Layer.effect(EventBus, guarded(handler, options, true))

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
 * A bus that writes every event but `stream_token` to the Effect logger:
 * errors at warning level, the rest at info level, annotated with
 * `sessionId` and `streamId`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerLogger: Layer.Layer<never> = Layer.effect(
  EventBus,
  Effect.flatMap(Effect.context<never>(), (built) =>
    guarded((event) => {
      const log = event.type.startsWith("error_") || event.type === "retry_exhausted"
        ? Effect.logWarning
        : Effect.logInfo
      Effect.runSyncWith(currentContext(built))(log(`effect-l0 ${event.type}`, event.data).pipe(
        Effect.annotateLogs({ sessionId: event.sessionId, streamId: event.streamId })
      ))
    }, undefined, false))
)

/**
 * Effect `Metric`s that every run updates, once per attempt (never per
 * token). Read them with `Metric.value` or export them with your metrics
 * layer.
 *
 * @category metrics
 * @since 0.1.0
 */
export const metrics = {
  /** Attempts, by `outcome`: `"success"` or the failing error's category. */
  attempts: Metric.counter("effect_l0_attempts_total", {
    description: "Attempts of L0 runs by outcome (success or error category)",
    incremental: true
  }),
  /** Retries of the same source, by error `category`. */
  retries: Metric.counter("effect_l0_retries_total", {
    description: "Retries of L0 sources by error category",
    incremental: true
  }),
  /** Switches to a fallback source. */
  fallbacks: Metric.counter("effect_l0_fallbacks_total", {
    description: "Switches of L0 runs to a fallback source",
    incremental: true
  }),
  /** Tokens delivered by successful attempts. */
  tokens: Metric.counter("effect_l0_tokens_total", {
    description: "Tokens delivered by successful L0 attempts",
    incremental: true
  }),
  /** Milliseconds from an attempt's start to its first token. */
  timeToFirstToken: Metric.histogram("effect_l0_time_to_first_token_ms", {
    description: "Milliseconds from the start of an L0 attempt to its first token",
    boundaries: Metric.exponentialBoundaries({ start: 25, factor: 2, count: 10 })
  })
}
