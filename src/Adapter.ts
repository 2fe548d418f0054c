/**
 * Adapters turn a provider's stream chunks into `L0Event`s. L0 picks one by
 * `L0Options.adapter` or detects it from the first chunk, asking every
 * adapter of the `Registry` in order.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { anthropic } from "./adapters/anthropic.js"
import { effectAi } from "./adapters/effectAi.js"
import { openaiChat } from "./adapters/openaiChat.js"
import { openaiResponses } from "./adapters/openaiResponses.js"
import { vercelAi } from "./adapters/vercelAi.js"
import { events, text } from "./adapters/plain.js"
import * as decode from "./internal/decode.js"
import * as internal from "./internal/describe.js"
import type * as L0Event from "./L0Event.js"
import type { Usage } from "./L0Event.js"

/**
 * What a decoder reports when its stream ends.
 *
 * @category models
 * @since 0.1.0
 */
export interface Completion {
  readonly usage?: Usage | undefined
  readonly finishReason?: string | undefined
}

/**
 * The per-attempt state of an adapter. Both functions run in L0's hot loop
 * and may throw: anything thrown fails the attempt, categorized by
 * `L0Error.fromUnknown` (throw an `L0Error` to choose the category).
 *
 * @category models
 * @since 0.1.0
 */
export interface Decoder {
  /**
   * Appends the events of one chunk to `out` and returns whether the chunk
   * carried model output (even if no event is complete yet, such as a tool
   * call's argument delta): that is what resets the token timeouts.
   */
  readonly push: (chunk: unknown, out: Array<L0Event.L0Event>) => boolean
  /** Called once when the source ends normally; may append final events. */
  readonly end: (out: Array<L0Event.L0Event>) => Completion | undefined
  /**
   * Whether the answer is whole: the protocol's finish reason has arrived,
   * and what may still follow (usage, `[DONE]`, `message_stop`) is a
   * trailer. A timeout that strikes while the trailer is due then completes
   * the attempt with what arrived (`end` is called) instead of failing it.
   * Without this method a timeout always fails the attempt.
   */
  readonly finished?: (() => boolean) | undefined
}

/**
 * Decodes one provider protocol: `detect` recognizes its first chunk and
 * `make` starts a decoder for each attempt. Write one for a protocol L0 does
 * not know and add it with `register`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Adapter {
  readonly name: string
  /** Whether this adapter understands a stream whose first chunk is `chunk`. */
  readonly detect: (chunk: unknown) => boolean
  /** A fresh decoder, once per attempt. */
  readonly make: () => Decoder
}

/**
 * Declares an adapter. It returns its argument: it exists so that `detect`,
 * `make` and the decoder's parameters are typed from context without an
 * annotation, as in the example of `register`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (adapter: Adapter): Adapter => adapter

/**
 * A decoder that keeps no state between chunks.
 *
 * @category constructors
 * @since 0.1.0
 */
export const stateless: (push: Decoder["push"]) => Decoder = decode.stateless

/**
 * A short description of a chunk for error messages: its type and keys,
 * never its content.
 *
 * @category diagnostics
 * @since 0.1.0
 */
export const describe: (chunk: unknown) => string = internal.describe

/**
 * The adapters L0 detects from, in order: `L0Event`s, strings, OpenAI
 * Chat, Anthropic, OpenAI Responses, `effect/ai` parts, Vercel AI SDK
 * parts (see `Adapters`). `effect/ai` parts are told from the AI SDK's
 * parts of the same names by their brand, so they come first.
 * Their shapes do not overlap, except an in-band `{ type: "error" }`
 * event, which each of them fails with the same categorized error.
 * Provide a different list with `Adapter.register` or
 * `Layer.succeed(Adapter.Registry, [...])`.
 *
 * @category services
 * @since 0.1.0
 */
export const Registry: Context.Reference<ReadonlyArray<Adapter>> = Context.Reference<ReadonlyArray<Adapter>>(
  "effect-l0/Adapter/Registry",
  { defaultValue: () => [events, text, openaiChat, anthropic, openaiResponses, effectAi, vercelAi] }
)

/**
 * A layer that puts `adapter` first in the registry, so it is tried before
 * the built-in ones.
 *
 * **Example** (Registering a custom protocol)
 * ```ts
 * const Ndjson = Adapter.make({
 *   name: "my-ndjson",
 *   detect: (chunk) => typeof chunk === "object" && chunk !== null && "piece" in chunk,
 *   make: () => Adapter.stateless((chunk, out) => {
 *     out.push(L0Event.token((chunk as { piece: string }).piece))
 *     return true
 *   })
 * })
 * yield* L0.text(options).pipe(Effect.provide(Adapter.register(Ndjson)))
 * ```
 * @category layers
 * @since 0.1.0
 */
export const register = (adapter: Adapter): Layer.Layer<never> =>
  Layer.effect(
    Registry,
    Effect.gen(function*() {
      const adapters = yield* Registry
      return [adapter, ...adapters]
    })
  )

/**
 * The first adapter of `adapters` that recognizes `chunk`.
 *
 * @category detection
 * @since 0.1.0
 */
export const detect = (adapters: ReadonlyArray<Adapter>, chunk: unknown): Adapter | undefined => {
  for (const adapter of adapters) {
    if (adapter.detect(chunk)) return adapter
  }
  return undefined
}
