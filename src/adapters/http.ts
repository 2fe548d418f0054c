/**
 * Raw SSE over HTTP, for users without a provider SDK: source factories
 * built on `effect/http` and `effect/encoding/Sse`.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import { sseSource } from "../internal/http.js"
import type { AttemptContext } from "../internal/l0Types.js"
import type { L0Error } from "../L0Error.js"

/**
 * Options of `openaiHttp` and `anthropicHttp`.
 *
 * @category models
 * @since 0.1.0
 */
export interface HttpOptions {
  /**
   * The API root, as the SDKs take it: default `https://api.openai.com/v1`
   * (OpenAI) or `https://api.anthropic.com` (Anthropic).
   */
  readonly baseUrl?: string | undefined
  /** The endpoint below `baseUrl`: default `/chat/completions` (set `/responses` for the Responses API) or `/v1/messages`. */
  readonly path?: string | undefined
  /**
   * Held as `Redacted`: it never appears in errors, events or logs, even when
   * the server or a proxy echoes it back (its exact value is scrubbed).
   */
  readonly apiKey: string | Redacted.Redacted<string>
  /**
   * The JSON request body; `stream: true` is added. A function receives
   * each attempt's context, such as `checkpoint` for continuation.
   */
  readonly body: Readonly<Record<string, unknown>> | ((ctx: AttemptContext) => Readonly<Record<string, unknown>>)
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * A source factory for `L0Options.stream` or `fallbacks`: a `Stream` of the
 * provider's JSON events, failing with typed `L0Error`s.
 *
 * @category models
 * @since 0.1.0
 */
export type HttpSource = (ctx: AttemptContext) => Stream.Stream<unknown, L0Error>

/**
 * Streams an OpenAI Chat Completions (or, with `path: "/responses"`,
 * Responses) request over raw SSE: no SDK needed. The request is aborted
 * when the attempt ends, is interrupted or times out, or when
 * `ctx.signal` aborts. Non-2xx responses fail with the error of their
 * status and provider error type, with `status` and `Retry-After`
 * (seconds or HTTP date); connection failures are `NetworkError`s; an
 * event whose data is not JSON is a `ModelError`; multi-byte characters
 * split across network reads decode intact. Invalid options fail the run
 * with a `FatalError` naming the option.
 *
 * **Example** (Streaming without the SDK)
 * ```ts
 * const text = yield* L0.text({
 *   stream: Adapters.openaiHttp({
 *     apiKey: Redacted.make(process.env.OPENAI_API_KEY!),
 *     body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello" }], stream_options: { include_usage: true } }
 *   })
 * })
 * ```
 * @category http
 * @since 0.1.0
 */
export const openaiHttp = (options: HttpOptions): HttpSource =>
  sseSource({
    label: "OpenAI",
    factory: "openaiHttp",
    baseUrl: "https://api.openai.com/v1",
    path: "/chat/completions",
    auth: (request, key) => HttpClientRequest.bearerToken(request, key),
    headers: {}
  }, options)

/**
 * Streams an Anthropic Messages request over raw SSE, with the same
 * guarantees as `openaiHttp`. Sends `x-api-key` and
 * `anthropic-version: 2023-06-01` (override it in `headers`).
 *
 * **Example** (A raw-HTTP fallback)
 * ```ts
 * const text = yield* L0.text({
 *   stream: Adapters.openaiHttp({ apiKey: openaiKey, body: { model: "gpt-4o-mini", messages } }),
 *   fallbacks: [Adapters.anthropicHttp({ apiKey: anthropicKey, body: { model: "claude-sonnet-4-6", max_tokens: 1024, messages } })]
 * })
 * ```
 * @category http
 * @since 0.1.0
 */
export const anthropicHttp = (options: HttpOptions): HttpSource =>
  sseSource({
    label: "Anthropic",
    factory: "anthropicHttp",
    baseUrl: "https://api.anthropic.com",
    path: "/v1/messages",
    auth: (request, key) => HttpClientRequest.setHeader(request, "x-api-key", Redacted.value(key)),
    headers: { "anthropic-version": "2023-06-01" }
  }, options)
