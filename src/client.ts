/**
 * effect-l0/client: reads, in a browser or any runtime with `fetch`, the
 * Server-Sent Events that `Sse.toResponse` sends, applies resets and exposes
 * the live text. It has no dependencies (not even `effect`) and uses no Node
 * API.
 *
 * **Example** (Showing a streamed answer)
 * ```ts
 * import { read } from "effect-l0/client"
 *
 * const reply = read(fetch("/chat", { method: "POST", body: JSON.stringify({ question }) }), {
 *   onText: (text) => { answer.textContent = text }
 * })
 * const { text, complete } = await reply.result // rejects with a StreamError
 * ```
 * @since 0.1.0
 */

/**
 * The error categories of effect-l0, as sent in `error` events.
 *
 * @category models
 * @since 0.1.0
 */
export type ErrorCategory = "network" | "transient" | "model" | "content" | "fatal"

/**
 * The data of an `error` event.
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorPayload {
  /** The server's error tag (`"TransientError"`, `"ExhaustedError"`, …). */
  readonly tag: string
  readonly category: ErrorCategory
  readonly message: string
  /** The provider's HTTP status, when the error came from one. */
  readonly status?: number | undefined
  /** Why, for some tags: a `ResumeError`'s `"expired"`, `"invalid"`, `"unavailable"` or `"stalled"`. */
  readonly reason?: string | undefined
}

/**
 * The data of the default `complete` event: the final state and usage of the
 * run, with only fields that are safe to show.
 *
 * @category models
 * @since 0.1.0
 */
export interface CompletePayload {
  readonly state: {
    readonly content: string
    readonly tokenCount: number
    readonly firstTokenAt: number | undefined
    readonly lastTokenAt: number | undefined
    /** The attempt that answered, counted within its source (1 for the first attempt of each fallback). */
    readonly attempt: number
    /** The attempts of the whole run, over every source: what to show as "done in N attempts". */
    readonly totalAttempts: number
    readonly modelRetryCount: number
    readonly networkRetryCount: number
    readonly fallbackIndex: number
    readonly finishReason: string | undefined
    readonly toolCalls: ReadonlyArray<{ readonly id: string; readonly name: string; readonly arguments: string }>
    /** Every guardrail violation of the run, with the source (0 for the first) and attempt that found it. */
    readonly violations: ReadonlyArray<{
      readonly rule: string
      readonly message: string
      readonly severity: string
      readonly source: number
      readonly attempt: number
    }>
  }
  readonly usage?: {
    readonly inputTokens?: number | undefined
    readonly outputTokens?: number | undefined
    readonly totalTokens?: number | undefined
  } | undefined
}

/**
 * How a read failed. `tag` and `category` are the server's for `error`
 * events; the reader itself fails with `"HttpError"` (a status other than
 * 2xx), `"ProtocolError"` (not an event stream, data it cannot read or
 * trust, an event over `maxEventSize`), `"NetworkError"` (the connection
 * failed or ended before `complete`) and `"FatalError"` (an invalid option).
 *
 * @category errors
 * @since 0.1.0
 */
export class StreamError extends Error {
  override readonly name = "StreamError"
  readonly tag: string
  readonly category: ErrorCategory
  readonly status: number | undefined
  readonly reason: string | undefined
  constructor(payload: ErrorPayload, options?: { readonly cause?: unknown }) {
    super(payload.message, options)
    this.tag = payload.tag
    this.category = payload.category
    this.status = payload.status
    this.reason = payload.reason
  }
}

/**
 * What a completed reply resolves to: the text shown and the data of the
 * `complete` event.
 *
 * @category models
 * @since 0.1.0
 */
export interface Result<Complete = CompletePayload> {
  /** The text shown when the stream completed, resets applied. */
  readonly text: string
  /** The data of the `complete` event. */
  readonly complete: Complete
}

