/**
 * Streaming to a browser: an L0 stream as a standard `Response` of
 * Server-Sent Events, which `effect-l0/client` reads (or any `EventSource`).
 *
 * Events, each with JSON data:
 * - `token`: a string of text; tokens that arrive together are sent as one
 * - `reset`: `{ kept }`, a retry follows text already sent: keep the first
 *   `kept` characters (UTF-16 code units, as `String.length` counts them)
 * - `complete`: the final state and usage (see `completePayload`), last
 * - `error`: `{ tag, category, message, status? }`, last; message redacted
 *
 * `Data` and `ToolCall` events are not sent (tool calls are in
 * the `complete` state). A comment (`: keep-alive`) goes out at an interval,
 * so that proxies keep the connection open. Closing the response body (the
 * client went away) or aborting `signal` interrupts the stream, which aborts
 * the provider request.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Context from "effect/Context"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as AnswerBuffer from "./AnswerBuffer.js"
import type { CompletePayload, ErrorPayload } from "./client.js"
import { safeCause } from "./internal/cause.js"
import { checkKeys, invalidOption } from "./internal/optionSchema.js"
import { redactSecrets } from "./internal/redact.js"
import type { L0Error } from "./L0Error.js"
import type { Complete, L0Event } from "./L0Event.js"

/**
 * The data of the `complete` and `error` events, shared with `effect-l0/client`.
 *
 * @category models
 * @since 0.1.0
 */
export type { CompletePayload, ErrorPayload } from "./client.js"

/**
 * Options of `toResponse` and the other server functions: keep-alive
 * interval, headers, the `complete` payload and cancellation.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Interval of the keep-alive comments; default 15 seconds, `"Infinity"` sends none. */
  readonly keepAlive?: Duration.Input | undefined
  /** Headers added to (or replacing) the defaults, e.g. for CORS. */
  readonly headers?: HeadersInit | undefined
  /** The data of the `complete` event; default `completePayload`. */
  readonly complete?: ((event: Complete) => unknown) | undefined
  /**
   * Aborting it interrupts the stream (pass the request's signal where the runtime has one). With `resume`, it ends
   * only this response: the answer goes on into the buffer.
   */
  readonly signal?: AbortSignal | undefined
  /**
   * Resumable delivery: every event gets an id (a resume cursor), the answer runs into `buffer` under `sessionId`
   * whether or not the client stays, and a request with `lastEventId` (its `Last-Event-ID` header) gets what
   * follows that event instead of a new answer. See {@link resumable}.
   */
  readonly resume?: Resume | undefined
}

/**
 * The `resume` option: the buffer, the answer's session id (one id, one
 * answer), and the cursor the client sent, if any.
 *
 * @category models
 * @since 0.1.0
 */
export interface Resume {
  readonly buffer: AnswerBuffer.Buffer
  readonly sessionId: string
  /** The request's `Last-Event-ID` header: `request.headers.get("last-event-id")`. */
  readonly lastEventId?: string | null | undefined
}

/**
 * The headers of every event-stream response.
 *
 * @category constants
 * @since 0.1.0
 */
export const headers: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  // nginx buffers responses unless told otherwise
  "x-accel-buffering": "no"
}

/**
 * The default data of the `complete` event: the final state and the token
 * counts, listed field by field so that nothing else (the provider's raw
 * usage object, the continuation checkpoint, fields added later) reaches the
 * browser unless you send it. Each violation names the source and attempt
 * that found it. `completed`, `aborted` and `lastGoodContent` are left out:
 * at completion they are `true`, `false` and the content itself.
 *
 * @category encoding
 * @since 0.1.0
 */
export const completePayload = (event: Complete): CompletePayload => {
  const { state, usage } = event
  return {
    state: {
      content: state.content,
      tokenCount: state.tokenCount,
      firstTokenAt: state.firstTokenAt,
      lastTokenAt: state.lastTokenAt,
      attempt: state.attempt,
      totalAttempts: state.totalAttempts,
      modelRetryCount: state.modelRetryCount,
      networkRetryCount: state.networkRetryCount,
      fallbackIndex: state.fallbackIndex,
      finishReason: state.finishReason,
      toolCalls: state.toolCalls.map(({ arguments: args, id, name }) => ({ id, name, arguments: args })),
      violations: state.violations.map(({ attempt, message, rule, severity, source }) => ({
        rule,
        message,
        severity,
        source,
        attempt
      }))
    },
    usage: usage === undefined ? undefined : {
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      totalTokens: usage.totalTokens
    }
  }
}

/**
 * The data of the `error` event: tag, category, message (API keys and bearer
 * tokens removed) and status; never the cause, which may hold request
 * headers. An `ExhaustedError` reports its last attempt's status.
 *
 * @category encoding
 * @since 0.1.0
 */
