/**
 * Vercel AI SDK `streamText(...).fullStream` parts, read by shape so that
 * effect-l0 does not depend on the `ai` package.
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
import { FatalError, NetworkError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import type { Usage } from "../L0Event.js"

const NAME = "vercel-ai"

/** Part types of AI SDK v4 (first line), v5 to v7, and `object` of `streamObject`. */
const TYPES: ReadonlySet<unknown> = new Set([
  "reasoning",
  "reasoning-signature",
  "redacted-reasoning",
  "tool-call-streaming-start",
  "tool-call-delta",
  "step-start",
  "step-finish",
  "text-delta",
  "text",
  "text-start",
  "text-end",
  "reasoning-start",
  "reasoning-delta",
  "reasoning-end",
  "tool-input-start",
  "tool-input-delta",
  "tool-input-end",
  "tool-call",
  "tool-result",
  "tool-error",
  "source",
  "file",
  "start",
  "start-step",
  "finish-step",
  "finish",
  "abort",
  "raw",
  "error",
  "object"
])

type Completes = boolean | "with a raw reason"

/**
 * Whether a `finish` part's unified `finishReason` ends a whole answer:
 * always, never, or only with the provider's own `rawFinishReason`. The AI
 * SDK ends a stream cut before the provider's finish marker with a `finish`
 * part too: `"interrupted"` in ai 7, `"other"` in ai 6, `"unknown"` in ai 4
 * and 5, each without a raw reason. `"error"` follows an `error` part, which
 * failed the attempt already. Values not listed are read as `"other"`.
 */
const COMPLETES: ReadonlyMap<string, Completes> = new Map<string, Completes>([
  ["stop", true],
  ["length", true],
  ["tool-calls", true],
  ["content-filter", true],
  ["interrupted", false],
  ["error", false],
  ["other", "with a raw reason"],
  ["unknown", "with a raw reason"]
])

/** @internal */
export const completes = (reason: string, raw: string | undefined): boolean => {
  const rule = COMPLETES.get(reason) ?? "with a raw reason"
  return rule === "with a raw reason" ? raw !== undefined && raw !== "" : rule
}

/** A `finish` part that ends no answer: the stream was cut short, so it is retried like any cut stream. */
const cutShort = (reason: string | undefined, raw: string | undefined): NetworkError =>
  new NetworkError({
    reason: "eof",
    message: `The ${NAME} stream ended without a finish reason from the provider (finishReason ${
      reason === undefined ? "missing" : JSON.stringify(reason)
    }${raw === undefined ? ", no rawFinishReason" : ""})`
  })

/** v4 usage is `{ promptTokens, completionTokens }`, v5+ `{ inputTokens, outputTokens }`. */
const usageFrom = (usage: unknown): Usage | undefined =>
  isRecord(usage)
    ? usageOf(
      usage,
      usage.inputTokens ?? usage.promptTokens,
      usage.outputTokens ?? usage.completionTokens,
      usage.totalTokens
    )
    : undefined

/** v4 names the text `textDelta`, v5+ `text`; the model-level parts use `delta`. */
const textOf = (part: Record<string, unknown>): string | undefined =>
  stringOf(part.text) ?? stringOf(part.textDelta) ?? stringOf(part.delta)

class VercelDecoder extends MarkedDecoder {
  constructor() {
    super(NAME, `"finish" part`)
  }

  push(chunk: unknown, out: Array<L0Event.L0Event>): boolean {
    if (!isRecord(chunk)) throw unexpectedChunk(NAME, chunk)
    switch (chunk.type) {
      case "text-delta":
      case "text": {
        const text = textOf(chunk)
        if (text === undefined || text.length === 0) return false
        out.push(L0Event.token(text))
        return true
      }
      case "reasoning":
      case "reasoning-delta": {
        const text = textOf(chunk)
        if (text === undefined || text.length === 0) return false
        out.push(reasoning(text))
        return true
      }
      case "tool-call": {
        const args = chunk.input ?? chunk.args
        out.push(L0Event.toolCall(
          stringOf(chunk.toolCallId) ?? "",
          stringOf(chunk.toolName) ?? "",
          typeof args === "string" ? args : JSON.stringify(args ?? {})
        ))
        return true
      }
      case "tool-call-delta":
      case "tool-input-delta":
      case "reasoning-signature":
        return true
      case "source":
      case "file":
        out.push(L0Event.data(chunk))
        return true
      case "finish-step":
      case "step-finish":
        this.usage = usageFrom(chunk.usage) ?? this.usage
        return false
      case "finish": {
        const reason = stringOf(chunk.finishReason)
        const raw = stringOf(chunk.rawFinishReason)
        if (reason === undefined || !completes(reason, raw)) throw cutShort(reason, raw)
        if (reason === "content-filter") throw contentFiltered(NAME, `finishReason "content-filter"`)
        this.finishReason = reason
        this.usage = usageFrom(chunk.totalUsage) ?? usageFrom(chunk.usage) ?? this.usage
        return false
      }
      case "error":
        throw chunk.error ?? chunk
      case "abort":
        throw new FatalError({ reason: "aborted", message: "The AI SDK stream was aborted" })
      default:
        return false
    }
  }
}

/**
 * Decodes the parts of an AI SDK `fullStream` (v4 and v5/v6 names):
 * `text-delta` (`textDelta` in v4, `text` in v5+) becomes `Token`s,
 * `reasoning` / `reasoning-delta` become
 * `Data { value: { type: "reasoning", text } }`, `tool-call` becomes a
 * `ToolCall` whose arguments are the JSON of its `input` (v5+) or `args`
 * (v4), `source` and `file` parts pass as `Data`. The `object` parts of
 * `streamObject` (partial objects) are skipped: its `text-delta`s carry the
 * JSON, which `L0.structured` decodes. `finish` gives
 * `Completion.finishReason` and its `totalUsage` (v5+) or `usage` (v4);
 * `"content-filter"` fails the attempt with a `ContentError`. A `finish`
 * without a finish reason from the provider (`"interrupted"`, `"error"`, or
 * `"other"` / `"unknown"` without `rawFinishReason`: how the AI SDK reports a
 * stream cut short) fails it with a retryable `NetworkError`
 * (`reason: "eof"`). An `error`
 * part fails the attempt with its error, categorized by status, headers
 * and message (an `APICallError` keeps its `Retry-After`); `abort` is a
 * `FatalError`.
 *
 * A source may return the `streamText()` / `streamObject()` result itself:
 * L0 reads its `fullStream`.
 *
 * **Example** (Making an AI SDK stream reliable)
 * ```ts
 * import { streamText } from "ai"
 * const text = yield* L0.text({
 *   stream: ({ signal }) => streamText({ model, prompt, abortSignal: signal, maxRetries: 0, onError: () => {} })
 * })
 * ```
 * @category adapters
 * @since 0.1.0
 */
export const vercelAi: Adapter = {
  name: NAME,
  detect: (chunk) => isRecord(chunk) && TYPES.has(chunk.type),
  make: () => new VercelDecoder()
}