/**
 * Callbacks of `read`, called as the server's events arrive, and a signal to
 * stop reading.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReadOptions {
  /** Called with the whole text after every token and reset. */
  readonly onText?: ((text: string) => void) | undefined
  /** Called with each piece of text as it arrives. */
  readonly onToken?: ((value: string) => void) | undefined
  /** Called when the server retried after text was shown: keep the first `kept` characters. */
  readonly onReset?: ((kept: number) => void) | undefined
  /**
   * Aborting it stops reading, cancels the response and rejects `result` with the signal's reason; once `complete`
   * has arrived it changes nothing.
   */
  readonly signal?: AbortSignal | undefined
  /**
   * The most characters (UTF-16 code units) one event may hold while it is read: its unfinished line, `event` name
   * and `data` lines. A larger one (a line that never ends, say) rejects with a `ProtocolError` instead of filling
   * the memory. Default {@link defaultMaxEventSize}. The `complete` event holds the whole text, so this also bounds
   * the answer.
   */
  readonly maxEventSize?: number | undefined
  /**
   * Reconnecting after the connection dropped before `complete`, for a `read` given a function that makes the
   * request (and for `connect`): at most `attempts` tries in a row (default 5; 0 never reconnects), waiting `delay`
   * milliseconds (default 250) doubled at each try up to `maxDelay` (default 5000). Only a stream whose events
   * carry ids (`Sse` with `resume`) is reconnected: the request is made again with the last id as
   * `Last-Event-ID`, and the server sends what follows it.
   */
  readonly reconnect?: {
    /**
     * The request may be made again from scratch (the server answers a session id with one answer, as `Sse` with
     * `resume` and `Fleet` do): a connection that fails before any event is then tried again, without a cursor.
     */
    readonly idempotent?: boolean | undefined
    readonly attempts?: number | undefined
    readonly delay?: number | undefined
    readonly maxDelay?: number | undefined
  } | undefined
  /** Called before each reconnection, with its number in a row (from 1) and what ended the connection. */
  readonly onReconnect?: ((attempt: number, error: StreamError) => void) | undefined
}

/**
 * What `read` reads: a response, or a function that makes the request, given
 * the cursor to resume from (`undefined` for the first request), which lets
 * the reader reconnect.
 *
 * @category models
 * @since 0.1.0
 */
export type Source =
  | Response
  | Promise<Response>
  | ((lastEventId: string | undefined) => Response | Promise<Response>)

/**
 * The default `maxEventSize`: 10 × 1024 × 1024 characters, the limit of the
 * event-stream decoder that effect-l0 reads provider streams with.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultMaxEventSize = 10 * 1024 * 1024

/**
 * A response being read. Iterating it yields the whole text each time it
 * changed (a slow loop skips to the latest text), ends when the stream
 * completes and throws what `result` rejects with; leaving the loop early
 * cancels the response.
 *
 * @category models
 * @since 0.1.0
 */
export interface Reader<Complete = CompletePayload> extends AsyncIterable<string> {
  /** The text so far, resets applied. */
  readonly text: string
  /** Resolves when the `complete` event arrives; rejects with a `StreamError` or an `AbortError`. */
  readonly result: Promise<Result<Complete>>
  /** Stops reading and cancels the response; `result` rejects with an `AbortError`. */
  cancel(): void
}

const protocolError = (message: string, cause?: unknown): StreamError =>
  new StreamError({ tag: "ProtocolError", category: "fatal", message }, { cause })

const networkError = (message: string, cause?: unknown): StreamError =>
  new StreamError({ tag: "NetworkError", category: "network", message }, { cause })

const optionError = (message: string): StreamError => new StreamError({ tag: "FatalError", category: "fatal", message })

const isAbort = (u: unknown): boolean => typeof u === "object" && u !== null && "name" in u && u.name === "AbortError"

const abortError = (reason: unknown): unknown =>
  isAbort(reason) ? reason : new DOMException("The stream was aborted", "AbortError")

const CATEGORIES: ReadonlySet<unknown> = new Set(["network", "transient", "model", "content", "fatal"])

const parseJson = (event: string, data: string): unknown => {
  try {
    return JSON.parse(data)
  } catch (cause) {
    throw protocolError(`The data of a "${event}" event is not JSON`, cause)
  }
}

const errorOf = (data: string): StreamError => {
  const payload = parseJson("error", data)
  if (typeof payload !== "object" || payload === null) throw protocolError(`The "error" event holds no error`)
  const { tag, category, message, status } = payload as Record<string, unknown>
  return new StreamError({
    tag: typeof tag === "string" ? tag : "UnknownError",
    category: CATEGORIES.has(category) ? category as ErrorCategory : "fatal",
    message: typeof message === "string" ? message : "The server reported an error",
    status: typeof status === "number" ? status : undefined,
    reason: typeof (payload as { reason?: unknown }).reason === "string" ? (payload as { reason: string }).reason
      : undefined
  })
}

const tooLarge = (maxSize: number): StreamError =>
  protocolError(`An event of the stream exceeds maxEventSize (${maxSize} characters)`)

