import { describe, expect, it } from "vitest"
import { eofFaultKinds, run } from "../soak/soak.js"

describe("soak, small", () => {
  it("200 runs with faults, fallbacks and interruptions: no character lost or duplicated, every failure typed, nothing left open", async () => {
    const result = await run({
      streams: 200,
      concurrency: 50,
      seed: 14,
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
    expect(kinds.length).toBe(result.options.eofFaults ? 14 : 14 - eofFaultKinds.length)
    expect(result.interrupted).toBeGreaterThan(0)
  }, 180_000)
})
