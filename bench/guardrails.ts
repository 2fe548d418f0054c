/**
 * Guardrail cost: what the rules themselves cost per token, the presets,
 * `Guardrails.drift()` and each drift kind alone, over 100k tokens of a
 * JSON answer and of a markdown answer in prose; then `drift()` end to end
 * through `L0.stream`. Drift's prose kinds leave JSON alone, so the two
 * texts show both sides.
 */
import * as Effect from "effect/Effect"
import { Guardrail, Guardrails } from "effect-l0"
import * as consumers from "./consumers.js"
import { interleave } from "./harness.js"
import type { Outcome, Row } from "./report.js"
import * as report from "./report.js"
import { answer, prose, replay } from "./tokens.js"

const SIZE = 100_000
/** Tokens per check: `L0.stream`'s default `checkInterval`. */
const INTERVAL = 10
const REFERENCE = "Guardrails.recommended"

type Rules = ReadonlyArray<Guardrail.GuardrailRule>

const KINDS = ["metaCommentary", "toneShift", "formatCollapse", "repetition", "entropyCollapse", "hedging"] as const

const only = (kind: typeof KINDS[number]): Rules =>
  Guardrails.drift({ ...Object.fromEntries(KINDS.map((k) => [k, false])), [kind]: true })

const JSON_RULES: ReadonlyArray<readonly [string, Rules]> = [
  [REFERENCE, Guardrails.recommended],
  ["Guardrails.strict", Guardrails.strict],
  ["Guardrails.jsonOnly", Guardrails.jsonOnly],
  ["Guardrails.drift()", Guardrails.drift()]
]

const PROSE_RULES: ReadonlyArray<readonly [string, Rules]> = [
  [REFERENCE, Guardrails.recommended],
  ["Guardrails.markdownOnly", Guardrails.markdownOnly],
  ["Guardrails.latex", [Guardrails.latex]],
  ["Guardrails.drift()", Guardrails.drift()],
  ...KINDS.map((kind): readonly [string, Rules] => [`drift.${kind} alone`, only(kind)])
]

/**
 * One attempt's checks as the engine runs them: fresh state, one check per
 * `INTERVAL` tokens fed only the new text, the last one at completion. It
 * fails if a rule reports anything: a rule that stops at its first finding
 * would read less than the whole text.
 */
const checkAll = (rules: Rules, deltas: ReadonlyArray<string>, whole: string): void => {
  const checks = rules.map((rule) => [rule, rule.start()] as const)
  for (let i = 0; i < deltas.length; i++) {
    const input = {
      delta: deltas[i]!,
      tokenCount: (i + 1) * INTERVAL,
      toolCallCount: 0,
      completed: i === deltas.length - 1,
      content: whole
    }
    for (const [rule, check] of checks) {
      const found = Guardrail.normalize(rule, check(input))
      if (found.length > 0) throw new Error(`${rule.name} reported ${found[0]!.message}`)
    }
  }
}

const chunked = (tokens: ReadonlyArray<string>): ReadonlyArray<string> => {
  const deltas: Array<string> = []
  for (let i = 0; i < tokens.length; i += INTERVAL) deltas.push(tokens.slice(i, i + INTERVAL).join(""))
  return deltas
}

const rulesAlone = async (): Promise<ReadonlyArray<Row>> => {
  const texts = [
    { name: "JSON", tokens: answer(SIZE, 3), rules: JSON_RULES },
    { name: "prose", tokens: prose(SIZE, 3), rules: PROSE_RULES }
  ]
  const grid = texts.flatMap((text) => {
    const deltas = chunked(text.tokens)
    const whole = text.tokens.join("")
    return text.rules.map(([name, rules]) => ({
      text: text.name,
      name,
      repeat: 3,
      run: async () => checkAll(rules, deltas, whole)
    }))
  })
  const timings = await interleave(grid, { rounds: 10, warmup: 2 })
  return texts.flatMap((text) => {
    const at = (name: string): number =>
      timings[grid.findIndex((cell) => cell.text === text.name && cell.name === name)]!.median
    return text.rules.map(([name]): Row => ({
      workload: name,
      size: `${report.tokens(SIZE)} ${text.name}`,
      measured: report.ms(at(name)),
      perToken: report.ns(at(name) * 1e6 / text.tokens.length),
      ratio: report.ratio(at(name) / at(REFERENCE))
    }))
  })
}

const BASELINE = "raw for await, text joined once"

const endToEnd = async (): Promise<ReadonlyArray<Row>> => {
  const tokens = prose(SIZE, 3)
  const stream = (guardrails: Rules) => () =>
    Effect.runPromise(consumers.streamArrays({ stream: () => replay(tokens), guardrails }))
  const cases = [
    { name: BASELINE, run: () => consumers.raw(replay(tokens)) },
    { name: "L0.stream (runForEachArray), no guardrails", run: stream([]) },
    { name: `L0.stream + ${REFERENCE}`, run: stream(Guardrails.recommended) },
    { name: "L0.stream + Guardrails.drift()", run: stream(Guardrails.drift()) },
    { name: `L0.stream + ${REFERENCE} + drift()`, run: stream([...Guardrails.recommended, ...Guardrails.drift()]) }
  ]
  const timings = await interleave(cases, { rounds: 10, warmup: 1 })
  const baseline = timings[0]!.median
  return timings.map((timing): Row => ({
    workload: timing.name,
    size: `${report.tokens(SIZE)} prose`,
    measured: report.ms(timing.median),
    perToken: report.ns(timing.median * 1e6 / tokens.length),
    ratio: report.ratio(timing.median / baseline)
  }))
}

export const run = async (): Promise<Outcome> => ({
  sections: [
    {
      title: "Guardrail cost, rules alone",
      description:
        `What the rules cost per token: one attempt's checks run as \`L0.stream\` runs them (fresh state, a check every ${INTERVAL} tokens fed only the new text, the last at completion), without the stream around them, over ${
          report.tokens(SIZE)
        } tokens of a JSON answer (as in Throughput) and of a markdown answer in prose (headings, paragraphs, lists) that no rule reports. Drift's prose kinds (meta commentary, tone, format, hedging) leave JSON alone. Ratios are against \`${REFERENCE}\` on the same text.`,
      rows: await rulesAlone()
    },
    {
      title: "Guardrail cost, end to end",
      description:
        `The prose answer through \`L0.stream\` with the rules named; ratios are against the ${BASELINE} over the same tokens.`,
      rows: await endToEnd()
    }
  ],
  budgets: []
})
