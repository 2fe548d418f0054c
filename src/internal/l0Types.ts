/**
 * The options and result of a run, in a module of types only so that the
 * runtime, the adapters and the feature modules can all name them without
 * importing `L0`, which re-exports them.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type * as Adapter from "../Adapter.js"
import type * as Continuation from "../Continuation.js"
import type { GuardrailRule } from "../Guardrail.js"
import type { CategoryError } from "../L0Error.js"
import type { Usage } from "../L0Event.js"
import type { L0State } from "../L0State.js"
import type { RetryInput } from "../Retry.js"
import type { TimeoutOptions } from "../Timeout.js"
import type { CheckpointStore } from "./checkpointStore.js"
import type { CheckpointOptions } from "./durable.js"

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
 * What a source factory may return for one attempt: an `AsyncIterable` (an
 * SDK stream), a `Promise` of one, an Effect `Stream`, an `Effect`
 * producing either, or an object with a `fullStream` (the result of the AI
 * SDK's `streamText` or `streamObject`, whose `fullStream` is read). `R` is what the `Stream` or `Effect` requires (such as
 * `effect/ai`'s `LanguageModel`); it becomes the requirement of the run.
 *
 * A type error that names `StreamSource` usually means the request was not
 * streamed: an SDK call without `stream: true` returns a promise of the whole
 * completion, which is not iterable.
 *
 * @category models
 * @since 0.1.0
 */
export type StreamSource<R = never> =
  | AsyncIterable<unknown>
  | Promise<AsyncIterable<unknown>>
  | Stream.Stream<unknown, unknown, R>
  | Effect.Effect<AsyncIterable<unknown> | Stream.Stream<unknown, unknown, R>, unknown, R>
  | { readonly fullStream: AsyncIterable<unknown> }

/**
 * A provider stream for one attempt: called with the attempt's context, it
 * returns a `StreamSource`.
 *
 * @category models
 * @since 0.1.0
 */
export type SourceFactory<R = never> = (ctx: AttemptContext) => StreamSource<R>

/**
 * Everything one L0 run needs: the source to call (and its fallbacks), and
 * how the run is guarded, retried, timed out and observed. Only `stream` is
 * required.
 *
 * @category models
 * @since 0.1.0
 */
export interface L0Options<R = never> {
  /** Called once per attempt. */
  readonly stream: SourceFactory<R>
  /** Tried in order once the previous source is exhausted or failed fatally. */
  readonly fallbacks?: ReadonlyArray<SourceFactory<R>> | undefined
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
   * Accept a complete answer with no text (or whitespace only), no tool call
   * and no data as a success (`""`). By default (`false`) such an answer
   * fails its attempt with a `ContentError` (`rule: "empty"`) that retries.
   */
  readonly allowEmpty?: boolean | undefined
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
  /**
   * Saves the text the consumer holds under this id in the `CheckpointStore`
   * of the context (see `Checkpoint`), at safe boundaries, and removes it once
   * the answer is complete. Written out in the call, it makes the store a
   * requirement of the run; otherwise a missing store fails the run.
   */
  readonly sessionId?: string | undefined
  /**
   * Continues the stored checkpoint of `sessionId`, if any: its text is
   * emitted first, then the sources continue it as after a retry with
   * `continuation` (`true` unless set). Without a stored checkpoint the run
   * starts afresh.
   */
  readonly resume?: boolean | undefined
  /** When checkpoints are saved; needs `sessionId`. */
  readonly checkpoint?: CheckpointOptions | undefined
}

/**
 * What a completed run returns: the final text, the final state and the
 * provider's usage report.
 *
 * @category models
 * @since 0.1.0
 */
export interface L0Result {
  readonly text: string
  readonly state: L0State
  readonly usage: Usage | undefined
}

/**
 * The services that a run with options `O` requires: the `R` of
 * `L0Options<R>`, inferred from the options themselves so that a list
 * mixing sources with different requirements requires their union, and the
 * `CheckpointStore` when `O` has a `sessionId`. A source that requires
 * nothing (an `AsyncIterable`, a `Promise`) leaves nothing to infer, which
 * reads as `unknown` and counts as `never`.
 *
 * @category models
 * @since 0.1.0
 */
export type Services<O> =
  | (O extends L0Options<infer R> ? unknown extends R ? never : R : never)
  | (O extends { readonly sessionId: string } ? CheckpointStore : never)

/**
 * `O` with every key that `Allowed` (by default `L0Options`) lacks typed
 * `never`: where `O` is inferred from an object literal, a misspelt option
 * stays a type error.
 *
 * @category models
 * @since 0.1.0
 */
export type Strict<O, Allowed = L0Options<unknown>> = O & { readonly [K in Exclude<keyof O, keyof Allowed>]: never }
