/**
 * A runner of the fleet test: a cluster runner (socket transport, message
 * and runner storage on PostgreSQL) that also serves HTTP (`POST /chat`),
 * with the answer buffer and checkpoints on Redis. Prints `ready` once it
 * listens, and `generating <sessionId>` when it starts (or takes over) an
 * answer.
 */
import * as Http from "node:http"
import { NodeClusterSocket, NodeRedis, NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import OpenAI from "openai"
import { AnswerBuffer, Checkpoint, Continuation, Fleet, Sse } from "effect-l0"

const { BASE_URL, HTTP_PORT, PG_URL, PORT, REDIS_URL, SECRET } = process.env

const client = new OpenAI({ baseURL: BASE_URL!, apiKey: "sk-test-fleet", maxRetries: 0, logLevel: "off" })

export const Chat = Fleet.make({
  input: Schema.Struct({ question: Schema.String }),
  answer: ({ input, sessionId }) => {
    process.stdout.write(`generating ${sessionId}\n`)
    return {
      stream: ({ checkpoint, signal }) =>
        client.chat.completions.create(
          Continuation.openaiChat(
            { model: "gpt-test", messages: [{ role: "user", content: input.question }], stream: true },
            checkpoint
          ),
          { signal }
        ),
      timeout: { initialToken: "20 seconds", interToken: "20 seconds" },
      checkpoint: { boundary: "token", writesPerSecond: 20 }
    }
  }
})

const Cluster = NodeClusterSocket.layer({
  storage: "sql",
  shardingConfig: {
    runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", Number(PORT))),
    shardsPerGroup: 12,
    shardLockRefreshInterval: "300 millis",
    shardLockExpiration: "1500 millis",
    refreshAssignmentsInterval: "200 millis",
    runnerHealthCheckInterval: "300 millis",
    entityMessagePollInterval: "300 millis",
    sendRetryInterval: "50 millis"
  }
}).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(PG_URL!) })))

const Redis = NodeRedis.layer({ url: REDIS_URL!, disableOfflineQueue: true })
const Stores = Layer.merge(AnswerBuffer.layerRedis({ secret: SECRET! }), Checkpoint.layerRedis()).pipe(
  Layer.provide(Redis)
)

const Live = Chat.layer.pipe(Layer.provideMerge(Cluster), Layer.provideMerge(Stores))

const serve = Effect.gen(function*() {
  const services = yield* Effect.context<Layer.Success<typeof Live>>()
  const server = Http.createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => {
      const { question, sessionId } = JSON.parse(body) as { sessionId: string; question: string }
      const lastEventId = req.headers["last-event-id"]
      void Effect.runPromiseWith(services)(
        Chat.respond({
          sessionId,
          input: { question },
          lastEventId: typeof lastEventId === "string" ? lastEventId : undefined
        })
      ).then((response) => Sse.pipeToNode(response, res))
    })
  })
  yield* Effect.callback<void>((resume) => {
    server.listen(Number(HTTP_PORT), "127.0.0.1", () => resume(Effect.void))
  })
  process.stdout.write("ready\n")
  return yield* Effect.never
})

NodeRuntime.runMain(serve.pipe(Effect.provide(Live)) as Effect.Effect<never, unknown>)
