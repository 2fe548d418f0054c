/**
 * A local LLM provider for tests: an HTTP server on 127.0.0.1 that speaks
 * OpenAI Chat Completions, OpenAI Responses and Anthropic Messages streaming
 * (SSE), so the real `openai` and `@anthropic-ai/sdk` clients work against it.
 * A script decides each request's answer, faults included: status codes with
 * `Retry-After`, socket resets, stalls, in-band error events and malformed SSE
 * at any point of the stream. Every request is recorded (with API keys
 * redacted), including whether the client hung up before the answer ended.
 * Like the real API, an Anthropic request whose final assistant message (a
 * prefill) ends with whitespace gets a 400 `invalid_request_error`, before
 * the script is asked.
 *
 * Routes (matched by path suffix, so any base path works):
 * `POST …/chat/completions` (OpenAI Chat Completions), `POST …/responses`
 * (OpenAI Responses), `POST …/messages` (Anthropic Messages). Point the
 * `openai` client at {@link Addresses.openaiBaseUrl} and the Anthropic client
 * at {@link Addresses.anthropicBaseUrl}.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/providerServer.js"

/**
 * The wire protocol of a request, chosen by its path.
 *
 * @category models
 * @since 0.1.0
 */
export type Protocol = "openai-chat" | "openai-responses" | "anthropic"

/**
 * A tool (function) call in a {@link Reply}. `arguments` is the JSON text of
 * the call: a string is split into chunks like the reply text, an array is
 * sent as exactly these chunks. Without `id`, the server makes one in the
 * protocol's style (`call_…`, `toolu_…`).
 *
 * @category models
 * @since 0.1.0
 */
export interface ToolCall {
  readonly id?: string
  readonly name: string
  readonly arguments: string | ReadonlyArray<string>
  /** Code points per argument chunk; defaults to the reply's `chunkSize`. */
  readonly chunkSize?: number
}

/**
 * Token counts reported at the end of a reply.
 *
 * @category models
 * @since 0.1.0
 */
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
}

/**
 * A provider error, written in the provider's own JSON error shape. Missing
 * fields get defaults that fit the protocol and the status (for example
 * `rate_limit_error` for an Anthropic 429, `overloaded_error` for an Anthropic
 * in-band error, `server_error` for OpenAI).
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorDetails {
  /** Anthropic `error.type`, OpenAI `error.type`. */
  readonly type?: string
  readonly message?: string
  /** OpenAI `error.code` (Anthropic errors have none). */
  readonly code?: string
}

/**
 * What goes wrong in a streamed answer, and when. `after` counts content
 * chunks (text pieces and tool-argument pieces for a {@link Reply}, byte
 * chunks for a {@link Replay}): `after: 0` strikes once the response headers
 * and the protocol's opening events are out, before the first token; an
 * `after` at or past the number of chunks strikes after the last token,
 * before the closing events.
 *
 * - `Reset`: the socket is destroyed abruptly; the client sees a connection
 *   error. With `cut`, part of what comes next is written first (see {@link Cut}).
 * - `Stall`: nothing more is sent and the connection stays open until the
 *   client disconnects or the server closes.
 * - `InBandError`: the protocol's error event is sent and the response ends
 *   (Anthropic `event: error`; Responses `error` then `response.failed`;
 *   Chat Completions `data: {"error": …}`).
 * - `Malformed`: `raw` (by default an event whose data is truncated JSON) is
 *   written as is, then the stream goes on as scripted.
 * - `End`: the response ends cleanly, without the protocol's closing events
 *   (`[DONE]`, `message_stop`, `response.completed`): a body cut short that no
 *   connection error reveals.
 *
 * @category models
 * @since 0.1.0
 */
export type Fault =
  | { readonly _tag: "Reset"; readonly after: number; readonly cut?: Cut }
  | { readonly _tag: "Stall"; readonly after: number }
  | { readonly _tag: "InBandError"; readonly after: number; readonly error: ErrorDetails }
  | { readonly _tag: "Malformed"; readonly after: number; readonly raw?: string }
  | { readonly _tag: "End"; readonly after: number }

