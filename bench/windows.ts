/**
 * Document windows: splitting a 1 MB document, and running its windows
 * through `Window.process` with in-memory sources that replay each window in
 * 4-character tokens, against one `L0.run` over the same document's tokens.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { L0, Window } from "effect-l0"
import { interleave } from "./harness.js"
import type { Outcome, Row } from "./report.js"
import * as report from "./report.js"
import { prose, replay } from "./tokens.js"

const BYTES = 1_000_000
/** Window size in approximate tokens (4 characters each), overlapping by a tenth. */
const SIZE = 1000
const OVERLAP = 100

const toTokens = (text: string): ReadonlyArray<string> => {
  const tokens: Array<string> = []
  for (let i = 0; i < text.length; i += 4) tokens.push(text.slice(i, i + 4))
  return tokens
}

export const run = async (): Promise<Outcome> => {
  const document = prose(BYTES / 3).join("").slice(0, BYTES)
  const tokens = toTokens(document)
  const split = { by: "tokens", size: SIZE, overlap: OVERLAP } as const
  const windows = Result.getOrThrow(Window.split(document, split))
  const windowTokens = new Map(windows.map((w) => [w.index, toTokens(w.text)]))
  const processed = (concurrency: number) => () =>
    Effect.runPromise(
      Window.process(document, { ...split, concurrency }, (w) => ({ stream: () => replay(windowTokens.get(w.index)!) }))
    )
  const BASELINE = "one L0.run over the whole document"
  const cases = [
    { name: BASELINE, run: () => Effect.runPromise(L0.run({ stream: () => replay(tokens) })) },
    { name: "Window.split alone", run: async () => Window.split(document, split), repeat: 5 },
    { name: "Window.process, concurrency 1", run: processed(1) },
    { name: "Window.process, concurrency 4", run: processed(4) }
  ]
  const timings = await interleave(cases, { rounds: 5, warmup: 1 })
  const baseline = timings[0]!.median
  const rows = timings.map((timing): Row => ({
    workload: timing.name,
    size: `1 MB, ${report.tokens(tokens.length)} tokens, ${windows.length} windows`,
    measured: report.ms(timing.median),
    perToken: report.ns(timing.median * 1e6 / tokens.length),
    ratio: report.ratio(timing.median / baseline)
  }))
  return {
    sections: [{
      title: "Document windows",
      description:
        `A 1 MB markdown document split by tokens (${SIZE} per window, overlap ${OVERLAP}, 4 characters per token), each window replayed in 4-character tokens by an in-memory source; per-token figures are over the document's tokens (the overlaps add a tenth more). Ratios are against ${BASELINE} in 4-character tokens.`,
      rows
    }],
    budgets: []
  }
}
