/**
 * npm run demo: a scripted run on in-process sources, no network needed.
 * A reset mid-stream is retried and the final text has no duplicated prefix.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { EventBus, L0 } from "effect-l0"

const flaky = (() => {
  let calls = 0
  return async function*() {
    calls++
    yield "Streams "
    yield "break "
    if (calls === 1) throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })
    yield "in the middle; "
    yield "effect-l0 recovers."
  }
})()

const program = Stream.runForEach(
  L0.stream({ stream: () => flaky(), retry: { baseDelay: "200 millis", backoff: "fixed" } }),
  (event) =>
    Effect.sync(() => {
      if (event._tag === "Token") process.stdout.write(event.value)
      else if (event._tag === "Reset") process.stdout.write("  ⟲ reset\n")
      else if (event._tag === "Complete") console.log(`\n\nfinal text: ${JSON.stringify(event.state.content)}`)
    })
).pipe(Effect.provide(EventBus.layer((event) => {
  if (event.type === "retry_attempt") console.log(`\n[bus] retry_attempt ${JSON.stringify(event.data)}`)
})))

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
