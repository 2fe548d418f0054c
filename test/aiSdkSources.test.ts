import { createOpenAI } from "@ai-sdk/openai"
import { describe, expect, it } from "@effect/vitest"
import { APICallError, streamObject, streamText } from "ai"
import { APICallError as APICallError6, streamObject as streamObject6, streamText as streamText6 } from "ai6"
import { createOpenAI as createOpenAI6 } from "ai6-openai"
import * as Effect from "effect/Effect"
import { L0, L0Error } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import { afterEach, beforeAll, vi } from "vitest"
import { z } from "zod"
import { API_KEY } from "./clients.js"
import { ampleTimeout, lastErrorOf } from "./support.js"

const retry = { baseDelay: "1 millis", maxDelay: "20 millis", backoff: "fixed" } as const

const Fox = z.object({ name: z.string(), age: z.number() })
const FOX = "{\"name\":\"Fox\",\"age\":3}"

beforeAll(() => {
  // ai 7 warns that streamObject is deprecated, once per process
  ;(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false
})

afterEach(() => {
  vi.restoreAllMocks()
})

type StreamObject = (options: {
  readonly model: never
  readonly schema: typeof Fox
  readonly prompt: string
  readonly maxRetries: 0
  readonly abortSignal: AbortSignal
  readonly onError: () => void
}) => { readonly fullStream: AsyncIterable<unknown> }

const majors = [
  { major: "ai 7", streamObject: streamObject as unknown as StreamObject, provider: createOpenAI },
  { major: "ai 6", streamObject: streamObject6 as unknown as StreamObject, provider: createOpenAI6 }
] as const

describe("streamObject() as a source", () => {
  for (const { major, provider, streamObject } of majors) {
    for (const form of ["result object", "fullStream"] as const) {
      const source = (server: ProviderServer.Addresses): L0.SourceFactory => {
        const model = provider({ baseURL: server.openaiBaseUrl, apiKey: API_KEY }).chat("gpt-test") as never
        return ({ signal }) => {
          const result = streamObject({
            model,
            schema: Fox,
            prompt: "A fox",
            maxRetries: 0,
            abortSignal: signal,
            onError: () => {}
          })
          return form === "fullStream" ? result.fullStream : result
        }
      }

      it.live(`${major}: its ${form} is detected without options.adapter, and decodes to the object`, () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* ProviderServer.start([FOX])
          const fox = yield* L0.structured(Fox, { stream: source(server), retry, timeout: ampleTimeout })
          expect(fox).toEqual({ name: "Fox", age: 3 })
          expect(server.requests.length).toBe(1)
        })))

      it.live(`${major}: its ${form} cut before the finish marker is retried to the whole object`, () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* ProviderServer.start([
            ProviderServer.reply(FOX, { fault: ProviderServer.endAfter(2) }),
            FOX
          ])
          const fox = yield* L0.structured(Fox, { stream: source(server), retry, timeout: ampleTimeout })
          expect(fox).toEqual({ name: "Fox", age: 3 })
          expect(server.requests.length).toBe(2)
        })))
    }
  }
})

describe("an object returned as a source, read through its fullStream", () => {
  const failure = (produced: unknown) =>
    L0.text({ stream: () => produced as never, retry, timeout: ampleTimeout }).pipe(
      Effect.flip,
      Effect.map(lastErrorOf)
    )

  it.effect("a fullStream getter that throws is an invalid source, a FatalError, not a crash or a retry", () =>
    Effect.gen(function*() {
      let reads = 0
      const error = yield* failure({
        get fullStream(): never {
          reads++
          throw new Error("getter exploded")
        }
      })
      expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(error.message).toContain("an AI SDK result (an object with a fullStream)")
      expect(reads).toBe(1)
    }))

  it.effect("a revoked Proxy and a Proxy whose has trap throws are invalid sources", () =>
    Effect.gen(function*() {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      expect(yield* failure(proxy)).toMatchObject({ _tag: "FatalError", reason: "options" })
      const trap = new Proxy({}, {
        has: () => {
          throw new Error("has trap")
        }
      })
      expect(yield* failure(trap)).toMatchObject({ _tag: "FatalError", reason: "options" })
    }))

  it.effect("a fullStream that is not iterable is an invalid source", () =>
    Effect.gen(function*() {
      expect(yield* failure({ fullStream: 42 })).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(yield* failure({ fullStream: { next: () => ({ done: true }) } })).toMatchObject({
        _tag: "FatalError",
        reason: "options"
      })
    }))

  it.effect("any object with an iterable fullStream works, whatever else it has", () =>
    Effect.gen(function*() {
      async function* parts() {
        yield { type: "text-delta", text: "Hello" }
        yield { type: "finish", finishReason: "stop", rawFinishReason: "stop" }
      }
      expect(yield* L0.text({ stream: () => ({ fullStream: parts(), text: Promise.resolve("ignored") }) })).toBe(
        "Hello"
      )
    }))
})