/** The `state.content` of the default `complete` payload; `undefined` for a payload without one (`Sse` `complete` option). */
const contentOf = (payload: unknown): unknown => {
  if (typeof payload !== "object" || payload === null) return undefined
  const state: unknown = (payload as { state?: unknown }).state
  return typeof state === "object" && state !== null ? (state as { content?: unknown }).content : undefined
}

/** An option value in an error message: its type, or the number itself. */
const describe = (u: unknown): string => typeof u === "number" ? String(u) : typeof u

/**
 * Splits decoded text into Server-Sent Events: lines end with CRLF, LF or
 * CR (also when a CRLF is split between reads), `data` lines join with LF,
 * comments and unknown fields are skipped, and an event is dispatched at a
 * blank line when it has data. An event that grows past `maxSize`
 * characters (its unfinished line, name and data) fails the read.
 */
const makeParser = (
  dispatch: (event: string, data: string) => void,
  maxSize: number,
  onId: (id: string) => void
) => {
  let id: string | undefined = undefined
  let buffer = ""
  let skipLf = false
  let event = ""
  let data: Array<string> = []
  let dataSize = 0
  const line = (text: string) => {
    if (text === "") {
      // an id applies once its event is dispatched, also when it has no data (a cursor before any event)
      if (id !== undefined) onId(id)
      id = undefined
      if (data.length > 0) dispatch(event === "" ? "message" : event, data.join("\n"))
      event = ""
      data = []
      dataSize = 0
      return
    }
    const colon = text.indexOf(":")
    if (colon === 0) return
    const field = colon === -1 ? text : text.slice(0, colon)
    const value = colon === -1 ? "" : text.slice(text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1)
    if (field === "event") event = value
    else if (field === "id") {
      if (!value.includes("\0")) id = value
      return
    } else if (field === "data") {
      data.push(value)
      dataSize += value.length + 1
    } else return
    if (event.length + dataSize > maxSize) throw tooLarge(maxSize)
  }
  return (chunk: string): void => {
    if (chunk === "") return
    let start = skipLf && chunk.charCodeAt(0) === 10 ? 1 : 0
    skipLf = false
    for (let i = start; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      line(buffer + chunk.slice(start, i))
      buffer = ""
      if (c === 13) {
        if (i + 1 === chunk.length) skipLf = true
        else if (chunk.charCodeAt(i + 1) === 10) i++
      }
      start = i + 1
    }
    buffer += chunk.slice(start)
    // a line that never ends is held in full until it does
    if (buffer.length + event.length + dataSize > maxSize) throw tooLarge(maxSize)
  }
}

/**
 * Reads an event stream sent by `Sse.toResponse`: `token` events append to
 * the text, `reset` events cut it to its first `kept` characters, `complete`
 * resolves `result`, and `error` rejects it with a `StreamError` carrying the
 * server's tag, category, message and status. Reading starts at once.
 *
 * **Example** (Rendering with a loop)
 * ```ts
 * const reply = read(fetch("/chat"))
 * for await (const text of reply) answer.textContent = text
 * const { complete } = await reply.result
 * ```
 * @category reading
 * @since 0.1.0
 */
