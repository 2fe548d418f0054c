/**
 * The runtime: a guarded, retried, timed-out and failed-over token stream.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as Fallback from "./internal/fallback.js"
import type { Handle } from "./internal/handle.js"
import * as handle from "./internal/handle.js"
import * as internal from "./internal/l0.js"
import type { L0Options, L0Result, Services, Strict } from "./internal/l0Types.js"
import type { L0Error } from "./L0Error.js"
import type { L0Event, Reset } from "./L0Event.js"

export type {
  AttemptContext,
  L0Options,
  L0Result,
  Services,
  SourceFactory,
  StreamSource,
  Strict
} from "./internal/l0Types.js"
export type { Handle } from "./internal/handle.js"

/**
 * Streams the events of a run: tokens as they arrive, a `Reset` before a
 * retry that follows shown text, and a final `Complete`. Fails with an
 * `L0Error`; invalid options fail with a `FatalError` before any source is
 * called.
 *
 * **Example** (Streaming tokens with retries and a fallback)
 * ```ts
 * const events = L0.stream({
 *   stream: ({ signal }) => openai.chat.completions.create({ model, messages, stream: true }, { signal }),
 *   fallbacks: [({ signal }) => anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 1024, messages, stream: true }, { signal })],
 *   retry: { maxAttempts: 2, backoff: "exponential" }
 * })
 * yield* Stream.runForEach(events, (event) =>
 *   event._tag === "Token" ? Console.log(event.value) : Effect.void)
 * ```
 * @category running
 * @since 0.1.0
 */
export function stream<O extends L0Options<unknown>>(options: Strict<O>): Stream.Stream<L0Event, L0Error, Services<O>>
export function stream<R = never>(options: L0Options<R>): Stream.Stream<L0Event, L0Error, R>
export function stream<R>(options: L0Options<R>): Stream.Stream<L0Event, L0Error, R> {
  return internal.stream(options)
}

/**
 * Runs to completion and returns the text, the final state and usage.
 *
 * @category running
 * @since 0.1.0
 */
export function run<O extends L0Options<unknown>>(options: Strict<O>): Effect.Effect<L0Result, L0Error, Services<O>>
export function run<R = never>(options: L0Options<R>): Effect.Effect<L0Result, L0Error, R>
export function run<R>(options: L0Options<R>): Effect.Effect<L0Result, L0Error, R> {
  return internal.run(options)
}

/**
 * Runs to completion and returns the final text, resets applied.
 *
 * **Example** (From plain async code)
 * ```ts
 * const text = await Effect.runPromise(L0.text({ stream: () => client.chat.completions.create(request) }))
 * ```
 * @category running
 * @since 0.1.0
 */
export function text<O extends L0Options<unknown>>(options: Strict<O>): Effect.Effect<string, L0Error, Services<O>>
export function text<R = never>(options: L0Options<R>): Effect.Effect<string, L0Error, R>
export function text<R>(options: L0Options<R>): Effect.Effect<string, L0Error, R> {
  return internal.text(options)
}

/**
 * Runs `self`; if it fails with an `L0Error` that another source may fix,
 * runs `that` (built from the error) in its place. Every `L0Error` falls
 * back except a `FatalError` for invalid options or a fatal guardrail
 * violation, which no other source fixes; an `ExhaustedError` does fall
 * back. Other errors, defects and interruption pass through.
 *
 * When `self` already showed events, a `Reset { kept: 0 }` precedes the
 * first event of `that`, so that folding the chain (`L0Event.applyTo`,
 * `L0.text`) gives exactly the text of the stream that succeeded; a `self`
 * that fails before any event leaves no reset. A `that` that starts with
 * its own `Reset` gets one reset, the shorter. Each side keeps its own retry
 * budget. The EventBus gets `fallback_start` when `that` starts and
 * `fallback_success` when it ends successfully; `fallbackIndex` counts the
 * fallbacks of the whole chain, however its links are nested.
 *
 * It takes any stream of tagged events whose resets are `Reset` events:
 * `L0.stream`, a guarded stream, `L0.structuredStream`. `L0.stream`'s
 * `fallbacks` option is this combinator applied in order.
 *
 * **Example** (A fallback chain of two providers)
 * ```ts
 * const events = L0.stream(gpt).pipe(L0.orElse(() => L0.stream(claude)))
 * ```
 * @category combinators
 * @since 0.1.0
 */
export const orElse: {
  <B extends { readonly _tag: string }, E2, R2>(
    that: (error: L0Error) => Stream.Stream<B, E2, R2>
  ): <A extends { readonly _tag: string }, E, R>(
    self: Stream.Stream<A, E, R>
  ) => Stream.Stream<A | B | Reset, E | E2, R | R2>
  <A extends { readonly _tag: string }, E, R, B extends { readonly _tag: string }, E2, R2>(
    self: Stream.Stream<A, E, R>,
    that: (error: L0Error) => Stream.Stream<B, E2, R2>
  ): Stream.Stream<A | B | Reset, E | E2, R | R2>
} = dual(2, Fallback.orElse)

/**
 * `orElse` by another name, for reading data-first: `L0.fallback(primary, () => secondary)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const fallback: typeof orElse = orElse

/**
 * Starts a run in the background of the current scope and returns its
 * handle: the `events`, the live `state`, `abort` and `join`. The run starts
 * at once, whether or not `events` is read: events are buffered until read
 * (so a run read late holds its events in memory), and `join` waits for the
 * end without reading them. Closing the scope stops the run like `abort`.
 * Invalid options do not fail `start`: `events` and `join` fail with the
 * `FatalError`.
 *
 * **Example** (Showing progress while the answer streams)
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const run = yield* L0.start(options)
 *   yield* Effect.forkChild(Stream.runForEach(run.events, (event) =>
 *     event._tag === "Token" ? Console.log(event.value) : Effect.void))
 *   const { attempt, tokenCount } = yield* run.state
 *   yield* Console.log(`attempt ${attempt}, ${tokenCount} tokens so far`)
 *   // a stop button would call: yield* run.abort
 *   return yield* run.join
 * }))
 * ```
 * @category running
 * @since 0.1.0
 */
export function start<O extends L0Options<unknown>>(
  options: Strict<O>
): Effect.Effect<Handle, never, Scope.Scope | Services<O>>
export function start<R = never>(options: L0Options<R>): Effect.Effect<Handle, never, Scope.Scope | R>
export function start<R>(options: L0Options<R>): Effect.Effect<Handle, never, Scope.Scope | R> {
  return handle.start(options)
}

// The multi-stream functions are documented in their own modules. `L0.race` and `Multi.race` (and the others) are
// the same values: `L0` gathers what most programs call, the modules group each feature with its types.
export { consensus } from "./Consensus.js"
export { batched, hedge, parallel, race } from "./Multi.js"

// Structured output is documented in its own module.
export { structured, structuredStream, structuredStreamWithMetadata, structuredWithMetadata } from "./Structured.js"
export type {
  DeepPartial,
  StructuredEvent,
  StructuredMetadataEvent,
  StructuredOptions,
  StructuredSchema
} from "./Structured.js"
