import { STATUS_CODES } from "node:http"
import type { ErrorDetails, Protocol } from "../ProviderServer.js"

/** @internal */
interface ToolContent {
  readonly id: string | undefined
  readonly name: string
  readonly pieces: ReadonlyArray<string>
}

/** @internal */
export interface Content {
  /** Unique per request; goes into every generated id. */
  readonly id: string
  readonly model: string
  readonly text: ReadonlyArray<string>
  readonly tools: ReadonlyArray<ToolContent>
  readonly inputTokens: number
  readonly outputTokens: number
  readonly finishReason: string | undefined
  /** Chat Completions only: send the usage chunk. */
  readonly includeUsage: boolean
}

/**
 * One streamed answer in one protocol. The parts must be taken in order
 * (`head`, `chunks`, then `tail` or a fault), because the Responses framing
 * numbers its events as they are made.
 *
 * @internal
 */
export interface Wire {
  readonly head: () => string
  /** One string per content chunk, each with the structural events that open it. */
  readonly chunks: () => Iterable<string>
  readonly tail: () => string
  readonly error: (details: ErrorDetails) => string
  readonly malformed: () => string
  /** The whole answer as the protocol's non-streaming JSON body. */
  readonly whole: () => string
}

const event = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
const dataLine = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/**
 * Splits `text` into chunks of `size` code points (or UTF-16 code units).
 *
 * @internal
 */
export const splitText = (text: string, size: number, codeUnits: boolean): Array<string> => {
  const chunks: Array<string> = []
  if (codeUnits) {
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size))
    return chunks
  }
  const points = Array.from(text)
  for (let i = 0; i < points.length; i += size) chunks.push(points.slice(i, i + size).join(""))
  return chunks
}

const EVENT_END = /\r\n\r\n|\n\n|\r\r/g

/**
 * Splits a body into byte chunks of `size`, or by default after each SSE
 * event's blank line.
 *
 * @internal
 */
export const splitBytes = (body: Uint8Array, size: number | undefined): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  if (size !== undefined) {
    for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size))
    return chunks
  }
  // latin1 maps each byte to one UTF-16 unit, so string indexes are byte offsets
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("latin1")
  let start = 0
  for (const match of bytes.matchAll(EVENT_END)) {
    const end = match.index + match[0].length
    chunks.push(body.subarray(start, end))
    start = end
  }
  if (start < body.length) chunks.push(body.subarray(start))
  return chunks
}

interface OpenAIError {
  readonly message: string
  readonly type: string
  readonly param: null
  readonly code: string | null
}

const openaiError = (details: ErrorDetails, type: string, message: string, code: string | null): OpenAIError => ({
  message: details.message ?? message,
  type: details.type ?? type,
  param: null,
  code: details.code ?? code
})

const statusMessage = (status: number): string =>
  STATUS_CODES[status] ?? (status === 529 ? "Overloaded" : `HTTP ${status}`)

const ANTHROPIC_TYPES: ReadonlyMap<number, string> = new Map([
  [400, "invalid_request_error"],
  [401, "authentication_error"],
  [402, "billing_error"],
  [403, "permission_error"],
  [404, "not_found_error"],
  [413, "request_too_large"],
  [429, "rate_limit_error"],
  [529, "overloaded_error"]
])

const anthropicType = (status: number): string =>
  ANTHROPIC_TYPES.get(status) ?? (status >= 500 ? "api_error" : "invalid_request_error")

const openaiTypeAndCode = (status: number): readonly [string, string | null] =>
  status === 429 ? ["requests", "rate_limit_exceeded"]
    : status === 401 ? ["invalid_request_error", "invalid_api_key"]
    : status >= 500 ? ["server_error", null]
    : ["invalid_request_error", null]

/**
 * The JSON body of an HTTP error in the protocol's shape (OpenAI's shape for
 * requests outside the routes).
 *
 * @internal
 */
export const errorBody = (protocol: Protocol | undefined, status: number, details: ErrorDetails): string => {
  const message = statusMessage(status)
  if (protocol === "anthropic") {
    return JSON.stringify({
      type: "error",
      error: { type: details.type ?? anthropicType(status), message: details.message ?? message }
    })
  }
  const [type, code] = openaiTypeAndCode(status)
  return JSON.stringify({ error: openaiError(details, type, message, code) })
}

const SERVER_ERROR_MESSAGE = "The server had an error while processing your request."

