/**
 * Workload 6: 1,000 and 10,000 simultaneous streams of 200 tokens in one
 * process, against as many raw loops: wall time, and heap per stream while
 * all of them are in flight.
 */
import * as Effect from "effect/Effect"
import * as consumers from "./consumers.js"
import { collectGarbage, interleave, nextTurn } from "./harness.js"
import type { Budget, Outcome, Row } from "./report.js"
import * as report from "./report.js"
import { answer, replay } from "./tokens.js"

const TOKENS = 200
const LEVELS = [
  { streams: 1_000, rounds: 7, warmup: 2 },
  { streams: 10_000, rounds: 3, warmup: 0 }
] as const
const HEAP_BUDGET = 1 << 30

const rawAll = (count: number, source: () => AsyncIterable<string>): Promise<unknown> =>
  Promise.all(Array.from({ length: count }, () => consumers.raw(source())))

const l0All = (count: number, source: () => AsyncIterable<string>): Promise<unknown> =>
  Effect.runPromise(
    Effect.forEach(
      Array.from({ length: count }, () => consumers.streamArrays({ stream: source })),
      (stream) => stream,
      { concurrency: "unbounded", discard: true }
    )
  )

/** Sources that replay half of `tokens`, then wait there until `open` is called. */
const gate = (tokens: ReadonlyArray<string>) => {
  const half = tokens.length >> 1
  let open = (): void => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  const state = { arrived: 0, open: () => open() }
  const source = async function*(): AsyncGenerator<string> {
    yield* replay(tokens, 0, half)
    state.arrived++
    await opened
    yield* replay(tokens, half)
  }
  return { state, source }
}

/** Heap used with `count` streams in flight, after GC, minus the heap before they started. */
const heapInFlight = async (
  count: number,
  tokens: ReadonlyArray<string>,
  runAll: (count: number, source: () => AsyncIterable<string>) => Promise<unknown>
): Promise<{ readonly perStream: number; readonly total: number }> => {
  const { source, state } = gate(tokens)
  collectGarbage()
  const before = process.memoryUsage().heapUsed
  const done = runAll(count, source)
  while (state.arrived < count) await nextTurn()
  // let the consumers take what the sources produced before the gate
  for (let i = 0; i < 5; i++) await nextTurn()
  collectGarbage()
  const total = process.memoryUsage().heapUsed
  state.open()
  await done
  return { perStream: (total - before) / count, total }
}

export const run = async (): Promise<Outcome> => {
  const tokens = answer(TOKENS, 3).slice(0, TOKENS)
  const timeRows: Array<Row> = []
  const heapRows: Array<Row> = []
  const budgets: Array<Budget> = []
  for (const level of LEVELS) {
    const { streams } = level
    const source = () => replay(tokens)
    const [raw, l0] = await interleave([
      { name: `${streams} raw loops`, run: () => rawAll(streams, source) },
      { name: `${streams} L0.stream`, run: () => l0All(streams, source) }
    ], level)
    const size = `${streams} x ${TOKENS}`
    const perToken = (median: number) => report.ns(median * 1e6 / (streams * TOKENS))
    timeRows.push(
      {
        workload: "raw for await loops",
        size,
        measured: report.ms(raw!.median),
        perToken: perToken(raw!.median),
        ratio: report.ratio(1)
      },
      {
        workload: "L0.stream (runForEachArray), Effect.forEach unbounded",
        size,
        measured: report.ms(l0!.median),
        perToken: perToken(l0!.median),
        ratio: report.ratio(l0!.median / raw!.median)
      }
    )
    const rawHeap = await heapInFlight(streams, tokens, rawAll)
    const l0Heap = await heapInFlight(streams, tokens, l0All)
    heapRows.push(
      {
        workload: "raw for await loops",
        size,
        measured: `${report.bytes(rawHeap.perStream)} / stream`,
        ratio: report.ratio(1)
      },
      {
        workload: "L0.stream (runForEachArray)",
        size,
        measured: `${report.bytes(l0Heap.perStream)} / stream (heap ${report.bytes(l0Heap.total)})`,
        ratio: report.ratio(l0Heap.perStream / rawHeap.perStream)
      }
    )
    if (streams === 10_000) {
      budgets.push({
        name: "heap with 10,000 concurrent L0 streams",
        limit: "< 1 GiB",
        measured: report.bytes(l0Heap.total),
        pass: l0Heap.total < HEAP_BUDGET
      })
    }
  }
  return {
    sections: [
      {
        title: "Concurrency, wall time (workload 6)",
        description:
          "All streams started at once in one process, each replaying the same 200 tokens; ratio against as many raw loops under `Promise.all`.",
        rows: timeRows
      },
      {
        title: "Concurrency, heap (workload 6)",
        description:
          "Heap used (after a full GC) while every stream is held halfway, minus the heap before they started, per stream; ratio against the raw loops. The figure in brackets is the whole heap of the process.",
        rows: heapRows
      }
    ],
    budgets
  }
}
