/**
 * OpenAI Chat Completions stream chunks (`client.chat.completions.create({ stream: true })`
 * and every OpenAI-compatible server).
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
import * as L0Event from "../L0Event.js"

const NAME = "openai-chat"

class ChatDecoder extends MarkedDecoder {
  private readonly calls = new PendingCalls<number>()

  constructor() {
    super(NAME, "finish_reason")
  }

  push(chunk: unknown, out: Array<L0Event.L0Event>): boolean {
    if (!isRecord(chunk)) throw unexpectedChunk(NAME, chunk)
    // an in-band error: L0 categorizes the chunk by `error.type` / `error.code`
    if (chunk.error !== undefined && chunk.error !== null) throw chunk
    const usage = chunk.usage
    if (isRecord(usage)) {
      this.usage = usageOf(usage, usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    }
    const choices = chunk.choices
    if (!Array.isArray(choices)) return false
    let output = false
    for (const choice of choices) {
      // n > 1: only the first choice is the answer L0 streams
      if (!isRecord(choice) || (choice.index !== undefined && choice.index !== 0)) continue
      // a whole `chat.completion` (a server that ignored `stream: true`) has a `message` instead
      const decoded = isRecord(choice.delta)
        ? this.delta(choice.delta, out)
        : isRecord(choice.message) && this.message(choice.message, out)
      if (decoded) output = true
      const finish = stringOf(choice.finish_reason)
      if (finish !== undefined) {
        if (finish === "content_filter") throw contentFiltered(NAME, `finish_reason "content_filter"`)
        this.finishReason = finish
        this.calls.finishAll(out)
      }
    }
    return output
  }

  /** The message of a whole completion; its tool calls are complete, keyed by their position. */
  private message(message: Record<string, unknown>, out: Array<L0Event.L0Event>): boolean {
    const before = out.length
    const thought = stringOf(message.reasoning_content) ?? stringOf(message.reasoning)
    if (thought !== undefined && thought.length > 0) out.push(reasoning(thought))
    const content = stringOf(message.content)
    if (content !== undefined && content.length > 0) out.push(L0Event.token(content))
    const refused = stringOf(message.refusal)
    if (refused !== undefined && refused.length > 0) out.push(refusal(refused))
    let calls = false
    const toolCalls = message.tool_calls
    if (Array.isArray(toolCalls)) {
      for (const [index, call] of toolCalls.entries()) {
        if (!isRecord(call)) continue
        const fn = isRecord(call.function) ? call.function : undefined
        this.calls.start(index, stringOf(call.id), stringOf(fn?.name), stringOf(fn?.arguments))
        calls = true
      }
    }
    return calls || out.length > before
  }

  private delta(delta: Record<string, unknown>, out: Array<L0Event.L0Event>): boolean {
    let output = false
    const content = delta.content
    if (typeof content === "string" && content.length > 0) {
      out.push(L0Event.token(content))
      output = true
    }
    // DeepSeek writes `reasoning_content`, OpenRouter `reasoning`
    const thought = stringOf(delta.reasoning_content) ?? stringOf(delta.reasoning)
    if (thought !== undefined && thought.length > 0) {
      out.push(reasoning(thought))
      output = true
    }
    const refused = delta.refusal
    if (typeof refused === "string" && refused.length > 0) {
      out.push(refusal(refused))
      output = true
    }
    const toolCalls = delta.tool_calls
    if (Array.isArray(toolCalls)) {
      for (const call of toolCalls) {
        if (!isRecord(call)) continue
        const fn = isRecord(call.function) ? call.function : undefined
        const index = typeof call.index === "number" ? call.index : 0
        this.calls.start(index, stringOf(call.id), stringOf(fn?.name), stringOf(fn?.arguments))
        output = true
      }
    }
    return output
  }
}

/**
 * Decodes Chat Completions chunks:
 * - `delta.content` of choice 0 becomes `Token`s. With `n > 1` the other
 *   choices are ignored: request them separately (or with `L0.parallel`)
 *   to stream each one reliably.
 * - `delta.tool_calls` pieces (arguments split over chunks, several
 *   indices, id and name only in the first piece) become one complete
 *   `ToolCall` per call, emitted at `finish_reason`.
 * - `delta.refusal` becomes `Data { value: { type: "refusal", text } }`:
 *   a refusal is an answer, not a failure, so the run completes with it.
 *   `delta.reasoning_content` / `delta.reasoning` (compatible servers)
 *   become `Data { value: { type: "reasoning", text } }`.
 * - `finish_reason` is `Completion.finishReason` (`"length"` included);
 *   `"content_filter"` fails the attempt with a `ContentError`.
 * - `usage` (sent last with `stream_options: { include_usage: true }`) is
 *   the run's `Usage`.
 * - A whole `chat.completion` (a server that ignored `stream: true`) is
 *   decoded the same way from its `message`: text, reasoning, refusal and
 *   complete tool calls, `finish_reason` and `usage`.
 * - An in-band `{ error: { type, code, message } }` chunk fails the attempt,
 *   categorized by its type or code; a stream that ends without a
 *   `finish_reason` was cut short and fails with a retryable `NetworkError`.
 *
 * @category adapters
 * @since 0.1.0
 */
export const openaiChat: Adapter = {
  name: NAME,
  detect: (chunk) =>
    isRecord(chunk) &&
    (chunk.object === "chat.completion.chunk" || Array.isArray(chunk.choices) ||
      (isRecord(chunk.error) && chunk.type === undefined)),
  make: () => new ChatDecoder()
}
