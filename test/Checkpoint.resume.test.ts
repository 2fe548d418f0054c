import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { ProviderServer } from "effect-l0/testing"
import { hasRedis, useRedis } from "./fleet/redis.js"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const ANSWER = "Checkpoints let a new process pick up an answer where a dead one left it, without a word twice."

interface Worker {
  readonly lines: Array<string>
  /** Resolves with the first line that starts with `prefix`. */
  readonly line: (prefix: string) => Promise<string>
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly kill: () => void
}

/** Starts test/fleet/resumeChild.ts on this Node (24) with tsx. */
const worker = (env: Record<string, string>): Worker => {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fleet/resumeChild.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"]
  })
  const lines: Array<string> = []
  const waiting: Array<{ prefix: string; resolve: (line: string) => void }> = []
  let buffer = ""
  child.stdout.setEncoding("utf8").on("data", (data: string) => {
    buffer += data
    let end: number
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      lines.push(line)
      for (const w of waiting.filter((w) => line.startsWith(w.prefix))) w.resolve(line)
    }
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  return {
    lines,
    exit,
    kill: () => child.kill("SIGKILL"),
    line: (prefix) => {
      const found = lines.find((line) => line.startsWith(prefix))
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        waiting.push({ prefix, resolve })
        void exit.then(() =>
          reject(new Error(`worker exited without a "${prefix}" line; got ${JSON.stringify(lines)}`))
        )
      })
    }
  }
}

/** The partial answer a continuation request carried: its last assistant message. */
const partialOf = (request: ProviderServer.RecordedRequest): string | undefined => {
  const messages = (request.body as { messages: Array<{ role: string; content: string }> }).messages
  return messages.filter((message) => message.role === "assistant").at(-1)?.content
}

const killAndResume = async (env: Record<string, string>) => {
  // the first answer stalls after 6 chunks: the first process can only end by being killed
  const server = await ProviderServer.listen(
    ProviderServer.continuing(ANSWER, { replies: [{ fault: ProviderServer.stallAfter(6) }, {}] })
  )
  try {
    const first = worker({ ...env, BASE_URL: server.openaiBaseUrl, RESUME: "0" })
    const saved = JSON.parse((await first.line("saved ")).slice("saved ".length)) as { length: number }
    first.kill()
    expect(await first.exit).toEqual({ code: null, signal: "SIGKILL" })
    const second = worker({ ...env, BASE_URL: server.openaiBaseUrl, RESUME: "1" })
    const text = JSON.parse((await second.line("text ")).slice("text ".length)) as string
    expect(await second.exit).toEqual({ code: 0, signal: null })
    expect(text).toBe(ANSWER)
    // on failure, name what each request continued (undefined: a fresh request) and what both workers printed
    expect(
      server.requests.map((request) => partialOf(request)?.length),
      JSON.stringify({ first: first.lines, second: second.lines })
    ).toHaveLength(2)
    expect(partialOf(server.requests[0]!)).toBeUndefined()
    // the second process continued from a stored checkpoint at a word boundary, at least the first one saved
    const partial = partialOf(server.requests[1]!)!
    expect(partial.length).toBeGreaterThanOrEqual(saved.length)
    expect(ANSWER.startsWith(partial)).toBe(true)
    expect(partial.endsWith(" ")).toBe(true)
  } finally {
    await server.close()
  }
}

describe("Checkpoint: a process killed with SIGKILL mid-stream, resumed by a new one", () => {
  it("from the file store", async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "l0-checkpoints-"))
    try {
      await killAndResume({ DIR: dir })
      // the complete answer removed its checkpoint
      expect(await Fs.readdir(dir)).toEqual([])
    } finally {
      await Fs.rm(dir, { recursive: true, force: true })
    }
  }, 120_000)

  describe.skipIf(!hasRedis)("on Redis (skipped where redis-server is not installed)", () => {
    const redis = useRedis()

    it("from Redis", () => killAndResume({ REDIS_URL: redis.url }), 120_000)
  })
})
