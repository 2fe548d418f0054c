import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import { EventBus, L0, L0Event } from "effect-l0"
import type { L0Error } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import type { Client } from "./clients.js"
import { allClients, API_KEY, httpClients } from "./clients.js"
import { fixtureNames, loadFixture } from "./fixtureFiles.js"
import { ampleTimeout, failureOf, lastErrorOf } from "./support.js"

/** Real time for HTTP, tiny L0 delays: Retry-After (capped at maxDelay) shows as a 20 ms wait. */
const retry = { baseDelay: "1 millis", maxDelay: "20 millis", backoff: "fixed" } as const
/** On the live clock, timeouts never fire: stalls are tested under TestClock (see `stalled`). */
const timeout = ampleTimeout

const TEXT = "The quick brown fox jumps over the lazy dog."
/** Past the last of TEXT's 11 chunks: the fault strikes before the closing events. */
const END = 100
const positions = [["before the first token", 0], ["mid-stream", 2], ["at the end", END]] as const

interface Outcome {
  readonly server: ProviderServer.ProviderServer
  readonly events: ReadonlyArray<L0Event.L0Event>
  readonly bus: ReadonlyArray<EventBus.BusEvent>
  readonly exit: Exit.Exit<void, L0Error.L0Error>
}

const scenario = (client: Client, script: ProviderServer.Script, options: Partial<L0.L0Options> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* ProviderServer.start(script)
    const events: Array<L0Event.L0Event> = []
    const bus: Array<EventBus.BusEvent> = []
    const exit = yield* Stream.runForEach(
      L0.stream({ stream: client.source(server), retry, timeout, ...options }),
      (event) => Effect.sync(() => void events.push(event))
    ).pipe(Effect.provide(EventBus.layer((event) => bus.push(event))), Effect.exit)
    return { server, events, bus, exit } satisfies Outcome
  }))

/** The consumer's text, tokens appended and resets applied. */
const shown = (events: ReadonlyArray<L0Event.L0Event>): string => events.reduce(L0Event.applyTo, "")

const expectRecovered = (outcome: Outcome, options: { readonly reset: boolean }) => {
  expect(outcome.exit._tag).toBe("Success")
  const { events } = outcome
  expect(shown(events)).toBe(TEXT)
  const complete = events.at(-1)
  expect(complete?._tag === "Complete" && complete.state.content).toBe(TEXT)
  const resets = events.filter((e) => e._tag === "Reset")
  expect(resets).toEqual(options.reset ? [L0Event.reset(0)] : [])
  // after the last reset, each part of the text arrives once
  let last = events.length - 1
  while (last >= 0 && events[last]!._tag !== "Reset") last--
  expect(events.slice(last + 1).filter(L0Event.isToken).map((e) => e.value).join("")).toBe(TEXT)
  expect(outcome.server.requests.length).toBe(2)
}

/** The limit of the stall tests, on the TestClock. */
const STALL_LIMIT = "1 second"

/**
 * A stall, under `TestClock`: the first request stalls after `after` chunks
 * of TEXT, the second answers it whole. Once the consumer has shown the text
 * before the stall, the clock moves past the limit, so the timeout fires
 * there and nowhere else, however slow the machine.
 */
const stalled = (client: Client, after: number) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* ProviderServer.start([
      ProviderServer.reply(TEXT, { fault: ProviderServer.stallAfter(after) }),
      clean
    ])
    // the default chunk is 4 code points
    const before = TEXT.slice(0, after * 4)
    const reached = yield* Deferred.make<void>()
    if (before === "") yield* Deferred.succeed(reached, undefined)
    const events: Array<L0Event.L0Event> = []
    const bus: Array<EventBus.BusEvent> = []
    let text = ""
    const fiber = yield* Stream.runForEach(
      L0.stream({
        stream: client.source(server),
        retry: { backoff: "fixed", baseDelay: 0 },
        timeout: { initialToken: STALL_LIMIT, interToken: STALL_LIMIT }
      }),
      (event) =>
        Effect.suspend(() => {
          events.push(event)
          text = L0Event.applyTo(text, event)
          return text.length >= before.length ? Deferred.succeed(reached, undefined) : Effect.void
        })
    ).pipe(Effect.provide(EventBus.layer((event) => bus.push(event))), Effect.exit, Effect.forkChild)
    yield* server.awaitRequest(0)
    yield* Deferred.await(reached)
    yield* TestClock.adjust(STALL_LIMIT)
    const exit = yield* Fiber.join(fiber)
    return { server, events, bus, exit } satisfies Outcome
  }))

