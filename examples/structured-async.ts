/**
 * npx tsx examples/structured-async.ts: the typed record of structured-effect.ts, from plain async code,
 * first as one value, then as partial values while the reply streams in.
 *
 * Offline, a scripted model writes the JSON in small pieces; with OPENAI_API_KEY set, gpt-4o-mini does.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"
import OpenAI from "openai"

const Invoice = Schema.Struct({
  number: Schema.String,
  total: Schema.Number,
  currency: Schema.Literals(["EUR", "USD"]),
  lines: Schema.Array(Schema.Struct({ description: Schema.String, amount: Schema.Number }))
})

const task = "Extract the invoice as JSON {number, total, currency, lines: [{description, amount}]} from: " +
  "'Invoice INV-042: 2 h consulting 180 EUR, travel 45.50 EUR; total 225.50 EUR.'"

async function* scriptedModel(): AsyncGenerator<string> {
  const reply = `{"number": "INV-042", "total": 225.5, "currency": "EUR", "lines": [` +
    `{"description": "2 h consulting", "amount": 180}, {"description": "travel", "amount": 45.5}]}`
  for (let i = 0; i < reply.length; i += 12) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    yield reply.slice(i, i + 12)
  }
}

const client = process.env.OPENAI_API_KEY ? new OpenAI({ maxRetries: 0 }) : undefined

const options: L0.StructuredOptions = {
  stream: ({ signal }) =>
    client === undefined
      ? scriptedModel()
      : client.chat.completions.create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: task }] },
        { signal }
      )
}

async function main(): Promise<void> {
  // One typed value; the promise rejects with an L0Error when no attempt produced a valid invoice.
  const invoice = await Effect.runPromise(L0.structured(Invoice, options))
  console.log(`${invoice.number}: ${invoice.total} ${invoice.currency}`)

  // Partial values while the reply streams, then the validated value.
  for await (const event of Stream.toAsyncIterable(L0.structuredStream(Invoice, options))) {
    if (event._tag === "Partial") console.log(`partial: ${event.value.lines?.length ?? 0} lines so far`)
    else if (event._tag === "Reset") console.log("the attempt failed; partial values start over")
    else console.log(`final: ${event.value.lines.map((line) => line.description).join(", ")}`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
