/**
 * Fleet building blocks: what a checkpoint save costs with the file store and
 * with Redis, what checkpoints add per token to a stream, and how soon a
 * second process sees a circuit that the first one opened on Redis.
 */
import { NodeRedis, NodeServices } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { createInterface } from "node:readline"
import { Checkpoint, L0, ProviderHealth } from "effect-l0"
import { hasRedis, startRedis } from "../test/fleet/redis.js"
import { interleave, median } from "./harness.js"
import type { Outcome, Row } from "./report.js"
import * as report from "./report.js"
import { prose, replay } from "./tokens.js"

const SAVES = 500
const TOKENS = 100_000
const ROUNDS = 5

/** Saves per second of `store`, one after the other, of a 4 KiB checkpoint. */
const savesPerSecond = (store: Checkpoint.Store): Promise<number> =>
  Effect.runPromise(Effect.gen(function*() {
    const text = "word ".repeat(820)
    const start = performance.now()
    for (let seq = 0; seq < SAVES; seq++) yield* store.save("bench", { text, seq, savedAt: 0 })
    return SAVES / ((performance.now() - start) / 1000)
  }))

/** Builds `layer` in `scope` and reads the checkpoint store it provides. */
const storeOf = (layer: Layer.Layer<Checkpoint.CheckpointStore, unknown>, scope: Scope.Scope) =>
  Effect.runPromise(Effect.gen(function*() {
    const context = yield* Effect.orDie(Layer.buildWithScope(layer, scope))
    const store = yield* Effect.provideContext(
      Effect.gen(function*() {
        return yield* Checkpoint.CheckpointStore
      }),
      context
    )
    return { context, store }
  }))

export const run = async (): Promise<Outcome> => {
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "l0-bench-"))
  const redis = hasRedis ? await startRedis() : undefined
  const scope = Effect.runSync(Scope.make())
  try {
    const layers: Array<readonly [string, Layer.Layer<Checkpoint.CheckpointStore, unknown>]> = [
      ["file", Checkpoint.layerFileSystem(dir).pipe(Layer.provide(NodeServices.layer))]
    ]
    if (redis !== undefined) {
      layers.push(["Redis", Checkpoint.layerRedis().pipe(Layer.provide(NodeRedis.layer({ url: redis.url })))])
    }
    const saveRows: Array<Row> = []
    const tokens = prose(TOKENS)
    const plain = () => Effect.runPromise(L0.text({ stream: () => replay(tokens) }))
    const cases = [{ name: "no sessionId", run: plain }]
    const stores = await Promise.all(layers.map(async ([name, layer]) => [name, await storeOf(layer, scope)] as const))
    for (const [name, { store }] of stores) {
      const rate = median(await Promise.all([0, 1, 2].map(() => savesPerSecond(store))))
      saveRows.push({
        workload: `${name} store: save of a 4 KiB checkpoint`,
        size: `${SAVES}`,
        measured: `${rate.toFixed(0)}/s`,
        ratio: report.ms(1000 / rate)
      })
    }
    for (const [name, { context }] of stores) {
      for (const writesPerSecond of [4, 1000]) {
        cases.push({
          name: `${name} store, ${writesPerSecond} saves/s`,
          run: () =>
            Effect.runPromise(Effect.provideContext(
              L0.text({ stream: () => replay(tokens), sessionId: "bench-stream", checkpoint: { writesPerSecond } }),
              context
            ))
        })
      }
    }
    const timings = await interleave(cases, { rounds: ROUNDS, warmup: 1 })
    const base = timings[0]!.median
    const tokenRows: Array<Row> = timings.map((t) => ({
      workload: t.name,
      size: report.tokens(TOKENS),
      measured: report.ms(t.median),
      perToken: report.ns((t.median * 1e6) / TOKENS),
      ratio: report.ratio(t.median / base)
    }))
    const circuitRows = redis === undefined ? [] : await secondProcess(redis.url)
    return {
      sections: [
        {
          title: "Checkpoint saves",
          description:
            "`Checkpoint.Store.save` of a 4 KiB checkpoint, one after the other, with the file store (KeyValueStore.layerFileSystem) and Redis on 127.0.0.1; the last column is the time of one save. Medians of 3.",
          rows: saveRows
        },
        {
          title: "Checkpoints per token",
          description: `One stream of ${
            report.tokens(TOKENS)
          } prose tokens from an async generator through \`L0.text\`, without and with a \`sessionId\`; the default is 4 saves per second, 1000 is the maximum. A run with a sessionId also clears the session at its start and end. A real provider's 30–100 tokens per second make a save every 250 ms cost its save time about 4 times a second.`,
          rows: tokenRows
        },
        ...(circuitRows.length === 0 ? [] : [{
          title: "A circuit opened by another process",
          description:
            "Process A opens a circuit on Redis (ProviderHealth.layerRedis, 2 failures); process B, already connected and polling `state(key)`, sees it open after the first figure: from the end of A's second failing run to B's first read of the open state, across processes (negative: B read it before A's run had returned, as the breaker records the outcome before the run moves on to its fallback); B's next run then skips the source and answers from the fallback in the second figure.",
          rows: circuitRows
        }])
      ],
      budgets: []
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await redis?.stop()
    await Fs.rm(dir, { recursive: true, force: true })
  }
}

/** Times how soon a second process sees circuits opened here. */
const secondProcess = async (url: string): Promise<Array<Row>> => {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/fleet-child.ts"], {
    cwd: new URL("..", import.meta.url),
    env: { ...process.env, REDIS_URL: url },
    stdio: ["pipe", "pipe", "inherit"]
  })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const nextLine = async () => (await lines.next()).value as string
  const Health = ProviderHealth.layerRedis({
    failures: 2,
    openDuration: "1 minute",
    rateLimit: false,
    prefix: "bench:"
  }).pipe(
    Layer.provide(NodeRedis.layer({ url }))
  )
  const seen: Array<number> = []
  const skipped: Array<number> = []
  try {
    if ((await nextLine()) !== "ready") throw new Error("the second process did not start")
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(Health)
      for (let i = 0; i < 9; i++) {
        const key = `bench:${i}`
        child.stdin!.write(`watch ${key}\n`)
        yield* Effect.promise(nextLine)
        const failing = L0.text({
          stream: ProviderHealth.keyed(
            key,
            () => Stream.fail(Object.assign(new Error("reset"), { code: "ECONNRESET" }))
          ),
          fallbacks: [() => Stream.make("fallback")],
          retry: { maxRetries: 0 }
        })
        yield* Effect.provideContext(failing, context)
        yield* Effect.provideContext(failing, context)
        const opened = performance.timeOrigin + performance.now()
        const [, , at, skip] = (yield* Effect.promise(nextLine)).split(" ")
        seen.push(Number(at) - opened)
        skipped.push(Number(skip))
      }
    })))
  } finally {
    child.stdin!.end("end\n")
  }
  return [
    { workload: "B sees the circuit open", size: "9 circuits", measured: report.ms(median(seen)), ratio: "" },
    { workload: "B's run skips to the fallback", size: "9 circuits", measured: report.ms(median(skipped)), ratio: "" }
  ]
}
