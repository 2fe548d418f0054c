import type { Completion, Decoder } from "../Adapter.js"
import * as Predicate from "effect/Predicate"
import { describe } from "./describe.js"
import { ContentError, FatalError, NetworkError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import type { Usage } from "../L0Event.js"

/**
 * A non-null object that is not an array.
 *
 * @internal
 */
export const isRecord: (u: unknown) => u is Record<string, unknown> = Predicate.isObject

/**
 * `application/json` or a `+json` type: a provider that answered a streamed
 * request with the whole completion.
 *
 * @internal
 */
export const isJsonContentType = (type: string | null | undefined): boolean =>
  type != null && /^\s*application\/(?:[^;\s]*\+)?json\s*(?:;|$)/i.test(type)

/** @internal */
export const stringOf = (u: unknown): string | undefined => typeof u === "string" ? u : undefined

/** @internal */
const numberOf = (u: unknown): number | undefined => typeof u === "number" ? u : undefined

/**
 * A decoder that keeps no state between chunks.
 *
 * @internal
 */
export const stateless = (push: Decoder["push"]): Decoder => ({ push, end: () => undefined })

/** @internal */
export const unexpectedChunk = (adapter: string, chunk: unknown): FatalError =>
  new FatalError({ reason: "protocol", message: `The "${adapter}" adapter cannot read ${describe(chunk)}` })

/**
 * A stream that ended without the provider's end marker was cut short
 * (a proxy or socket closed it cleanly): retrying beats keeping a
 * truncated answer.
 *
 * @internal
 */
const endedEarly = (adapter: string, marker: string): NetworkError =>
  new NetworkError({ reason: "eof", message: `The ${adapter} stream ended before its ${marker}` })

/**
 * A decoder for a protocol whose streams end with a finish marker: `end`
 * reports the usage and finish reason, or fails when the marker never came.
 *
 * @internal
 */
export abstract class MarkedDecoder implements Decoder {
  protected usage: Usage | undefined = undefined
  protected finishReason: string | undefined = undefined

  constructor(private readonly adapter: string, private readonly marker: string) {}

  abstract push(chunk: unknown, out: Array<L0Event.L0Event>): boolean

  end(): Completion {
    if (this.finishReason === undefined) throw endedEarly(this.adapter, this.marker)
    return { usage: this.usage, finishReason: this.finishReason }
  }

  finished(): boolean {
    return this.finishReason !== undefined
  }
}

/** @internal */
export const contentFiltered = (adapter: string, detail: string): ContentError =>
  new ContentError({ rule: "content_filter", message: `The ${adapter} content filter stopped the output (${detail})` })

/** The `Data` value of reasoning and refusal deltas. */
export const reasoning = (text: string): L0Event.Data => L0Event.data({ type: "reasoning", text })

/** @internal */
export const refusal = (text: string): L0Event.Data => L0Event.data({ type: "refusal", text })

/**
 * Builds a `Usage` from a provider's usage object; `total` falls back to
 * input + output when the provider does not report it.
 *
 * @internal
 */
export const usageOf = (
  raw: Record<string, unknown>,
  input: unknown,
  output: unknown,
  total: unknown
): Usage => {
  const inputTokens = numberOf(input)
  const outputTokens = numberOf(output)
  const totalTokens = numberOf(total) ??
    (inputTokens !== undefined && outputTokens !== undefined ? inputTokens + outputTokens : undefined)
  return { inputTokens, outputTokens, totalTokens, raw }
}

/**
 * Tool calls whose arguments arrive in pieces, keyed by the protocol's
 * index or item id, emitted in the order they started.
 *
 * @internal
 */
export class PendingCalls<K> {
  private readonly calls = new Map<K, { id: string; name: string; parts: Array<string> }>()

  start(key: K, id: string | undefined, name: string | undefined, args?: string): void {
    const call = this.calls.get(key)
    if (call === undefined) {
      this.calls.set(key, { id: id ?? "", name: name ?? "", parts: args === undefined || args === "" ? [] : [args] })
      return
    }
    if (id !== undefined && id !== "") call.id = id
    if (name !== undefined && name !== "") call.name = name
    if (args !== undefined && args !== "") call.parts.push(args)
  }

  append(key: K, delta: string): boolean {
    const call = this.calls.get(key)
    if (call === undefined) return false
    if (delta !== "") call.parts.push(delta)
    return true
  }

  /** Emits one call; `args`, when given, replaces the collected pieces. */
  finish(key: K, out: Array<L0Event.L0Event>, args?: string): void {
    const call = this.calls.get(key)
    if (call === undefined) return
    this.calls.delete(key)
    out.push(L0Event.toolCall(call.id, call.name, args ?? call.parts.join("")))
  }

  finishAll(out: Array<L0Event.L0Event>): void {
    for (const key of [...this.calls.keys()]) this.finish(key, out)
  }
}
