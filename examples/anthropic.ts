/**
 * The `@anthropic-ai/sdk` client through L0: thinking deltas arrive as
 * `Data { type: "reasoning" }` events, text as tokens, and an overloaded
 * provider is retried. Run with ANTHROPIC_API_KEY set: `npx tsx examples/anthropic.ts`.
 */
import Anthropic from "@anthropic-ai/sdk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"

const client = new Anthropic({ maxRetries: 0 }) // L0 does the retrying

const program = L0.stream({
  stream: ({ signal }) =>
    client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [{ role: "user", content: "What is 925 divided by 5?" }],
      stream: true
    }, { signal }),
  // overloaded_error and 529 are transient: retried without using up maxAttempts
  retry: { maxRetries: 5, baseDelay: "500 millis", maxDelay: "8 seconds" }
}).pipe(
  Stream.runForEach((event) =>
    Effect.sync(() => {
      switch (event._tag) {
        case "Data": {
          const value = event.value as { type?: string; text?: string }
          if (value.type === "reasoning") process.stdout.write(`\x1b[2m${value.text}\x1b[0m`)
          break
        }
        case "Token":
          process.stdout.write(event.value)
          break
        case "Reset":
          process.stdout.write("\n[reset]\n")
          break
        case "Complete":
          console.log(
            `\nstop_reason ${event.state.finishReason}, ${event.usage?.inputTokens} in / ${event.usage?.outputTokens} out`
          )
      }
    })
  )
)

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
