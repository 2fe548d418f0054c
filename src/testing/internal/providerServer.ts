import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import * as Predicate from "effect/Predicate"
import { hasProperty } from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type {
  Answer,
  AsyncProviderServer,
  ContinuingOptions,
  Cut,
  Fault,
  Outcome,
  Protocol,
  RecordedRequest,
  Reply,
  Script,
  Unstreamed
} from "../ProviderServer.js"
import { decoder, guarded, IntAtLeast } from "../../internal/optionSchema.js"
import { type Content, errorBody, makeWire, splitBytes, splitText, type Wire } from "./providerWire.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface Entry {
  readonly record: RecordedRequest
  readonly ended: Promise<Outcome>
}

/** The response side of one request. */
interface Exchange {
  readonly res: Http.ServerResponse
  readonly record: RecordedRequest
  readonly protocol: Protocol | undefined
  /** Aborted when the response closes, for whatever reason. */
  readonly signal: AbortSignal
  /** Settles when the response closes. */
  readonly ended: Promise<Outcome>
  /** Marks the coming socket close as the server's own doing. */
  readonly markReset: () => void
  readonly requestId: string
  /** The credential the request sent, unredacted: only `echoCredential` uses it. */
  readonly credential: string | undefined
}

/** What a streamed answer sends, in order. */
interface Plan {
  readonly head: string
  readonly chunks: Iterable<string | Uint8Array>
  readonly tail: () => string
  readonly wire: Wire
  readonly delay: number
  readonly fault: Fault | undefined
  readonly headers: Readonly<Record<string, string>> | undefined
}

const DEFAULT_CHUNK_SIZE = 4
const DEFAULT_MODEL = "provider-server"
const SECRET_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "x-api-key", "api-key"])
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" }

const protocolOf = (path: string): Protocol | undefined =>
  path.endsWith("/chat/completions") ? "openai-chat"
    : path.endsWith("/responses") ? "openai-responses"
    : path.endsWith("/messages") ? "anthropic"
    : undefined

// keeps the auth scheme ("Bearer") so tests can still check how the key was sent
const redact = (value: string): string => {
  const scheme = /^(\S+)\s+\S/.exec(value)?.[1]
  return scheme === undefined ? "<redacted>" : `${scheme} <redacted>`
}

const recordHeaders = (req: Http.IncomingMessage): Record<string, string> => {
  const recorded: Record<string, string> = {}
  // headersDistinct has lower-cased names and no undefined values
  for (const [name, values] of Object.entries(req.headersDistinct as Record<string, ReadonlyArray<string>>)) {
    const value = values.join(", ")
    recorded[name] = SECRET_HEADERS.has(name) ? redact(value) : value
  }
  return recorded
}

