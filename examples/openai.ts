/**
 * The `openai` client through L0: retries by error category, timeouts and
 * a raw-HTTP fallback. Run with OPENAI_API_KEY set: `npx tsx examples/openai.ts`.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { Adapters, L0 } from "effect-l0"
import OpenAI from "openai"

const client = new OpenAI({ maxRetries: 0 }) // L0 does the retrying
const messages = [{ role: "user" as const, content: "Write a haiku about retries." }]

const program = L0.stream({
  stream: ({ signal }) =>
    client.chat.completions.create(
      { model: "gpt-4o-mini", messages, stream: true, stream_options: { include_usage: true } },
      { signal }
    ),
  // the same request over raw SSE, for when the SDK path keeps failing
  fallbacks: [Adapters.openaiHttp({
    apiKey: Redacted.make(process.env.OPENAI_API_KEY ?? ""),
    body: { model: "gpt-4o-mini", messages, stream_options: { include_usage: true } }
  })],
  retry: { maxAttempts: 2, backoff: "exponential" },
  timeout: { initialToken: "10 seconds", interToken: "5 seconds" }
}).pipe(
  Stream.runForEach((event) =>
    Effect.sync(() => {
      if (event._tag === "Token") process.stdout.write(event.value)
      if (event._tag === "Reset") process.stdout.write("\n[reset]\n")
      if (event._tag === "ToolCall") console.log(`\n[tool call] ${event.name}(${event.arguments})`)
      if (event._tag === "Complete") {
        console.log(`\n[${event.state.finishReason}] ${event.usage?.totalTokens ?? "?"} tokens`)
      }
    })
  )
)

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
