/**
 * L0 in an Effect program: stream tokens as they arrive, then run to completion.
 * Run with: npx tsx examples/basic.ts
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"

// Stands in for a provider SDK stream; any AsyncIterable of strings works.
async function* model(prompt: string, signal: AbortSignal) {
  for (const word of `You asked: ${prompt}.`.split(/(?= )/)) {
    if (signal.aborted) return
    yield word
  }
}

const program = Effect.gen(function*() {
  // Tokens as they arrive: write them, and clear the line if a retry resets it.
  yield* Stream.runForEach(
    L0.stream({ stream: ({ signal }) => model("how do streams break", signal) }),
    (event) => {
      switch (event._tag) {
        case "Token":
          return Effect.sync(() => process.stdout.write(event.value))
        case "Reset":
          return Console.log("\n(retrying from the start)")
        case "Complete":
          return Console.log(`\n${event.state.tokenCount} tokens`)
        default:
          return Effect.void
      }
    }
  )
  // Or just the final text and state.
  const result = yield* L0.run({ stream: ({ signal }) => model("and then", signal) })
  yield* Console.log(result.text, `(attempt ${result.state.attempt})`)
})

Effect.runPromise(program)
