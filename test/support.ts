import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { L0, L0Error } from "effect-l0"
import { TestSource } from "effect-l0/testing"

/** Re-exported so tests read `advance("1 second")`. */
export const { advance, settle } = TestSource

/** An error shaped like Node's socket reset. */
export const connectionReset = (): Error => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })

/** An error shaped like an SDK's HTTP error. */
export const httpError = (status: number, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(`${status} status code`), { status, headers })

/**
 * Timeout limits that no slow or busy machine comes near, for tests on the
 * live clock whose subject is not timing: a timeout there would change what
 * they count (requests, resets). Timeouts are tested under `TestClock`.
 */
export const ampleTimeout = { initialToken: "1 minute", interToken: "1 minute" } as const

/** Retries at once, so tests without a clock can retry. */
export const noDelay = { backoff: "fixed", baseDelay: 0 } as const

/** The typed error an L0 run failed with; throws if it succeeded or died. */
export const failureOf = <A>(exit: Exit.Exit<A, L0Error.L0Error>): L0Error.L0Error => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons[0]
  if (reason?._tag !== "Fail") throw new Error("expected a typed failure")
  return reason.error
}

/** The error of the last attempt behind an `ExhaustedError`, or the error itself. */
export const lastErrorOf = (error: L0Error.L0Error): L0Error.CategoryError =>
  error._tag === "ExhaustedError" ? error.lastError! : error

/** Retries after a fixed second, for tests that wait the backoff out with `withRetries`. */
export const retry = { backoff: "fixed", baseDelay: "1 second" } as const

/** Runs an effect that waits on `waits` retry backoffs of `retry` (fixed 1 s) under the TestClock. */
export const withRetries = <A, E>(effect: Effect.Effect<A, E>, waits = 1) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < waits; i++) yield* advance("1 second")
    return yield* Fiber.join(fiber)
  })

/** Counts the sources whose attempt is open: from the factory call until the attempt's signal aborts. */
export const activity = () => {
  const counter = { active: 0, peak: 0, started: 0 }
  const track = (factory: L0.SourceFactory): L0.SourceFactory => (context) => {
    counter.active++
    counter.started++
    counter.peak = Math.max(counter.peak, counter.active)
    context.signal.addEventListener("abort", () => counter.active--, { once: true })
    return factory(context)
  }
  return { counter, track }
}

/** A service that sources read: its word proves that the service reached the source. */
export class Greeting extends Context.Service<Greeting, { readonly word: string }>()("test/Greeting") {}

/** A second service, for lists that mix requirements. */
export class Farewell extends Context.Service<Farewell, { readonly word: string }>()("test/Farewell") {}

export const greetingLayer = Layer.succeed(Greeting)({ word: "hello" })
export const farewellLayer = Layer.succeed(Farewell)({ word: "goodbye" })

/** A source that streams the word of `Greeting`, then `rest`. */
export const greeted = (...rest: ReadonlyArray<string>) => () =>
  Effect.map(Effect.service(Greeting), ({ word }) => Stream.make(word, ...rest))

/** A source that streams the word of `Farewell`, then `rest`. */
export const farewelled = (...rest: ReadonlyArray<string>) => () =>
  Effect.map(Effect.service(Farewell), ({ word }) => Stream.make(word, ...rest))

/** A source that requires nothing. */
export const plain = (...tokens: ReadonlyArray<string>) => () => Stream.fromIterable(tokens)
