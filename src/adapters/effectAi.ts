/**
 * `effect/ai` `LanguageModel.streamText` parts, read by shape so that the
 * adapter works with any copy of `effect`.
 *
 * @since 0.1.0
 */
import type { Adapter } from "../Adapter.js"
import {
  contentFiltered,
  isRecord,
  MarkedDecoder,
  reasoning,
  stringOf,
  unexpectedChunk,
  usageOf
} from "../internal/decode.js"
import { FatalError, ModelError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import type { Usage } from "../L0Event.js"

const NAME = "effect-ai"

/** The key every decoded `effect/ai` response part carries (`Response.PartTypeId`). */
const PART_BRAND = "~effect/ai/Response/Part"

/** Parts that only frame an answer: its text blocks, metadata and finish. */
const FRAMING: ReadonlySet<unknown> = new Set(["finish", "response-metadata", "text-start", "text-end"])

/**
 * A framing part passed as `Data` by `effectAiParts`: it is no output, and
 * an answer of framing parts alone is empty.
 *
 * @internal
 */
export const isFramingPart = (u: unknown): boolean => isRecord(u) && PART_BRAND in u && FRAMING.has(u.type)

/** `Response.Usage`: token counts nested as `{ inputTokens: { total }, outputTokens: { total } }`. */
const usageFrom = (usage: unknown): Usage | undefined => {
  if (!isRecord(usage)) return undefined
  const input = isRecord(usage.inputTokens) ? usage.inputTokens.total : undefined
  const output = isRecord(usage.outputTokens) ? usage.outputTokens.total : undefined
  return input === undefined && output === undefined ? undefined : usageOf(usage, input, output, undefined)
}

const argumentsOf = (params: unknown): string => {
  if (typeof params === "string") return params
  try {
    return JSON.stringify(params ?? {})
  } catch {
    throw new FatalError({ reason: "protocol", message: "The effect-ai tool call's params cannot be written as JSON" })
  }
}

class EffectAiDecoder extends MarkedDecoder {
  /**
   * @param parts also pass every part but text deltas on as `Data` holding
   * the part itself, so that the parts can be rebuilt after the run
   */
  constructor(private readonly parts: boolean) {
    super(NAME, `"finish" part`)
  }

  push(chunk: unknown, out: Array<L0Event.L0Event>): boolean {
    if (!isRecord(chunk)) throw unexpectedChunk(NAME, chunk)
    const type = chunk.type
    if (type === "text-delta" || type === "text") {
      const text = stringOf(chunk.delta) ?? stringOf(chunk.text)
      if (text === undefined || text.length === 0) return false
      out.push(L0Event.token(text))
      return true
    }
    if (type === "error") throw chunk.error ?? new ModelError({ message: "The effect-ai stream sent an error part" })
    if (type === "finish") {
      const reason = stringOf(chunk.reason) ?? "unknown"
      if (reason === "content-filter") throw contentFiltered(NAME, `finish reason "content-filter"`)
      this.finishReason = reason
      this.usage = usageFrom(chunk.usage) ?? this.usage
    }
    if (type === "tool-call") {
      out.push(L0Event.toolCall(stringOf(chunk.id) ?? "", stringOf(chunk.name) ?? "", argumentsOf(chunk.params)))
    }
    if (this.parts) {
      out.push(L0Event.data(chunk))
      return !FRAMING.has(type)
    }
    switch (type) {
      case "reasoning-delta":
      case "reasoning": {
        const text = stringOf(chunk.delta) ?? stringOf(chunk.text)
        if (text === undefined || text.length === 0) return false
        out.push(reasoning(text))
        return true
      }
      case "source":
      case "file":
      case "tool-result":
      case "tool-approval-request":
        out.push(L0Event.data(chunk))
        return true
      case "tool-call":
      case "tool-params-delta":
        return true
      default:
        return false
    }
  }
}

/**
 * Decodes the parts of `effect/ai`'s `LanguageModel.streamText`:
 * `text-delta` becomes `Token`s, `reasoning-delta` becomes
 * `Data { value: { type: "reasoning", text } }`, `tool-call` becomes a
 * `ToolCall` whose arguments are the JSON of its `params`, and `source`,
 * `file`, `tool-result` and `tool-approval-request` parts pass as `Data`.
 * `finish` gives `Completion.finishReason` and its usage;
 * `"content-filter"` fails the attempt with a `ContentError`, and a stream
 * that ends without `finish` was cut short (a retried `NetworkError`). An
 * `error` part fails the attempt with its error. Detected from any part,
 * `response-metadata` included, by the brand that `effect/ai` gives its
 * parts.
 *
 * An `AiError` failing the stream is categorized by its reason:
 * `RateLimitError` is `transient` and keeps its `retryAfter`,
 * `InternalProviderError` is `transient`, a transport `NetworkError` is
 * `network`, `AuthenticationError`, `QuotaExhaustedError` and
 * `InvalidRequestError` are `fatal`, `ContentPolicyError` is `content`, and
 * invalid output (`InvalidOutputError`, `StructuredOutputError`, bad tool
 * calls) is `model`.
 *
 * **Example** (Making a `LanguageModel` stream reliable)
 * ```ts
 * import { LanguageModel } from "effect/ai"
 * const text = yield* L0.text({
 *   stream: () => LanguageModel.streamText({ prompt: "Write a haiku" }),
 *   retry: { maxAttempts: 3 }
 * }) // Effect<string, L0Error, LanguageModel.LanguageModel>
 * ```
 * @category adapters
 * @since 0.1.0
 */
export const effectAi: Adapter = {
  name: NAME,
  detect: (chunk) => isRecord(chunk) && PART_BRAND in chunk,
  make: () => new EffectAiDecoder(false)
}

/**
 * Like `effectAi`, and every part but text deltas also passes as `Data`
 * holding the part, for `EffectAi.layer` to rebuild the parts.
 *
 * @internal
 */
export const effectAiParts: Adapter = {
  name: NAME,
  detect: effectAi.detect,
  make: () => new EffectAiDecoder(true)
}
