/**
 * Anthropic Messages stream events (`client.messages.create({ stream: true })`).
 *
 * @since 0.1.0
 */
import type { Adapter } from "../Adapter.js"
import {
  isRecord,
  MarkedDecoder,
  PendingCalls,
  reasoning,
  stringOf,
  unexpectedChunk,
  usageOf
} from "../internal/decode.js"
import * as L0Event from "../L0Event.js"

const NAME = "anthropic"

const TYPES: ReadonlySet<unknown> = new Set([
  "message_start",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "message_delta",
  "message_stop",
  "ping",
  "error"
])

/** A whole `Message`: what a server that ignored `stream: true` answers. */
const isMessage = (chunk: Record<string, unknown>): boolean => chunk.type === "message" && Array.isArray(chunk.content)

class AnthropicDecoder extends MarkedDecoder {
  private readonly calls = new PendingCalls<unknown>()
  private readonly merged: Record<string, unknown> = {}
  /** `message_stop` came: the message is over, whatever follows. */
  private stopped = false

  constructor() {
    super(NAME, "stop_reason (message_delta)")
  }

  push(chunk: unknown, out: Array<L0Event.L0Event>): boolean {
    if (!isRecord(chunk)) throw unexpectedChunk(NAME, chunk)
    if (this.stopped) return false
    switch (chunk.type) {
      case "content_block_delta":
        return this.delta(chunk.index, chunk.delta, out)
      case "content_block_start": {
        const block = chunk.content_block
        if (!isRecord(block)) return false
        if (block.type === "tool_use") {
          this.calls.start(chunk.index, stringOf(block.id), stringOf(block.name))
          return true
        }
        const text = block.type === "text" ? stringOf(block.text) : undefined
        if (text === undefined || text.length === 0) return false
        out.push(L0Event.token(text))
        return true
      }
      case "content_block_stop": {
        this.calls.finish(chunk.index, out)
        return false
      }
      case "message_start": {
        const message = chunk.message
        if (isRecord(message)) this.mergeUsage(message.usage)
        return false
      }
      case "message_delta": {
        this.mergeUsage(chunk.usage)
        const stop = isRecord(chunk.delta) ? stringOf(chunk.delta.stop_reason) : undefined
        if (stop !== undefined) this.finishReason = stop
        return false
      }
      case "message_stop": {
        this.stopped = true
        return false
      }
      case "message":
        return isMessage(chunk) && this.message(chunk, out)
      case "error":
        // the event itself: L0 categorizes it by `error.type` with its own Clock
        throw chunk
      default:
        return false
    }
  }

  /** The content blocks of a whole message, then its stop reason and usage. */
  private message(message: Record<string, unknown>, out: Array<L0Event.L0Event>): boolean {
    const before = out.length
    for (const block of message.content as ReadonlyArray<unknown>) {
      if (!isRecord(block)) continue
      const text = block.type === "text" ? stringOf(block.text) : undefined
      const thinking = block.type === "thinking" ? stringOf(block.thinking) : undefined
      if (text !== undefined && text.length > 0) out.push(L0Event.token(text))
      if (thinking !== undefined && thinking.length > 0) out.push(reasoning(thinking))
      if (block.type === "tool_use") {
        const args = JSON.stringify(block.input ?? {})
        out.push(L0Event.toolCall(stringOf(block.id) ?? "", stringOf(block.name) ?? "", args))
      }
    }
    this.mergeUsage(message.usage)
    const stop = stringOf(message.stop_reason)
    if (stop !== undefined) this.finishReason = stop
    this.stopped = true
    return out.length > before
  }

  private delta(index: unknown, delta: unknown, out: Array<L0Event.L0Event>): boolean {
    if (!isRecord(delta)) return false
    switch (delta.type) {
      case "text_delta": {
        const text = stringOf(delta.text)
        if (text === undefined || text.length === 0) return false
        out.push(L0Event.token(text))
        return true
      }
      case "input_json_delta":
        return this.calls.append(index, stringOf(delta.partial_json) ?? "")
      case "thinking_delta": {
        const thinking = stringOf(delta.thinking)
        if (thinking === undefined || thinking.length === 0) return false
        out.push(reasoning(thinking))
        return true
      }
      default:
        // signature and citation deltas: model output without text
        return true
    }
  }

  /** `message_delta` usage is cumulative: its keys replace those of `message_start`. */
  private mergeUsage(usage: unknown): void {
    if (!isRecord(usage)) return
    const merged = this.merged
    for (const key in usage) {
      const value = usage[key]
      if (value !== null && value !== undefined) merged[key] = value
    }
    this.usage = usageOf(merged, merged.input_tokens, merged.output_tokens, undefined)
  }
}

/**
 * Decodes Anthropic Messages events:
 * - `text_delta` becomes `Token`s; `thinking_delta` becomes
 *   `Data { value: { type: "reasoning", text } }`.
 * - A `tool_use` block (id and name from `content_block_start`, arguments
 *   from its `input_json_delta`s) becomes one `ToolCall` at its
 *   `content_block_stop`.
 * - `stop_reason` is `Completion.finishReason` (`"refusal"` included: the
 *   answer is the refusal). Usage is `message_start`'s with the cumulative
 *   `message_delta` usage laid over it; `totalTokens` is input + output
 *   tokens, and the cache counters stay in `raw`.
 * - `ping` is not model output. An in-band `error` event fails the attempt:
 *   `overloaded_error`, `api_error` and `rate_limit_error` are transient,
 *   `invalid_request_error`, `authentication_error` and `permission_error`
 *   fatal. A stream without a `stop_reason` fails with a retryable
 *   `NetworkError`. Events after `message_stop` are ignored.
 * - A whole `Message` (a server that ignored `stream: true`) is decoded
 *   from its content blocks (a `tool_use` block's arguments are the JSON of
 *   its `input`), `stop_reason` and `usage`.
 *
 * @category adapters
 * @since 0.1.0
 */
export const anthropic: Adapter = {
  name: NAME,
  detect: (chunk) => isRecord(chunk) && (TYPES.has(chunk.type) || isMessage(chunk)) && !("sequence_number" in chunk),
  make: () => new AnthropicDecoder()
}
