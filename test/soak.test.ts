import { describe, expect, it } from "vitest"
import { faultKinds, run } from "../soak/soak.js"

describe("soak, small", () => {
  it("200 runs with every fault kind, fallbacks, exact and deduplicated continuation and interruptions: no character lost or duplicated, every failure typed, nothing left open", async () => {
    const result = await run({
      streams: 200,
      concurrency: 50,
      seed: 14,
      // enough faults that each of the 14 kinds strikes several times, and many runs continue
      faultRate: 0.5,
      timeoutMs: 3000,
      budgetMs: Infinity,
      deadlineMs: Infinity,
      maxTextLength: 300
    })
    expect({ problems: result.problems, details: result.mismatches }).toEqual({ problems: [], details: [] })
    expect(result.started).toBe(200)
    expect(result.ok).toBeGreaterThan(0)
    expect([result.lost, result.duplicated]).toEqual([0, 0])
    const failed = Object.values(result.failures).reduce((a, b) => a + b, 0)
    expect([result.untyped, result.hung]).toEqual([0, 0])
    expect(result.ok + result.interrupted + failed).toBe(200)
    expect(result.openResponses).toBe(0)
    expect(result.fibersStarted).toBeGreaterThan(200)
    expect(result.liveFibers).toBe(0)
    expect(result.leakedHandles).toEqual({})
    // every fault kind struck, and some runs were interrupted
    const kinds = Object.keys(result.injected).filter((kind) => kind !== "none")
    expect(kinds.sort()).toEqual([...faultKinds].sort())
    expect(result.interrupted).toBeGreaterThan(0)
    // both continuation modes continued from a checkpoint, and the server restated in the deduplicated one
    expect(result.continued.exact).toBeGreaterThan(0)
    expect(result.continued.deduplicated).toBeGreaterThan(0)
    expect(result.restatements).toBeGreaterThan(0)
  }, 180_000)
})