const chatWire = (content: Content): Wire => {
  const created = nowSeconds()
  const chunk = (choices: ReadonlyArray<unknown>, extra: object = {}): string =>
    dataLine({
      id: `chatcmpl-${content.id}`,
      object: "chat.completion.chunk",
      created,
      model: content.model,
      choices,
      ...extra
    })
  const choice = (delta: object, finishReason: string | null = null): ReadonlyArray<unknown> => [
    { index: 0, delta, logprobs: null, finish_reason: finishReason }
  ]
  const argumentsDelta = (index: number, piece: string): string =>
    chunk(choice({ tool_calls: [{ index, function: { arguments: piece } }] }))
  const finish = content.finishReason ?? (content.tools.length > 0 ? "tool_calls" : "stop")
  const usage = {
    prompt_tokens: content.inputTokens,
    completion_tokens: content.outputTokens,
    total_tokens: content.inputTokens + content.outputTokens
  }
  const callId = (tool: ToolContent, index: number): string => tool.id ?? `call_${content.id}_${index}`
  return {
    head: () => chunk(choice({ role: "assistant", content: "", refusal: null })),
    *chunks() {
      for (const piece of content.text) yield chunk(choice({ content: piece }))
      for (const [index, tool] of content.tools.entries()) {
        const opening = chunk(choice({
          tool_calls: [{
            index,
            id: callId(tool, index),
            type: "function",
            function: { name: tool.name, arguments: "" }
          }]
        }))
        const [first, ...rest] = tool.pieces
        yield first === undefined ? opening : opening + argumentsDelta(index, first)
        for (const piece of rest) yield argumentsDelta(index, piece)
      }
    },
    tail: () => chunk(choice({}, finish)) + (content.includeUsage ? chunk([], { usage }) : "") + "data: [DONE]\n\n",
    error: (details) => dataLine({ error: openaiError(details, "server_error", SERVER_ERROR_MESSAGE, null) }),
    malformed: () => `data: {"id":"chatcmpl-${content.id}","choices":[{"index":0,"delta":{"content":"cut off\n\n`,
    whole: () => {
      const text = content.text.join("")
      const toolCalls = content.tools.map((tool, index) => ({
        id: callId(tool, index),
        type: "function",
        function: { name: tool.name, arguments: tool.pieces.join("") }
      }))
      const message = {
        role: "assistant",
        content: text.length === 0 && toolCalls.length > 0 ? null : text,
        refusal: null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
      }
      return JSON.stringify({
        id: `chatcmpl-${content.id}`,
        object: "chat.completion",
        created,
        model: content.model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
        usage
      })
    }
  }
}

/** An Anthropic `tool_use` block's `input`: the call's arguments, which must be a JSON object. */
const toolInput = (tool: ToolContent): unknown => {
  const args = tool.pieces.join("")
  let input: unknown
  try {
    input = JSON.parse(args)
  } catch {
    input = undefined
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new Error(`the arguments of tool call "${tool.name}" must be a JSON object in an unstreamed Anthropic answer`)
  }
  return input
}

const anthropicWire = (content: Content): Wire => {
  const textBlock = content.text.length > 0 || content.tools.length === 0
  const blockStart = (index: number, block: object): string =>
    event("content_block_start", { type: "content_block_start", index, content_block: block })
  const blockDelta = (index: number, delta: object): string =>
    event("content_block_delta", { type: "content_block_delta", index, delta })
  const blockStop = (index: number): string => event("content_block_stop", { type: "content_block_stop", index })
  const ping = event("ping", { type: "ping" })
  const lastBlock = content.tools.length - (textBlock ? 0 : 1)
  const stopReason = content.finishReason ?? (content.tools.length > 0 ? "tool_use" : "end_turn")
  const toolId = (tool: ToolContent, toolIndex: number): string => tool.id ?? `toolu_${content.id}_${toolIndex}`
  return {
    head: () =>
      event("message_start", {
        type: "message_start",
        message: {
          id: `msg_${content.id}`,
          type: "message",
          role: "assistant",
          model: content.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: content.inputTokens, output_tokens: 1 }
        }
      }) + (textBlock ? blockStart(0, { type: "text", text: "" }) : "") + ping,
    *chunks() {
      for (const piece of content.text) yield blockDelta(0, { type: "text_delta", text: piece })
      for (const [toolIndex, tool] of content.tools.entries()) {
        const index = toolIndex + (textBlock ? 1 : 0)
        const opening = (index > 0 ? blockStop(index - 1) : "") + blockStart(index, {
          type: "tool_use",
          id: toolId(tool, toolIndex),
          name: tool.name,
          input: {}
        })
        const inputDelta = (piece: string): string =>
          blockDelta(index, { type: "input_json_delta", partial_json: piece })
        const [first, ...rest] = tool.pieces
        yield first === undefined ? opening : opening + inputDelta(first)
        for (const piece of rest) yield inputDelta(piece)
      }
    },
    tail: () =>
      blockStop(lastBlock) +
      event("message_delta", {
        type: "message_delta",
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { output_tokens: content.outputTokens }
      }) +
      event("message_stop", { type: "message_stop" }),
    error: (details) =>
      event("error", {
        type: "error",
        error: { type: details.type ?? "overloaded_error", message: details.message ?? "Overloaded" }
      }),
    malformed: () =>
      `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"cut off\n\n`,
    whole: () =>
      JSON.stringify({
        id: `msg_${content.id}`,
        type: "message",
        role: "assistant",
        model: content.model,
        content: [
          ...(textBlock ? [{ type: "text", text: content.text.join("") }] : []),
          ...content.tools.map((tool, toolIndex) => ({
            type: "tool_use",
            id: toolId(tool, toolIndex),
            name: tool.name,
            input: toolInput(tool)
          }))
        ],
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { input_tokens: content.inputTokens, output_tokens: content.outputTokens }
      })
  }
}

