import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const example = async (name: string) =>
  (await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`], { timeout: 30_000 })).stdout

describe.concurrent("examples run", () => {
  it("basic", async () => {
    const out = await example("basic")
    expect(out).toContain("You asked: how do streams break.")
    expect(out).toContain("You asked: and then. (attempt 1)")
  })

  it("async", async () => {
    const out = await example("async")
    expect(out.split("\n").slice(0, 5)).toEqual([
      "Hello, world",
      "Hello, world",
      "ExhaustedError (fatal): All 1 source(s) failed after 1 attempt(s); last: FatalError: no",
      "token: Thinking",
      "AbortError: cancelled"
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

  it("drift", async () => {
    const out = await example("drift")
    expect(out).toContain(`Guardrail drift.repetition: repetition loop at offset 99: the same 2 words came 5 times in a row`)
    expect(out).toContain("final text: As an AI, I can list them")
    expect(out).toContain(`warning drift.metaCommentary: meta commentary at offset 0: "As an AI"`)
  })

  it("retry-fallback", async () => {
    const out = await example("retry-fallback")
    expect(out).toContain("fallback_start")
    expect(out).toContain("final text: Answer from the fallback")
  })

  it("eventlog", async () => {
    const out = await example("eventlog")
    expect(out).toContain("bus events: session_start, stream_start, error_network, retry_attempt")
    expect(out).toContain("original: ExhaustedError: All 2 source(s) failed after 3 attempt(s)")
    expect(out).toContain("replayed: ExhaustedError: All 2 source(s) failed after 3 attempt(s)")
    expect(out).toContain("same events: true")
    expect(out).toContain("provider calls: 3 while recording, 0 while replaying")
  })

  // without an API key the structured examples use their scripted model
  const offline = async (name: string) => {
    const { OPENAI_API_KEY: _, ...env } = process.env
    return (await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`], { timeout: 30_000, env })).stdout
  }

  it("structured-effect", async () => {
    const out = await offline("structured-effect")
    expect(out).toContain(`retrying; the model is told: The reply does not match the schema: total: Expected number, got "225.50 EUR"`)
    expect(out).toContain("INV-042: 225.5 EUR in 2 lines")
  })

  it("structured-async", async () => {
    const out = await offline("structured-async")
    expect(out).toContain("INV-042: 225.5 EUR")
    expect(out).toMatch(/partial: 1 lines so far[\s\S]*partial: 2 lines so far/)
    expect(out).toContain("final: 2 h consulting, travel")
  })
})
