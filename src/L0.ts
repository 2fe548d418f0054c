/**
 * The runtime: a guarded, retried, timed-out and failed-over token stream.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as Adapter from "./Adapter.js"
import type * as Continuation from "./Continuation.js"
import * as EventBus from "./EventBus.js"
import type { GuardrailRule } from "./Guardrail.js"
import { resolve } from "./internal/options.js"
import { Session } from "./internal/run.js"
import type { Produced } from "./internal/source.js"
import type { CategoryError, L0Error } from "./L0Error.js"
import { FatalError } from "./L0Error.js"
import type { Complete, L0Event, Usage } from "./L0Event.js"
import type { L0State } from "./L0State.js"
import type { RetryInput } from "./Retry.js"
import type { TimeoutOptions } from "./Timeout.js"

/**
 * What a source factory receives for each attempt.
 *
 * @category models
 * @since 0.1.0
 */
export interface AttemptContext {
  /** 1-based attempt number within this source. */
  readonly attempt: number
  /** 0 for `stream`, 1 for the first fallback, … */
  readonly fallbackIndex: number
  /** With `continuation` on, the text the consumer already holds (see `Continuation`); else `""`. */
  readonly checkpoint: string
  /** Aborted when the attempt ends: pass it to the request so that it stops. */
  readonly signal: AbortSignal
  /** The error that ended the previous attempt, if any (to tell the model what went wrong). */
  readonly previousError?: CategoryError | undefined
}

/**
 * A provider stream for one attempt: an `AsyncIterable` (SDK streams), a
 * `Promise` of one, an Effect `Stream`, or an `Effect` producing either.
 *
 * @category models
 * @since 0.1.0
 */
export type SourceFactory = (ctx: AttemptContext) => Produced

/**
 * @category models
 * @since 0.1.0
 */
export interface L0Options {
  /** Called once per attempt. */
  readonly stream: SourceFactory
  /** Tried in order once the previous source is exhausted or failed fatally. */
  readonly fallbacks?: ReadonlyArray<SourceFactory> | undefined
  readonly guardrails?: ReadonlyArray<GuardrailRule> | undefined
  /** Tokens between guardrail checks; default 10. Completion always checks. */
  readonly checkInterval?: number | undefined
  /**
   * Tokens between the `stream_progress` events of an attempt on the
   * EventBus (token count, elapsed time, tokens per second); default 100.
   */
  readonly progressInterval?: number | undefined
  readonly retry?: RetryInput | undefined
  readonly timeout?: TimeoutOptions | undefined
  /** An adapter or its name; otherwise detected from the first chunk. */
  readonly adapter?: Adapter.Adapter | string | undefined
  /**
   * Continue from the text already shown instead of starting over: `true`
   * appends the next attempt as is; an object also removes a repeated
   * overlap or handles a prefill without trailing whitespace (see `Continuation`).
   */
  readonly continuation?: boolean | Continuation.Options | undefined
  /**
   * Secrets (API keys, gateway tokens) to remove from every error and event
   * of the run, wherever a provider or proxy echoed them: messages, causes
   * (SDK errors with response bodies and headers) and EventBus events. Keys
   * shaped like `sk-…` and `Bearer` tokens are removed from messages anyway,
   * and `Adapters.*Http` always remove their own key.
   */
  readonly redact?: ReadonlyArray<string | Redacted.Redacted<string>> | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface L0Result {
  readonly text: string
  readonly state: L0State
  readonly usage: Usage | undefined
}

const lookupAdapter = (
  adapter: Adapter.Adapter | string | undefined,
  registry: ReadonlyArray<Adapter.Adapter>
): Result.Result<Adapter.Adapter | undefined, FatalError> => {
  if (typeof adapter !== "string") return Result.succeed(adapter)
  const found = registry.find((candidate) => candidate.name === adapter)
  return found !== undefined ? Result.succeed(found) : Result.fail(
    new FatalError({
      reason: "options",
      message: `Invalid option "adapter": no adapter named "${adapter}" (known: ${
        registry.map((a) => a.name).join(", ")
      })`
    })
  )
}

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
export const stream = (options: L0Options): Stream.Stream<L0Event, L0Error> =>
  Stream.unwrap(Effect.gen(function*() {
    const config = yield* Effect.fromResult(resolve<SourceFactory>(options))
    const registry = yield* Adapter.Registry
    const adapter = yield* Effect.fromResult(lookupAdapter(config.adapter, registry))
    const bus = yield* EventBus.EventBus
    const clock = yield* Clock.Clock
    return new Session(config, bus, clock, adapter, registry).stream()
  }))

/**
 * Runs to completion and returns the text, the final state and usage.
 *
 * @category running
 * @since 0.1.0
 */
export const run = (options: L0Options): Effect.Effect<L0Result, L0Error> =>
  Effect.suspend(() => {
    let complete: Complete | undefined
    return Stream.runForEachArray(stream(options), (events) => {
      const last = events[events.length - 1]!
      if (last._tag === "Complete") complete = last
      return Effect.void
    }).pipe(Effect.map(() => {
      const { state, usage } = complete!
      return { text: state.content, state, usage }
    }))
  })

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
export const text = (options: L0Options): Effect.Effect<string, L0Error> =>
  Effect.map(run(options), (result) => result.text)

// The multi-stream functions are documented in their own modules.
export { consensus } from "./Consensus.js"
export { batched, hedge, parallel, race } from "./Multi.js"

// Structured output is documented in its own module.
export { structured, structuredStream, structuredWithMetadata } from "./Structured.js"
export type { DeepPartial, StructuredEvent, StructuredOptions, StructuredSchema } from "./Structured.js"