/**
 * Where a `Reset` cuts into the bytes due next (the next chunk, or the
 * closing events): a number of bytes to write before the reset, so that the
 * connection dies inside an SSE line, or `"character"`: inside the first
 * multi-byte UTF-8 character (the middle of the bytes when there is none).
 *
 * @category models
 * @since 0.1.0
 */
export type Cut = number | "character"

/**
 * Options of a streamed {@link Reply}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReplyOptions {
  /**
   * Unicode code points per chunk when the text is a string (default 4). A
   * chunk never ends inside a surrogate pair unless `splitSurrogates` is set.
   */
  readonly chunkSize?: number
  /** Counts `chunkSize` in UTF-16 code units, so emoji can be split in half. */
  readonly splitSurrogates?: boolean
  /** Real milliseconds to wait before each content chunk (default 0). */
  readonly delay?: number
  /** Tool calls streamed after the text. */
  readonly toolCalls?: ReadonlyArray<ToolCall>
  /**
   * Reported usage. Defaults to 0 input tokens and one output token per chunk.
   * Chat Completions sends its usage chunk only when this is set or the
   * request asks for it with `stream_options.include_usage`.
   */
  readonly usage?: Usage
  /**
   * The protocol's own finish value: Chat `finish_reason` (default `stop`, or
   * `tool_calls` with tool calls), Anthropic `stop_reason` (default `end_turn`
   * or `tool_use`). For Responses, anything but `completed` ends the stream
   * with `response.incomplete` and this value as `incomplete_details.reason`.
   */
  readonly finishReason?: string
  /** Extra response headers. */
  readonly headers?: Readonly<Record<string, string>>
  readonly fault?: Fault
}

/**
 * A streamed answer in the protocol of the request. `text` as a string is
 * split by `chunkSize`; as an array it is sent as exactly these chunks.
 *
 * @category models
 * @since 0.1.0
 */
export interface Reply extends ReplyOptions {
  readonly _tag: "Reply"
  readonly text: string | ReadonlyArray<string>
}

/**
 * Options of an {@link HttpError}.
 *
 * @category models
 * @since 0.1.0
 */
export interface HttpErrorOptions {
  /**
   * The `Retry-After` header: seconds, or an HTTP date. A fraction of a
   * second is sent as `retry-after-ms` too, with `Retry-After` rounded up.
   */
  readonly retryAfter?: number | string
  readonly headers?: Readonly<Record<string, string>>
  /** Fields of the JSON error body, in the protocol's error shape. */
  readonly error?: ErrorDetails
  /** A raw body sent instead of the JSON error (for example a proxy's HTML page). */
  readonly body?: string
  /**
   * Echoes the credential the request sent (the `authorization` token
   * without its scheme, or the `x-api-key` / `api-key` value), as some
   * providers and proxies do: appended to the error message (or to `body`)
   * and sent back in an `x-echoed-credential` header. For testing that a key
   * never leaks into errors, events or logs.
   */
  readonly echoCredential?: boolean
}

/**
 * A non-streamed error response with status `status` (400-599).
 *
 * @category models
 * @since 0.1.0
 */
export interface HttpError extends HttpErrorOptions {
  readonly _tag: "HttpError"
  readonly status: number
}

/**
 * Options of a {@link Replay}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReplayOptions {
  /** Bytes per chunk. By default each SSE event (up to its blank line) is one chunk. */
  readonly chunkSize?: number
  /** Real milliseconds to wait before each chunk (default 0). */
  readonly delay?: number
  readonly headers?: Readonly<Record<string, string>>
  /** A fault; `after` counts the chunks of the body. */
  readonly fault?: Fault
}

/**
 * Sends `body` (for example a recorded `.sse` transcript) byte for byte as a
 * `200 text/event-stream` response.
 *
 * @category models
 * @since 0.1.0
 */
export interface Replay extends ReplayOptions {
  readonly _tag: "Replay"
  readonly body: string | Uint8Array
}

/**
 * Options of an {@link Unstreamed} answer: those of a {@link Reply} that
 * make sense for a whole answer.
 *
 * @category models
 * @since 0.1.0
 */