const failure = (outcome: Outcome): L0Error.L0Error => failureOf(outcome.exit)

const lastError = (outcome: Outcome) => lastErrorOf(failure(outcome))

const fatalInBand = (client: Client): ProviderServer.ErrorDetails =>
  client.protocol === "anthropic"
    ? { type: "invalid_request_error", message: "prompt is too long" }
    : { type: "insufficient_quota", code: "insufficient_quota", message: "You exceeded your current quota" }

const clean = ProviderServer.reply(TEXT)

describe("fixtures replayed by ProviderServer through the real clients", () => {
  for (const name of fixtureNames) {
    const fixture = loadFixture(name)
    const { expected } = fixture
    const clients = allClients.filter((client) => client.protocol === expected.protocol)
    const replays = [["", ProviderServer.replay(fixture.bytes)], [
      " in 7-byte pieces",
      ProviderServer.replay(fixture.bytes, { chunkSize: 7 })
    ]] as const
    for (const client of clients) {
      for (const [label, replay] of replays) {
        it.live(`${name} via ${client.name}${label}`, () =>
          Effect.gen(function*() {
            // a fixture may be an answer of nothing (a refusal): decoding is the point, so it is accepted
            const outcome = yield* scenario(client, [replay], { retry: { maxRetries: 0 }, allowEmpty: true })
            if (expected.error !== null) {
              const error = lastError(outcome)
              expect(error._tag).toBe(expected.error.type === "insufficient_quota" ? "FatalError" : "TransientError")
              expect(error.message).toContain(expected.error.message)
              expect(outcome.events.filter(L0Event.isToken).map((e) => e.value).join("")).toBe(expected.text)
              return
            }
            expect(outcome.exit._tag).toBe("Success")
            const complete = outcome.events.at(-1) as L0Event.Complete
            expect(complete.state.content).toBe(expected.text)
            expect(complete.state.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })))
              .toEqual(expected.toolCalls)
            expect(complete.state.finishReason).toBe(expected.finishReason)
            expect(complete.usage?.raw).toEqual(expected.usage)
          }))
      }
    }
  }

  for (const client of httpClients.filter((c) => c.protocol === "openai-chat")) {
    it.live(`split UTF-8: CJK and emoji one byte per network read via ${client.name}`, () =>
      Effect.gen(function*() {
        const fixture = loadFixture("openai-chat-cjk-emoji")
        const outcome = yield* scenario(client, [ProviderServer.replay(fixture.bytes, { chunkSize: 1 })])
        expect(shown(outcome.events)).toBe(fixture.expected.text)
      }))
  }
})

