import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const example = async (name: string) =>
  (await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`], { timeout: 30_000 })).stdout

describe("examples run", () => {
  it("basic", async () => {
    const out = await example("basic")
    expect(out).toContain("You asked: how do streams break.")
    expect(out).toContain("You asked: and then. (attempt 1)")
  })

  it("async", async () => {
    const out = await example("async")
    expect(out.split("\n").slice(0, 3)).toEqual([
      "Hello, world",
      "Hello, world",
      "ExhaustedError (fatal): All 1 source(s) failed after 1 attempt(s); last: FatalError: no"
    ])
  })

  it("multi", async () => {
    const out = await example("multi")
    expect(out).toContain(`race: #1 won with "A fast answer."`)
    expect(out).toContain("parallel: one, ExhaustedError, three")
    expect(out).toContain("batch 5/5 done")
    expect(out).toContain("batched: ABCDE")
    expect(out).toContain("hedge: Call 2 streamed first.")
    expect(out).toContain(`majority: "Paris" with agreement 0.67`)
    expect(out).toContain("unanimous: Paris, FR")
  })

  it("retry-fallback", async () => {
    const out = await example("retry-fallback")
    expect(out).toContain("fallback_start")
    expect(out).toContain("final text: Answer from the fallback")
  })
})
