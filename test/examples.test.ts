import { execFile } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { build } from "esbuild"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const run = promisify(execFile)

const NAMES = [
  "basic",
  "async",
  "multi",
  "retry-fallback",
  "structured-effect",
  "structured-async",
  "drift",
  "eventlog",
  "continuation",
  "observability",
  "effect-ai",
  "ai-sdk-middleware",
  "ai-sdk-stream",
  "ai-sdk-use-chat"
] as const

/**
 * Far above what one example needs on a busy 2-core machine. The examples
 * run one at a time, from one esbuild bundle each (the transform `npx tsx`
 * applies module by module), so a run is a plain node process that does not
 * compile thousands of modules first.
 */
const BUDGET = 120_000

let dir = ""

beforeAll(async () => {
  dir = await mkdtemp(Path.join(tmpdir(), "l0-examples-"))
  await build({
    entryPoints: NAMES.map((name) => `examples/${name}.ts`),
    bundle: true,
    platform: "node",
    format: "esm",
    tsconfig: "tsconfig.json",
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    // ai-sdk-use-chat loads esbuild only to serve its page (--serve), which the test does not ask for
    external: ["esbuild"],
    // CommonJS modules in the AI SDK's dependencies require Node built-ins
    banner: {
      js:
        "import { createRequire as __createRequire } from \"node:module\"\nconst require = __createRequire(import.meta.url)"
    },
    logLevel: "warning"
  })
}, BUDGET)

afterAll(() => rm(dir, { recursive: true, force: true }))

/** Runs an example without an API key (the structured examples then use their scripted model); its output lines. */
const example = async (name: typeof NAMES[number]): Promise<ReadonlyArray<string>> => {
  const { OPENAI_API_KEY: _, ANTHROPIC_API_KEY: __, ...env } = process.env
  const { stdout } = await run(process.execPath, [Path.join(dir, `${name}.mjs`)], { timeout: BUDGET, env })
  return stdout.trimEnd().split("\n")
}

/** Lines of results, without the indented progress lines printed while runs are under way. */
const results = (lines: ReadonlyArray<string>) => lines.filter((line) => !line.startsWith("  "))

