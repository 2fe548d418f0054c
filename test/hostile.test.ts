import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { L0, L0Error } from "effect-l0"
import { inspect } from "node:util"
import OpenAI from "openai"
import { settle } from "./support.js"

/** Rejections nobody handled while this file ran: a hostile value must never produce one. */
const unhandled: Array<unknown> = []
const record = (reason: unknown) => void unhandled.push(reason)
beforeAll(() => void process.on("unhandledRejection", record))
afterAll(() => void process.off("unhandledRejection", record))

const boom = (): never => {
  throw new Error("getter")
}

const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/** `value` with getters that throw for `keys`. */
const throwingGetters = <A extends object>(value: A, keys: ReadonlyArray<string>): A => {
  for (const key of keys) Object.defineProperty(value, key, { get: boom, configurable: true })
  return value
}

/** Thrown values that break code which reads them carelessly. */
const hostile: ReadonlyArray<readonly [string, () => unknown]> = [
  ["a revoked Proxy", revoked],
  ["an Error whose message getter throws", () => throwingGetters(new Error("hidden"), ["message"])],
  ["an Error whose status, code, name and cause getters throw",
    () => throwingGetters(new Error("hidden"), ["status", "code", "name", "cause", "headers"])],
  ["an object whose toString and toPrimitive throw", () => ({ toString: boom, [Symbol.toPrimitive]: boom })],
  ["a function whose toString throws", () => Object.assign(() => {}, { toString: boom })],
  ["a Proxy whose every trap throws",
    () => new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom })],
  ["an openai APIError whose headers and error getters throw",
    () =>
      throwingGetters(OpenAI.APIError.generate(500, undefined, "server error", new Headers()), ["headers", "error"])]
]

/** The ways a source hands L0 a thrown value. */
const throwers: ReadonlyArray<readonly [string, (value: unknown) => L0.SourceFactory]> = [
  ["a factory that throws synchronously", (value) => () => {
    throw value
  }],
  ["an async iterable that throws after a token", (value) => () =>
    (async function*() {
      yield "a"
      throw value
    })()],
  ["a rejected Promise", (value) => () => Promise.reject(value)],
  ["a failing Stream", (value) => () => Stream.fail(value)],
  ["a failing Effect", (value) => () => Effect.fail(value)]
]

describe("hostile thrown values", () => {
  for (const [how, thrower] of throwers) {
    for (const [what, make] of hostile) {
      it.effect(`${how} with ${what}: a typed error at once, no unhandled rejection`, () =>
        Effect.gen(function*() {
          // the TestClock never moves: an attempt left to its timeout would never end
          const fiber = yield* Effect.forkChild(Effect.exit(L0.text({
            stream: thrower(make()),
            retry: { maxAttempts: 1, maxRetries: 0 },
            timeout: { initialToken: "1 second", interToken: "1 second" }
          })))
          yield* settle
          const exit = fiber.pollUnsafe()
          expect(exit).toBeDefined()
          const result = yield* Fiber.join(fiber)
          expect(Exit.isFailure(result)).toBe(true)
          if (Exit.isSuccess(result)) return
          const reason = result.cause.reasons[0]
          expect(reason?._tag).toBe("Fail")
          const error = reason?._tag === "Fail" ? reason.error : undefined
          expect(error?._tag).toBe("ExhaustedError")
          const last = error?._tag === "ExhaustedError" ? error.lastError : undefined
          expect(L0Error.isL0Error(last)).toBe(true)
          expect(typeof last?.message).toBe("string")
          // every printed form of the error works
          expect(() => [String(error), inspect(error), JSON.stringify(error), Cause.pretty(result.cause)]).not.toThrow()
          expect(() => [String(last), inspect(last, { depth: Infinity }), JSON.stringify(last)]).not.toThrow()
          expect(unhandled).toEqual([])
        }))
    }
  }

  it.effect("a factory that returns an unreadable value fails with a typed error", () =>
    Effect.gen(function*() {
      for (const stream of [() => revoked(), async () => revoked(), () => Effect.succeed(revoked())]) {
        const fiber = yield* Effect.forkChild(
          Effect.exit(L0.text({ stream: stream as L0.SourceFactory, retry: { maxRetries: 0 } }))
        )
        yield* settle
        expect(fiber.pollUnsafe()).toBeDefined()
        const exit = yield* Fiber.join(fiber)
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]?._tag).toBe("Fail")
      }
      expect(unhandled).toEqual([])
    }))
})