describe("faults, per protocol and client", () => {
  for (const client of allClients) {
    describe(client.name, () => {
      for (const [where, after] of positions) {
        const reset = after > 0
        const recoverable = [
          ["a socket reset", ProviderServer.resetAfter(after), "error_network"],
          ["a transient in-band error", ProviderServer.errorAfter(after), "error_transient"],
          ["malformed SSE (a ModelError)", ProviderServer.malformedAfter(after), "error_model"]
        ] as const
        for (const [fault, script, observed] of recoverable) {
          it.live(`${fault} ${where} is retried to the exact text`, () =>
            Effect.gen(function*() {
              const outcome = yield* scenario(client, [ProviderServer.reply(TEXT, { fault: script }), clean])
              expectRecovered(outcome, { reset })
              expect(outcome.bus.some((e) => e.type === observed)).toBe(true)
            }))
        }

        it.effect(`a stall (timeout) ${where} is retried to the exact text`, () =>
          Effect.gen(function*() {
            const outcome = yield* stalled(client, after)
            expectRecovered(outcome, { reset })
            // the timeout aborted the stalled request
            expect(outcome.bus.find((e) => e.type === "timeout")?.data.phase).toBe(after === 0 ? "initial" : "inter")
            expect(yield* outcome.server.awaitEnd(0)).toBe("disconnected")
          }))

        it.live(`a fatal in-band error ${where} fails with a FatalError and no retry`, () =>
          Effect.gen(function*() {
            const outcome = yield* scenario(client, [
              ProviderServer.reply(TEXT, { fault: ProviderServer.errorAfter(after, fatalInBand(client)) }),
              clean
            ])
            const error = failure(outcome)
            expect(error._tag === "ExhaustedError" && error.attempts.length).toBe(1)
            expect(lastError(outcome)._tag).toBe("FatalError")
            expect(outcome.server.requests.length).toBe(1)
          }))
      }

      it.live("a 429 with Retry-After is waited out (capped at maxDelay)", () =>
        Effect.gen(function*() {
          const outcome = yield* scenario(client, [ProviderServer.httpError(429, { retryAfter: 1 }), clean])
          expectRecovered(outcome, { reset: false })
          const attempt = outcome.bus.find((e) => e.type === "retry_attempt")
          expect(attempt?.data.delayMs).toBe(20)
          const error = outcome.bus.find((e) => e.type === "error_transient")
          expect(error?.data.status).toBe(429)
        }))

      it.live("a 529 / 503 is transient, a 401 is fatal with its status", () =>
        Effect.gen(function*() {
          const busy = yield* scenario(client, [ProviderServer.httpError(client.protocol === "anthropic" ? 529 : 503),
            clean])
          expectRecovered(busy, { reset: false })
          const denied = yield* scenario(client, [ProviderServer.httpError(401), clean])
          const error = lastError(denied)
          expect(error._tag).toBe("FatalError")
          expect(error.status).toBe(401)
          expect(denied.server.requests.length).toBe(1)
        }))

      it.live("a hang-up before the response is a NetworkError and is retried", () =>
        Effect.gen(function*() {
          const outcome = yield* scenario(client, [ProviderServer.hangup, clean])
          expectRecovered(outcome, { reset: false })
          expect(outcome.bus.some((e) => e.type === "error_network")).toBe(true)
        }))

      it.live("interrupting the consumer aborts the HTTP request", () =>
        Effect.scoped(Effect.gen(function*() {
          // a stall after the second token: the request is still open when the consumer is interrupted
          const server = yield* ProviderServer.start([
            ProviderServer.reply(TEXT, { fault: ProviderServer.stallAfter(2) })
          ])
          const first = yield* Deferred.make<void>()
          const fiber = yield* Effect.forkChild(
            Stream.runForEach(
              L0.stream({ stream: client.source(server), retry, timeout }),
              (event) => event._tag === "Token" ? Deferred.succeed(first, undefined) : Effect.void
            )
          )
          yield* Deferred.await(first)
          yield* Fiber.interrupt(fiber)
          expect(yield* server.awaitEnd(0)).toBe("disconnected")
          expect(server.requests.length).toBe(1)
        })))

      it.live("the API key never appears in errors or events", () =>
        Effect.gen(function*() {
          const outcome = yield* scenario(client, [
            ProviderServer.httpError(401, { error: { message: "Incorrect API key provided" } }),
            ProviderServer.reply(TEXT, { fault: ProviderServer.resetAfter(1) })
          ], {
            fallbacks: [
              client.source({ url: "", openaiBaseUrl: "http://127.0.0.1:1/v1", anthropicBaseUrl: "http://127.0.0.1:1" })
            ]
          })
          const error = failure(outcome)
          const everything = [
            JSON.stringify(error),
            String(error),
            error.message,
            ...(error._tag === "ExhaustedError" ? error.attempts.map((a) =>
              `${a.error.message} ${String(a.error.cause)}`
            ) : []),
            JSON.stringify(outcome.bus),
            JSON.stringify(outcome.events)
          ].join("\n")
          expect(everything).not.toContain(API_KEY)
          expect(everything).not.toContain("SECRET")
          const recorded = outcome.server.requests[0]!.headers
          expect(recorded.authorization ?? recorded["x-api-key"]).toMatch(/<redacted>/)
        }))

      it.live("the API key never appears in EventBus.layerLogger's log lines", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* ProviderServer.start([
            ProviderServer.httpError(403, { error: { message: "Forbidden" } })
          ])
          const lines: Array<string> = []
          const capture = Logger.make((options) => void lines.push(Logger.formatLogFmt.log(options)))
          yield* L0.run({ stream: client.source(server), retry, timeout }).pipe(
            Effect.flip,
            Effect.provide(EventBus.layerLogger.pipe(Layer.provide(Logger.layer([capture]))))
          )
          // the error's message and status are logged, the key is not
          expect(lines.find((line) => line.includes("error_fatal"))).toMatch(/Forbidden[\s\S]*403|403[\s\S]*Forbidden/)
          expect(lines.join("\n")).not.toContain(API_KEY)
        })))
    })
  }
})
