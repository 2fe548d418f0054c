/**
 * The parts of a `LanguageModelV3` / `LanguageModelV4` `doStream` stream (the
 * model level under `streamText`), decoded for the runs of `AiSdk.middleware`.
 * Text deltas become tokens; every other part travels as `Data` holding the
 * part itself, so that the middleware hands it on unchanged.
 *
 * @internal
 */
import type { Adapter, Completion } from "../../Adapter.js"
import { completes } from "../../adapters/vercelAi.js"
import { NetworkError } from "../../L0Error.js"
import * as L0Event from "../../L0Event.js"
import type { Usage } from "../../L0Event.js"
import { contentFiltered, isRecord, stringOf, unexpectedChunk, usageOf } from "../decode.js"

/** A model-level stream part: `type` and the fields of that type. */
export type Part = { readonly type: string } & Record<string, unknown>

const NAME = "ai-sdk-model"

/** The `Data` value of a part: marked so that the middleware tells its own parts from any other data. */
interface Carried {
  readonly [PartKey]: Part
}

const PartKey = Symbol.for("effect-l0/AiSdk/Part")

const carry = (part: Part): L0Event.Data => L0Event.data({ [PartKey]: part } satisfies Carried)

/** The part a `Data` event carries, if the middleware's decoder made it. */
export const partOf = (value: unknown): Part | undefined =>
  isRecord(value) && PartKey in value ? (value as unknown as Carried)[PartKey] : undefined

const totalOf = (u: unknown): unknown => isRecord(u) ? u.total : u

/** `{ inputTokens: { total }, outputTokens: { total } }` in V3 and V4. */
const usageFrom = (usage: unknown): Usage | undefined =>
  isRecord(usage) ? usageOf(usage, totalOf(usage.inputTokens), totalOf(usage.outputTokens), undefined) : undefined

/** The unified reason and the provider's raw reason of a `finish` part. */
const finishReasonOf = (
  part: Part
): { readonly unified: string | undefined; readonly raw: string | undefined } => {
  const reason = part.finishReason
  return isRecord(reason)
    ? { unified: stringOf(reason.unified), raw: stringOf(reason.raw) }
    : { unified: stringOf(reason), raw: undefined }
}

/** The part types that carry output: they restart the inter-token timeout. */
const OUTPUT: ReadonlySet<string> = new Set([
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
  "tool-approval-request",
  "source",
  "file",
  "reasoning-file",
  "custom"
])

class ModelPartDecoder {
  private usage: Usage | undefined = undefined
  private finishReason: string | undefined = undefined

  push(chunk: unknown, out: Array<L0Event.L0Event>): boolean {
    if (!isRecord(chunk) || typeof chunk.type !== "string") throw unexpectedChunk(NAME, chunk)
    const part = chunk as Part
    switch (part.type) {
      case "text-delta": {
        const delta = stringOf(part.delta)
        if (delta === undefined || delta.length === 0) return false
        out.push(L0Event.token(delta))
        return true
      }
      case "tool-call": {
        const input = part.input
        out.push(
          carry(part),
          L0Event.toolCall(
            stringOf(part.toolCallId) ?? "",
            stringOf(part.toolName) ?? "",
            typeof input === "string" ? input : JSON.stringify(input ?? {})
          )
        )
        return true
      }
      case "finish": {
        const { raw, unified } = finishReasonOf(part)
        if (unified === undefined || !completes(unified, raw)) {
          throw new NetworkError({
            reason: "eof",
            message: `The model's stream ended without a finish reason from the provider (finishReason ${
              unified === undefined ? "missing" : JSON.stringify(unified)
            }${raw === undefined ? ", no raw reason" : ""})`
          })
        }
        if (unified === "content-filter") throw contentFiltered(NAME, `finishReason "content-filter"`)
        this.finishReason = unified
        this.usage = usageFrom(part.usage)
        out.push(carry(part))
        return false
      }
      case "error":
        throw part.error ?? part
      default:
        out.push(carry(part))
        return OUTPUT.has(part.type)
    }
  }

  end(): Completion {
    if (this.finishReason === undefined) {
      throw new NetworkError({ reason: "eof", message: `The model's stream ended before its "finish" part` })
    }
    return { usage: this.usage, finishReason: this.finishReason }
  }

  finished(): boolean {
    return this.finishReason !== undefined
  }
}

/**
 * Reads model-level parts. Never detected: the middleware names it.
 *
 * @internal
 */
export const modelParts: Adapter = {
  name: NAME,
  detect: () => false,
  make: () => new ModelPartDecoder()
}
