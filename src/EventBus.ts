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

/**
 * The kinds of bus events. `batch_start` and `batch_complete` come from
 * `L0.batched`: their `sessionId` and `streamId` identify the batched run,
 * and their `data` holds `batch` (0-based), `batches`, `size` and, on
 * completion, `outcome`, `succeeded`, `failed`, `completed` (items finished
 * over all batches so far) and `total`. `window_start` and `window_complete`
 * come from `Window.process`: their `data` holds `index` (0-based) and
 * `total` and, on completion, `outcome` and `completed`.
 * `checkpoint_saved` and `checkpoint_restored` come from runs with a
 * `sessionId` (see `Checkpoint`): `data` holds `length` (characters) and
 * `seq`. `circuit_open` and `rate_limited` come from `ProviderHealth`: `data`
 * holds `source`, `key` and `retryAfterMs`, and for `rate_limited` the
 * `action` taken (`"wait"` or `"fallback"`).
 *
 * @category models
 * @since 0.1.0
 */
export type EventType =
  | "session_start"
  | "session_end"
  | "stream_start"
  | "stream_token"
  | "stream_complete"
  | "stream_progress"
  | "retry_attempt"
  | "retry_exhausted"
  | "fallback_start"
  | "fallback_success"
  | "guardrail_check"
  | "guardrail_violation"
  | "timeout"
  | "reset"
  | "error_network"
  | "error_transient"
  | "error_model"
  | "error_content"
  | "error_fatal"
  | "batch_start"
  | "batch_complete"
  | "tool_call"
  | "window_start"
  | "window_complete"
  | "checkpoint_saved"
  | "checkpoint_restored"
  | "circuit_open"
  | "rate_limited"

/**
 * One observation. `sessionId` is shared by every event of one run,
 * `streamId` by every event of one attempt; `timestamp` comes from `Clock`.
 *
 * @category models
 * @since 0.1.0
 */
export interface BusEvent {
  readonly type: EventType
  readonly sessionId: string
  readonly streamId: string
  readonly timestamp: number
  readonly data: Readonly<Record<string, unknown>>
}

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
 *
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
