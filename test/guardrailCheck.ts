import { expect } from "@effect/vitest"
import { Guardrail } from "effect-l0"

/**
 * Runs one attempt of `rule` as the engine does: one check per chunk, each
 * fed only its chunk, the last one with `completed: true`.
 */
export const checkChunks = (
  rule: Guardrail.GuardrailRule,
  chunks: ReadonlyArray<string>,
  toolCallCount = 0
): ReadonlyArray<Guardrail.Violation> => {
  const check = rule.start()
  const violations: Array<Guardrail.Violation> = []
  let content = ""
  const all = chunks.length === 0 ? [""] : chunks
  all.forEach((delta, i) => {
    content += delta
    const input = { delta, content, tokenCount: i + 1, toolCallCount, completed: i === all.length - 1 }
    violations.push(...Guardrail.normalize(rule, check(input)))
  })
  return violations
}

/** The messages of `checkChunks`. */
export const messages = (
  rule: Guardrail.GuardrailRule,
  chunks: ReadonlyArray<string>,
  toolCallCount = 0
): ReadonlyArray<string> => checkChunks(rule, chunks, toolCallCount).map((v) => v.message)

/** `text` cut at `cuts` (any numbers; taken modulo the length, sorted, deduplicated). */
export const cut = (text: string, cuts: ReadonlyArray<number>): ReadonlyArray<string> => {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<string> = []
  let from = 0
  for (const point of points) {
    chunks.push(text.slice(from, point))
    from = point
  }
  chunks.push(text.slice(from))
  return chunks
}

/** `text` one code unit per chunk. */
export const units = (text: string): ReadonlyArray<string> => text.split("")

/** Every way of cutting `text` in two, plus one code unit per chunk. */
const splits = (text: string): ReadonlyArray<ReadonlyArray<string>> => [
  [text],
  units(text),
  ...Array.from({ length: text.length - 1 }, (_, i) => [text.slice(0, i + 1), text.slice(i + 1)])
]

/** The messages of `rule` on `text` in one chunk; cut in any other way, the same messages come (in any order). */
export const verdict = (rule: Guardrail.GuardrailRule, text: string): ReadonlyArray<string> => {
  const [whole, ...others] = splits(text).map((chunks) => messages(rule, chunks))
  for (const other of others) expect([...other].sort()).toEqual([...whole!].sort())
  return whole!
}
