/**
 * OpenAI Responses API stream events (`client.responses.create({ stream: true })`).
 *
 * @since 0.1.0
 */
import type { Adapter } from "../Adapter.js"
import {
  contentFiltered,
  isRecord,
  MarkedDecoder,
  PendingCalls,
  reasoning,
  refusal,
  stringOf,
  unexpectedChunk,
  usageOf
} from "../internal/decode.js"
import { ModelError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"

const NAME = "openai-responses"

/** A whole `response` object: what a server that ignored `stream: true` answers. */
const isResponse = (chunk: Record<string, unknown>): boolean => chunk.object === "response" && chunk.type === undefined

const failed = (response: unknown): never => {
  if (isRecord(response) && isRecord(response.error)) throw response.error
  throw new ModelError({ message: "The OpenAI response failed without an error object" })
}

class ResponsesDecoder extends MarkedDecoder {
  private readonly calls = new PendingCalls<string>()

  constructor() {
    super(NAME, "response.completed event")
  }

  push(chunk: unknown, out: Array<L0Event.L0Event>): boolean {
    if (!isRecord(chunk)) throw unexpectedChunk(NAME, chunk)
    if (isResponse(chunk)) return this.whole(chunk, out)
    switch (chunk.type) {
      case "response.output_text.delta":
        return this.emit(chunk.delta, out, L0Event.token)
      case "response.reasoning_summary_text.delta":
      case "response.reasoning_text.delta":
        return this.emit(chunk.delta, out, reasoning)
      case "response.refusal.delta":
        return this.emit(chunk.delta, out, refusal)
      case "response.output_item.added": {
        const item = chunk.item
        if (isRecord(item) && item.type === "function_call") {
          this.calls.start(
            stringOf(item.id) ?? "",
            stringOf(item.call_id),
            stringOf(item.name),
            stringOf(item.arguments)
          )
        }
        return false
      }
      case "response.function_call_arguments.delta": {
        const delta = stringOf(chunk.delta)
        return delta !== undefined && this.calls.append(stringOf(chunk.item_id) ?? "", delta)
      }
      case "response.function_call_arguments.done": {
        this.calls.finish(stringOf(chunk.item_id) ?? "", out, stringOf(chunk.arguments))
        return true
      }
      case "response.output_item.done": {
        const item = chunk.item
        if (isRecord(item) && item.type === "function_call") {
          this.calls.finish(stringOf(item.id) ?? "", out, stringOf(item.arguments))
        }
        return false
      }
      case "response.completed":
      case "response.incomplete":
        return this.terminal(chunk.response, out)
      case "response.failed":
        return failed(chunk.response)
      case "error":
        // the event itself: L0 categorizes it by its code with its own Clock
        throw chunk
      default:
        return false
    }
  }

  private emit(
    delta: unknown,
    out: Array<L0Event.L0Event>,
    make: (text: string) => L0Event.L0Event
  ): boolean {
    if (typeof delta !== "string" || delta.length === 0) return false
    out.push(make(delta))
    return true
  }

  /** A whole response: its output items, then its status and usage as at the end of a stream. */
  private whole(response: Record<string, unknown>, out: Array<L0Event.L0Event>): boolean {
    const before = out.length
    const items = Array.isArray(response.output) ? response.output : []
    for (const item of items) {
      if (!isRecord(item)) continue
      const parts = Array.isArray(item.content) ? item.content : []
      if (item.type === "reasoning") {
        const summary = Array.isArray(item.summary) ? item.summary : []
        for (const part of [...summary, ...parts]) if (isRecord(part)) this.emit(part.text, out, reasoning)
      } else if (item.type === "message") {
        for (const part of parts) {
          if (!isRecord(part)) continue
          if (part.type === "output_text") this.emit(part.text, out, L0Event.token)
          else if (part.type === "refusal") this.emit(part.refusal, out, refusal)
        }
      } else if (item.type === "function_call") {
        const args = stringOf(item.arguments) ?? ""
        out.push(L0Event.toolCall(stringOf(item.call_id) ?? "", stringOf(item.name) ?? "", args))
      }
    }
    if (response.status === "failed") return failed(response)
    if (response.status === "completed" || response.status === "incomplete") this.terminal(response, out)
    return out.length > before
  }

  private terminal(response: unknown, out: Array<L0Event.L0Event>): boolean {
    const record = isRecord(response) ? response : {}
    const status = stringOf(record.status) ?? "completed"
    const reason = isRecord(record.incomplete_details) ? stringOf(record.incomplete_details.reason) : undefined
    if (reason === "content_filter") throw contentFiltered(NAME, `response incomplete: "content_filter"`)
    const usage = record.usage
    if (isRecord(usage)) this.usage = usageOf(usage, usage.input_tokens, usage.output_tokens, usage.total_tokens)
    this.finishReason = reason === undefined ? status : `${status}:${reason}`
    this.calls.finishAll(out)
    return false
  }
}

/**
 * Decodes Responses API events:
 * - `response.output_text.delta` becomes `Token`s.
 * - Function calls (`call_id` and `name` from `response.output_item.added`,
 *   arguments from `response.function_call_arguments.delta`) become one
 *   `ToolCall` each, emitted when their arguments are done.
 * - Reasoning summary and reasoning text deltas become
 *   `Data { value: { type: "reasoning", text } }`, refusal deltas
 *   `Data { value: { type: "refusal", text } }`.
 * - `response.completed` gives the usage and `Completion.finishReason`
 *   (the response status, `"completed"`); `response.incomplete` gives
 *   `"incomplete:<reason>"` (such as `"incomplete:max_output_tokens"`),
 *   except `content_filter`, which fails the attempt with a `ContentError`.
 * - `response.failed` and `error` events fail the attempt, categorized by
 *   their code: `insufficient_quota` is fatal, rate limits and
 *   `server_error` are transient. A stream without `response.completed`
 *   fails with a retryable `NetworkError`.
 * - A whole `response` object (a server that ignored `stream: true`) is
 *   decoded from its output items (text, refusals, reasoning summaries,
 *   function calls), status and usage.
 *
 * @category adapters
 * @since 0.1.0
 */
export const openaiResponses: Adapter = {
  name: NAME,
  detect: (chunk) => {
    if (!isRecord(chunk)) return false
    if (typeof chunk.type !== "string") return isResponse(chunk)
    return chunk.type.startsWith("response.") || (chunk.type === "error" && "sequence_number" in chunk)
  },
  make: () => new ResponsesDecoder()
}
