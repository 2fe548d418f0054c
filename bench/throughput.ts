/**
 * Workloads 1, 2, 3 and 5: one stream of 10k, 100k and 1M tokens from an
 * async generator, raw against L0's consumers, with and without guardrails.
 */
import * as Effect from "effect/Effect"
import type { L0 } from "effect-l0"
import * as consumers from "./consumers.js"
import { interleave } from "./harness.js"
import type { Budget, Section } from "./report.js"
import * as report from "./report.js"
import { answer, replay } from "./tokens.js"

/** An L0 configuration measured over the same tokens as the baseline. */
export interface Variant {
  readonly name: string
  readonly run: (tokens: ReadonlyArray<string>) => Promise<unknown>
  /** Whether the per-token overhead budget applies to this variant. */
  readonly budgeted: boolean
}

const l0 = (
  name: string,
  consume: (options: L0.L0Options) => Effect.Effect<string, unknown>,
  extra: Omit<L0.L0Options, "stream">,
  budgeted: boolean
): Variant => ({
  name,
  budgeted,
  run: (tokens) => Effect.runPromise(consume({ ...extra, stream: () => replay(tokens) }))
})

/** The L0 variants measured; guardrail presets join them once they exist. */
export const variants = (extra: ReadonlyArray<Variant>): ReadonlyArray<Variant> => [
  l0("L0.stream (runForEachArray)", consumers.streamArrays, {}, true),
  l0("L0.stream (runForEach)", consumers.streamEach, {}, false),
  l0("L0.text", consumers.text, {}, true),
  ...extra
]

export const guarded = (name: string, guardrails: L0.L0Options["guardrails"]): Variant =>
  l0(name, consumers.streamArrays, { guardrails }, true)

const SIZES = [
  { count: 10_000, rounds: 41, warmup: 5 },
  { count: 100_000, rounds: 21, warmup: 3 },
  { count: 1_000_000, rounds: 5, warmup: 1 }
] as const

const BASELINE = "raw for await + concatenation"

export const run = async (
  measured: ReadonlyArray<Variant>
): Promise<{ readonly sections: ReadonlyArray<Section>; readonly budgets: ReadonlyArray<Budget> }> => {
  const cases = [{ name: BASELINE, run: (tokens: ReadonlyArray<string>) => consumers.raw(replay(tokens)) }, ...measured]
  const medians = new Map<string, Map<number, number>>()
  const rows: Array<report.Row> = []
  for (const size of SIZES) {
    const input = answer(size.count)
    const timings = await interleave(cases.map((c) => ({ name: c.name, run: () => c.run(input) })), size)
    const base = timings[0]!.median
    for (const timing of timings) {
      const bySize = medians.get(timing.name) ?? new Map<number, number>()
      bySize.set(size.count, timing.median)
      medians.set(timing.name, bySize)
      rows.push({
        workload: timing.name,
        size: report.tokens(size.count),
        measured: report.ms(timing.median),
        perToken: report.ns(timing.median * 1e6 / input.length),
        ratio: report.ratio(timing.median / base)
      })
    }
  }
  const at = (name: string, count: number): number => medians.get(name)!.get(count)!
  const scaling = cases.map((c) => ({ name: c.name, value: at(c.name, 1_000_000) / at(c.name, 100_000) }))
  const budgets: Array<Budget> = [
    ...measured.filter((v) => v.budgeted).map((v): Budget => {
      const value = at(v.name, 100_000) / at(BASELINE, 100_000)
      return {
        name: `per-token overhead at 100k: ${v.name}`,
        limit: "≤ 2.00x raw (aim 1.5x)",
        measured: report.ratio(value),
        pass: value <= 2
      }
    }),
    ...scaling.map((s): Budget => ({
      name: `time(1M)/time(100k): ${s.name}`,
      limit: "≤ 11",
      measured: s.value.toFixed(2),
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
        description: "time(1M) / time(100k) per workload; linear is 10.",
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
