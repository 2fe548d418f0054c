/**
 * Retries by error category with a custom Schedule, then a fallback provider, observed on the EventBus.
 * Run with: npx tsx examples/retry-fallback.ts
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { L0Error } from "effect-l0"
import { EventBus, L0 } from "effect-l0"

// The primary provider is overloaded (HTTP 529) on every call.
const primary = () => Promise.reject(Object.assign(new Error("Overloaded"), { status: 529 }))

// The fallback answers, after one dropped connection.
let fallbackCalls = 0
async function* fallback() {
  fallbackCalls++
  yield "Answer from "
  if (fallbackCalls === 1) throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })
  yield "the fallback"
}

// Backoff: exponential from 20 ms, at most 3 retries per source. Network and
// transient errors retry without consuming maxAttempts; fatal errors never retry.
const backoff = Schedule.exponential("20 millis").pipe(Schedule.upTo({ times: 3 }))

const Observed = EventBus.layer((event) => {
  if (event.type === "stream_token") return
  console.log(`${event.type.padEnd(18)} ${JSON.stringify(event.data)}`)
}, { tokens: false })

const program = L0.text({
  stream: primary,
  fallbacks: [fallback],
  retry: { backoff, maxAttempts: 2 }
}).pipe(
  Effect.tap((text) => Effect.sync(() => console.log(`\nfinal text: ${text}`))),
  Effect.catchTag(
    "ExhaustedError",
    (error: L0Error.ExhaustedError) =>
      Effect.sync(() => console.log(`every source failed: ${error.attempts.length} attempts`))
  ),
  Effect.provide(Observed)
)

Effect.runPromise(program)
