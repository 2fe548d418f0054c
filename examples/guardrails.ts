/**
 * Guardrails on a scripted model (no network): the first answer closes a
 * JSON array with `}`, the json guardrail fails that attempt mid-stream, L0
 * retries, and the second answer passes. Its "unfortunately" is only
 * reported, as a warning.
 *
 * Run: npx tsx examples/guardrails.ts
 */
import * as Effect from "effect/Effect"
import { pipe } from "effect/Function"
import { EventBus, Guardrail, Guardrails, L0 } from "effect-l0"

const answers = [
  `{"city": "Paris", "tags": ["capital"}, "note": "sunny"}`,
  `{"city": "Paris", "tags": ["capital"], "note": "unfortunately rainy"}`
]

let calls = 0
const model = async function*(): AsyncGenerator<string> {
  const answer = answers[Math.min(calls++, answers.length - 1)]!
  for (let i = 0; i < answer.length; i += 4) yield answer.slice(i, i + 4)
}

const guardrails = [
  ...Guardrails.jsonOnly,
  Guardrails.repetition(),
  // refusal and disclaimer phrases: reported as warnings, never retried
  Guardrails.pattern(),
  // a placeholder must never reach users: retry instead
  pipe(Guardrails.pattern(["TODO", "lorem ipsum"], { defaults: false }), Guardrail.withSeverity("error"))
]

const program = L0.run({
  stream: () => model(),
  guardrails,
  checkInterval: 5,
  retry: { baseDelay: "100 millis", backoff: "fixed" }
}).pipe(
  Effect.tap((result) =>
    Effect.sync(() => {
      console.log(`final text: ${result.text}`)
      console.log(`attempt ${result.state.attempt}, warnings: ${result.state.violations.length}`)
    })
  ),
  Effect.provide(EventBus.layer((event) => {
    if (event.type === "guardrail_violation" || event.type === "error_content") {
      console.log(`[bus] ${event.type} ${JSON.stringify(event.data)}`)
    }
  }))
)

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
