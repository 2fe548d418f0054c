/**
 * Workload 8: a real HTTP stream. The project's ProviderServer (in a worker
 * thread, on 127.0.0.1) streams the tokens as OpenAI Chat Completions SSE;
 * the real `openai` client reads it, once iterated directly and once through
 * `L0.stream` (OpenAI adapter detected, default options).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"
import { once } from "node:events"
import { Worker } from "node:worker_threads"
import OpenAI from "openai"
import { interleave } from "./harness.js"
import type { Budget, Section } from "./report.js"
import * as report from "./report.js"
import { answer } from "./tokens.js"

const TOKENS = 2_000
const BUDGET = 1.05

const request = {
  model: "gpt-4o-mini",
  messages: [{ role: "user" as const, content: "Answer in JSON." }],
  stream: true as const
}

export const run = async (): Promise<{ readonly sections: ReadonlyArray<Section>; readonly budgets: ReadonlyArray<Budget> }> => {
  const tokens = answer(TOKENS, 6)
  const expected = tokens.join("")
  // loader hooks of the main thread do not reach workers: the worker registers tsx, then imports its entry
  const entry = JSON.stringify(new URL("./http-server.ts", import.meta.url).href)
  const server = new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${entry}) })`, {
    eval: true,
    workerData: tokens
  })
  try {
    const [baseURL] = await once(server, "message") as [string]
    const client = new OpenAI({ baseURL, apiKey: "bench", maxRetries: 0, logLevel: "off" })
    const check = (text: string): void => {
      if (text !== expected) throw new Error("the HTTP workload received a different text")
    }
    const raw = async (): Promise<void> => {
      let text = ""
      for await (const chunk of await client.chat.completions.create(request)) {
        text += chunk.choices[0]?.delta.content ?? ""
      }
      check(text)
    }
    const viaL0 = (): Promise<void> =>
      Effect.runPromise(Effect.suspend(() => {
        let text = ""
        return Stream.runForEachArray(
          L0.stream({ stream: ({ signal }) => client.chat.completions.create(request, { signal }) }),
          (events) => {
            for (const event of events) if (event._tag === "Token") text += event.value
            return Effect.void
          }
        ).pipe(Effect.map(() => check(text)))
      }))
    const [base, l0] = await interleave([
      { name: "openai SDK: for await over the stream", run: raw },
      { name: "openai SDK through L0.stream (runForEachArray)", run: viaL0 }
    ], { rounds: 41, warmup: 5 })
    const overhead = l0!.median / base!.median
    const size = `${tokens.length} tokens`
    return {
      sections: [{
        title: "Over HTTP (workload 8)",
        description:
          "ProviderServer, in a worker thread of the same process, streams a JSON answer as OpenAI Chat Completions SSE, one token per event; the real `openai` client reads it over 127.0.0.1 on the main thread.",
        rows: [
          { workload: base!.name, size, measured: report.ms(base!.median), perToken: report.ns(base!.median * 1e6 / tokens.length), ratio: report.ratio(1) },
          { workload: l0!.name, size, measured: report.ms(l0!.median), perToken: report.ns(l0!.median * 1e6 / tokens.length), ratio: report.ratio(overhead) }
        ]
      }],
      budgets: [{
        name: "HTTP overhead (openai client through L0.stream)",
        limit: "≤ 5%",
        measured: `${((overhead - 1) * 100).toFixed(1)}%`,
        pass: overhead <= BUDGET
      }]
    }
  } finally {
    server.postMessage("close")
    await once(server, "exit")
  }
}
