/**
 * Workload 7: time to first token. The source yields its first chunk one
 * event-loop turn after the consumer started (as a network read would);
 * the figure is the time from that chunk to the first `Token` in the
 * consumer's hands, raw against L0.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"
import { median, nextTurn } from "./harness.js"
import type { Outcome } from "./report.js"
import * as report from "./report.js"
import { answer, replay } from "./tokens.js"

const SAMPLES = 400
const WARMUP = 50

interface Marks {
  started: number
  firstChunk: number
  firstToken: number
}

const marks = (): Marks => ({ started: 0, firstChunk: 0, firstToken: 0 })

const timed = (tokens: ReadonlyArray<string>, m: Marks) =>
  async function*(): AsyncGenerator<string> {
    await nextTurn()
    m.firstChunk = performance.now()
    yield* replay(tokens)
  }

const raw = async (tokens: ReadonlyArray<string>, m: Marks): Promise<void> => {
  m.started = performance.now()
  for await (const token of timed(tokens, m)()) {
    if (m.firstToken === 0) m.firstToken = performance.now()
    void token
  }
}

const l0 = (tokens: ReadonlyArray<string>, m: Marks): Promise<void> => {
  m.started = performance.now()
  return Effect.runPromise(Stream.runForEachArray(L0.stream({ stream: timed(tokens, m) }), (events) => {
    if (m.firstToken === 0 && events.some((e) => e._tag === "Token")) m.firstToken = performance.now()
    return Effect.void
  }))
}

export const run = async (): Promise<Outcome> => {
  const tokens = answer(20, 4).slice(0, 20)
  const chunkToToken = { raw: [] as Array<number>, l0: [] as Array<number> }
  const callToToken = { raw: [] as Array<number>, l0: [] as Array<number> }
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const r = marks()
    const l = marks()
    // alternate the order so neither side always runs on a warmer cache
    if (i % 2 === 0) {
      await raw(tokens, r)
      await l0(tokens, l)
    } else {
      await l0(tokens, l)
      await raw(tokens, r)
    }
    if (i < WARMUP) continue
    chunkToToken.raw.push(r.firstToken - r.firstChunk)
    chunkToToken.l0.push(l.firstToken - l.firstChunk)
    callToToken.raw.push(r.firstToken - r.started)
    callToToken.l0.push(l.firstToken - l.started)
  }
  const rows = [
    { label: "source's first chunk → first Token", figures: chunkToToken },
    { label: "call → first Token (setup included)", figures: callToToken }
  ].flatMap(({ label, figures }) => {
    const base = median(figures.raw)
    const measured = median(figures.l0)
    return [
      {
        workload: `raw for await: ${label}`,
        size: `${SAMPLES} runs`,
        measured: report.ms(base),
        ratio: report.ratio(1)
      },
      {
        workload: `L0.stream: ${label}`,
        size: `${SAMPLES} runs`,
        measured: `${report.ms(measured)} (+${report.ms(measured - base)})`,
        ratio: report.ratio(measured / base)
      }
    ]
  })
  const overhead = median(chunkToToken.l0) - median(chunkToToken.raw)
  return {
    sections: [{
      title: "Time to first token (workload 7)",
      description:
        "Medians over interleaved runs of a 20-token stream whose first chunk arrives one event-loop turn after the start. L0 runs with default options.",
      rows
    }],
    budgets: [{
      name: "TTFT overhead (first chunk → first Token)",
      limit: "< 1 ms",
      measured: report.ms(overhead),
      pass: overhead < 1
    }]
  }
}
