/**
 * Resumable delivery and takeover: what the answer buffer adds per event
 * (memory, Redis on 127.0.0.1), what a buffered answer holds in Redis, and
 * how long a fleet takes from killing the generating runner to the next
 * event on the client (examples/fleet/main.ts, three runners on PostgreSQL).
 */
import { NodeRedis } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { AnswerBuffer, L0, Sse } from "effect-l0"
import { hasPostgres } from "../examples/fleet/postgres.js"
import { hasRedis, startRedis } from "../examples/fleet/redis.js"
import { interleave, median } from "./harness.js"
import type { Outcome, Row } from "./report.js"
import * as report from "./report.js"

const EVENTS = 2000
const SECRET = "the-bench-secret-0123456789"

/** A stream of `EVENTS` arrays of one token each: one event per array, as a paced provider gives them. */
const paced = () =>
  L0.stream({
    stream: () =>
      Stream.fromIterable(Array.from({ length: EVENTS }, (_, i) => `w${i} `)).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Effect.yieldNow)
      )
  })

let session = 0

const body = (runtime: ManagedRuntime.ManagedRuntime<AnswerBuffer.AnswerBuffer, unknown> | undefined) =>
  runtime === undefined
    ? Sse.toResponse(paced(), { keepAlive: "Infinity" }).text()
    : runtime.runPromise(
      Effect.flatMap(
        AnswerBuffer.AnswerBuffer,
        (buffer) =>
          Sse.toResponseEffect(paced(), { keepAlive: "Infinity", resume: { buffer, sessionId: `b-${session++}` } })
      )
    )
      .then((response) => response.text())

/** Runs the fleet example `runs` times: the milliseconds from the kill to the client's next event. */
const takeovers = async (runs: number): Promise<Array<number>> => {
  const out: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/fleet/main.ts"], {
      cwd: new URL("..", import.meta.url),
      stdio: ["ignore", "pipe", "ignore"]
    })
    for await (const line of createInterface({ input: child.stdout! })) {
      const match = /^first event after the kill: (\d+) ms$/.exec(line)
      if (match !== null) out.push(Number(match[1]))
    }
  }
  return out
}

export const run = async (): Promise<Outcome> => {
  const redis = hasRedis ? await startRedis() : undefined
  const memory = ManagedRuntime.make(AnswerBuffer.layerMemory({ secret: SECRET }))
  const onRedis = redis === undefined ? undefined : ManagedRuntime.make(
    AnswerBuffer.layerRedis({ secret: SECRET, prefix: "bench:" }).pipe(
      Layer.provide(NodeRedis.layer({ url: redis.url, disableOfflineQueue: true }))
    )
  )
  try {
    const cases = [
      { name: "plain (no resume)", run: () => body(undefined) },
      { name: "resume, memory buffer", run: () => body(memory) },
      ...(onRedis === undefined ? [] : [{ name: "resume, Redis buffer", run: () => body(onRedis) }])
    ]
    const timings = await interleave(cases, { rounds: 5, warmup: 1 })
    const base = timings[0]!.median
    const rows: Array<Row> = timings.map((t) => ({
      workload: t.name,
      size: `${EVENTS} events`,
      measured: report.ms(t.median),
      perToken: report.ns(((t.median - base) * 1e6) / EVENTS),
      ratio: report.ratio(t.median / base)
    }))
    if (onRedis !== undefined) {
      const used = await onRedis.runPromise(Effect.gen(function*() {
        const buffer = yield* AnswerBuffer.AnswerBuffer
        const response = yield* Sse.toResponseEffect(paced(), {
          keepAlive: "Infinity",
          resume: { buffer, sessionId: "memory" }
        })
        const text = yield* Effect.promise(() => response.text())
        return { text, bytes: Number(yield* Effect.promise(() => redisMemory(redis!.url, "bench:memory"))) }
      }))
      rows.push({
        workload: "Redis memory of one buffered answer",
        size: `${EVENTS} events, ${report.bytes(used.text.length)} sent`,
        measured: report.bytes(used.bytes),
        perToken: `${(used.bytes / EVENTS).toFixed(0)} B/event`,
        ratio: ""
      })
    }
    if (hasRedis && hasPostgres) {
      const times = await takeovers(3)
      rows.push({
        workload: "takeover: SIGKILL of the generating runner → next event on the client",
        size: "3 runners, 3 runs",
        measured: report.ms(median(times)),
        ratio: ""
      })
    }
    return {
      sections: [{
        title: "Resumable delivery and takeover",
        description:
          `One answer of ${EVENTS} events (one token per array, as a paced provider sends them) through \`Sse.toResponse\`, plain and with \`resume\` (every event stored in the buffer before it is sent); the per-event column is the time added to each event over the plain stream. The Redis memory is \`MEMORY USAGE\` of the answer's stream. The takeover runs examples/fleet/main.ts (PostgreSQL, Redis and three runners on 127.0.0.1, its short shard settings): from the SIGKILL of the runner generating the answer to the client's next event (the reset that brings its text to the checkpoint). Medians.`,
        rows
      }],
      budgets: []
    }
  } finally {
    await memory.dispose()
    await onRedis?.dispose()
    await redis?.stop()
  }
}

const redisMemory = async (url: string, key: string): Promise<string> => {
  const { execFile } = await import("node:child_process")
  const port = new URL(url).port
  return new Promise((resolve, reject) =>
    execFile(
      "redis-cli",
      ["-p", port, "MEMORY", "USAGE", key],
      (error, stdout) => error === null ? resolve(stdout.trim()) : reject(error)
    )
  )
}
