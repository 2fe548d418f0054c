/**
 * L0 with the Vercel AI SDK (`ai` 6 and 7), three ways:
 * - **wrap the model**: {@link middleware} for `wrapLanguageModel`, so that an
 *   unchanged `streamText`, `generateText`, `streamObject`, `generateObject`
 *   or `useChat` app gets retries, timeouts, guardrails and fallbacks to
 *   other AI SDK models;
 * - **wrap the stream**: return `streamText(...)` or `streamObject(...)` (the
 *   result object itself, or its `fullStream`) from `L0Options.stream` (see
 *   `Adapters.vercelAi`);
 * - **render an L0 run with `useChat`**: {@link toUIMessageStreamResponse}
 *   speaks the AI SDK's UI message stream protocol.
 *
 * effect-l0 does not depend on `ai`: the types here describe what is read.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type * as Continuation from "./Continuation.js"
import * as internal from "./internal/aiSdk/middleware.js"
import * as ui from "./internal/aiSdk/uiStream.js"
import type { L0Options } from "./internal/l0Types.js"
import type { L0Error } from "./L0Error.js"
import type { Complete, L0Event } from "./L0Event.js"

export { TakeBackError } from "./internal/aiSdk/errors.js"

/**
 * The options of {@link middleware}: the options of an L0 run (`retry`,
 * `timeout`, `guardrails`, …) without its sources, which are the wrapped
 * model and the `fallbacks`.
 *
 * @category models
 * @since 0.1.0
 */
export interface MiddlewareOptions
  extends Omit<L0Options, "stream" | "fallbacks" | "adapter" | "continuation" | "sessionId" | "resume" | "checkpoint">
{
  /**
   * AI SDK language models tried in order once the wrapped model is
   * exhausted or failed fatally, e.g. `[anthropic("claude-sonnet-4-6")]`:
   * models of the wrapped model's specification version (`LanguageModelV4`
   * with ai 7, `V3` with ai 6).
   */
  readonly fallbacks?: ReadonlyArray<unknown> | undefined
  /**
   * How a retry after streamed text goes on (see `Continuation`); default
   * `{ deduplicate: true }`. The retry's prompt ends with the text so far as
   * an assistant message and a user message asking for the rest; a head
   * that repeats the end of the text is dropped. `false` starts every retry
   * over: `generateText` still answers once, but `streamText` then fails
   * with a {@link TakeBackError} when a retry follows streamed text.
   */
  readonly continuation?: boolean | Continuation.Options | undefined
  /**
   * Services for every call: `EventBus.layer`, `L0Async.layer(callbacks)`,
   * `ProviderHealth.layerMemory()`, a tracer. Built once, on the first call,
   * and shared by every call of this middleware (a circuit breaker sees all
   * of them). A layer that fails to build fails each call with its error.
   */
  readonly layer?: Layer.Layer<never, unknown> | undefined
  /**
   * The `specificationVersion` the middleware declares: `"v4"` (default) for
   * ai 7, `"v3"` for ai 6, whose types ask for it. The calls themselves
   * follow the version of the model they wrap either way.
   */
  readonly specificationVersion?: "v3" | "v4" | undefined
}

/**
 * The stream result of a model's `doStream`, as far as the middleware reads it.
 *
 * @category models
 * @since 0.1.0
 */
export interface StreamResult {
  readonly stream: ReadableStream<unknown>
}

/**
 * The arguments the AI SDK passes to a middleware's `wrapStream` and
 * `wrapGenerate`. Generic, so that the middleware fits the `LanguageModelV3`
 * and `LanguageModelV4` middleware types alike: it answers with a result of
 * the kind its model's `doStream` / `doGenerate` gives.
 *
 * @category models
 * @since 0.1.0
 */
export interface WrapOptions<P, S> {
  readonly doStream: () => PromiseLike<S>
  readonly params: P
  readonly model: object
}

/**
 * A `LanguageModelMiddleware` of the AI SDK.
 *
 * @category models
 * @since 0.1.0
 */
export interface Middleware<V extends "v3" | "v4" = "v4"> {
  readonly specificationVersion: V
  readonly wrapStream: <P extends CallOptions, S extends StreamResult>(options: WrapOptions<P, S>) => Promise<S>
  readonly wrapGenerate: <P extends CallOptions, S extends StreamResult, G>(
    options: WrapOptions<P, S> & { readonly doGenerate: () => PromiseLike<G> }
  ) => Promise<G>
}

/**
 * The call options of a language model call, as far as the middleware reads them.
 *
 * @category models
 * @since 0.1.0
 */
export interface CallOptions {
  readonly prompt: ReadonlyArray<unknown>
  readonly abortSignal?: AbortSignal | undefined
}

