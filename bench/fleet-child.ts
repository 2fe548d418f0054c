/**
 * The second process of the fleet bench: for each `watch <key>` line on
 * stdin, polls the circuit of `key` on Redis until it is open and prints
 * when (`performance.timeOrigin`-based milliseconds, comparable across
 * processes), then times a run whose keyed source is behind that open circuit.
 */
import { NodeRedis } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createInterface } from "node:readline"
import { L0, ProviderHealth } from "effect-l0"

const now = () => performance.timeOrigin + performance.now()

const watch = (key: string) =>
  Effect.gen(function*() {
    const health = yield* ProviderHealth.ProviderHealth
    process.stdout.write(`watching ${key}\n`)
    while ((yield* health!.breaker!.state(key))._tag !== "Open") {
      // poll again at once: the figure is how soon the state is readable here
    }
    const seen = now()
    const start = performance.now()
    const text = yield* L0.text({
      stream: ProviderHealth.keyed(key, () => Stream.fail(new Error("never called"))),
      fallbacks: [() => Stream.make("fallback")]
    })
    process.stdout.write(`seen ${key} ${seen} ${performance.now() - start} ${text}\n`)
  })

const Health = ProviderHealth.layerRedis({ failures: 2, openDuration: "1 minute", rateLimit: false, prefix: "bench:" })
  .pipe(
    Layer.provide(NodeRedis.layer({ url: process.env.REDIS_URL! }))
  )

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const context = yield* Layer.build(Health)
  process.stdout.write("ready\n")
  while (true) {
    const next = yield* Effect.promise(() => lines.next())
    if (next.done === true || next.value === "end") return
    yield* Effect.provideContext(watch(next.value.slice("watch ".length)), context)
  }
})))
process.exit(0)
