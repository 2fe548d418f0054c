/**
 * L0 from plain async code: no Effect knowledge needed beyond runPromise and toAsyncIterable.
 * Run with: npx tsx examples/async.ts
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { L0, L0Error } from "effect-l0"

let calls = 0
// A provider stream that drops the connection once, after two tokens.
async function* flaky() {
  calls++
  yield "Hello"
  yield ", "
  if (calls === 1) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
  yield "world"
}

async function main() {
  // The final text, with the failed attempt's tokens discarded.
  const text = await Effect.runPromise(L0.text({ stream: flaky, retry: { baseDelay: "50 millis" } }))
  console.log(text) // "Hello, world"

  // Events as an async iterable; a Reset tells you to drop what you showed.
  calls = 0
  let shown = ""
  for await (const event of Stream.toAsyncIterable(L0.stream({ stream: flaky, retry: { baseDelay: "50 millis" } }))) {
    if (event._tag === "Token") shown += event.value
    if (event._tag === "Reset") shown = shown.slice(0, event.kept)
  }
  console.log(shown) // "Hello, world"

  // Failures reject with the typed L0Error itself.
  try {
    await Effect.runPromise(L0.text({ stream: () => Promise.reject(Object.assign(new Error("no"), { status: 401 })) }))
  } catch (error) {
    if (L0Error.isL0Error(error)) console.log(`${error._tag} (${error.category}): ${error.message}`)
  }
}

main()