/**
 * L0 as an AI SDK middleware: each call of the wrapped model is an L0 run
 * whose sources are the model's `doStream` and then the `fallbacks`'.
 *
 * - `doStream` (`streamText`, `streamObject`, `useChat` servers) streams the
 *   run's parts as the model's: text deltas in one text block, a retry
 *   after text continuing it (see `continuation`), other parts as they
 *   came. Tool-call parts are held until the attempt completes, so that a
 *   failed attempt's tool call is never run; parts of unknown types are
 *   passed on unchanged. Where a retry would have to take text back, the
 *   stream fails with a {@link TakeBackError} instead of showing text twice.
 * - `doGenerate` (`generateText`, `generateObject`) streams too, so that
 *   timeouts and guardrails watch it, and answers with the run's final text
 *   (resets applied) among the last attempt's other content.
 * - A call that fails before any part fails the call itself, with the
 *   `L0Error` (an `ExhaustedError` whose `lastError` carries the provider's
 *   `APICallError` as `cause`); the AI SDK's own `maxRetries` does not retry
 *   it, so L0's budget is the only one.
 * - A wrapped model or fallback that is not a `LanguageModelV3` / `V4` is a
 *   `FatalError` (`reason: "options"`): fallbacks when the middleware is
 *   made, the model at its first call. A misspelt or invalid option throws
 *   a `FatalError` that names it when the middleware is made.
 *
 * **Example** (A reliable model for an unchanged `streamText` app)
 * ```ts
 * import { anthropic } from "@ai-sdk/anthropic"
 * import { openai } from "@ai-sdk/openai"
 * import { streamText, wrapLanguageModel } from "ai"
 *
 * const model = wrapLanguageModel({
 *   model: openai("gpt-4o-mini"),
 *   middleware: AiSdk.middleware({
 *     fallbacks: [anthropic("claude-sonnet-4-6")],
 *     timeout: { initialToken: "10 seconds", interToken: "5 seconds" }
 *   })
 * })
 * const result = streamText({ model, prompt: "Write a haiku", maxRetries: 0 })
 * ```
 * @category middleware
 * @since 0.1.0
 */
export const middleware = <V extends "v3" | "v4" = "v4">(
  options: MiddlewareOptions & { readonly specificationVersion?: V | undefined } = {}
): Middleware<V> => {
  const implementation = internal.make(options)
  return {
    specificationVersion: (options.specificationVersion ?? "v4") as V,
    wrapStream: <P extends CallOptions, S extends StreamResult>(args: WrapOptions<P, S>) =>
      implementation.wrapStream({ params: args.params, model: args.model }) as Promise<S>,
    wrapGenerate: <P extends CallOptions, S extends StreamResult, G>(args: WrapOptions<P, S>) =>
      implementation.wrapGenerate({ params: args.params, model: args.model }) as Promise<G>
  }
}

/**
 * A chunk of the AI SDK's UI message stream (`UIMessageChunk` of `ai`).
 *
 * @category models
 * @since 0.1.0
 */
export type UIMessageChunk = { readonly type: string } & { readonly [key: string]: unknown }

/**
 * Options of {@link toUIMessageStream} and the other UI stream functions.
 *
 * @category models
 * @since 0.1.0
 */
export interface UIStreamOptions {
  /** The id of the assistant message, sent in the `start` chunk; default: the client picks one. */
  readonly messageId?: string | undefined
  /**
   * Send the `start` chunk (default `true`). `false` when the run is merged
   * into a stream that started its message already (`writer.merge`): a
   * reader resets the message at its first `start`, dropping what came before.
   */
  readonly sendStart?: boolean | undefined
  /** Send the `finish` chunk (default `true`); `false` when more follows the run in the same message. */
  readonly sendFinish?: boolean | undefined
  /** Send reasoning (`Data { type: "reasoning" }`) as reasoning parts; default `true`. */
  readonly sendReasoning?: boolean | undefined
  /** The message metadata sent with `finish`; default `{ usage: { inputTokens, outputTokens, totalTokens } }`. */
  readonly messageMetadata?: ((event: Complete) => unknown) | undefined
  /** The `errorText` of a failed run; default the error's message, secrets redacted. */
  readonly errorText?: ((error: L0Error) => string) | undefined
  /**
   * How a `Reset` that takes text back reaches the page:
   * - `"reset-step"` (default): the protocol's `reset-step` chunk, which
   *   `useChat` and `readUIMessageStream` of ai 7 apply (the step's parts
   *   are removed), then the kept text as a new text part;
   * - `"data-part"`: for pages on ai 6, whose reader does not know
   *   `reset-step`: the text part ends and a `data-effect-l0-reset` part
   *   `{ kept }` follows; render the text with `uiMessageText` of
   *   `effect-l0/client`, which applies it.
   */
  readonly reset?: "reset-step" | "data-part" | undefined
}

/**
 * Options of {@link toUIMessageStreamResponse}.
 *
 * @category models
 * @since 0.1.0
 */
export interface UIResponseOptions extends UIStreamOptions {
  /** Interval of the keep-alive comments; default 15 seconds, `"Infinity"` sends none. */
  readonly keepAlive?: Duration.Input | undefined
  /** Headers added to (or replacing) {@link uiMessageStreamHeaders}, e.g. for CORS. */
  readonly headers?: HeadersInit | undefined
  /** Aborting it interrupts the run (pass the request's signal). */
  readonly signal?: AbortSignal | undefined
}

