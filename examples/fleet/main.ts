/**
 * A fleet on this machine: PostgreSQL (cluster storage), Redis (answer
 * buffer and checkpoints) and three runners of `runner.ts`, each also an
 * HTTP server. It asks one question, kills the runner generating the answer
 * with SIGKILL in the middle of it, and shows that the client still gets the
 * whole answer, once: another runner took the answer over from its
 * checkpoint, and the client reconnected to another instance.
 *
 * Needs `redis-server` and PostgreSQL 15 (`apt-get install redis-server
 * postgresql`); the provider is a scripted local server, so no API key.
 * Run: `npx tsx examples/fleet/main.ts`.
 */
import { read } from "effect-l0/client"
import { ProviderServer } from "effect-l0/testing"
import { startPostgres } from "./postgres.js"
import { type Child, freePort, start } from "./processes.js"
import { startRedis } from "./redis.js"

const ANSWER =
  "A cluster entity per session, a checkpoint in Redis and a cursor per event: the answer outlives its runner."

const provider = await ProviderServer.listen(
  ProviderServer.continuing(ANSWER, { replies: [{ chunkSize: 2, delay: 40 }] })
)
const [postgres, redis] = await Promise.all([startPostgres(), startRedis()])
const runners: Array<Child> = []
try {
  const httpPorts = await Promise.all([freePort(), freePort(), freePort()])
  for (const httpPort of httpPorts) {
    runners.push(start("examples/fleet/runner.ts", {
      PORT: String(await freePort()),
      HTTP_PORT: String(httpPort),
      PG_URL: postgres.url,
      REDIS_URL: redis.url,
      BASE_URL: provider.openaiBaseUrl,
      SECRET: "change-me: the key that signs resume cursors"
    }))
  }
  await Promise.all(runners.map((runner) => runner.line("ready")))
  console.log(`3 runners ready; PostgreSQL at ${postgres.url}, Redis at ${redis.url}`)

  // like a load balancer: each (re)connection goes to the next instance
  let next = 0
  let killedAt: number | undefined
  let takeover: number | undefined
  const reply = read((lastEventId) =>
    fetch(`http://127.0.0.1:${httpPorts[next++ % httpPorts.length]}/chat`, {
      method: "POST",
      headers: lastEventId === undefined ? {} : { "last-event-id": lastEventId },
      body: JSON.stringify({ sessionId: "example-1", question: "How does an answer survive its server?" })
    }), {
    reconnect: { idempotent: true, attempts: 20, delay: 100, maxDelay: 500 },
    onReconnect: (attempt, error) => console.log(`reconnecting (${attempt}) after: ${error.message}`),
    onText: (text) => {
      if (killedAt !== undefined && takeover === undefined && text.length > 0) takeover = Date.now() - killedAt
      if (killedAt === undefined && text.length >= ANSWER.length / 3) {
        const victim = runners.find((runner) => runner.lines.includes("generating example-1"))!
        victim.kill("SIGKILL")
        killedAt = Date.now()
        console.log(`killed runner ${runners.indexOf(victim)} at ${JSON.stringify(text)}`)
      }
    },
    onReset: (kept) => console.log(`reset: keep ${kept} characters`)
  })
  const { text } = await reply.result
  console.log(`answer: ${text}`)
  console.log(`exact: ${text === ANSWER}`)
  console.log(`first event after the kill: ${takeover} ms`)
} finally {
  for (const runner of runners) runner.kill("SIGKILL")
  await Promise.all(runners.map((runner) => runner.exit))
  await Promise.all([provider.close(), postgres.stop(), redis.stop()])
}
