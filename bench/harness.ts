/**
 * A small timing harness: cases of one group run interleaved (one sample of
 * each per round, in a rotating order), so that drift and GC debt spread
 * evenly over the cases; a group reports medians. There is no forced GC
 * between samples: a full GC discards optimized code that refers to objects
 * it frees (V8 deoptimizes it, "weak objects"), so every sample would then
 * measure a cold start rather than the steady state of a running service.
 */

/** Runs a full GC when node runs with `--expose-gc` (as `npm run bench` does). */
export const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) {
    gc()
  }
}

export const hasGc = (): boolean => typeof (globalThis as { gc?: unknown }).gc === "function"

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.slice().sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export interface Case {
  readonly name: string
  /** One complete run; resolves when the workload is done. */
  readonly run: () => Promise<unknown>
  /** Samples taken in each round (default 1): more for short cases, so that they get as many as they need. */
  readonly repeat?: number
}

export interface Timing {
  readonly name: string
  /** Median wall time of one run, in milliseconds. */
  readonly median: number
}

/**
 * Times every case `rounds` times (times its `repeat`) after `warmup` untimed
 * rounds and returns the medians, in the order of `cases`.
 */
export const interleave = async (
  cases: ReadonlyArray<Case>,
  options: { readonly rounds: number; readonly warmup: number }
): Promise<ReadonlyArray<Timing>> => {
  const samples = cases.map((): Array<number> => [])
  for (let round = 0; round < options.warmup + options.rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (k + round) % cases.length
      const current = cases[index]!
      for (let r = 0; r < (current.repeat ?? 1); r++) {
        const start = performance.now()
        await current.run()
        const elapsed = performance.now() - start
        if (round >= options.warmup) samples[index]!.push(elapsed)
      }
    }
  }
  return cases.map((c, i) => ({ name: c.name, median: median(samples[i]!) }))
}

/** Resolves after pending I/O callbacks and timers had a turn. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