/**
 * The headers of a UI message stream response, as the AI SDK sends them.
 *
 * @category constants
 * @since 0.1.0
 */
export const uiMessageStreamHeaders: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-vercel-ai-ui-message-stream": "v1",
  "x-accel-buffering": "no"
}

/**
 * An L0 run as UI message chunks, for Effect code: `start`, `start-step`,
 * text parts, reasoning parts, each `ToolCall` as a dynamic tool part
 * (`tool-input-available`), then `finish-step` and `finish` with the finish
 * reason and usage as message metadata. A failure ends the stream with an
 * `error` chunk; the stream itself never fails.
 *
 * A `Reset` that keeps all of the text shown (a retry that continues it)
 * changes nothing on the page. One that takes text back sends `reset-step`,
 * which makes `useChat` and `readUIMessageStream` (ai 7) remove the parts of
 * the step, then a new text part with the text kept: the page shows the
 * answer once, never the failed attempt's text next to the retry's.
 *
 * @category ui
 * @since 0.1.0
 */
export const uiMessageChunks: {
  (options?: UIStreamOptions): <R>(self: Stream.Stream<L0Event, L0Error, R>) => Stream.Stream<UIMessageChunk, never, R>
  <R>(self: Stream.Stream<L0Event, L0Error, R>, options?: UIStreamOptions): Stream.Stream<UIMessageChunk, never, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <R>(self: Stream.Stream<L0Event, L0Error, R>, options?: UIStreamOptions): Stream.Stream<UIMessageChunk, never, R> =>
    ui.chunks(self, options ?? {})
)

/**
 * An L0 run as a `ReadableStream` of UI message chunks (see
 * {@link uiMessageChunks}), for `createUIMessageStream`'s `writer.merge`,
 * `createUIMessageStreamResponse({ stream })` or `readUIMessageStream`.
 * Cancelling it interrupts the run.
 *
 * @category ui
 * @since 0.1.0
 */
export const toUIMessageStream: {
  (options?: UIStreamOptions): (self: Stream.Stream<L0Event, L0Error>) => ReadableStream<UIMessageChunk>
  (self: Stream.Stream<L0Event, L0Error>, options?: UIStreamOptions): ReadableStream<UIMessageChunk>
} = dual(
  (args) => Stream.isStream(args[0]),
  (self: Stream.Stream<L0Event, L0Error>, options?: UIStreamOptions): ReadableStream<UIMessageChunk> =>
    Stream.toReadableStream(ui.chunks(self, options ?? {}))
)

const responseOf = <R>(
  self: Stream.Stream<L0Event, L0Error, R>,
  context: Context.Context<R>,
  options: UIResponseOptions | undefined
): Response => {
  const body = Stream.toReadableStreamWith(ui.sse(self, options ?? {}), context, { signal: options?.signal })
  const all = new Headers(uiMessageStreamHeaders)
  new Headers(options?.headers).forEach((value, name) => all.set(name, value))
  return new Response(body, { status: 200, headers: all })
}

/**
 * An L0 run as the `Response` a `useChat` page reads: Server-Sent Events
 * with the `x-vercel-ai-ui-message-stream: v1` header, one `data:` line per
 * UI message chunk (see {@link uiMessageChunks}) and `data: [DONE]` last.
 * Cancelling the body (the page went away) or aborting `options.signal`
 * interrupts the run and aborts the provider request.
 *
 * **Example** (A Next.js route handler for `useChat`)
 * ```ts
 * export const POST = async (request: Request) => {
 *   const { messages } = await request.json()
 *   return AiSdk.toUIMessageStreamResponse(L0.stream({ stream: ({ signal }) => ask(messages, signal) }), {
 *     signal: request.signal
 *   })
 * }
 * ```
 * @category ui
 * @since 0.1.0
 */
export const toUIMessageStreamResponse: {
  (options?: UIResponseOptions): (self: Stream.Stream<L0Event, L0Error>) => Response
  (self: Stream.Stream<L0Event, L0Error>, options?: UIResponseOptions): Response
} = dual(
  (args) => Stream.isStream(args[0]),
  (self: Stream.Stream<L0Event, L0Error>, options?: UIResponseOptions): Response =>
    responseOf(self, Context.empty(), options)
)

/**
 * Like {@link toUIMessageStreamResponse}, for runs that need services: the
 * run gets the services of the effect that built the response.
 *
 * @category ui
 * @since 0.1.0
 */
export const toUIMessageStreamResponseEffect: {
  (options?: UIResponseOptions): <R>(self: Stream.Stream<L0Event, L0Error, R>) => Effect.Effect<Response, never, R>
  <R>(self: Stream.Stream<L0Event, L0Error, R>, options?: UIResponseOptions): Effect.Effect<Response, never, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <R>(self: Stream.Stream<L0Event, L0Error, R>, options?: UIResponseOptions): Effect.Effect<Response, never, R> =>
    Effect.map(Effect.context<R>(), (context) => responseOf(self, context, options))
)
