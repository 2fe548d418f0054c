import { connect } from "effect-l0/client"
import { ProviderServer } from "effect-l0/testing"
import { describe, expect, it } from "vitest"
import { hasPostgres, type PostgresServer, startPostgres } from "../examples/fleet/postgres.js"
import { type Child, freePort, proxy, start } from "../examples/fleet/processes.js"
import { hasRedis, type RedisServer, startRedis } from "./fleet/redis.js"

const SECRET = "the-fleet-test-secret-0123456789"
const SESSIONS = 50
const WORDS = ["reliable", "tokens", "stream", "runner", "shard", "answer", "once", "cursor", "é", "naïve", "😀", "x"]

/** A seeded answer: 30 to 50 words of a fixed list, multi-byte ones included. */
const answerOf = (seed: number): string => {
  let state = seed * 2654435761 >>> 0
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
  const words = Array.from({ length: 30 + Math.floor(next() * 20) }, () => WORDS[Math.floor(next() * WORDS.length)])
  return `${seed}: ${words.join(" ")}.`
}

const questionOf = (request: ProviderServer.RecordedRequest): string =>
  (request.body as { messages: Array<{ role: string; content: string }> }).messages.find((m) => m.role === "user")!
    .content

/** Bounded polling for a condition that depends on other processes. */
const until = async (what: string, condition: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe.skipIf(!hasRedis || !hasPostgres)(
  "Fleet: three runners on PostgreSQL and Redis, one killed mid-answer (skipped where redis-server or PostgreSQL 15 is not installed)",
  () => {
    it(`${SESSIONS} seeded answers behind a proxy that drops connections: every one whole, exactly once`, async () => {
      const overlaps: Array<string> = []
      const scripts = new Map<string, ProviderServer.Script>()
      const provider = await ProviderServer.listen((request, index) => {
        const question = questionOf(request)
        // nothing is generated twice at once: no earlier request of the session is still open
        if (provider.requests.slice(0, index).some((r) => questionOf(r) === question && r.outcome === undefined)) {
          overlaps.push(question)
        }
        let script = scripts.get(question)
        if (script === undefined) {
          script = ProviderServer.continuing(answerOf(Number(question)), { replies: [{ chunkSize: 3, delay: 45 }] })
          scripts.set(question, script)
        }
        return (script as (request: ProviderServer.RecordedRequest, index: number) => ProviderServer.Answer)(
          request,
          0
        )
      })
      let postgres: PostgresServer | undefined
      let redis: RedisServer | undefined
      const runners: Array<Child> = []
      try {
        ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
        const httpPorts = await Promise.all([freePort(), freePort(), freePort()])
        for (const httpPort of httpPorts) {
          runners.push(start("examples/fleet/runner.ts", {
            PORT: String(await freePort()),
            HTTP_PORT: String(httpPort),
            PG_URL: postgres.url,
            REDIS_URL: redis.url,
            BASE_URL: provider.openaiBaseUrl,
            SECRET
          }))
        }
        await Promise.all(runners.map((runner) => runner.line("ready")))
        // every 3rd connection is cut somewhere in its first kilobyte
        const front = await proxy(httpPorts, (n) => n % 3 === 1 ? 200 + (n * 97) % 800 : Infinity)
        try {
          const replies = Array.from({ length: SESSIONS }, (_, seed) =>
            connect(`${front.url}/chat`, {
              method: "POST",
              body: JSON.stringify({ sessionId: `fleet-${seed}`, question: String(seed) })
            }, { reconnect: { idempotent: true, attempts: 30, delay: 50, maxDelay: 400 } }))
          const done = replies.map(() => false)
          replies.forEach((reply, seed) => void reply.result.then(() => (done[seed] = true), () => (done[seed] = true)))
          // the victim: a runner in the middle of an answer whose client already shows some text (so a checkpoint
          // was saved), found by bounded polling
          let victim: Child | undefined
          await until("an answer in the middle", () => {
            victim = runners.find((runner) =>
              replies.some((reply, seed) =>
                !done[seed] && reply.text.length >= 30 && runner.lines.includes(`generating fleet-${seed}`)
              )
            )
            return victim !== undefined
          })
          victim!.kill("SIGKILL")
          const killed = await victim!.exit
          const results = await Promise.allSettled(replies.map((reply) => reply.result))
          const wrong = results.flatMap((result, seed) =>
            result.status === "fulfilled" && result.value.text === answerOf(seed) ? [] : [{
              seed,
              got: result.status === "fulfilled" ? result.value.text : String(result.reason)
            }]
          )
          expect(wrong).toEqual([])
          expect(killed.signal).toBe("SIGKILL")
          // the victim's answers were taken over: continued from a checkpoint, not started again
          const continued = provider.requests.filter((request) =>
            (request.body as { messages: Array<{ role: string }> }).messages.some((m) => m.role === "assistant")
          )
          expect(continued.length).toBeGreaterThan(0)
          expect(overlaps).toEqual([])
          expect(front.cuts()).toBeGreaterThan(0)
        } finally {
          await front.close()
        }
      } finally {
        for (const runner of runners) runner.kill("SIGKILL")
        await Promise.all(runners.map((runner) => runner.exit))
        await Promise.all([provider.close(), postgres?.stop(), redis?.stop()])
      }
    }, 110_000)

    it("the example (examples/fleet/main.ts) shows the whole answer once after killing its generator", async () => {
      const example = start("examples/fleet/main.ts", {})
      const exact = await example.line("exact: ")
      expect(exact).toBe("exact: true")
      expect(await example.line("answer: ")).toMatch(/outlives its runner\.$/)
      expect(example.lines.some((line) => line.startsWith("killed runner"))).toBe(true)
      expect((await example.exit).code).toBe(0)
    }, 60_000)
  }
)