export interface UnstreamedOptions {
  readonly toolCalls?: ReadonlyArray<ToolCall>
  /** Reported usage; defaults as for a {@link Reply}. */
  readonly usage?: Usage
  /** As for a {@link Reply}; for Responses, anything but `completed` makes the status `incomplete`. */
  readonly finishReason?: string
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * The whole answer as one `200 application/json` body in the protocol's
 * non-streaming shape (Chat Completions `chat.completion`, a Responses
 * `response`, an Anthropic `message`), even to a request that asked for
 * `"stream": true`: a gateway or proxy that ignores streaming. Anthropic
 * tool calls need arguments that are a JSON object.
 *
 * @category models
 * @since 0.1.0
 */
export interface Unstreamed extends UnstreamedOptions {
  readonly _tag: "Unstreamed"
  readonly text: string | ReadonlyArray<string>
}

/**
 * Destroys the connection as soon as the request has arrived, before any
 * response: the client's request fails with a connection error.
 *
 * @category models
 * @since 0.1.0
 */
export interface Hangup {
  readonly _tag: "Hangup"
}

/**
 * The answer to one request. A plain string is a {@link Reply} with that text
 * and the default options.
 *
 * @category models
 * @since 0.1.0
 */
export type Answer = string | Reply | HttpError | Replay | Unstreamed | Hangup

/**
 * Decides each request's answer. An array answers the n-th request with its
 * n-th element, and its last element answers every later request. A function
 * gets the recorded request and its index (counting requests to the three
 * routes from 0) and may return a promise.
 *
 * Streamed answers ({@link Reply}, {@link Replay}) require `"stream": true` in
 * the request body; a non-streaming request gets a 400 error. An
 * {@link Unstreamed} answer is sent whatever the request asked for. An invalid
 * answer (such as `chunkSize: 0`) or a script that throws gets a 500 error
 * whose message says why.
 *
 * @category models
 * @since 0.1.0
 */
export type Script =
  | ReadonlyArray<Answer>
  | ((request: RecordedRequest, index: number) => Answer | Promise<Answer>)

/**
 * Options of {@link continuing}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ContinuingOptions {
  /**
   * Options of the n-th reply (the last element applies to every later
   * request), for example `[{ fault: resetAfter(3) }, {}]` to cut the first
   * answer. Default: one reply with the default options.
   */
  readonly replies?: ReadonlyArray<ReplyOptions>
  /**
   * Characters of the partial answer the model says again before it goes on
   * (default 0, as a model continuing an assistant prefill): a number, or a
   * function of the partial answer, such as one that restates its last word.
   */
  readonly repeat?: number | ((partial: string) => number)
}

/**
 * How a response ended: `completed` (the server ended it, errors included),
 * `disconnected` (the client closed the connection first, for example on
 * abort), `reset` (a `Reset` fault or `Hangup` destroyed the socket),
 * `shutdown` (the server closed while the response was open).
 *
 * @category models
 * @since 0.1.0
 */
export type Outcome = "completed" | "disconnected" | "reset" | "shutdown"

/**
 * A request as the server received it. `outcome` and `disconnected` change
 * when the response ends.
 *
 * @category models
 * @since 0.1.0
 */
export interface RecordedRequest {
  readonly method: string
  /** The path without the query string. */
  readonly path: string
  /** `undefined` for a path outside the three routes (answered with 404). */
  readonly protocol: Protocol | undefined
  /**
   * Lower-cased header names. The values of `authorization`,
   * `proxy-authorization`, `x-api-key` and `api-key` are redacted
   * (`Bearer <redacted>`, `<redacted>`).
   */
  readonly headers: Readonly<Record<string, string>>
  /** The parsed JSON body, or `undefined` when the body is not JSON. */
  readonly body: unknown
  /** The body as text. */
  readonly rawBody: string
  /** `undefined` while the response is open. */
  readonly outcome: Outcome | undefined
  /** The client closed the connection before the response ended. */
  readonly disconnected: boolean
}