describe("the AI SDK's own error printing", () => {
  const printed = (major: "ai 7" | "ai 6", onError: (() => void) | undefined) =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([ProviderServer.httpError(401)])
      const error = vi.spyOn(console, "error").mockImplementation(() => {})
      const model = (major === "ai 7" ? createOpenAI : createOpenAI6)({
        baseURL: server.openaiBaseUrl,
        apiKey: API_KEY
      }).chat("gpt-test") as never
      const call = (major === "ai 7" ? streamText : streamText6) as unknown as (options: object) => object
      const failed = yield* L0.text({
        stream: ({ signal }) =>
          call({
            model,
            prompt: "Hello",
            maxRetries: 0,
            abortSignal: signal,
            ...(onError === undefined ? {} : { onError })
          }) as never,
        retry,
        timeout: ampleTimeout
      }).pipe(Effect.flip)
      expect(lastErrorOf(failed)).toMatchObject({ _tag: "FatalError", status: 401 })
      const calls = error.mock.calls.length
      error.mockRestore()
      return calls
    }))

  for (const major of ["ai 7", "ai 6"] as const) {
    it.live(`${major}: prints each failed call unless onError is passed, as the guide says`, () =>
      Effect.gen(function*() {
        expect(yield* printed(major, undefined)).toBeGreaterThan(0)
        expect(yield* printed(major, () => {})).toBe(0)
      }))
  }
})

describe("the user's AI SDK callbacks", () => {
  for (const { major, provider } of majors) {
    it.live(`${major}: onError and onFinish that throw change nothing: the failed attempt is retried, the answer kept`, () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* ProviderServer.start([ProviderServer.httpError(503), "Hello there"])
        const model = provider({ baseURL: server.openaiBaseUrl, apiKey: API_KEY }).chat("gpt-test") as never
        const call = (major === "ai 7" ? streamText : streamText6) as unknown as (options: object) => never
        const text = yield* L0.text({
          stream: ({ signal }) =>
            call({
              model,
              prompt: "Hello",
              maxRetries: 0,
              abortSignal: signal,
              onError: () => {
                throw new Error("onError exploded")
              },
              onFinish: () => {
                throw new Error("onFinish exploded")
              }
            }),
          retry,
          timeout: ampleTimeout
        })
        expect(text).toBe("Hello there")
        expect(server.requests.length).toBe(2)
      })))
  }
})

describe("the AI SDK's errors, categorized", () => {
  const url = "http://127.0.0.1/v1/chat/completions"
  for (const [major, ApiError] of [["ai 7", APICallError], ["ai 6", APICallError6]] as const) {
    it(`${major}: an APICallError without a status that says isRetryable is transient; one that says no is not`, () => {
      const retryable = new ApiError({
        message: "Upstream said try again",
        url,
        requestBodyValues: {},
        isRetryable: true
      })
      expect(L0Error.fromUnknown(retryable)._tag).toBe("TransientError")
      const final = new ApiError({ message: "Upstream said no", url, requestBodyValues: {}, isRetryable: false })
      expect(L0Error.fromUnknown(final)._tag).toBe("ModelError")
    })

    it(`${major}: an APICallError caused by an AbortError (a body read its own signal aborted) is an abort`, () => {
      const error = new ApiError({
        message: "Failed to process successful response",
        url,
        requestBodyValues: {},
        statusCode: 200,
        cause: new DOMException("This operation was aborted", "AbortError")
      })
      expect(L0Error.fromUnknown(error)).toMatchObject({ _tag: "FatalError", reason: "aborted" })
    })

    it(`${major}: a 429 APICallError keeps its status and Retry-After, whatever isRetryable says`, () => {
      const error = new ApiError({
        message: "Too Many Requests",
        url,
        requestBodyValues: {},
        statusCode: 429,
        responseHeaders: { "retry-after": "7" },
        isRetryable: false
      })
      const categorized = L0Error.fromUnknown(error)
      expect(categorized).toMatchObject({ _tag: "TransientError", status: 429 })
      expect(categorized._tag === "TransientError" && categorized.retryAfter).toMatchObject({ value: { millis: 7000 } })
    })
  }
})
