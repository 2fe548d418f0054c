/**
 * Multi-stream: race, parallel, batched, hedge and consensus over in-process "models".
 * Run with: npx tsx examples/multi.ts
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { EventBus, L0, L0Error, L0Event } from "effect-l0"

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener("abort", () => {
      clearTimeout(timer)
      resolve()
    }, { once: true })
  })

// Stands in for a provider: answers `text` word by word after `latency` ms.
const model = (name: string, text: string, latency: number): L0.L0Options => ({
  stream: async function*({ signal }) {
    await sleep(latency, signal)
    if (signal.aborted) return console.log(`  (${name}: request aborted)`)
    for (const word of text.split(/(?= )/)) yield word
  }
})

// A provider that always fails with an HTTP 401.
const broken: L0.L0Options = {
  stream: () => Promise.reject(Object.assign(new Error("401 Unauthorized"), { status: 401 }))
}

const program = Effect.gen(function*() {
  // The first successful answer wins; the slower request is aborted (so its 5 s are never waited out).
  const raced = yield* L0.race([model("slow", "A slow answer.", 5000), model("fast", "A fast answer.", 20)])
  yield* Console.log(`race: #${raced.index} won with "${raced.result.text}"`)

  // Input order, two at a time, every outcome kept.
  const outcomes = yield* L0.parallel([model("a", "one", 30), broken, model("c", "three", 10)], {
    concurrency: 2,
    mode: "settle"
  })
  const shown = outcomes.map((outcome) => Result.isSuccess(outcome) ? outcome.success.text : outcome.failure._tag)
  yield* Console.log(`parallel: ${shown.join(", ")}`)

  // Batches of two, with progress on the EventBus.
  const letters = ["a", "b", "c", "d", "e"].map((id) => model(id, id.toUpperCase(), 10))
  const batched = yield* L0.batched(letters, { size: 2 }).pipe(
    Effect.provide(EventBus.layer((event) => {
      if (event.type === "batch_complete") console.log(`  batch ${event.data.completed}/${event.data.total} done`)
    }))
  )
  yield* Console.log(`batched: ${batched.map((result) => result.text).join("")}`)

  // A second identical request if the first shows nothing after 50 ms; the first to stream wins.
  let calls = 0
  const hedged = yield* L0.hedge({
    stream: (context) => {
      const call = ++calls
      return model(`call ${call}`, `Call ${call} streamed first.`, call === 1 ? 5000 : 10).stream(context)
    }
  }, { after: "50 millis" }).pipe(Stream.runFold(() => "", L0Event.applyTo))
  yield* Console.log(`hedge: ${hedged}`)

  // Three models vote; "paris" and " Paris" agree after normalization.
  const vote = yield* L0.consensus([
    model("m1", "Paris", 10),
    model("m2", "Lyon", 20),
    model("m3", " paris ", 30)
  ], { strategy: "majority" })
  yield* Console.log(`majority: "${vote.value}" with agreement ${vote.agreement.toFixed(2)}`)

  // Structured outputs: decoded with a Schema, compared by deep equality.
  const City = Schema.Struct({ city: Schema.String, country: Schema.String })
  const decodeCity = Schema.decodeUnknownEffect(Schema.fromJsonString(City))
  const structured = yield* L0.consensus([
    model("m1", `{"city":"Paris","country":"FR"}`, 10),
    model("m2", `{ "country": "FR", "city": "Paris" }`, 20)
  ], {
    strategy: "unanimous",
    decode: (result) =>
      decodeCity(result.text).pipe(
        Effect.mapError((error) => new L0Error.ContentError({ message: error.message, rule: "schema" }))
      )
  })
  yield* Console.log(`unanimous: ${structured.value.city}, ${structured.value.country}`)
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