export const read = <Complete = CompletePayload>(
  source: Source,
  options: ReadOptions = {}
): Reader<Complete> => {
  const { maxEventSize = defaultMaxEventSize, onReconnect, onReset, onText, onToken, reconnect = {}, signal } = options
  const { attempts = 5, delay = 250, idempotent = false, maxDelay = 5000 } = reconnect
  let text = ""
  /** The id of the last event dispatched: where a reconnection resumes. */
  let cursor: string | undefined = undefined
  /** Events dispatched since the last (re)connection: progress resets the count of tries. */
  let progress = false
  let version = 0
  let outcome:
    | { readonly ok: true; readonly value: Result<Complete> }
    | { readonly ok: false; readonly error: unknown }
    | undefined
  let body: ReadableStreamDefaultReader<Uint8Array> | undefined
  let wake: Array<() => void> = []
  let resolveResult!: (result: Result<Complete>) => void
  let rejectResult!: (error: unknown) => void
  const result = new Promise<Result<Complete>>((resolve, reject) => {
    resolveResult = resolve
    rejectResult = reject
  })
  // a caller that only uses callbacks or the loop must not see an unhandled rejection
  result.catch(() => {})

  const notify = () => {
    const waiting = wake
    wake = []
    for (const resume of waiting) resume()
  }
  const finish = (next: NonNullable<typeof outcome>) => {
    if (outcome !== undefined) return
    outcome = next
    signal?.removeEventListener("abort", onAbort)
    if (next.ok) resolveResult(next.value)
    else rejectResult(next.error)
    body?.cancel().catch(() => {})
    notify()
  }
  const cancel = (reason?: unknown) => finish({ ok: false, error: abortError(reason) })
  const onAbort = () => cancel(signal?.reason)

  const dispatch = (event: string, data: string): void => {
    if (outcome !== undefined) return
    progress = true
    switch (event) {
      case "token": {
        const value = parseJson(event, data)
        if (typeof value !== "string") throw protocolError(`The "token" event holds no text`)
        text += value
        version++
        onToken?.(value)
        onText?.(text)
        notify()
        break
      }
      case "reset": {
        const payload = parseJson(event, data)
        const kept = typeof payload === "object" && payload !== null ? (payload as { kept?: unknown }).kept : undefined
        if (typeof kept !== "number" || !Number.isInteger(kept) || kept < 0) {
          throw protocolError(`The "reset" event holds no valid "kept" count`)
        }
        // the server only takes back text it sent: a larger count means the two disagree on the text
        if (kept > text.length) {
          throw protocolError(`The "reset" event keeps ${kept} characters of the ${text.length} the stream sent`)
        }
        text = text.slice(0, kept)
        version++
        onReset?.(kept)
        onText?.(text)
        notify()
        break
      }
      case "complete": {
        const complete = parseJson(event, data)
        const content = contentOf(complete)
        if (content !== undefined && content !== text) {
          throw protocolError(
            `The "complete" event's state.content is not the text the stream sent (${
              typeof content === "string" ? `${content.length} characters` : typeof content
            }, ${text.length} sent)`
          )
        }
        finish({ ok: true, value: { text, complete: complete as Complete } })
        break
      }
      case "error":
        finish({ ok: false, error: errorOf(data) })
    }
  }

  const once = async (response: Response | Promise<Response>): Promise<void> => {
    const res = await Promise.resolve(response).catch((error: unknown) => {
      throw isAbort(error) ? error : networkError("The request failed", error)
    })
    if (outcome !== undefined) return void res.body?.cancel().catch(() => {})
    if (!res.ok) {
      res.body?.cancel().catch(() => {})
      throw new StreamError({
        tag: "HttpError",
        category: res.status === 429 || res.status >= 500 ? "transient" : "fatal",
        message: `The server answered ${res.status}${res.statusText === "" ? "" : ` ${res.statusText}`}`,
        status: res.status
      })
    }
    const type = res.headers.get("content-type") ?? ""
    if (!type.toLowerCase().startsWith("text/event-stream") || res.body === null) {
      res.body?.cancel().catch(() => {})
      throw protocolError(`Expected an event stream, got ${type === "" ? "no content type" : `"${type}"`}`)
    }
    body = res.body.getReader()
    const decoder = new TextDecoder()
    const parse = makeParser(dispatch, maxEventSize, (id) => {
      cursor = id
    })
    for (;;) {
      const { done, value } = await body.read().catch((error: unknown) => {
        throw isAbort(error) ? error : networkError("The connection failed while streaming", error)
      })
      if (outcome !== undefined) return
      if (done) break
      parse(decoder.decode(value, { stream: true }))
    }
    parse(decoder.decode())
    throw networkError("The stream ended before its complete event")
  }

  const canRetry = (error: unknown): error is StreamError =>
    error instanceof StreamError && (error.tag === "NetworkError" || (error.tag === "HttpError" &&
      error.category === "transient"))

  const pause = (ms: number) =>
    new Promise<void>((resume) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        signal?.removeEventListener("abort", done)
        resume()
      }
      signal?.addEventListener("abort", done, { once: true })
    })

  const pump = async (): Promise<void> => {
    if (typeof source !== "function") return once(source)
    let tries = 0
    for (let request: Response | Promise<Response> = source(undefined);;) {
      progress = false
      try {
        return await once(request)
      } catch (error) {
        if (progress) tries = 0
        // without a cursor the server did not offer to resume: a new request would start the answer again, which
        // only an idempotent one may, and only before any event
        const resumable = cursor !== undefined && cursor !== "" || idempotent && cursor === undefined && version === 0
        if (outcome !== undefined || !canRetry(error) || !resumable || tries >= attempts) throw error
        tries++
        onReconnect?.(tries, error)
        await pause(Math.min(delay * 2 ** (tries - 1), maxDelay))
        if (outcome !== undefined) return
        body = undefined
        try {
          request = source(cursor)
        } catch (thrown) {
          request = Promise.reject(thrown)
        }
      }
    }
  }

  const badReconnect = [["attempts", attempts], ["delay", delay], ["maxDelay", maxDelay]].find(
    ([, value]) => !(Number.isSafeInteger(value) && (value as number) >= 0)
  )
  if (!(Number.isSafeInteger(maxEventSize) && maxEventSize > 0)) {
    finish({
      ok: false,
      error: optionError(`Invalid option "maxEventSize": expected a positive integer, got ${describe(maxEventSize)}`)
    })
  } else if (badReconnect !== undefined) {
    finish({
      ok: false,
      error: optionError(
        `Invalid option "reconnect.${badReconnect[0]}": expected an integer ≥ 0, got ${describe(badReconnect[1])}`
      )
    })
  } else if (signal?.aborted) cancel(signal.reason)
  else signal?.addEventListener("abort", onAbort, { once: true })
  // what a callback throws rejects `result` unchanged
  pump().catch((error: unknown) => finish({ ok: false, error }))

  return {
    get text() {
      return text
    },
    result,
    cancel: () => cancel(),
    [Symbol.asyncIterator]: (): AsyncIterator<string> => {
      let seen = 0
      const next = async (): Promise<IteratorResult<string>> => {
        while (seen === version && outcome === undefined) await new Promise<void>((resume) => wake.push(resume))
        if (seen !== version && (outcome === undefined || outcome.ok)) {
          seen = version
          return { value: text, done: false }
        }
        if (outcome !== undefined && !outcome.ok) throw outcome.error
        return { value: undefined, done: true }
      }
      return {
        next,
        return: async () => {
          cancel()
          return { value: undefined, done: true }
        }
      }
    }
  }
}

