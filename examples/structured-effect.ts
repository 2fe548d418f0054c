/**
 * npx tsx examples/structured-effect.ts: extracts a typed record with `L0.structured` in an Effect program.
 *
 * With OPENAI_API_KEY set it asks gpt-4o-mini. Otherwise a scripted model answers offline: first with a
 * fenced reply whose `total` is a string, then, told what was wrong through `ctx.previousError`, correctly.
 * The invalid answer fails its attempt with a ContentError (rule "schema") and is retried like any
 * content error.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"
import type { L0Error } from "effect-l0"
import OpenAI from "openai"

const Invoice = Schema.Struct({
  number: Schema.String,
  total: Schema.Number,
  currency: Schema.Literals(["EUR", "USD"]),
  lines: Schema.Array(Schema.Struct({ description: Schema.String, amount: Schema.Number }))
})

const task = "Extract the invoice as JSON {number, total, currency, lines: [{description, amount}]} from: " +
  "'Invoice INV-042: 2 h consulting 180 EUR, travel 45.50 EUR; total 225.50 EUR.'"

/** The conversation for one attempt: the task, plus what was wrong with the previous answer. */
const messages = (previousError: L0Error.CategoryError | undefined) => [
  { role: "user" as const, content: task },
  ...(previousError === undefined ? [] : [{
    role: "user" as const,
    content: `Your previous answer was rejected: ${previousError.message}. Reply with the corrected JSON only.`
  }])
]

const scriptedModel = (previousError: L0Error.CategoryError | undefined) => {
  if (previousError !== undefined) console.log(`retrying; the model is told: ${previousError.message}`)
  return Stream.make(
    ...(previousError === undefined
      ? ["Here is the invoice:\n```json\n", `{"number": "INV-042", "total": "225.50 EUR", `,
        `"currency": "EUR", "lines": []}`, "\n```"]
      : [`{"number": "INV-042", "total": 225.5, "currency": "EUR", "lines": [`,
        `{"description": "2 h consulting", "amount": 180}, `, `{"description": "travel", "amount": 45.5}]}`])
  )
}

const client = process.env.OPENAI_API_KEY ? new OpenAI({ maxRetries: 0 }) : undefined

const program = Effect.gen(function*() {
  const invoice = yield* L0.structured(Invoice, {
    stream: ({ previousError, signal }) =>
      client === undefined
        ? scriptedModel(previousError)
        : client.chat.completions.create({ model: "gpt-4o-mini", stream: true, messages: messages(previousError) }, {
          signal
        }),
    retry: { maxAttempts: 3, baseDelay: "200 millis" }
  })
  // `invoice` is typed: { number: string; total: number; currency: "EUR" | "USD"; lines: ... }
  yield* Console.log(`${invoice.number}: ${invoice.total} ${invoice.currency} in ${invoice.lines.length} lines`)
  for (const line of invoice.lines) yield* Console.log(`  - ${line.description}: ${line.amount}`)
}).pipe(
  Effect.catchTag("ExhaustedError", (error) => Console.error(`No valid invoice: ${error.message}`))
)

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
