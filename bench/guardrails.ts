/**
 * Guardrail cost: `L0.stream` with the presets, `Guardrails.drift()` and
 * each drift kind alone, over 100k tokens of a JSON answer and of a markdown
 * answer in prose, against the same stream without guardrails. Drift's
 * prose kinds leave JSON alone, so the two texts show both sides.
 */
import * as Effect from "effect/Effect"
import type { Guardrail, L0 } from "effect-l0"
import { Guardrails } from "effect-l0"
import * as consumers from "./consumers.js"
import { interleave } from "./harness.js"
import type { Outcome, Row } from "./report.js"
import * as report from "./report.js"
import { answer, prose, replay } from "./tokens.js"

const SIZE = 100_000
const BASELINE = "raw for await, text joined once"
const PLAIN = "L0.stream (runForEachArray), no guardrails"

type Rules = ReadonlyArray<Guardrail.GuardrailRule>

const KINDS = ["metaCommentary", "toneShift", "formatCollapse", "repetition", "entropyCollapse", "hedging"] as const

const only = (kind: typeof KINDS[number]): Rules =>
  Guardrails.drift({ ...Object.fromEntries(KINDS.map((k) => [k, false])), [kind]: true })

const JSON_VARIANTS: ReadonlyArray<readonly [string, Rules]> = [
  ["+ Guardrails.recommended", Guardrails.recommended],
  ["+ Guardrails.strict", Guardrails.strict],
  ["+ Guardrails.drift()", Guardrails.drift()],
  ["+ Guardrails.recommended + drift()", [...Guardrails.recommended, ...Guardrails.drift()]]
]

const PROSE_VARIANTS: ReadonlyArray<readonly [string, Rules]> = [
  ["+ Guardrails.recommended", Guardrails.recommended],
  ["+ Guardrails.markdownOnly", Guardrails.markdownOnly],
  ["+ Guardrails.latex", [Guardrails.latex]],
  ["+ Guardrails.drift()", Guardrails.drift()],
  ["+ Guardrails.recommended + drift()", [...Guardrails.recommended, ...Guardrails.drift()]],
  ...KINDS.map((kind): readonly [string, Rules] => [`+ drift.${kind} alone`, only(kind)])
]

const stream = (tokens: ReadonlyArray<string>, guardrails: Rules): Effect.Effect<string, unknown> =>
  consumers.streamArrays({ stream: () => replay(tokens), guardrails } satisfies L0.L0Options)

export const run = async (): Promise<Outcome> => {
  const texts = [
    { name: "JSON", tokens: answer(SIZE, 3), variants: JSON_VARIANTS },
    { name: "prose", tokens: prose(SIZE, 3), variants: PROSE_VARIANTS }
  ]
  const grid = texts.flatMap((text) => [
    { text: text.name, name: BASELINE, run: () => consumers.raw(replay(text.tokens)) },
    { text: text.name, name: PLAIN, run: () => Effect.runPromise(stream(text.tokens, [])) },
    ...text.variants.map(([name, rules]) => ({ text: text.name, name, run: () => Effect.runPromise(stream(text.tokens, rules)) }))
  ]).map((cell) => ({ ...cell, repeat: 2 }))
  const timings = await interleave(grid, { rounds: 10, warmup: 1 })
  const at = (text: string, name: string): number =>
    timings[grid.findIndex((cell) => cell.text === text && cell.name === name)]!.median
  const rows = texts.flatMap((text) => {
    const count = text.tokens.length
    const perToken = (ms: number): number => ms * 1e6 / count
    return [BASELINE, PLAIN, ...text.variants.map(([name]) => name)].map((name): Row => {
      const time = at(text.name, name)
      const cost = perToken(time - at(text.name, PLAIN))
      return {
        workload: name,
        size: `${report.tokens(SIZE)} ${text.name}`,
        measured: name === BASELINE || name === PLAIN
          ? report.ms(time)
          : `${report.ms(time)} (${cost >= 0 ? "+" : ""}${cost.toFixed(0)} ns/token)`,
        perToken: report.ns(perToken(time)),
        ratio: report.ratio(time / at(text.name, BASELINE))
      }
    })
  })
  return {
    sections: [{
      title: "Guardrail cost",
      description:
        `One stream of ${report.tokens(SIZE)} tokens replayed by an async generator: a JSON answer (as in Throughput) and a markdown answer in prose (headings, paragraphs, lists). Each guardrail row reads the stream with \`L0.stream\` + \`runForEachArray\` and the rules named (default \`checkInterval\`); in brackets, its cost per token over the same stream without guardrails. Drift's prose kinds (meta commentary, tone, format, hedging) leave JSON alone. Ratios are against ${BASELINE}.`,
      rows
    }],
    budgets: []
  }
}