export const errorPayload = (error: L0Error): ErrorPayload => {
  const status = error._tag === "ExhaustedError" ? error.lastError?.status : error.status
  return {
    tag: error._tag,
    category: error.category,
    message: redactSecrets(error.message),
    ...(status === undefined ? {} : { status })
  }
}

const KeepAlive = Symbol.for("effect-l0/Sse/KeepAlive")

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

const failure = (payload: ErrorPayload): Uint8Array => encoder.encode(frame("error", payload))

const encoder = new TextEncoder()

const encodeArray =
  (complete: (event: Complete) => unknown) => (items: ReadonlyArray<L0Event | typeof KeepAlive>): Uint8Array => {
    let out = ""
    let tokens: Array<string> = []
    const flush = () => {
      if (tokens.length === 0) return
      out += frame("token", tokens.length === 1 ? tokens[0] : tokens.join(""))
      tokens = []
    }
    for (const item of items) {
      if (item === KeepAlive) {
        flush()
        out += ": keep-alive\n\n"
      } else if (item._tag === "Token") {
        tokens.push(item.value)
      } else if (item._tag === "Reset") {
        flush()
        out += frame("reset", { kept: item.kept })
      } else if (item._tag === "Complete") {
        flush()
        out += frame("complete", complete(item))
      }
    }
    flush()
    return encoder.encode(out)
  }

const OPTION_KEYS = { keepAlive: true, headers: true, complete: true, signal: true, resume: true } as const
const RESUME_KEYS = { buffer: true, sessionId: true, lastEventId: true } as const

/** The frames of an array of events, each without its blank line: tokens that arrive together are one frame. */
const framesOf = (complete: (event: Complete) => unknown) => (items: ReadonlyArray<L0Event>): Array<string> => {
  const out: Array<string> = []
  let tokens = ""
  let pending = false
  const flush = () => {
    if (!pending) return
    out.push(`event: token\ndata: ${JSON.stringify(tokens)}\n`)
    tokens = ""
    pending = false
  }
  for (const item of items) {
    if (item._tag === "Token") {
      tokens += item.value
      pending = true
    } else if (item._tag === "Reset") {
      flush()
      out.push(`event: reset\ndata: ${JSON.stringify({ kept: item.kept })}\n`)
    } else if (item._tag === "Complete") {
      flush()
      out.push(`event: complete\ndata: ${JSON.stringify(complete(item))}\n`)
    }
  }
  flush()
  return out
}

const errorFrame = (payload: ErrorPayload): string => `event: error\ndata: ${JSON.stringify(payload)}\n`

/** The last frame of a failed answer: its error, or none for an interruption (a takeover goes on with it). */
const failureFrame = (cause: Cause.Cause<unknown>): string | undefined => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) return errorFrame(errorPayload(error.value as L0Error))
  if (Cause.hasInterruptsOnly(cause)) return undefined
  return errorFrame({ tag: "InternalError", category: "fatal", message: "The server failed while streaming" })
}

/**
 * How `AnswerBuffer.publish` turns L0 events into the frames of `Sse`.
 *
 * @category encoding
 * @since 0.1.0
 */
export const framing = (
  complete: (event: Complete) => unknown = completePayload
): AnswerBuffer.Framing<L0Event> => ({
  frames: framesOf(complete),
  isLast: (frame) => frame.startsWith("event: complete\n") || frame.startsWith("event: error\n"),
  failure: failureFrame
})

const resumeErrorPayload = (error: AnswerBuffer.ResumeError): ErrorPayload & { readonly reason: string } => ({
  tag: "ResumeError",
  category: "fatal",
  reason: error.reason,
  message: error.message
})

/**
 * The bytes of a buffered answer after the client's cursor: every frame with
 * its id, keep-alive comments, and a last `error` event (`ResumeError`) when
 * the cursor is refused or the answer is gone. It never fails.
 *
 * @category encoding
 * @since 0.1.0
 */
export const follow = (
  buffer: AnswerBuffer.Buffer,
  sessionId: string,
  lastEventId: string | null | undefined,
  options?: { readonly keepAlive?: Duration.Input | undefined }
): Stream.Stream<Uint8Array> => {
  const interval = keepAliveMillis(options?.keepAlive)
  const keepAlive = Duration.millis(Number.isFinite(interval) && interval > 0 ? interval : 15_000)
  const from = lastEventId === undefined || lastEventId === null || lastEventId === ""
    ? Effect.succeed(undefined)
    : AnswerBuffer.verify(buffer, sessionId, lastEventId)
  return Stream.unwrap(Effect.map(from, (cursor) =>
    // the cursor before the first event: the answer from its start, whichever it is
    AnswerBuffer.follow(buffer, sessionId, cursor?.generation === 0 ? undefined : cursor, keepAlive))).pipe(
      Stream.map(({ cursor, frame }) =>
        encoder.encode(
          frame === undefined
            ? (cursor === "" ? ": keep-alive\n\n" : `id: ${cursor}\n\n`)
            : `${frame}id: ${cursor}\n\n`
        )
      ),
      Stream.catch((error) => Stream.succeed(encoder.encode(`${errorFrame(resumeErrorPayload(error))}\n`)))
    )
}

