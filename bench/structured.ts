/**
 * Workload 4: `L0.structured` on a 50 KB JSON answer, against what code
 * without L0 does with the same stream: concatenate, `JSON.parse`, decode
 * with the same schema.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { L0 } from "effect-l0"
import * as consumers from "./consumers.js"
import { interleave } from "./harness.js"
import type { Outcome } from "./report.js"
import * as report from "./report.js"
import { answer, replay } from "./tokens.js"

const Answer = Schema.Array(Schema.Struct({
  id: Schema.Number,
  title: Schema.String,
  body: Schema.String,
  tags: Schema.Array(Schema.String)
}))

const decode = Schema.decodeUnknownSync(Answer)

export const run = async (): Promise<Outcome> => {
  const tokens = answer(12_000, 5)
  const bytes = tokens.join("").length
  const expected = (decode(JSON.parse(tokens.join(""))) as ReadonlyArray<unknown>).length
  const check = (value: ReadonlyArray<unknown>): void => {
    if (value.length !== expected) throw new Error(`decoded ${value.length} records, not ${expected}`)
  }
  const timings = await interleave([
    {
      name: "raw for await + JSON.parse + Schema decode",
      run: async () => check(decode(JSON.parse(await consumers.raw(replay(tokens)))))
    },
    {
      name: "L0.structured (autoCorrect, the default)",
      run: async () => check(await Effect.runPromise(L0.structured(Answer, { stream: () => replay(tokens) })))
    },
    {
      name: "L0.structured (autoCorrect: false)",
      run: async () =>
        check(await Effect.runPromise(L0.structured(Answer, { stream: () => replay(tokens), autoCorrect: false })))
    },
    {
      name: "L0.text + JSON.parse + Schema decode",
      run: async () => check(decode(JSON.parse(await Effect.runPromise(L0.text({ stream: () => replay(tokens) })))))
    }
  ], { rounds: 31, warmup: 5 })
  const base = timings[0]!.median
  return {
    sections: [{
      title: "Structured output (workload 4)",
      description: `One JSON answer of ${
        (bytes / 1024).toFixed(0)
      } KB (${tokens.length} tokens, ${expected} records) decoded with an Effect Schema; baseline: the raw loop, then \`JSON.parse\` and \`Schema.decodeUnknownSync\` of the same schema.`,
      rows: timings.map((t) => ({
        workload: t.name,
        size: `${(bytes / 1024).toFixed(0)} KB`,
        measured: report.ms(t.median),
        perToken: report.ns(t.median * 1e6 / tokens.length),
        ratio: report.ratio(t.median / base)
      }))
    }],
    budgets: []
  }
}
