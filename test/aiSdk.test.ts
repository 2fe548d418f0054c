import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { EventBus, L0, L0Event } from "effect-l0"
import type { L0Error } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import type { AiSdkClient, Form } from "./aiSdkClients.js"
import { aiSdkClients } from "./aiSdkClients.js"
import { advance, ampleTimeout, failureOf, lastErrorOf } from "./support.js"

/** Real time for HTTP, tiny L0 delays. */
const retry = { baseDelay: "1 millis", maxDelay: "20 millis", backoff: "fixed" } as const

const TEXT = "The quick brown fox jumps over the lazy dog."
/** Past the last of TEXT's 11 chunks: the fault strikes before the closing events. */
const END = 100
const positions = [["before the first token", 0], ["mid-stream", 2], ["after the last token", END]] as const

const clean = ProviderServer.reply(TEXT, { usage: { inputTokens: 3, outputTokens: 11 } })

interface Outcome {
  readonly server: ProviderServer.ProviderServer
  readonly events: ReadonlyArray<L0Event.L0Event>
  readonly bus: ReadonlyArray<EventBus.BusEvent>
  readonly exit: Exit.Exit<void, L0Error.L0Error>
}

const sourceOf = (client: AiSdkClient, form: Form) => form === "result" ? client.source : client.fullStreamSource

const scenario = (
  client: AiSdkClient,
  script: ProviderServer.Script,
  options: Partial<L0.L0Options> = {},
  form: Form = "result"
) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* ProviderServer.start(script)
    const events: Array<L0Event.L0Event> = []
    const bus: Array<EventBus.BusEvent> = []
    const exit = yield* Stream.runForEach(
      L0.stream({ stream: sourceOf(client, form)(server), retry, timeout: ampleTimeout, ...options }),
      (event) => Effect.sync(() => void events.push(event))
    ).pipe(Effect.provide(EventBus.layer((event) => bus.push(event))), Effect.exit)
    return { server, events, bus, exit } satisfies Outcome
  }))

const shown = (events: ReadonlyArray<L0Event.L0Event>): string => events.reduce(L0Event.applyTo, "")

const completeOf = (outcome: Outcome): L0Event.Complete => {
  const complete = outcome.events.at(-1)
  if (complete?._tag !== "Complete") throw new Error(`the run did not complete: ${outcome.exit._tag}`)
  return complete
}

/** The first attempt failed with `error`; the second, whole answer is the text, shown once. */
const expectRecovered = (
  outcome: Outcome,
  error: { readonly tag: string; readonly message?: string; readonly status?: number }
) => {
  expect(outcome.exit._tag).toBe("Success")
  expect(shown(outcome.events)).toBe(TEXT)
  expect(completeOf(outcome).state.content).toBe(TEXT)
  expect(outcome.server.requests.length).toBe(2)
  const failed = outcome.bus.find((event) => event.type.startsWith("error_"))
  expect(failed?.data).toMatchObject(error)
}

const lastError = (outcome: Outcome) => lastErrorOf(failureOf(outcome.exit))

