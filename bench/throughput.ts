/**
 * Workloads 1, 2, 3 and 5: one stream of 10k, 100k and 1M tokens from an
 * async generator, raw against L0's consumers, with and without guardrails.
 */
import * as Effect from "effect/Effect"
import type { L0 } from "effect-l0"
import { Guardrails } from "effect-l0"
import * as consumers from "./consumers.js"
import { interleave } from "./harness.js"
import type { Budget, Outcome } from "./report.js"
import * as report from "./report.js"
import { answer, replay } from "./tokens.js"

/** An L0 configuration measured over the same tokens as the baseline. */
interface Variant {
  readonly name: string
  readonly run: (tokens: ReadonlyArray<string>) => Promise<unknown>
}

const l0 = (
  name: string,
  consume: (options: L0.L0Options) => Effect.Effect<string, unknown>,
  extra: Omit<L0.L0Options, "stream">
): Variant => ({ name, run: (tokens) => Effect.runPromise(consume({ ...extra, stream: () => replay(tokens) })) })

/** The variant the per-token budget is about. */
const RECOMMENDED = "L0.stream + Guardrails.recommended"

const VARIANTS: ReadonlyArray<Variant> = [
  l0("L0.stream (runForEachArray)", consumers.streamArrays, {}),
  l0("L0.stream (runForEach)", consumers.streamEach, {}),
  l0("L0.text", consumers.text, {}),
  l0(RECOMMENDED, consumers.streamArrays, { guardrails: Guardrails.recommended }),
  l0("L0.stream + Guardrails.strict", consumers.streamArrays, { guardrails: Guardrails.strict })
]

/** Every size runs in the same rounds, so that drift of the machine cannot bend time(1M)/time(100k). */
const SIZES = [
  { count: 10_000, repeat: 12 },
  { count: 100_000, repeat: 4 },
  { count: 1_000_000, repeat: 1 }
] as const
const ROUNDS = { rounds: 10, warmup: 1 }

const BASELINE = "raw for await, text joined once"

export const run = async (): Promise<Outcome> => {
  const cases = [{ name: BASELINE, run: (tokens: ReadonlyArray<string>) => consumers.raw(replay(tokens)) }, ...VARIANTS]
  const inputs = SIZES.map((size) => answer(size.count))
  const grid = SIZES.flatMap((size, s) =>
    cases.map((c) => ({ name: c.name, count: size.count, repeat: size.repeat, run: () => c.run(inputs[s]!) }))
  )
  const timings = await interleave(grid, ROUNDS)
  const at = (name: string, count: number): number =>
    timings[grid.findIndex((cell) => cell.name === name && cell.count === count)]!.median
  const rows = SIZES.flatMap((size, s) =>
    cases.map((c): report.Row => ({
      workload: c.name,
      size: report.tokens(size.count),
      measured: report.ms(at(c.name, size.count)),
      perToken: report.ns(at(c.name, size.count) * 1e6 / inputs[s]!.length),
      ratio: report.ratio(at(c.name, size.count) / at(BASELINE, size.count))
    }))
  )
  const scaling = cases.map((c) => ({ name: c.name, value: at(c.name, 1_000_000) / at(c.name, 100_000) }))
  const overhead = at(RECOMMENDED, 100_000) / at(BASELINE, 100_000)
  const rawScaling = scaling[0]!.value
  const budgets: Array<Budget> = [
    {
      name: `per-token overhead at 100k tokens: ${RECOMMENDED}`,
      limit: "≤ 2.00x raw (aim 1.5x)",
      measured: report.ratio(overhead),
      pass: overhead <= 2
    },
    ...scaling.slice(1).map((s): Budget => ({
      name: `time(1M)/time(100k): ${s.name}`,
      limit: "≤ 11",
      measured: `${s.value.toFixed(2)} (raw loop ${rawScaling.toFixed(2)})`,
      pass: s.value <= 11
    }))
  ]
  return {
    sections: [
      {
        title: "Throughput (workloads 1, 2, 3, 5)",
        description:
          `One stream of the tokens of a JSON answer (records with prose strings), replayed by an async generator, one \`next()\` per token; sizes are rounded (the JSON closes a few tokens later). Baseline: ${BASELINE}. L0 runs with default options (timeouts on, retries armed) unless named; ratios are against the baseline at the same size.`,
        rows
      },
      {
        title: "Linear scaling (workload 5)",
        description:
          "time(1M) / time(100k) per workload, both sizes measured in the same rounds; linear is 10. A consumer that keeps a million pieces until the end (the raw loop, the `L0.stream` consumers here) makes V8's garbage collector work slightly more than linearly: the raw loop's own figure is the reference.",
        rows: scaling.map((s) => ({
          workload: s.name,
          size: "1M / 100k",
          measured: s.value.toFixed(2),
          ratio: report.ratio(s.value / scaling[0]!.value)
        }))
      }
    ],
    budgets
  }
}