/**
 * The bytes of a resumable answer: with a cursor, what follows it; without,
 * the session's answer from its start, generating it first (in the
 * background, into the buffer) unless the buffer already holds it. A buffer
 * that is down at the start falls back to the plain stream (`encode`): the
 * answer arrives, without ids, so it cannot be resumed.
 *
 * @category encoding
 * @since 0.1.0
 */
export const resumable = <R>(
  self: Stream.Stream<L0Event, L0Error, R>,
  resume: Resume,
  options?: Options
): Stream.Stream<Uint8Array, never, R> => {
  const { buffer, lastEventId, sessionId } = resume
  const plain = encode(self, { ...options, resume: undefined })
  if (lastEventId !== undefined && lastEventId !== null && lastEventId !== "") {
    return follow(buffer, sessionId, lastEventId, options)
  }
  return Stream.unwrap(Effect.gen(function*() {
    const generation = Math.max(1, yield* Clock.currentTimeMillis)
    const head = yield* AnswerBuffer.timed(buffer, "open", buffer.store.open(sessionId, generation)).pipe(
      Effect.map(Option.some),
      Effect.catch((error) =>
        Effect.as(
          Effect.logWarning(`effect-l0: ${error.message}; the answer is sent without resume`),
          Option.none()
        )
      )
    )
    if (Option.isNone(head)) return plain
    if (head.value.generation === generation && head.value.last === 0 && !head.value.done) {
      const context = yield* Effect.context<R>()
      // the answer belongs to the buffer, not to this connection: it goes on when the client leaves
      Effect.runForkWith(context)(
        AnswerBuffer.publish(buffer, sessionId, generation, self, framing(options?.complete))
      )
    }
    return follow(buffer, sessionId, undefined, options)
  }))
}

const keepAliveMillis = (input: Duration.Input | undefined): number => {
  const decoded = Duration.fromInput(input ?? "15 seconds")
  return Option.isSome(decoded) ? Duration.toMillis(decoded.value) : NaN
}

const onFailure = (cause: Cause.Cause<L0Error>): Stream.Stream<Uint8Array> => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) return Stream.succeed(failure(errorPayload(error.value)))
  if (Cause.hasInterruptsOnly(cause)) {
    return Stream.succeed(
      failure({ tag: "Interrupted", category: "network", message: "The server stopped the stream" })
    )
  }
  // a defect is a bug on the server (a `complete` that throws): the browser gets no detail, the server log gets
  // what was thrown, in a form that prints safely
  return Stream.fromEffect(Effect.as(
    Effect.logError("effect-l0/Sse: the event stream failed unexpectedly", safeCause(Cause.squash(cause))),
    failure({ tag: "InternalError", category: "fatal", message: "The server failed while streaming" })
  ))
}

/**
 * The bytes of the event stream: one chunk per array of events the stream
 * yields (never one per token), keep-alive comments, and a last `error`
 * event if the stream fails. It never fails. Use it where a byte stream is
 * wanted, e.g. `HttpServerResponse.stream(Sse.encode(events), { headers: Sse.headers })`.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode: {
  (options?: Options): <R>(self: Stream.Stream<L0Event, L0Error, R>) => Stream.Stream<Uint8Array, never, R>
  <R>(self: Stream.Stream<L0Event, L0Error, R>, options?: Options): Stream.Stream<Uint8Array, never, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <R>(self: Stream.Stream<L0Event, L0Error, R>, options?: Options): Stream.Stream<Uint8Array, never, R> => {
    const unknown = checkKeys(options, OPTION_KEYS) ?? checkKeys(options?.resume, RESUME_KEYS)
    if (unknown !== undefined) {
      return Stream.succeed(failure({ tag: "FatalError", category: "fatal", message: unknown.message }))
    }
    const interval = keepAliveMillis(options?.keepAlive)
    if (!(interval > 0)) {
      return Stream.succeed(failure({
        tag: "FatalError",
        category: "fatal",
        message: invalidOption("keepAlive", `a positive duration or "Infinity"`, options?.keepAlive).message
      }))
    }
    if (options?.resume !== undefined) return resumable(self, options.resume, options)
    const events: Stream.Stream<L0Event | typeof KeepAlive, L0Error, R> = Number.isFinite(interval)
      ? Stream.merge(self, Stream.map(Stream.fromSchedule(Schedule.spaced(interval)), () => KeepAlive), {
        haltStrategy: "left"
      })
      : self
    const encodeItems = encodeArray(options?.complete ?? completePayload)
    return events.pipe(
      Stream.mapArray((items) => [encodeItems(items)] as const),
      Stream.filter((bytes) => bytes.length > 0),
      Stream.catchCause(onFailure)
    )
  }
)

const responseOf = <R>(
  self: Stream.Stream<L0Event, L0Error, R>,
  context: Context.Context<R>,
  options: Options | undefined
): Response => {
  const body = Stream.toReadableStreamWith(encode(self, options), context, { signal: options?.signal })
  const all = new Headers(headers)
  new Headers(options?.headers).forEach((value, name) => all.set(name, value))
  return new Response(body, { status: 200, headers: all })
}

/**
 * Sends an L0 stream as a `Response` of Server-Sent Events, for any server
 * that speaks web `Response`s (Next.js, Hono, Bun, Deno; Node with
 * `pipeToNode`). The stream starts with the response; cancelling the body,
 * or aborting `options.signal`, interrupts it and so aborts the provider
 * request. For a stream that needs services, use
 * `toResponseEffect`.
 *
 * **Example** (A route handler)
 * ```ts
 * export const POST = async (request: Request) => {
 *   const { question } = await request.json()
 *   return Sse.toResponse(L0.stream({ stream: ({ signal }) => ask(question, signal) }), { signal: request.signal })
 * }
 * ```
 * @category responses
 * @since 0.1.0
 */
