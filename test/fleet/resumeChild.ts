/**
 * A worker process for the kill-and-resume test: streams an answer from the
 * provider server through the real openai client, with a durable session in
 * the file store or in Redis, and prints a line per saved checkpoint and the
 * final text.
 */
import { NodeRedis, NodeServices } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import OpenAI from "openai"
import { Checkpoint, Continuation, EventBus, L0 } from "../../src/index.js"

const { BASE_URL, DIR, REDIS_URL, RESUME } = process.env

const client = new OpenAI({ baseURL: BASE_URL!, apiKey: "sk-test-resume", maxRetries: 0, logLevel: "off" })
const request = { model: "gpt-test", messages: [{ role: "user" as const, content: "Go" }], stream: true as const }

const Store: Layer.Layer<Checkpoint.CheckpointStore, unknown> = REDIS_URL === undefined
  ? Checkpoint.layerFileSystem(DIR!).pipe(Layer.provide(NodeServices.layer))
  : Checkpoint.layerRedis().pipe(Layer.provide(NodeRedis.layer({ url: REDIS_URL })))

const Bus = EventBus.layer((event) => {
  if (event.type === "checkpoint_saved") process.stdout.write(`saved ${JSON.stringify(event.data)}\n`)
})

const text = await Effect.runPromise(
  L0.text({
    stream: ({ checkpoint, signal }) =>
      client.chat.completions.create(Continuation.openaiChat(request, checkpoint), { signal }),
    sessionId: "order-42",
    resume: RESUME === "1",
    timeout: { initialToken: "1 minute", interToken: "1 minute" }
  }).pipe(Effect.provide(Layer.merge(Store, Bus)))
)
process.stdout.write(`text ${JSON.stringify(text)}\n`)
process.exit(0)
