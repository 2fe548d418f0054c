/**
 * L0 for `effect/ai` programs: a `LanguageModel` layer whose `streamText`
 * and `generateText` run through L0, so a program written against
 * `LanguageModel` gains retries, fallbacks to other models, timeouts and
 * guardrails by swapping the one layer that provides its model.
 *
 * To use a `LanguageModel` as an L0 source instead, return
 * `LanguageModel.streamText(...)` from `L0Options.stream`: its parts are
 * detected (see `Adapters.effectAi`) and the run requires `LanguageModel`.
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import type * as Layer from "effect/Layer"
import type * as LanguageModel from "effect/ai/LanguageModel"
import type * as Continuation from "./Continuation.js"
import * as internal from "./internal/effectAi.js"
import type { L0Options } from "./internal/l0Types.js"

/**
 * The options of an L0 run (`retry`, `timeout`, `guardrails`, …) without
 * its sources, which are the models.
 *
 * @category models
 * @since 0.1.0
 */
export interface Settings extends Omit<L0Options, "stream" | "fallbacks" | "adapter" | "continuation"> {
  /**
   * How a retry after streamed text goes on (see `Continuation`); default
   * `{ deduplicate: true }`. The retry's prompt ends with the text already
   * streamed as an assistant message, so that the model continues it, and a
   * head that repeats the end of that text is dropped. `false` starts every
   * retry over: `generateText` still returns the answer once, but
   * `streamText` then fails with an `AiError` when a retry follows streamed
   * text, as response parts cannot take text back.
   */
  readonly continuation?: boolean | Continuation.Options | undefined
}

/**
 * The options of {@link layer}: the models and the {@link Settings} of their runs.
 *
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions<E, R> extends Settings {
  /** The model first, then the fallbacks, tried in order once the one before is exhausted or failed fatally. */
  readonly models: readonly [
    Layer.Layer<LanguageModel.LanguageModel, E, R>,
    ...ReadonlyArray<Layer.Layer<LanguageModel.LanguageModel, E, R>>
  ]
}

/**
 * A `LanguageModel` that runs the `models` through L0:
 * - `streamText` streams the parts of one L0 run whose sources are the
 *   models' `streamText`: a retry continues the text already streamed (in
 *   the same text block) instead of sending it twice, timeouts and
 *   guardrails apply, and a failed model falls back to the next;
 * - `generateText` runs the same and answers with the final text as one
 *   `text` part, among the last attempt's other parts (tool calls, finish,
 *   usage);
 * - `generateObject` tries the models in order, without L0 (use
 *   `L0.structured` for schema-checked output with retries).
 *
 * Errors are the models' own (`AiError`, tool failures); what L0 itself
 * ends a run with (a timeout, a fatal guardrail, a stream cut before its
 * `finish` part on every attempt) is an `AiError` whose `UnknownError`
 * reason describes it, with the L0 tag and category in its metadata under
 * `"effect-l0"`.
 *
 * `effect/ExecutionPlan` retries and falls back whole requests; this layer
 * also watches the stream: it retries a stream that fails or stalls
 * midway without the consumer seeing text twice, and checks the text with
 * guardrails as it arrives.
 *
 * **Example** (Making an `effect/ai` program reliable)
 * ```ts
 * const Reliable = EffectAi.layer({
 *   models: [OpenAiModel, AnthropicModel],
 *   retry: { maxAttempts: 3 },
 *   timeout: { initialToken: "10 seconds", interToken: "5 seconds" }
 * })
 * const program = LanguageModel.generateText({ prompt: "Write a haiku" })
 * const response = yield* program.pipe(Effect.provide(Reliable))
 * ```
 * @category layers
 * @since 0.1.0
 */
export const layer: <E, R>(options: LayerOptions<E, R>) => Layer.Layer<LanguageModel.LanguageModel, E, R> =
  internal.layer

/**
 * The `LanguageModel` of {@link layer}, from models already built.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  models: Arr.NonEmptyReadonlyArray<LanguageModel.LanguageModel>,
  settings: Settings = {}
): LanguageModel.LanguageModel => internal.make(models, settings)
