/**
 * The events of an L0 stream. Errors travel in the error channel, never as
 * events.
 *
 * @since 0.1.0
 */
import { hasProperty } from "effect/Predicate"
import type { L0State } from "./L0State.js"

/**
 * A piece of assistant text.
 *
 * @category models
 * @since 0.1.0
 */
export interface Token {
  readonly _tag: "Token"
  readonly value: string
}

/**
 * Anything else a provider streams: reasoning text, annotations, images.
 *
 * @category models
 * @since 0.1.0
 */
export interface Data {
  readonly _tag: "Data"
  readonly value: unknown
}

/**
 * A complete tool call, assembled from the provider's argument deltas.
 *
 * @category models
 * @since 0.1.0
 */
export interface ToolCall {
  readonly _tag: "ToolCall"
  readonly id: string
  readonly name: string
  /** The arguments as the model wrote them (usually JSON text). */
  readonly arguments: string
}

/**
 * Emitted before the first event of a retry whose predecessor already
 * emitted: consumers keep the first `kept` characters of the text they
 * accumulated and drop the rest.
 *
 * @category models
 * @since 0.1.0
 */
export interface Reset {
  readonly _tag: "Reset"
  readonly kept: number
}

/**
 * Token usage as reported by the provider. `raw` is the provider's own object.
 *
 * @category models
 * @since 0.1.0
 */
export interface Usage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly totalTokens?: number | undefined
  readonly raw?: unknown
}

/**
 * The last event of a successful run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Complete {
  readonly _tag: "Complete"
  readonly usage?: Usage | undefined
  readonly state: L0State
}

/**
 * What `L0.stream` emits, told apart by `_tag`: tokens, other provider data,
 * tool calls, a `Reset` when a retry replaces text already shown, and a
 * final `Complete`.
 *
 * @category models
 * @since 0.1.0
 */
export type L0Event = Token | Data | ToolCall | Reset | Complete

/**
 * @category constructors
 * @since 0.1.0
 */
export const token = (value: string): Token => ({ _tag: "Token", value })

/**
 * @category constructors
 * @since 0.1.0
 */
export const data = (value: unknown): Data => ({ _tag: "Data", value })

/**
 * @category constructors
 * @since 0.1.0
 */
export const toolCall = (id: string, name: string, args: string): ToolCall => ({
  _tag: "ToolCall",
  id,
  name,
  arguments: args
})

/**
 * @category constructors
 * @since 0.1.0
 */
export const reset = (kept: number): Reset => ({ _tag: "Reset", kept })

const TAGS: ReadonlySet<unknown> = new Set(["Token", "Data", "ToolCall", "Reset", "Complete"])

/**
 * @category guards
 * @since 0.1.0
 */
export const isL0Event = (u: unknown): u is L0Event => hasProperty(u, "_tag") && TAGS.has(u._tag)

/**
 * @category guards
 * @since 0.1.0
 */
export const isToken = (event: L0Event): event is Token => event._tag === "Token"

/**
 * Folds events into the text a consumer should show: tokens appended, resets
 * applied. Useful for consumers of `L0.stream` that keep their own buffer.
 *
 * **Example** (Keeping a live transcript)
 * ```ts
 * let text = ""
 * yield* Stream.runForEach(L0.stream(options), (event) => Effect.sync(() => { text = L0Event.applyTo(text, event) }))
 * ```
 * @category folding
 * @since 0.1.0
 */
export const applyTo = (text: string, event: L0Event): string =>
  event._tag === "Token" ? text + event.value : event._tag === "Reset" ? text.slice(0, event.kept) : text
