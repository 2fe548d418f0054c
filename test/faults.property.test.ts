import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import { Continuation, EventBus, L0 } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import { describe, expect, it } from "vitest"
import type { FaultKind } from "../soak/soak.js"
import { clients, faultAnswer, faultKinds, restatement } from "../soak/soak.js"
import { ampleTimeout } from "./support.js"

/** Faults that a retry always gets past (stalls are timed out under TestClock in providers.test.ts). */
const recoverable: ReadonlyArray<FaultKind> = faultKinds.filter((kind) => kind !== "stall" && kind !== "fatal")

// few letters, so that texts repeat themselves (what an overlap heuristic would eat), and multi-byte characters
const golden = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "b"), minLength: 1, maxLength: 30 }),
  // repeated words: word starts where a deduplicated continuation may restate from
  fc.array(fc.constantFrom("ha", "ho", "a"), { minLength: 1, maxLength: 12 }).map((words) => words.join(" ")),
  fc.string({ unit: fc.constantFrom("a", "b", " ", "\n", "é", "中", "😀", "👩‍💻"), minLength: 1, maxLength: 40 })
)

const fault = fc.record({
  kind: fc.constantFrom(...recoverable),
  at: fc.nat({ max: 12 }),
  cut: fc.integer({ min: 1, max: 80 }),
  retryAfter: fc.constantFrom(undefined, 0 as const, 1 as const, "date" as const)
})

const scenario = fc.record({
  golden,
  client: fc.nat({ max: clients.length - 1 }),
  chunkSize: fc.integer({ min: 1, max: 6 }),
  splitSurrogates: fc.boolean(),
  schedule: fc.array(fault, { maxLength: 4 }),
  /** Which word start a deduplicated continuation restates from (see `restatement`). */
  pick: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
})

/** The request's prompt carries the length of the checkpoint, so that the server continues exactly from it. */
const prompt = (ctx: L0.AttemptContext): string => `checkpoint:${ctx.checkpoint.length}`

/**
 * Runs the scenario; with deduplication, each continued reply first restates
 * the longest tail of the checkpoint that starts at a word and that the reply
 * starts with, which deduplication must remove exactly.
 */
const textOf = async (
  input: typeof scenario extends fc.Arbitrary<infer A> ? A : never,
  continuation: boolean | Continuation.Options
) => {
  const shape = { chunkSize: input.chunkSize, splitSurrogates: input.splitSurrogates }
  const deduplicating = typeof continuation === "object"
  const server = await ProviderServer.listen((request, index) => {
    const from = Number(/checkpoint:(\d+)/.exec(request.rawBody)?.[1] ?? 0)
    const restated = deduplicating && from > 0 ? restatement(input.golden, from, input.pick) : 0
    const text = input.golden.slice(from - restated)
    const planned = input.schedule[index]
    return planned === undefined
      ? ProviderServer.reply(text, shape)
      : faultAnswer(planned.kind, text, shape, { ...planned, status: 401 })
  })
  try {
    const client = clients[input.client]!
    return await Effect.runPromise(L0.text({
      stream: client.source(server, prompt),
      continuation,
      // every fault is retried at once; malformed SSE spends an attempt
      retry: {
        backoff: "fixed",
        baseDelay: 0,
        maxDelay: "1 millis",
        maxRetries: input.schedule.length,
        maxAttempts: input.schedule.length + 1
      },
      timeout: ampleTimeout,
      // a golden text of whitespace only is an answer here
      allowEmpty: true
    }))
  } finally {
    await server.close()
  }
}

describe("random fault schedules through the real clients and ProviderServer", () => {
  it("with eventual success, L0.text is the golden text", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (input) => {
        expect(await textOf(input, false)).toBe(input.golden)
      }),
      { seed: 14, numRuns: 60 }
    )
  }, 120_000)

  // continuation: true keeps every character of an exact continuation, also where the text repeats itself
  it("with continuation, L0.text is the golden text", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (input) => {
        expect(await textOf(input, true)).toBe(input.golden)
      }),
      { seed: 14, numRuns: 60 }
    )
  }, 120_000)

  it(
    "with deduplicated continuation and a restated end of the checkpoint, L0.text is the golden text once",
    async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async (input) => {
          expect(await textOf(input, Continuation.openaiChatOptions)).toBe(input.golden)
        }),
        { seed: 14, numRuns: 60 }
      )
    },
    120_000
  )
})

describe("interrupting a run at a random point", () => {
  /** Where the consumer interrupts: once the request arrived, after some tokens, or while waiting to retry. */
  const point = fc.oneof(
    fc.constant({ _tag: "request" as const }),
    fc.record({ _tag: fc.constant("tokens" as const), count: fc.integer({ min: 1, max: 20 }) }),
    fc.constant({ _tag: "backoff" as const })
  )

  it("aborts the HTTP request, runs every finalizer, and the server records the disconnect", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: clients.length - 1 }),
        point,
        fc.integer({ min: 1, max: 8 }),
        async (client, at, chunkSize) => {
          const text = "Interrupt me anywhere: 中文, émoji 😀, and more text after it. ".repeat(3)
          // the response stays open past the interruption point: the stall comes after the last token awaited
          const server = await ProviderServer.listen(
            at._tag === "backoff"
              ? [ProviderServer.httpError(503)]
              : [
                ProviderServer.reply(text, {
                  chunkSize,
                  fault: ProviderServer.stallAfter(at._tag === "tokens" ? at.count : 0)
                })
              ]
          )
          const signals: Array<AbortSignal> = []
          const sessions: Array<unknown> = []
          try {
            await Effect.runPromise(Effect.gen(function*() {
              const reached = yield* Deferred.make<void>()
              const retrying = yield* Deferred.make<void>()
              let tokens = 0
              const source = clients[client]!.source(server, () => "interrupt")
              const fiber = yield* Stream.runForEach(
                L0.stream({
                  stream: (ctx) => {
                    signals.push(ctx.signal)
                    return source(ctx)
                  },
                  // a retry that would come long after the test: the interruption falls in its delay
                  retry: { backoff: "fixed", baseDelay: "1 hour", maxDelay: "1 hour" },
                  timeout: ampleTimeout
                }),
                (event) =>
                  event._tag === "Token" && at._tag === "tokens" && ++tokens >= at.count
                    ? Deferred.succeed(reached, undefined)
                    : Effect.void
              ).pipe(
                Effect.provide(EventBus.layer((event) => {
                  if (event.type === "session_end") sessions.push(event.data.outcome)
                  if (event.type === "retry_attempt") Deferred.doneUnsafe(retrying, Effect.void)
                }, { tokens: false })),
                Effect.forkChild
              )
              if (at._tag === "request") yield* Effect.promise(() => server.awaitRequest(0))
              else if (at._tag === "tokens") yield* Deferred.await(reached)
              else yield* Deferred.await(retrying)
              yield* Fiber.interrupt(fiber)
            }))
            expect(await server.awaitEnd(0)).toBe(at._tag === "backoff" ? "completed" : "disconnected")
            expect(server.requests).toHaveLength(1)
            expect(signals.length).toBe(1)
            expect(signals.every((signal) => signal.aborted)).toBe(true)
            expect(sessions).toEqual(["interrupted"])
          } finally {
            await server.close()
          }
        }
      ),
      { seed: 14, numRuns: 40 }
    )
  }, 120_000)
})