describe("classification never throws", () => {
  it("categorize, fromUnknown, isL0Error and parseRetryAfter accept anything", () => {
    for (const [what, make] of hostile) {
      const value = make()
      expect([what, L0Error.categorize(value)]).toEqual([what, expect.any(String)])
      const error = L0Error.fromUnknown(value)
      expect([what, L0Error.isL0Error(error)]).toEqual([what, true])
      expect(L0Error.isL0Error(value)).toBe(false)
      expect(L0Error.parseRetryAfter(value)).toBeUndefined()
    }
  })

  it("a value that cannot be read is a ModelError with a safe message and no cause", () => {
    const error = L0Error.fromUnknown(revoked())
    expect(error._tag).toBe("ModelError")
    expect(error.message).toBe("a thrown value whose properties throw when read (a revoked Proxy or a throwing getter)")
    expect("cause" in error && error.cause).toBeFalsy()
  })

  it("what can be read still decides: a readable status survives a throwing message getter", () => {
    const error = L0Error.fromUnknown(throwingGetters(Object.assign(new Error("x"), { status: 429 }), ["message"]))
    expect(error).toMatchObject({ _tag: "TransientError", status: 429 })
    expect(error.message).toContain("throw when read")
    // a thrown value that could not be read is not kept: printing the error must not throw later
    expect("cause" in error && error.cause).toBeFalsy()
  })

  it("an L0 error look-alike whose fields throw is classified, not trusted", () => {
    const fake = throwingGetters({ "~effect-l0/L0Error": "~effect-l0/L0Error" }, ["category", "_tag", "message"])
    expect(L0Error.isL0Error(fake)).toBe(true)
    expect(L0Error.categorize(fake)).toBe("model")
    expect(L0Error.fromUnknown(fake)._tag).toBe("ModelError")
  })
})

/** An iterable whose iterator is `iterator`, read by L0 as a provider SDK stream would be. */
const iterableOf = (iterator: () => unknown): L0.SourceFactory => () =>
  ({ [Symbol.asyncIterator]: iterator }) as AsyncIterable<string>

/** Iterators that break the async iteration protocol. */
const brokenIterators: ReadonlyArray<readonly [string, L0.SourceFactory]> = [
  ["[Symbol.asyncIterator] throws", iterableOf(boom)],
  ["[Symbol.asyncIterator] returns a revoked Proxy", iterableOf(revoked)],
  ["next() throws synchronously", iterableOf(() => ({ next: boom }))],
  ["next() resolves to null", iterableOf(() => ({ next: () => Promise.resolve(null) }))],
  ["next() resolves to a result whose done getter throws", iterableOf(() => ({
    next: () => Promise.resolve(throwingGetters({}, ["done"]))
  }))],
  ["next() returns a thenable whose then throws", iterableOf(() => ({ next: () => ({ then: boom }) }))],
  ["next() returns a revoked Proxy", iterableOf(() => ({ next: revoked }))]
]

describe("iterators that break the protocol", () => {
  for (const [what, stream] of brokenIterators) {
    it.effect(`${what}: a typed error at once, no unhandled rejection`, () =>
      Effect.gen(function*() {
        // the TestClock never moves: an attempt left to its timeout would never end
        const fiber = yield* Effect.forkChild(Effect.exit(L0.text({
          stream,
          retry: { maxAttempts: 1, maxRetries: 0 },
          timeout: { initialToken: "1 second", interToken: "1 second" }
        })))
        yield* settle
        expect(fiber.pollUnsafe()).toBeDefined()
        const exit = yield* Fiber.join(fiber)
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect((error as L0Error.ExhaustedError | undefined)?._tag).toBe("ExhaustedError")
        expect(L0Error.isL0Error((error as L0Error.ExhaustedError).lastError)).toBe(true)
        expect(unhandled).toEqual([])
      }))
  }

  it.effect("next() that returns results without a Promise is read like an async iterator", () =>
    Effect.gen(function*() {
      const tokens = ["a", "b", "c"]
      let index = 0
      const stream = iterableOf(() => ({
        next: () => index < tokens.length ? { done: false, value: tokens[index++] } : { done: true, value: undefined }
      }))
      expect(yield* L0.text({ stream })).toBe("abc")
    }))
})