/**
 * Where the server listens.
 *
 * @category models
 * @since 0.1.0
 */
export interface Addresses {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `url` + `/v1`: the `baseURL` of the `openai` client. */
  readonly openaiBaseUrl: string
  /** `url`: the `baseURL` of the `@anthropic-ai/sdk` client (it adds `/v1/messages`). */
  readonly anthropicBaseUrl: string
}

/**
 * A running server, for Effect programs (see {@link start}).
 *
 * @category models
 * @since 0.1.0
 */
export interface ProviderServer extends Addresses {
  /** Every request so far, in arrival order. */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Waits until the `index`-th request (from 0) has arrived, and returns it. */
  readonly awaitRequest: (index: number) => Effect.Effect<RecordedRequest>
  /** Waits until the response to the `index`-th request has ended, and tells how. */
  readonly awaitEnd: (index: number) => Effect.Effect<Outcome>
}

/**
 * A running server, for plain async code (see {@link listen}).
 *
 * @category models
 * @since 0.1.0
 */
export interface AsyncProviderServer extends Addresses {
  /** Every request so far, in arrival order. */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Resolves once the `index`-th request (from 0) has arrived. */
  readonly awaitRequest: (index: number) => Promise<RecordedRequest>
  /** Resolves once the response to the `index`-th request has ended, with how. */
  readonly awaitEnd: (index: number) => Promise<Outcome>
  /** Stops listening and destroys every open connection, stalled ones included. */
  readonly close: () => Promise<void>
}

/**
 * A streamed answer with `text`.
 *
 * **Example** (Three-character chunks, 5 ms apart, then a reset)
 * ```ts
 * ProviderServer.reply("Hello, world", { chunkSize: 3, delay: 5, fault: ProviderServer.resetAfter(2) })
 * ```
 * @category answers
 * @since 0.1.0
 */
export const reply = (text: string | ReadonlyArray<string>, options: ReplyOptions = {}): Reply => ({
  ...options,
  _tag: "Reply",
  text
})

/**
 * An error response with `status` and the protocol's JSON error body.
 *
 * **Example** (Rate limited, retry in 2 seconds)
 * ```ts
 * ProviderServer.httpError(429, { retryAfter: 2 })
 * ```
 * @category answers
 * @since 0.1.0
 */
export const httpError = (status: number, options: HttpErrorOptions = {}): HttpError => ({
  ...options,
  _tag: "HttpError",
  status
})

/**
 * Replays `body` byte for byte.
 *
 * **Example** (A recorded transcript in 7-byte pieces, so UTF-8 characters are split)
 * ```ts
 * ProviderServer.replay(readFileSync("test/fixtures/anthropic-thinking.sse"), { chunkSize: 7 })
 * ```
 * @category answers
 * @since 0.1.0
 */
export const replay = (body: string | Uint8Array, options: ReplayOptions = {}): Replay => ({
  ...options,
  _tag: "Replay",
  body
})

/**
 * Answers with the whole completion as JSON, ignoring `"stream": true`.
 *
 * **Example** (A gateway that does not stream)
 * ```ts
 * ProviderServer.unstreamed("Hello!", { usage: { inputTokens: 3, outputTokens: 2 } })
 * ```
 * @category answers
 * @since 0.1.0
 */
export const unstreamed = (text: string | ReadonlyArray<string>, options: UnstreamedOptions = {}): Unstreamed => ({
  ...options,
  _tag: "Unstreamed",
  text
})

/**
 * Destroys the connection without answering.
 *
 * @category answers
 * @since 0.1.0
 */
export const hangup: Hangup = { _tag: "Hangup" }

/**
 * A script for continuation tests: a model that knows its whole answer
 * `text` and, for each request, streams the part of it that follows the
 * partial answer the request carries (the text of its last assistant
 * message: an Anthropic prefill, or the partial answer in front of an
 * OpenAI "continue" message; none in a first request). A request whose
 * partial answer is not the start of `text` gets a 400 that says so.
 *
 * **Example** (Cut the first answer; the retry continues, restating the last word)
 * ```ts
 * ProviderServer.continuing("The quick brown fox", {
 *   replies: [{ fault: ProviderServer.resetAfter(3) }, {}],
 *   repeat: (partial) => partial.length - partial.lastIndexOf(" ") - 1
 * })
 * ```
 * @category scripts
 * @since 0.1.0
 */
