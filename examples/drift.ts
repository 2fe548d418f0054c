/**
 * Drift detection on a scripted model (no network): the first answer falls
 * into a loop, `drift.repetition` fails that attempt mid-stream, L0
 * retries, and the second answer passes. Its "As an AI" is only reported,
 * as a warning of `drift.metaCommentary`.
 *
 * Run: npx tsx examples/drift.ts
 */
import * as Effect from "effect/Effect"
import { EventBus, Guardrails, L0 } from "effect-l0"

const answers = [
  `Streams fail in three ways. First, ${"the connection the connection ".repeat(12)}`,
  "As an AI, I can list them: resets, stalls and bad output. Each one needs its own retry."
]

let calls = 0
const model = async function*(): AsyncGenerator<string> {
  const answer = answers[Math.min(calls++, answers.length - 1)]!
  for (const word of answer.split(/(?<= )/)) yield word
}

const program = L0.run({
  stream: () => model(),
  guardrails: [...Guardrails.recommended, ...Guardrails.drift()],
  retry: { baseDelay: "100 millis", backoff: "fixed" }
}).pipe(
  Effect.tap((result) =>
    Effect.sync(() => {
      console.log(`final text: ${result.text}`)
      for (const v of result.state.violations) console.log(`warning ${v.rule}: ${v.message}`)
    })
  ),
  Effect.provide(EventBus.layer((event) => {
    if (event.type === "error_content") console.log(`[bus] ${event.type} ${JSON.stringify(event.data)}`)
  }))
)

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