describe("the AI SDK path: streamText(...).fullStream against ProviderServer", () => {
  for (const client of aiSdkClients) {
    for (const form of ["result", "fullStream"] as const) {
      describe(`${client.name}, its ${form === "result" ? "result object" : "fullStream"} as the source`, () => {
        const run = (script: ProviderServer.Script, options: Partial<L0.L0Options> = {}) =>
          scenario(client, script, options, form)
        it.live("a whole answer completes with its finish reason and usage", () =>
          Effect.gen(function*() {
            const outcome = yield* run([clean])
            const complete = completeOf(outcome)
            expect([complete.state.content, complete.state.finishReason]).toEqual([TEXT, "stop"])
            expect([complete.usage?.inputTokens, complete.usage?.outputTokens]).toEqual([3, 11])
            expect(outcome.server.requests.length).toBe(1)
          }))

        for (const [where, after] of positions) {
          it.live(`a body that ends ${where} without its finish marker is a retryable eof, retried to the exact text`, () =>
            Effect.gen(function*() {
              const outcome = yield* run([
                ProviderServer.reply(TEXT, { fault: ProviderServer.endAfter(after) }),
                clean
              ])
              expectRecovered(outcome, { tag: "NetworkError" })
              const resets = outcome.events.filter((event) => event._tag === "Reset")
              expect(resets).toEqual(after > 0 ? [L0Event.reset(0)] : [])
            }))

          it.live(`a cut body ${where}, with no retry left, fails as a cut stream: never a success with partial text`, () =>
            Effect.gen(function*() {
              const outcome = yield* run([
                ProviderServer.reply(TEXT, { fault: ProviderServer.endAfter(after) })
              ], {
                retry: { maxRetries: 0 }
              })
              expect(lastError(outcome)).toMatchObject({ _tag: "NetworkError", reason: "eof" })
              expect(outcome.events.some((event) => event._tag === "Complete")).toBe(false)
            }))

          it.live(`a socket reset ${where} is retried to the exact text`, () =>
            Effect.gen(function*() {
              const outcome = yield* run([
                ProviderServer.reply(TEXT, { fault: ProviderServer.resetAfter(after) }),
                clean
              ])
              expectRecovered(outcome, { tag: "NetworkError" })
            }))

          it.live(`an in-band overloaded_error ${where} is transient and retried`, () =>
            Effect.gen(function*() {
              const outcome = yield* run([
                ProviderServer.reply(TEXT, {
                  fault: ProviderServer.errorAfter(after, { type: "overloaded_error", message: "Overloaded" })
                }),
                clean
              ])
              expectRecovered(outcome, { tag: "TransientError", message: "Overloaded" })
            }))
        }

        it.live("an in-band insufficient_quota error is fatal: no retry", () =>
          Effect.gen(function*() {
            const outcome = yield* run([
              ProviderServer.reply(TEXT, {
                fault: ProviderServer.errorAfter(2, {
                  type: "insufficient_quota",
                  code: "insufficient_quota",
                  message: "You exceeded your current quota"
                })
              }),
              clean
            ])
            expect(lastError(outcome)._tag).toBe("FatalError")
            expect(outcome.server.requests.length).toBe(1)
          }))

        it.live("malformed SSE is a ModelError, retried", () =>
          Effect.gen(function*() {
            const outcome = yield* run([
              ProviderServer.reply(TEXT, { fault: ProviderServer.malformedAfter(2) }),
              clean
            ])
            expectRecovered(outcome, { tag: "ModelError" })
          }))

        it.effect("a 429 through AI_APICallError is transient, with its status, and its Retry-After is waited", () =>
          Effect.scoped(Effect.gen(function*() {
            const server = yield* ProviderServer.start([ProviderServer.httpError(429, { retryAfter: 2 }), clean])
            const bus: Array<EventBus.BusEvent> = []
            const retrying = yield* Deferred.make<void>()
            const fiber = yield* L0.text({
              stream: sourceOf(client, form)(server),
              retry: { backoff: "fixed", baseDelay: "1 millis", maxDelay: "10 seconds" },
              timeout: ampleTimeout
            }).pipe(
              Effect.provide(EventBus.layer((event) => {
                bus.push(event)
                if (event.type === "retry_attempt") Deferred.doneUnsafe(retrying, Effect.void)
              })),
              Effect.forkChild
            )
            yield* Deferred.await(retrying)
            // the retry waits out the provider's 2 seconds, not the 1 ms backoff
            yield* advance("1999 millis")
            expect(server.requests.length).toBe(1)
            yield* advance("1 millis")
            expect(yield* Fiber.join(fiber)).toBe(TEXT)
            expect(bus.find((event) => event.type === "error_transient")?.data).toMatchObject({ status: 429 })
            expect(bus.find((event) => event.type === "retry_attempt")?.data).toMatchObject({ delayMs: 2000 })
          })))

        it.live("a 503 is transient; a 401 is fatal with its status", () =>
          Effect.gen(function*() {
            const busy = yield* run([ProviderServer.httpError(503), clean])
            expectRecovered(busy, { tag: "TransientError", status: 503 })
            const denied = yield* run([ProviderServer.httpError(401), clean])
            expect(lastError(denied)).toMatchObject({ _tag: "FatalError", status: 401 })
            expect(denied.server.requests.length).toBe(1)
          }))

        it.live("a hang-up before the response is a NetworkError, retried", () =>
          Effect.gen(function*() {
            const outcome = yield* run([ProviderServer.hangup, clean])
            expectRecovered(outcome, { tag: "NetworkError" })
          }))

        it.effect("a stall is timed out and retried: the aborted attempt's own abort does not end the run", () =>
          Effect.scoped(Effect.gen(function*() {
            const server = yield* ProviderServer.start([
              ProviderServer.reply(TEXT, { fault: ProviderServer.stallAfter(2) }),
              clean
            ])
            const events: Array<L0Event.L0Event> = []
            const shownTwo = yield* Deferred.make<void>()
            const fiber = yield* Stream.runForEach(
              L0.stream({
                stream: sourceOf(client, form)(server),
                retry: { backoff: "fixed", baseDelay: 0 },
                timeout: { initialToken: "1 second", interToken: "1 second" }
              }),
              (event) =>
                Effect.suspend(() => {
                  events.push(event)
                  return shown(events).length >= 8 ? Deferred.succeed(shownTwo, undefined) : Effect.void
                })
            ).pipe(Effect.forkChild)
            yield* Deferred.await(shownTwo)
            yield* advance("1 second")
            yield* Fiber.join(fiber)
            expect(shown(events)).toBe(TEXT)
            expect(yield* server.awaitEnd(0)).toBe("disconnected")
            expect(server.requests.length).toBe(2)
          })))
      })
    }
  }

  for (const client of aiSdkClients) {
    it.live(`${client.name}: an abort part from the caller's own signal is a FatalError, not retried`, () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* ProviderServer.start([
          ProviderServer.reply(TEXT, { fault: ProviderServer.stallAfter(2) }),
          clean
        ])
        const user = new AbortController()
        const model = client.model(server)
        const error = yield* L0.text({
          stream: () =>
            client.streamText({ model, prompt: "Hello", maxRetries: 0, abortSignal: user.signal, onError: () => {} })
              .fullStream,
          retry,
          timeout: ampleTimeout
        }).pipe(
          Effect.provide(EventBus.layer((event) => {
            if (event.type === "stream_token" && event.data.index === 1) user.abort()
          })),
          Effect.flip
        )
        expect(lastErrorOf(error)).toMatchObject({ _tag: "FatalError", reason: "aborted" })
        expect(server.requests.length).toBe(1)
      })))
  }
})