describe("examples run", () => {
  it("basic", async () => {
    expect(await example("basic")).toEqual([
      "You asked: how do streams break.",
      "6 tokens",
      "You asked: and then. (attempt 1)"
    ])
  }, BUDGET)

  it("async", async () => {
    expect(await example("async")).toEqual([
      "Hello, world",
      "Hello, world",
      "Hello, world",
      "ExhaustedError (fatal): All 1 source(s) failed after 1 attempt(s); last: FatalError: no",
      "token: Thinking",
      "AbortError: cancelled"
    ])
  }, BUDGET)

  it("multi", async () => {
    const lines = await example("multi")
    expect(results(lines)).toEqual([
      `race: #1 won with "A fast answer."`,
      "parallel: one, ExhaustedError, three",
      "batched: ABCDE",
      "hedge: Call 2 streamed first.",
      `majority: "Paris" with agreement 0.67`,
      "unanimous: Paris, FR"
    ])
    // the losers of the race and of the hedge were aborted, and batches reported their progress in order
    expect(lines).toContain("  (slow: request aborted)")
    expect(lines).toContain("  (call 1: request aborted)")
    expect(lines.filter((line) => line.includes("batch "))).toEqual([
      "  batch 2/5 done",
      "  batch 4/5 done",
      "  batch 5/5 done"
    ])
  }, BUDGET)

  it("drift", async () => {
    const out = (await example("drift")).join("\n")
    expect(out).toContain(
      `Guardrail drift.repetition: repetition loop at offset 99: the same 2 words came 5 times in a row`
    )
    expect(out).toContain("final text: As an AI, I can list them")
    expect(out).toContain(`warning drift.metaCommentary: meta commentary at offset 0: "As an AI"`)
  }, BUDGET)

  it("retry-fallback", async () => {
    const lines = await example("retry-fallback")
    expect(lines.at(-1)).toBe("final text: Answer from the fallback")
    const types = lines.slice(0, -2).map((line) => line.split(" ")[0])
    expect(types).toEqual([
      "session_start",
      ...["stream_start", "error_transient", "retry_attempt"],
      ...["stream_start", "error_transient", "retry_attempt"],
      ...["stream_start", "error_transient", "retry_attempt"],
      ...["stream_start", "error_transient", "retry_exhausted", "fallback_start"],
      ...["stream_start", "error_network", "retry_attempt"],
      ...["stream_start", "reset", "stream_complete", "fallback_success", "session_end"]
    ])
    // exponential backoff from 20 ms
    expect(lines.filter((line) => line.startsWith("retry_attempt")).map((line) => JSON.parse(line.slice(19)).delayMs))
      .toEqual([20, 40, 80, 20])
  }, BUDGET)

  it("eventlog", async () => {
    const out = (await example("eventlog")).join("\n")
    expect(out).toContain("bus events: session_start, stream_start, error_network, retry_attempt")
    expect(out).toContain("original: ExhaustedError: All 2 source(s) failed after 3 attempt(s)")
    expect(out).toContain("replayed: ExhaustedError: All 2 source(s) failed after 3 attempt(s)")
    expect(out).toContain("same events: true")
    expect(out).toContain("provider calls: 3 while recording, 0 while replaying")
  }, BUDGET)

  it("structured-effect", async () => {
    expect(await example("structured-effect")).toEqual([
      `retrying; the model is told: The reply does not match the schema: total: Expected number, got "225.50 EUR"`,
      "INV-042: 225.5 EUR in 2 lines",
      "  - 2 h consulting: 180",
      "  - travel: 45.5"
    ])
  }, BUDGET)

  it("structured-async", async () => {
    const lines = await example("structured-async")
    expect(lines[0]).toBe("INV-042: 225.5 EUR")
    expect(lines.at(-1)).toBe("final: 2 h consulting, travel")
    // partial values only grow: 0, then 1, then 2 lines
    const counts = lines.slice(1, -1).map((line) => Number(/^partial: (\d) lines so far$/.exec(line)?.[1]))
    expect(counts).toEqual([...counts].sort())
    expect(new Set(counts)).toEqual(new Set([0, 1, 2]))
  }, BUDGET)

  it("effect-ai", async () => {
    // the dropped connection is retried and the text goes on: each word once
    expect(await example("effect-ai")).toEqual(["The quick brown fox jumps over the lazy dog.", "2 requests"])
  }, BUDGET)

  it("ai-sdk-middleware", async () => {
    expect(await example("ai-sdk-middleware")).toEqual([
      "  attempt 2 after a network error",
      "streamText: The quick brown fox jumps over the lazy dog. (2 requests)",
      "  attempt 2 after a transient error",
      "generateText: The quick brown fox jumps over the lazy dog. (2 requests)",
      "  fallback 1 after a fatal error",
      "fallback: The quick brown fox jumps over the lazy dog. (openai-chat, anthropic)"
    ])
  }, BUDGET)

  it("ai-sdk-stream", async () => {
    expect(await example("ai-sdk-stream")).toEqual([
      "  attempt 2 after a network error",
      "text: The quick brown fox jumps over the lazy dog.",
      "object: {\"name\":\"Fox\",\"colour\":\"red\"} (4 requests)"
    ])
  }, BUDGET)

  it("ai-sdk-use-chat", async () => {
    // what useChat would show, read with the AI SDK's readUIMessageStream: the answer once, both ways
    expect(await example("ai-sdk-use-chat")).toEqual([
      "run:   The quick brown fox jumps over the lazy dog, then naps in the sun.",
      "model: The quick brown fox jumps over the lazy dog, then naps in the sun."
    ])
  }, BUDGET)

  it("continuation", async () => {
    const out = (await example("continuation")).join("\n")
    expect(out).toContain("anthropic: whole code true; prefill {\"role\":\"assistant\",\"content\":\"def total(xs):\"}")
    expect(out).toContain("openai: cut after \"Once upon a time\", keeping 16 characters")
    expect(out).toContain("openai: whole story true")
  }, BUDGET)

  it("observability", async () => {
    const lines = await example("observability")
    // the logger's lines at warning level and above, in order: "[time] LEVEL (#fiber): message"
    expect(lines.flatMap((line) => /^\[[\d:.]+\] (WARN|ERROR) \(#\d+\): effect-l0 (\w+)/.exec(line)?.slice(1) ?? []))
      .toEqual([
        "WARN",
        "error_network",
        "WARN",
        "retry_attempt",
        "ERROR",
        "error_fatal",
        "ERROR",
        "retry_exhausted",
        "WARN",
        "fallback_start"
      ])
    expect(lines).toContain("final text: Answer from the fallback")
    expect(lines.filter((line) => line.startsWith("effect_l0_"))).toEqual([
      `effect_l0_attempts_total{model="example-model",outcome="network",provider="text"} 1`,
      `effect_l0_attempts_total{model="example-model",outcome="fatal",provider="unknown"} 1`,
      `effect_l0_attempts_total{model="example-model",outcome="success",provider="text"} 1`,
      `effect_l0_retries_total{model="example-model",category="network",provider="text"} 1`,
      `effect_l0_fallbacks_total{model="example-model",category="fatal"} 1`,
      `effect_l0_resets_total{model="example-model"} 1`,
      `effect_l0_tokens_total{model="example-model",provider="text"} 2`,
      `effect_l0_runs_total{model="example-model",outcome="success"} 1`
    ])
  }, BUDGET)
})
