/**
 * L0 from plain async code, with L0Async: promises, for await and AbortSignal.
 * Run with: npx tsx examples/async.ts
 */
import { L0Async, L0Error } from "effect-l0"

let calls = 0
// A provider stream that drops the connection once, after two tokens.
async function* flaky() {
  calls++
  yield "Hello"
  yield ", "
  if (calls === 1) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
  yield "world"
}

// A provider stream that never ends unless its request is aborted.
async function* endless(signal: AbortSignal) {
  yield "Thinking"
  await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }))
}

async function main() {
  // The final text, with the failed attempt's tokens discarded.
  const text = await L0Async.text({ stream: flaky, retry: { baseDelay: "50 millis" } })
  console.log(text) // "Hello, world"

  // Events as an async iterable; a Reset tells you to drop what you showed.
  calls = 0
  let shown = ""
  for await (const event of L0Async.events({ stream: flaky, retry: { baseDelay: "50 millis" } })) {
    if (event._tag === "Token") shown += event.value
    if (event._tag === "Reset") shown = shown.slice(0, event.kept)
  }
  console.log(shown) // "Hello, world"

  // The same events, one array per read: what the source delivered together, for one promise per array.
  calls = 0
  let batched = ""
  for await (const events of L0Async.batches({ stream: flaky, retry: { baseDelay: "50 millis" } })) {
    for (const event of events) {
      if (event._tag === "Token") batched += event.value
      if (event._tag === "Reset") batched = batched.slice(0, event.kept)
    }
  }
  console.log(batched) // "Hello, world"

  // Failures reject with the typed L0Error itself.
  try {
    await L0Async.text({ stream: () => Promise.reject(Object.assign(new Error("no"), { status: 401 })) })
  } catch (error) {
    if (L0Error.isL0Error(error)) console.log(`${error._tag} (${error.category}): ${error.message}`)
  }

  // Cancelling: the signal aborts the request and the promise rejects with an AbortError.
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 100)
  try {
    await L0Async.text({ stream: ({ signal }) => endless(signal) }, {
      signal: controller.signal,
      onToken: (token) => console.log(`token: ${token}`)
    })
  } catch (error) {
    console.log(`${(error as Error).name}: cancelled`)
  }
}

main()
