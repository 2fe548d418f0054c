import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type { L0Error } from "effect-l0"
import { Adapter, L0, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset, failureOf, httpError, noDelay, settle } from "./support.js"

/** Each chunk `{ words: [...] }` becomes one token per word; the end reports usage and a finish reason. */
const words = Adapter.make({
  name: "words",
  detect: (chunk) => typeof chunk === "object" && chunk !== null && "words" in chunk,
  make: () => {
    let count = 0
    return {
      push: (chunk, out) => {
        for (const word of (chunk as { words: ReadonlyArray<string> }).words) {
          out.push(L0Event.token(word))
          count++
        }
        return true
      },
      end: (out) => {
        out.push(L0Event.data({ summary: count }))
        return { usage: { outputTokens: count }, finishReason: "stop" }
      }
    }
  }
})

describe("sources and adapters", () => {
  it.effect("a decoder's end events, usage and finish reason reach Complete", () =>
    Effect.gen(function*() {
      const source = TestSource.make([{ words: ["a", "b"] }, { words: ["c"] }])
      const events = yield* Stream.runCollect(L0.stream({ stream: source.stream, adapter: words }))
      expect(events.slice(0, 4)).toEqual([
        L0Event.token("a"),
        L0Event.token("b"),
        L0Event.token("c"),
        L0Event.data({ summary: 3 })
      ])
      const complete = events.at(-1) as L0Event.Complete
      expect(complete.usage).toEqual({ outputTokens: 3 })
      expect(complete.state.finishReason).toBe("stop")
    }))

  it.effect("many events per chunk and a slow consumer lose nothing", () =>
    Effect.gen(function*() {
      const chunks = Array.from({ length: 1000 }, (_, i) => ({ words: [`${i}a`, `${i}b`, `${i}c`] }))
      const source = TestSource.make(chunks)
      let received: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEachArray(L0.stream({ stream: source.stream, adapter: words }), (events) => {
          received = received.concat(events.filter(L0Event.isToken).map((e) => e.value))
          return Effect.sleep("1 second")
        })
      )
      for (let i = 0; i < 20 && fiber.pollUnsafe() === undefined; i++) yield* advance("1 second")
      yield* Fiber.join(fiber)
      expect(received).toEqual(chunks.flatMap((chunk) => chunk.words))
    }))

  it.effect("a Complete pushed by a custom decoder is not forwarded", () =>
    Effect.gen(function*() {
      const passthrough = Adapter.make({
        name: "raw",
        detect: () => true,
        make: () => Adapter.stateless((chunk, out) => (out.push(chunk as L0Event.L0Event), true))
      })
      const inner: L0Event.Complete = {
        _tag: "Complete",
        state: { content: "zz" } as L0Event.Complete["state"]
      }
      const events = yield* Stream.runCollect(
        L0.stream({ stream: TestSource.make([L0Event.token("x"), inner]).stream, adapter: passthrough })
      )
      expect(events.map((e) => e._tag)).toEqual(["Token", "Complete"])
      expect((events[1] as L0Event.Complete).state.content).toBe("x")
    }))

  it.effect("Stream, Effect and Promise sources that fail are categorized", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<L0.SourceFactory> = [
        () => Stream.concat(Stream.make("a"), Stream.fail(httpError(401))),
        () => Effect.fail(httpError(401)),
        () => Promise.reject(httpError(401)),
        () => Effect.die(httpError(401))
      ]
      for (const stream of cases) {
        const error = failureOf(yield* Effect.exit(L0.text({ stream, retry: noDelay })))
        expect((error as L0Error.ExhaustedError).lastError).toMatchObject({ _tag: "FatalError", status: 401 })
      }
    }))

  it.effect("an inner run that is exhausted counts as its last error", () =>
    Effect.gen(function*() {
      const inner = TestSource.make([TestSource.fail(connectionReset())])
      let outerCalls = 0
      const error = failureOf(
        yield* Effect.exit(L0.text({
          stream: () => {
            outerCalls++
            return L0.stream({ stream: inner.stream, retry: { ...noDelay, maxRetries: 0 } })
          },
          retry: { ...noDelay, maxRetries: 1 }
        }))
      )
      expect(outerCalls).toBe(2)
      expect((error as L0Error.ExhaustedError).lastError?._tag).toBe("NetworkError")
    }))

  it.effect("a request that starts after its attempt timed out is closed at once", () =>
    Effect.gen(function*() {
      let returned = 0
      const late = () =>
        Effect.as(
          Effect.sleep("3 seconds"),
          {
            [Symbol.asyncIterator]: () => ({
              next: () => Promise.resolve({ done: false as const, value: "never used" }),
              return: () => {
                returned++
                return Promise.resolve({ done: true as const, value: undefined })
              }
            })
          }
        )
      const fiber = yield* Effect.forkChild(Effect.exit(L0.text({
        stream: late,
        retry: { ...noDelay, maxRetries: 0 },
        timeout: { initialToken: "1 second" }
      })))
      yield* advance("1 second")
      const error = failureOf(yield* Fiber.join(fiber))
      expect((error as L0Error.ExhaustedError).lastError).toMatchObject({ reason: "timeout" })
      expect(returned).toBe(0)

      let resolve: (iterable: AsyncIterable<string>) => void = () => {}
      const pending = () => new Promise<AsyncIterable<string>>((r) => resolve = r)
      const second = yield* Effect.forkChild(Effect.exit(L0.text({
        stream: pending,
        retry: { ...noDelay, maxRetries: 0 },
        timeout: { initialToken: "1 second" }
      })))
      yield* advance("1 second")
      yield* Fiber.join(second)
      // the request only now answers: its stream is returned unread
      resolve({
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.reject(new Error("must not be read")),
          return: () => {
            returned++
            return Promise.resolve({ done: true as const, value: undefined })
          }
        })
      })
      yield* settle
      expect(returned).toBe(1)
    }))

  it.effect("interToken \"Infinity\" stops the watchdog once output starts", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.sleep("1 hour"), "b"])
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, timeout: { initialToken: "1 second", interToken: "Infinity" } })
      )
      yield* advance("1 hour")
      expect(yield* Fiber.join(fiber)).toBe("ab")
    }))

  it("describe names a chunk's shape without its content", () => {
    expect(Adapter.describe(null)).toBe("null")
    expect(Adapter.describe([1, 2])).toBe("an array of 2")
    expect(Adapter.describe(5)).toBe("a number")
    const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, "secret"]))
    expect(Adapter.describe({ ...many, type: "response.weird" })).toBe(
      "an object with keys {k0, k1, k2, k3, k4, k5, k6, k7, …} and type \"response.weird\""
    )
  })

  it.effect("the text and events adapters reject chunks of another kind", () =>
    Effect.gen(function*() {
      for (
        const [adapter, chunks] of [["text", ["a", { not: "text" }]], ["events", [L0Event.token("a"), 7]]] as const
      ) {
        const error = failureOf(
          yield* Effect.exit(
            L0.text({ stream: TestSource.make(chunks).stream, adapter, retry: { ...noDelay, maxAttempts: 1 } })
          )
        )
        expect((error as L0Error.ExhaustedError).lastError?.message).toContain(`The "${adapter}" adapter cannot read`)
      }
    }))
})