export const toResponse: {
  (options?: Options): (self: Stream.Stream<L0Event, L0Error>) => Response
  (self: Stream.Stream<L0Event, L0Error>, options?: Options): Response
} = dual(
  (args) => Stream.isStream(args[0]),
  (self: Stream.Stream<L0Event, L0Error>, options?: Options): Response => responseOf(self, Context.empty(), options)
)

/**
 * Like `toResponse`, for streams that need services: the stream runs with
 * the services (and `Clock`) of the effect that built the response. With
 * `effect/http`, wrap it with `HttpServerResponse.fromWeb`.
 *
 * **Example** (An `effect/http` route)
 * ```ts
 * HttpRouter.add("POST", "/chat", Effect.map(Sse.toResponseEffect(L0.stream(options)), HttpServerResponse.fromWeb))
 * ```
 * @category responses
 * @since 0.1.0
 */
export const toResponseEffect: {
  (options?: Options): <R>(self: Stream.Stream<L0Event, L0Error, R>) => Effect.Effect<Response, never, R>
  <R>(self: Stream.Stream<L0Event, L0Error, R>, options?: Options): Effect.Effect<Response, never, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <R>(self: Stream.Stream<L0Event, L0Error, R>, options?: Options): Effect.Effect<Response, never, R> =>
    Effect.map(Effect.context<R>(), (context) => responseOf(self, context, options))
)

/**
 * The part of Node's `http.ServerResponse` that `pipeToNode` uses.
 *
 * @category models
 * @since 0.1.0
 */
export interface NodeResponse {
  readonly destroyed: boolean
  writeHead(status: number, headers: Record<string, string>): unknown
  flushHeaders(): void
  write(chunk: Uint8Array): boolean
  end(): unknown
  destroy(): unknown
  once(event: "close" | "drain", listener: () => void): unknown
  removeListener(event: "close" | "drain", listener: () => void): unknown
}

/**
 * Writes a web `Response` to a Node `http.ServerResponse`: status and
 * headers at once, then the body with back-pressure. When the client goes
 * away first, the body is cancelled, which interrupts the L0 stream and
 * aborts the provider request. Resolves when the response has ended.
 *
 * **Example** (A node:http server)
 * ```ts
 * http.createServer((req, res) => {
 *   void Sse.pipeToNode(Sse.toResponse(L0.stream(options)), res)
 * })
 * ```
 * @category responses
 * @since 0.1.0
 */
export const pipeToNode = async (response: Response, res: NodeResponse): Promise<void> => {
  // the client may have left while the handler was busy: its "close" is past
  if (res.destroyed) {
    await response.body?.cancel()
    return
  }
  const head: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    head[name] = value
  })
  res.writeHead(response.status, head)
  res.flushHeaders()
  if (response.body === null) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  let closed = false
  const onClose = () => {
    closed = true
    reader.cancel().catch(() => {})
  }
  res.once("close", onClose)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done || closed) break
      if (!res.write(value)) {
        await new Promise<void>((resume) => {
          const go = () => {
            res.removeListener("drain", go)
            res.removeListener("close", go)
            resume()
          }
          res.once("drain", go)
          res.once("close", go)
        })
      }
    }
    if (!closed) res.end()
  } catch {
    // the body failed: end the connection abruptly, so the client does not take it for a complete answer
    res.destroy()
  } finally {
    res.removeListener("close", onClose)
  }
}