const credentialOf = (req: Http.IncomingMessage): string | undefined => {
  const authorization = req.headers.authorization
  if (authorization !== undefined) return authorization.replace(/^\S+\s+/, "")
  const key = req.headers["x-api-key"] ?? req.headers["api-key"]
  return Array.isArray(key) ? key[0] : key
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const readBody = async (req: Http.IncomingMessage): Promise<string> => {
  const parts: Array<Buffer> = []
  try {
    for await (const part of req) parts.push(part as Buffer)
  } catch {
    // the client went away mid-body; the close handler records it
  }
  return Buffer.concat(parts).toString("utf8")
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener("abort", done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener("abort", done, { once: true })
  })

/** Writes and waits until the bytes reach the socket; false once the response is gone. */
const write = (exchange: Exchange, data: string | Uint8Array): Promise<boolean> => {
  if (exchange.signal.aborted) return Promise.resolve(false)
  if (data.length === 0) return Promise.resolve(true)
  return new Promise((resolve) => {
    const onAbort = () => resolve(false)
    exchange.signal.addEventListener("abort", onAbort, { once: true })
    exchange.res.write(data, (error) => {
      exchange.signal.removeEventListener("abort", onAbort)
      resolve(error == null)
    })
  })
}

const destroy = (exchange: Exchange): void => {
  exchange.markReset()
  exchange.res.socket?.destroy()
}

const requestIdHeader = (exchange: Exchange): Record<string, string> =>
  exchange.protocol === "anthropic" ? { "request-id": exchange.requestId } : { "x-request-id": exchange.requestId }

const sendError = (
  exchange: Exchange,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> = {}
): void => {
  exchange.res.writeHead(status, { "content-type": "application/json", ...requestIdHeader(exchange), ...headers })
  exchange.res.end(body)
}

const sendProblem = (exchange: Exchange, status: number, message: string): void =>
  sendError(exchange, status, errorBody(exchange.protocol, status, { message: `ProviderServer: ${message}` }))

const ANSWER_TAGS: ReadonlySet<unknown> = new Set(["Reply", "HttpError", "Replay", "Unstreamed", "Hangup"])

// scripts written in plain JavaScript get a clear 500 rather than a crash
const isAnswer = (u: unknown): u is Answer =>
  typeof u === "string" || (hasProperty(u, "_tag") && ANSWER_TAGS.has(u._tag))

const Text = Schema.Union([Schema.String, Schema.Array(Schema.String)]).annotate({
  expected: "a string or an array of strings"
})

const ChunkSize = Schema.optional(IntAtLeast(1, "a positive integer"))

const Delay = Schema.optional(
  guarded(
    (u): u is number => Predicate.isNumber(u) && Number.isFinite(u) && u >= 0,
    "a finite number of milliseconds ≥ 0"
  )
)

const FaultSchema = Schema.optional(Schema.Struct({
  after: IntAtLeast(0),
  cut: Schema.optional(
    Schema.Union([Schema.Literal("character"), IntAtLeast(0)]).annotate({ expected: `an integer ≥ 0 or "character"` })
  )
}))

const ToolCalls = Schema.optional(
  Schema.Array(Schema.Struct({ name: Schema.String, arguments: Text, chunkSize: ChunkSize }))
)

/** Every answer a script can give, described once; the server decodes each before playing it. */
const AnswerSchema = Schema.Union([
  Schema.Struct({ _tag: Schema.Literal("Hangup") }),
  Schema.Struct({
    _tag: Schema.Literal("HttpError"),
    status: guarded(
      (u): u is number => Number.isInteger(u) && (u as number) >= 400 && (u as number) <= 599,
      "an integer from 400 to 599"
    )
  }),
  Schema.Struct({
    _tag: Schema.Literal("Reply"),
    text: Text,
    toolCalls: ToolCalls,
    chunkSize: ChunkSize,
    delay: Delay,
    fault: FaultSchema
  }),
  Schema.Struct({ _tag: Schema.Literal("Unstreamed"), text: Text, toolCalls: ToolCalls }),
  Schema.Struct({
    _tag: Schema.Literal("Replay"),
    body: guarded(
      (u): u is string | Uint8Array => Predicate.isString(u) || u instanceof Uint8Array,
      "a string or a Uint8Array"
    ),
    chunkSize: ChunkSize,
    delay: Delay,
    fault: FaultSchema
  })
])

const decodeAnswer = decoder(AnswerSchema, "answer", true)

const replyContent = (reply: Reply | Unstreamed, body: unknown, id: string): Content => {
  const size = (reply._tag === "Reply" ? reply.chunkSize : undefined) ?? DEFAULT_CHUNK_SIZE
  const codeUnits = reply._tag === "Reply" && reply.splitSurrogates === true
  const split = (value: string | ReadonlyArray<string>, chunkSize: number): ReadonlyArray<string> =>
    typeof value === "string" ? splitText(value, chunkSize, codeUnits) : value
  const text = split(reply.text, size)
  const tools = (reply.toolCalls ?? []).map((call) => ({
    id: call.id,
    name: call.name,
    pieces: split(call.arguments, call.chunkSize ?? size)
  }))
  const model = hasProperty(body, "model") && typeof body.model === "string" ? body.model : DEFAULT_MODEL
  const streamOptions = hasProperty(body, "stream_options") ? body.stream_options : undefined
  return {
    id,
    model,
    text,
    tools,
    inputTokens: reply.usage?.inputTokens ?? 0,
    outputTokens: reply.usage?.outputTokens ?? tools.reduce((n, tool) => n + tool.pieces.length, text.length),
    finishReason: reply.finishReason,
    includeUsage: reply.usage !== undefined ||
      (hasProperty(streamOptions, "include_usage") && streamOptions.include_usage === true)
  }
}

const planFor = (
  answer: Extract<Answer, { readonly _tag: "Reply" | "Replay" }>,
  protocol: Protocol,
  body: unknown,
  id: string
): Plan => {
  if (answer._tag === "Reply") {
    const wire = makeWire(protocol, replyContent(answer, body, id))
    return {
      head: wire.head(),
      chunks: wire.chunks(),
      tail: wire.tail,
      wire,
      delay: answer.delay ?? 0,
      fault: answer.fault,
      headers: answer.headers
    }
  }
  const bytes = typeof answer.body === "string" ? Buffer.from(answer.body, "utf8") : answer.body
  return {
    head: "",
    chunks: splitBytes(bytes, answer.chunkSize),
    tail: () => "",
    wire: makeWire(protocol, replyContent({ _tag: "Reply", text: "" }, body, id)),
    delay: answer.delay ?? 0,
    fault: answer.fault,
    headers: answer.headers
  }
}

/** The first bytes of `data` up to `cut`. */
const cutInto = (data: string | Uint8Array, cut: Cut): Uint8Array => {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data
  if (cut !== "character") return bytes.subarray(0, cut)
  // the lead byte of a multi-byte UTF-8 character is 11xxxxxx
  const lead = bytes.findIndex((byte) => byte >= 0xc0)
  return bytes.subarray(0, lead === -1 ? bytes.length >> 1 : lead + 1)
}

/** Plays `fault` before `next` (the bytes due next); true when the response is over. */
const strike = async (
  exchange: Exchange,
  plan: Plan,
  fault: Fault,
  next: () => string | Uint8Array
): Promise<boolean> => {
  switch (fault._tag) {
    case "Reset":
      if (fault.cut !== undefined) await write(exchange, cutInto(next(), fault.cut))
      destroy(exchange)
      return true
    case "End":
      exchange.res.end()
      return true
    case "Stall":
      await exchange.ended
      return true
    case "InBandError":
      // ending a response whose client has gone is a no-op
      await write(exchange, plan.wire.error(fault.error))
      exchange.res.end()
      return true
    case "Malformed":
      return !(await write(exchange, fault.raw ?? plan.wire.malformed()))
  }
}

const stream = async (exchange: Exchange, plan: Plan): Promise<void> => {
  if (!(await write(exchange, plan.head))) return
  let count = 0
  let pending = plan.fault
  for (const chunk of plan.chunks) {
    if (pending !== undefined && count >= pending.after) {
      const fault = pending
      pending = undefined
      if (await strike(exchange, plan, fault, () => chunk)) return
    }
    if (plan.delay > 0) await sleep(plan.delay, exchange.signal)
    if (!(await write(exchange, chunk))) return
    count++
  }
  // a fault past the last chunk strikes before the closing events
  if (pending !== undefined && (await strike(exchange, plan, pending, plan.tail))) return
  await write(exchange, plan.tail())
  exchange.res.end()
}

interface State {
  readonly script: Script
  readonly entries: Array<Entry>
  readonly requests: Array<RecordedRequest>
  readonly waiters: Map<number, Array<(entry: Entry) => void>>
  scripted: number
  closing: boolean
}

const register = (state: State, entry: Entry): number => {
  const index = state.entries.push(entry) - 1
  state.requests.push(entry.record)
  for (const resolve of state.waiters.get(index) ?? []) resolve(entry)
  state.waiters.delete(index)
  return index
}

const entryAt = (state: State, index: number): Promise<Entry> => {
  const entry = state.entries[index]
  if (entry !== undefined) return Promise.resolve(entry)
  return new Promise((resolve) => {
    const waiting = state.waiters.get(index) ?? []
    waiting.push(resolve)
    state.waiters.set(index, waiting)
  })
}

const pick = async (state: State, record: RecordedRequest): Promise<readonly [Answer | undefined, number]> => {
  const index = state.scripted++
  const { script } = state
  const answer = typeof script === "function" ? await script(record, index) : script[Math.min(index, script.length - 1)]
  return [answer, index]
}

/** The `messages` (Chat Completions, Anthropic) or `input` items (Responses) of a request body. */
const conversation = (body: unknown): ReadonlyArray<unknown> =>
  hasProperty(body, "messages") && Array.isArray(body.messages) ? body.messages
    : hasProperty(body, "input") && Array.isArray(body.input) ? body.input
    : []

const isAssistant = (message: unknown): message is { readonly content?: unknown } =>
  hasProperty(message, "role") && message.role === "assistant"

/** A message's text: its string content, or its text blocks joined. */
const textOf = (content: unknown): string =>
  typeof content === "string" ? content
    : Array.isArray(content)
    ? content.map((block) => hasProperty(block, "text") && typeof block.text === "string" ? block.text : "").join("")
    : ""

/** The text of the last assistant message of a request: the partial answer a continuation request carries. */
const partialAnswer = (body: unknown): string => {
  const messages = conversation(body)
  for (let i = messages.length - 1; i >= 0; i--) {
    if (isAssistant(messages[i])) return textOf((messages[i] as { readonly content?: unknown }).content)
  }
  return ""
}

/** Anthropic refuses a prefill (a final assistant message) that ends with whitespace. */
const endsWithWhitespace = (body: unknown): boolean => {
  const last = conversation(body).at(-1)
  return isAssistant(last) && /\s$/.test(textOf(last.content))
}

/**
 * A script that plays a model knowing its whole answer.
 *
 * @internal
 */
export const continuing = (text: string, options: ContinuingOptions): Script => {
  const replies = options.replies ?? [{}]
  return (request, index) => {
    const partial = partialAnswer(request.body)
    if (!text.startsWith(partial)) {
      return {
        _tag: "HttpError",
        status: 400,
        error: {
          type: "invalid_request_error",
          message: `ProviderServer: the partial answer is not the start of the scripted text; it ends with ${
            JSON.stringify(partial.slice(-40))
          }`
        }
      }
    }
    const repeat = typeof options.repeat === "function" ? options.repeat(partial) : options.repeat ?? 0
    const start = partial.length - Math.min(partial.length, Math.max(0, repeat))
    return { ...replies[Math.min(index, replies.length - 1)], _tag: "Reply", text: text.slice(start) }
  }
}

/** `Retry-After` holds whole seconds only: a fraction goes out as `retry-after-ms`, with the seconds rounded up. */
const retryAfterHeader = (retryAfter: number | string | undefined): Record<string, string> =>
  retryAfter === undefined ? {}
    : typeof retryAfter === "number" && !Number.isInteger(retryAfter)
    ? { "retry-after": String(Math.ceil(retryAfter)), "retry-after-ms": String(retryAfter * 1000) }
    : { "retry-after": String(retryAfter) }

const isStreaming = (body: unknown): boolean => hasProperty(body, "stream") && body.stream === true

/**
 * Answers everything that is not a stream, and opens a stream; returns the
 * rest of the stream to play. Anything it throws becomes a 500.
 */
const prepare = async (state: State, exchange: Exchange): Promise<(() => Promise<void>) | undefined> => {
  const { protocol, record } = exchange
  if (protocol === undefined || record.method !== "POST") {
    sendProblem(
      exchange,
      404,
      `no route for ${record.method} ${record.path}; POST to …/chat/completions, …/responses or …/messages`
    )
    return undefined
  }
  if (protocol === "anthropic" && endsWithWhitespace(record.body)) {
    sendError(
      exchange,
      400,
      errorBody(protocol, 400, { message: "messages: final assistant content cannot end with trailing whitespace" })
    )
    return undefined
  }
  const [picked, index] = await pick(state, record)
  if (!isAnswer(picked)) {
    sendProblem(
      exchange,
      500,
      picked === undefined
        ? `the script gave no answer for request ${index} (an empty array, or a function that returned nothing)`
        : `invalid answer for request ${index}: expected a string or a ProviderServer answer (reply, httpError, replay, unstreamed, hangup), got ${
          JSON.stringify(picked)
        }`
    )
    return undefined
  }
  const answer = typeof picked === "string" ? { _tag: "Reply" as const, text: picked } : picked
  const problem = decodeAnswer(answer)
  if (Result.isFailure(problem)) {
    sendProblem(exchange, 500, `invalid answer for request ${index}: ${problem.failure.message}`)
    return undefined
  }
  switch (answer._tag) {
    case "Hangup":
      destroy(exchange)
      return undefined
    case "HttpError": {
      const echo = answer.echoCredential === true ? exchange.credential ?? "" : undefined
      const error = echo === undefined ? answer.error : {
        ...answer.error,
        message: `${answer.error?.message ?? "Invalid credential"}: ${echo}`
      }
      const body = answer.body === undefined || echo === undefined ? answer.body : `${answer.body} ${echo}`
      sendError(exchange, answer.status, body ?? errorBody(protocol, answer.status, error ?? {}), {
        ...retryAfterHeader(answer.retryAfter),
        ...answer.headers,
        ...(echo === undefined ? {} : { "x-echoed-credential": echo })
      })
      return undefined
    }
    case "Unstreamed": {
      const whole = makeWire(protocol, replyContent(answer, record.body, `ps${index}`)).whole()
      const headers = { "content-type": "application/json", ...requestIdHeader(exchange), ...answer.headers }
      exchange.res.writeHead(200, headers)
      exchange.res.end(whole)
      return undefined
    }
    default: {
      if (!isStreaming(record.body)) {
        sendProblem(exchange, 400, `only streaming requests are served: set "stream": true (request ${index})`)
        return undefined
      }
      const plan = planFor(answer, protocol, record.body, `ps${index}`)
      exchange.res.writeHead(200, { ...SSE_HEADERS, ...requestIdHeader(exchange), ...plan.headers })
      exchange.res.flushHeaders()
      return () => stream(exchange, plan)
    }
  }
}

const handle = async (state: State, req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> => {
  // url and method are always set on a server's requests
  const path = new URL(String(req.url), "http://127.0.0.1").pathname
  const controller = new AbortController()
  let reset = false
  const record: Mutable<RecordedRequest> = {
    method: String(req.method),
    path,
    protocol: protocolOf(path),
    headers: recordHeaders(req),
    body: undefined,
    rawBody: "",
    outcome: undefined,
    disconnected: false
  }
  const ended = new Promise<Outcome>((resolve) => {
    res.once("close", () => {
      const outcome: Outcome = res.writableFinished
        ? "completed"
        : reset ? "reset" : state.closing ? "shutdown" : "disconnected"
      record.outcome = outcome
      record.disconnected = outcome === "disconnected"
      controller.abort()
      resolve(outcome)
    })
  })
  record.rawBody = await readBody(req)
  record.body = parseJson(record.rawBody)
  const index = register(state, { record, ended })
  const exchange: Exchange = {
    res,
    record,
    protocol: record.protocol,
    signal: controller.signal,
    ended,
    markReset: () => {
      reset = true
    },
    requestId: `req_ps${index}`,
    credential: credentialOf(req)
  }
  let play: (() => Promise<void>) | undefined
  try {
    play = await prepare(state, exchange)
  } catch (error) {
    sendProblem(exchange, 500, `the script failed: ${error instanceof Error ? error.message : String(error)}`)
  }
  await play?.()
}

/**
 * Starts a server on 127.0.0.1 with a free port.
 *
 * @internal
 */
export const listen = (script: Script): Promise<AsyncProviderServer> =>
  new Promise((resolve, reject) => {
    const state: State = { script, entries: [], requests: [], waiters: new Map(), scripted: 0, closing: false }
    const sockets = new Set<Socket>()
    const server = Http.createServer({ noDelay: true }, (req, res) => {
      void handle(state, req, res)
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      const url = `http://127.0.0.1:${port}`
      let closed: Promise<void> | undefined
      resolve({
        url,
        openaiBaseUrl: `${url}/v1`,
        anthropicBaseUrl: url,
        requests: state.requests,
        awaitRequest: (index) => entryAt(state, index).then((entry) => entry.record),
        awaitEnd: (index) => entryAt(state, index).then((entry) => entry.ended),
        close: () =>
          closed ??= new Promise((done) => {
            state.closing = true
            server.close(() => done())
            for (const socket of sockets) socket.destroy()
          })
      })
    })
  })