/**
 * Reads the event stream of `fetch(input, init)`, reconnecting after a drop
 * with the last event's id as `Last-Event-ID` (the same method, headers and
 * body, so give a body that can be sent again: a string, not a stream).
 *
 * **Example** (A resumable answer)
 * ```ts
 * import { connect } from "effect-l0/client"
 *
 * const reply = connect("/chat", { method: "POST", body: JSON.stringify({ sessionId: "chat-42", question }) }, {
 *   onText: (text) => console.log(text)
 * })
 * ```
 * @category reading
 * @since 0.1.0
 */
export const connect = <Complete = CompletePayload>(
  input: string | URL,
  init: RequestInit = {},
  options: ReadOptions = {}
): Reader<Complete> =>
  read<Complete>((lastEventId) => {
    if (lastEventId === undefined) return fetch(input, init)
    const headers = new Headers(init.headers)
    headers.set("last-event-id", lastEventId)
    return fetch(input, { ...init, headers })
  }, options)

/**
 * The type of the data part that `AiSdk.toUIMessageStreamResponse` sends
 * with `reset: "data-part"` where a retry takes text back: `{ kept }`.
 *
 * @category ai sdk
 * @since 0.1.0
 */
export const RESET_PART = "data-effect-l0-reset"

/**
 * The part of an AI SDK `UIMessage` that {@link uiMessageText} reads.
 *
 * @category ai sdk
 * @since 0.1.0
 */
export interface UIMessageLike {
  readonly parts: ReadonlyArray<{ readonly type: string; readonly text?: unknown; readonly data?: unknown }>
}

/**
 * The text to show of an assistant message that an L0 run streamed with
 * `reset: "data-part"` (for `useChat` of ai 6): its text parts in order,
 * each `data-effect-l0-reset` part keeping the first `kept` characters of
 * the text before it. With the default `reset: "reset-step"` the message's
 * text parts are the text already.
 *
 * **Example** (Showing a message of useChat)
 * ```ts
 * import { uiMessageText } from "effect-l0/client"
 *
 * const message = { parts: [{ type: "text", text: "The quick" }, { type: "data-effect-l0-reset", data: { kept: 4 } }] }
 * answer.textContent = uiMessageText(message) // "The "
 * ```
 * @category ai sdk
 * @since 0.1.0
 */
export const uiMessageText = (message: UIMessageLike): string => {
  let text = ""
  for (const part of message.parts) {
    if (part.type === "text" && typeof part.text === "string") {
      text += part.text
    } else if (part.type === RESET_PART) {
      const kept = typeof part.data === "object" && part.data !== null ? (part.data as { kept?: unknown }).kept
        : undefined
      if (typeof kept === "number" && kept >= 0) text = text.slice(0, kept)
    }
  }
  return text
}
