/**
 * Workload 8: a real HTTP stream. The project's ProviderServer (in a worker
 * thread, on 127.0.0.1) streams the tokens as OpenAI Chat Completions SSE;
 * the real `openai` client reads it, once iterated directly and once through
 * `L0.stream` (OpenAI adapter detected, default options). Paced at one token
 * per millisecond, as a provider streams (still 20 to 50 times faster than
 * models write), and at full speed, where the client's CPU is the limit.
 */
import { once } from "node:events"
import { Worker } from "node:worker_threads"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"
import OpenAI from "openai"
import type { Timing } from "./harness.js"
import { interleave } from "./harness.js"
import type { Outcome, Row } from "./report.js"
import * as report from "./report.js"
import { answer } from "./tokens.js"

const BUDGET = 1.05

const LOADS = [
  { model: "paced", tokens: 100, rounds: 15, warmup: 2 },
  { model: "fast", tokens: 2_000, rounds: 41, warmup: 5 }
] as const

/** Starts the server thread; the tokens of both loads travel with it. */
const startServer = async (
  fast: ReadonlyArray<string>,
  paced: ReadonlyArray<string>
): Promise<{ readonly baseURL: string; readonly close: () => Promise<unknown> }> => {
  // loader hooks of the main thread do not reach workers: the worker registers tsx, then imports its entry
  const entry = JSON.stringify(new URL("./http-server.ts", import.meta.url).href)
  const worker = new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${entry}) })`, {
    eval: true,
    workerData: { fast, paced }
  })
  const [baseURL] = await once(worker, "message") as [string]
  return {
    baseURL,
    close: () => {
      worker.postMessage("close")
      return once(worker, "exit")
    }
  }
}

const measure = (client: OpenAI, model: string, tokens: ReadonlyArray<string>, rounds: number, warmup: number) => {
  const expected = tokens.join("")
  const request = { model, messages: [{ role: "user" as const, content: "Answer in JSON." }], stream: true as const }
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
  return interleave([
    { name: `openai SDK, ${model}: for await over the stream`, run: raw },
    { name: `openai SDK, ${model}: through L0.stream (runForEachArray)`, run: viaL0 }
  ], { rounds, warmup })
}

const rows = (timings: ReadonlyArray<Timing>, tokens: number): Array<Row> =>
  timings.map((timing) => ({
    workload: timing.name,
    size: `${tokens} tokens`,
    measured: report.ms(timing.median),
    perToken: report.ns(timing.median * 1e6 / tokens),
    ratio: report.ratio(timing.median / timings[0]!.median)
  }))

export const run = async (): Promise<Outcome> => {
  const [paced, fast] = LOADS.map((load) => answer(load.tokens, 6))
  const server = await startServer(fast!, paced!)
  try {
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "bench", maxRetries: 0, logLevel: "off" })
    const measured: Array<Row> = []
    let overhead = 0
    for (const [i, load] of LOADS.entries()) {
      const tokens = i === 0 ? paced! : fast!
      const [base, l0] = await measure(client, load.model, tokens, load.rounds, load.warmup)
      if (load.model === "paced") overhead = l0!.median / base!.median
      measured.push(...rows([base!, l0!], tokens.length))
    }
    return {
      sections: [{
        title: "Over HTTP (workload 8)",
        description:
          "ProviderServer, in a worker thread of the same process, streams a JSON answer as OpenAI Chat Completions SSE, one token per event, paced at one token per millisecond or at full speed; the real `openai` client reads it over 127.0.0.1 on the main thread. At full speed the client's CPU is the limit and the figure moves by several percent from run to run (the server thread competes for the same two cores); the budget is for the paced stream.",
        rows: measured
      }],
      budgets: [{
        name: "HTTP overhead, paced stream (openai client through L0.stream)",
        limit: "≤ 5%",
        measured: `${((overhead - 1) * 100).toFixed(1)}%`,
        pass: overhead <= BUDGET
      }]
    }
  } finally {
    await server.close()
  }
}
