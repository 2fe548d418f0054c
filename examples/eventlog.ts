/**
 * Records a run that retries, fails over to a fallback and then fails, to a JSONL file, and replays it without any
 * provider. Run with: npx tsx examples/eventlog.ts
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { EventLog, L0, L0Event } from "effect-l0"

// The primary provider drops the connection after two tokens, then answers 401.
let providerCalls = 0
async function* primary() {
  if (++providerCalls > 1) throw Object.assign(new Error("401 Unauthorized"), { status: 401 })
  yield "Once "
  yield "upon "
  throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })
}

// The fallback writes a little, then fails.
async function* fallback() {
  providerCalls++
  yield "A time"
  throw new Error("the model produced garbage")
}

const options = { stream: primary, fallbacks: [fallback], retry: { baseDelay: "10 millis", maxAttempts: 1 } } as const
const path = join(mkdtempSync(join(tmpdir(), "effect-l0-")), "run.jsonl")

/** Runs `events` and returns what its consumer saw: the events, then the error. */
const consume = (events: Stream.Stream<L0Event.L0Event, unknown>) =>
  Effect.gen(function*() {
    const seen: Array<L0Event.L0Event> = []
    const error = yield* Stream.runForEach(events, (event) => Effect.sync(() => void seen.push(event))).pipe(
      Effect.match({ onFailure: String, onSuccess: () => "none" })
    )
    return { seen, error }
  })

const program = Effect.gen(function*() {
  // 1. Record: each line is in the file before its event reaches the consumer.
  const original = yield* Effect.scoped(
    Effect.flatMap(EventLog.fileSink(path), (sink) => consume(L0.stream(options).pipe(EventLog.record(sink))))
  )
  const calls = providerCalls

  // 2. Later, or in another process: read the file and replay it, calling no provider.
  const recording = yield* EventLog.readFile(path)
  const replayed = yield* consume(EventLog.replay(recording, { timing: false }))

  console.log(`bus events: ${recording.busEvents.map((event) => event.type).join(", ")}`)
  console.log(`original: ${original.error}`)
  console.log(`replayed: ${replayed.error}`)
  console.log(`same events: ${JSON.stringify(replayed.seen) === JSON.stringify(original.seen)}`)
  console.log(`text shown: ${JSON.stringify(replayed.seen.reduce(L0Event.applyTo, ""))}`)
  console.log(`provider calls: ${calls} while recording, ${providerCalls - calls} while replaying`)
})

Effect.runPromise(program)