const responsesWire = (content: Content): Wire => {
  let sequence = 0
  const emit = (type: string, payload: object): string => event(type, { type, sequence_number: sequence++, ...payload })
  const createdAt = nowSeconds()
  const response = (status: string, extra: object = {}): object => ({
    id: `resp_${content.id}`,
    object: "response",
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: null,
    model: content.model,
    output: [],
    usage: null,
    ...extra
  })
  const hasMessage = content.text.length > 0 || content.tools.length === 0
  const messageId = `msg_${content.id}`
  const text = content.text.join("")
  const textPart = { type: "output_text", annotations: [], logprobs: [], text }
  const message = { id: messageId, type: "message", status: "completed", content: [textPart], role: "assistant" }
  const calls = content.tools.map((tool, index) => ({
    pieces: tool.pieces,
    item: {
      id: `fc_${content.id}_${index}`,
      type: "function_call",
      status: "completed",
      arguments: tool.pieces.join(""),
      call_id: tool.id ?? `call_${content.id}_${index}`,
      name: tool.name
    }
  }))
  const items = calls.map((call) => call.item)
  const output: ReadonlyArray<object> = hasMessage ? [message, ...items] : items
  const offset = hasMessage ? 1 : 0
  // the output item whose closing events are still due
  let open: (() => string) | undefined = hasMessage
    ? () =>
      emit("response.output_text.done", { item_id: messageId, output_index: 0, content_index: 0, text, logprobs: [] }) +
      emit("response.content_part.done", { item_id: messageId, output_index: 0, content_index: 0, part: textPart }) +
      emit("response.output_item.done", { output_index: 0, item: message })
    : undefined
  const closeOpen = (): string => {
    const closing = open?.() ?? ""
    open = undefined
    return closing
  }
  const usage = {
    input_tokens: content.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: content.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: content.inputTokens + content.outputTokens
  }
  const reason = content.finishReason
  const completed = reason === undefined || reason === "completed"
  const final = completed
    ? response("completed", { output, usage })
    : response("incomplete", { incomplete_details: { reason }, output, usage })
  return {
    head: () =>
      emit("response.created", { response: response("in_progress") }) +
      emit("response.in_progress", { response: response("in_progress") }) +
      (hasMessage
        ? emit("response.output_item.added", {
          output_index: 0,
          item: { id: messageId, type: "message", status: "in_progress", content: [], role: "assistant" }
        }) +
          emit("response.content_part.added", {
            item_id: messageId,
            output_index: 0,
            content_index: 0,
            part: { ...textPart, text: "" }
          })
        : ""),
    *chunks() {
      for (const piece of content.text) {
        yield emit("response.output_text.delta", {
          item_id: messageId,
          output_index: 0,
          content_index: 0,
          delta: piece,
          logprobs: []
        })
      }
      for (const [index, { item, pieces }] of calls.entries()) {
        const outputIndex = index + offset
        const argumentsDelta = (piece: string): string =>
          emit("response.function_call_arguments.delta", { item_id: item.id, output_index: outputIndex, delta: piece })
        const opening = closeOpen() +
          emit("response.output_item.added", {
            output_index: outputIndex,
            item: { ...item, status: "in_progress", arguments: "" }
          })
        open = () =>
          emit("response.function_call_arguments.done", {
            item_id: item.id,
            output_index: outputIndex,
            arguments: item.arguments
          }) +
          emit("response.output_item.done", { output_index: outputIndex, item })
        const [first, ...rest] = pieces
        yield first === undefined ? opening : opening + argumentsDelta(first)
        for (const piece of rest) yield argumentsDelta(piece)
      }
    },
    tail: () => {
      const closing = closeOpen()
      return closing + (completed
        ? emit("response.completed", { response: final })
        : emit("response.incomplete", { response: final }))
    },
    error: (details) => {
      const error = openaiError(details, "server_error", SERVER_ERROR_MESSAGE, "server_error")
      return emit("error", { error }) +
        emit("response.failed", {
          response: response("failed", { error: { code: error.code, message: error.message } })
        })
    },
    malformed: () =>
      `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"cut off\n\n`,
    whole: () => JSON.stringify(final)
  }
}

/**
 * The framing of a streamed answer in `protocol`.
 *
 * @internal
 */
export const makeWire = (protocol: Protocol, content: Content): Wire =>
  protocol === "openai-chat" ? chatWire(content)
    : protocol === "anthropic" ? anthropicWire(content)
    : responsesWire(content)