export const continuing = (text: string, options: ContinuingOptions = {}): Script => internal.continuing(text, options)

/**
 * Destroys the socket after `after` content chunks; with `cut`, after part
 * of the next chunk.
 *
 * **Example** (The connection dies inside the third chunk's first emoji)
 * ```ts
 * ProviderServer.reply("ab😀cd😀", { chunkSize: 2, fault: ProviderServer.resetAfter(2, { cut: "character" }) })
 * ```
 * @category faults
 * @since 0.1.0
 */
export const resetAfter = (after: number, options: { readonly cut?: Cut | undefined } = {}): Fault =>
  options.cut === undefined ? { _tag: "Reset", after } : { _tag: "Reset", after, cut: options.cut }

/**
 * Ends the response cleanly after `after` content chunks, without the
 * closing events. `endAfter(0)` sends the opening events only.
 *
 * @category faults
 * @since 0.1.0
 */
export const endAfter = (after: number): Fault => ({ _tag: "End", after })

/**
 * Sends nothing more after `after` content chunks, keeping the connection open.
 *
 * @category faults
 * @since 0.1.0
 */
export const stallAfter = (after: number): Fault => ({ _tag: "Stall", after })

/**
 * Sends the protocol's in-band error event after `after` content chunks and
 * ends the response.
 *
 * **Example** (Anthropic overloaded mid-stream)
 * ```ts
 * ProviderServer.reply("Hello there", { fault: ProviderServer.errorAfter(2, { type: "overloaded_error" }) })
 * ```
 * @category faults
 * @since 0.1.0
 */
export const errorAfter = (after: number, error: ErrorDetails = {}): Fault => ({ _tag: "InBandError", after, error })

/**
 * Writes malformed SSE after `after` content chunks: `raw` as is, or by
 * default an event whose JSON data is cut off.
 *
 * @category faults
 * @since 0.1.0
 */
export const malformedAfter = (after: number, raw?: string): Fault =>
  raw === undefined ? { _tag: "Malformed", after } : { _tag: "Malformed", after, raw }

/**
 * Starts a server on 127.0.0.1 (a free port) for the life of the scope. When
 * the scope closes, the server stops and every connection is destroyed, so
 * stalled clients never keep the process alive.
 *
 * **Example** (The real `openai` client against a scripted reply)
 * ```ts
 * import OpenAI from "openai"
 * import { ProviderServer } from "effect-l0/testing"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const server = yield* ProviderServer.start([ProviderServer.httpError(429, { retryAfter: 1 }), "Hello!"])
 *   const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: "test", maxRetries: 0 })
 *   // first request: APIError 429 with retry-after "1"; second: "Hello!" in chunks
 * }))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const start = (script: Script): Effect.Effect<ProviderServer, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Effect.promise(() => internal.listen(script)), (server) => Effect.promise(server.close)),
    (server): ProviderServer => ({
      url: server.url,
      openaiBaseUrl: server.openaiBaseUrl,
      anthropicBaseUrl: server.anthropicBaseUrl,
      requests: server.requests,
      awaitRequest: (index) => Effect.promise(() => server.awaitRequest(index)),
      awaitEnd: (index) => Effect.promise(() => server.awaitEnd(index))
    })
  )

/**
 * Starts a server on 127.0.0.1 (a free port) for code outside Effect. Call
 * `close()` when done.
 *
 * **Example** (In a vitest suite)
 * ```ts
 * const server = await ProviderServer.listen(["Hello!"])
 * try {
 *   const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: "test", maxRetries: 0 })
 *   // ... call your code with `client`
 *   expect(server.requests[0]?.body).toMatchObject({ stream: true })
 * } finally {
 *   await server.close()
 * }
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const listen = (script: Script): Promise<AsyncProviderServer> => internal.listen(script)
