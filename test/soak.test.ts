import { describe, expect, it } from "vitest"
import { faultKinds, restatement, run } from "../soak/soak.js"

describe("soak, small", () => {
  it(
    "200 runs with every fault kind, fallbacks, exact and deduplicated continuation and interruptions: no character lost or duplicated, every failure typed, nothing left open",
    async () => {
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
    },
    180_000
  )

  it("the deduplicated mode restates the longest word-start tail the reply starts with, never a shorter one", () => {
    // "ha ha ha ha" cut after "ha ha": the reply after "ha" would be "ha ha ha", which starts with the longer tail
    // "ha ha" too; deduplication removes the longest, so restating only "ha" would lose a genuine "ha "
    expect(restatement("ha ha ha ha", 5, 0.99)).toBe(5)
    expect(restatement("ha ha ha ha", 5, 0)).toBe(5)
    // no repetition across the cut: the drawn word start stands
    expect(restatement("one two three four", 8, 0.99)).toBe(4)
    expect(restatement("one two three four", 8, 0)).toBe(8)
    // no word start in the window: nothing restated
    expect(restatement("😀😀 more", 4, 0.5)).toBe(0)
  })
})
