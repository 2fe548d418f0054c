import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { EventBus, L0, L0Error } from "effect-l0"
import { ProviderServer, TestSource } from "effect-l0/testing"
import OpenAI from "openai"
import { advance } from "./support.js"

const NOW = Date.parse("2025-01-01T00:00:00Z")

/** The error `fromUnknown` gives, with its Retry-After in millis. */
const classified = (u: unknown) => {
  const error = L0Error.fromUnknown(u, NOW)
  return {
    tag: error._tag,
    status: "status" in error ? error.status : undefined,
    retryAfter: "retryAfter" in error && error.retryAfter ? Duration.toMillis(error.retryAfter) : undefined,
    reason: "reason" in error ? error.reason : undefined
  }
}

const refused = () =>
  new TypeError("fetch failed", {
    cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
  })

describe("openai SDK errors", () => {
  it("APIError subclasses categorize by status, with Retry-After from their headers", () => {
    const rateLimited = OpenAI.APIError.generate(
      429,
      { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
      undefined,
      new Headers({ "retry-after": "3" })
    )
    expect(rateLimited).toBeInstanceOf(OpenAI.RateLimitError)
    expect(classified(rateLimited)).toEqual({ tag: "TransientError", status: 429, retryAfter: 3000, reason: undefined })
    const dated = OpenAI.APIError.generate(
      503,
      undefined,
      undefined,
      new Headers({ "retry-after": new Date(NOW + 5000).toUTCString() })
    )
    expect(classified(dated)).toMatchObject({ tag: "TransientError", status: 503, retryAfter: 5000 })
    const millis = OpenAI.APIError.generate(500, undefined, undefined, new Headers({ "retry-after-ms": "250" }))
    expect(classified(millis)).toMatchObject({ tag: "TransientError", retryAfter: 250 })
    expect(classified(OpenAI.APIError.generate(401, undefined, undefined, new Headers()))).toMatchObject({
      tag: "FatalError",
      status: 401,
      reason: "status"
    })
    expect(classified(OpenAI.APIError.generate(400, undefined, undefined, new Headers())).tag).toBe("FatalError")
    expect(classified(OpenAI.APIError.generate(403, undefined, undefined, new Headers())).tag).toBe("FatalError")
  })

  it("a 429 for insufficient_quota is fatal: waiting does not fix it", () => {
    const quota = OpenAI.APIError.generate(
      429,
      { error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" } },
      undefined,
      new Headers()
    )
    expect(classified(quota).tag).toBe("FatalError")
  })

  it("connection, timeout and abort errors", () => {
    expect(classified(new OpenAI.APIConnectionError({ cause: refused() }))).toMatchObject({
      tag: "NetworkError",
      reason: "refused"
    })
    expect(classified(new OpenAI.APIConnectionError({ message: undefined }))).toMatchObject({
      tag: "NetworkError",
      reason: "socket"
    })
    expect(classified(new OpenAI.APIConnectionTimeoutError())).toMatchObject({ tag: "NetworkError", reason: "timeout" })
    expect(classified(new OpenAI.APIUserAbortError())).toMatchObject({ tag: "FatalError", reason: "aborted" })
  })
})

describe("@anthropic-ai/sdk errors", () => {
  it("APIError subclasses categorize by status and error type, with Retry-After", () => {
    const overloaded = Anthropic.APIError.generate(
      529,
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      undefined,
      new Headers({ "retry-after": "7" })
    )
    expect(classified(overloaded)).toEqual({ tag: "TransientError", status: 529, retryAfter: 7000, reason: undefined })
    const rateLimited = Anthropic.APIError.generate(
      429,
      { type: "error", error: { type: "rate_limit_error", message: "slow down" } },
      undefined,
      new Headers({ "retry-after": "1" })
    )
    expect(rateLimited).toBeInstanceOf(Anthropic.RateLimitError)
    expect(classified(rateLimited)).toMatchObject({ tag: "TransientError", retryAfter: 1000 })
    const auth = Anthropic.APIError.generate(
      401,
      { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } },
      undefined,
      new Headers()
    )
    expect(classified(auth)).toMatchObject({ tag: "FatalError", status: 401 })
  })

  it("an in-band error event as the SDK throws it (no status) maps by its type", () => {
    const inBand = new Anthropic.APIError(
      undefined,
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      undefined,
      new Headers(),
      "overloaded_error"
    )
    expect(classified(inBand).tag).toBe("TransientError")
    const invalid = new Anthropic.APIError(
      undefined,
      { type: "error", error: { type: "invalid_request_error", message: "bad" } },
      undefined,
      new Headers(),
      "invalid_request_error"
    )
    expect(classified(invalid).tag).toBe("FatalError")
  })

  it("connection, timeout and abort errors", () => {
    expect(classified(new Anthropic.APIConnectionError({ cause: refused() }))).toMatchObject({
      tag: "NetworkError",
      reason: "refused"
    })
    expect(classified(new Anthropic.APIConnectionTimeoutError())).toMatchObject({
      tag: "NetworkError",
      reason: "timeout"
    })
    expect(classified(new Anthropic.APIUserAbortError())).toMatchObject({ tag: "FatalError", reason: "aborted" })
  })
})

describe("SDK errors drive L0's retry", () => {
  it.effect("Retry-After of a thrown RateLimitError sets the delay before the next attempt", () =>
    Effect.gen(function*() {
      const rateLimited = OpenAI.APIError.generate(429, undefined, undefined, new Headers({ "retry-after": "3" }))
      const source = TestSource.make([TestSource.fail(rateLimited)], ["ok"])
      const delays: Array<unknown> = []
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, retry: { baseDelay: "10 millis", backoff: "fixed" } }).pipe(
          Effect.provide(EventBus.layer((event) => {
            if (event.type === "retry_attempt") delays.push(event.data.delayMs)
          }))
        )
      )
      yield* advance("2999 millis")
      expect(source.calls.length).toBe(1)
      yield* advance("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(delays).toEqual([3000])
    }))
})

describe("SDK clients without credentials", () => {
  // explicit nulls: the SDKs would otherwise read keys from the environment
  const openaiWithout = (baseURL: string) =>
    new OpenAI({ baseURL, apiKey: null, adminAPIKey: null, maxRetries: 0, logLevel: "off" })
  const messages = [{ role: "user" as const, content: "Hi" }]

  it.live("fail with FatalError { reason: \"credentials\" } at once, send nothing, and the fallback runs", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start(["from the fallback"])
      const calls: Array<string> = []
      const anthropic = new Anthropic({
        baseURL: server.anthropicBaseUrl,
        apiKey: null,
        authToken: null,
        maxRetries: 0,
        logLevel: "off"
      })
      const adminOnly = new OpenAI({
        baseURL: server.openaiBaseUrl,
        apiKey: null,
        adminAPIKey: "admin",
        maxRetries: 0,
        logLevel: "off"
      })
      const factories: ReadonlyArray<L0.SourceFactory> = [
        // the client built per attempt: its constructor throws
        ({ signal }) => {
          calls.push("openai constructor")
          return openaiWithout(server.openaiBaseUrl).chat.completions.create({ model: "m", messages, stream: true }, {
            signal
          })
        },
        ({ signal }) => {
          calls.push("openai request")
          return adminOnly.chat.completions.create({ model: "m", messages, stream: true }, { signal })
        },
        ({ signal }) => {
          calls.push("anthropic request")
          return anthropic.messages.create({ model: "c", max_tokens: 16, messages, stream: true }, { signal })
        }
      ]
      const fallback = new OpenAI({
        baseURL: server.openaiBaseUrl,
        apiKey: "sk-test-fallback",
        maxRetries: 0,
        logLevel: "off"
      })
      const result = yield* L0.run({
        stream: factories[0]!,
        fallbacks: [
          factories[1]!,
          factories[2]!,
          ({ signal }) => fallback.chat.completions.create({ model: "m", messages, stream: true }, { signal })
        ],
        retry: { baseDelay: "1 millis" }
      }).pipe(Effect.provide(EventBus.layer((event) => {
        if (event.type === "error_fatal") calls.push(`fatal: ${String(event.data.message).split(".")[0]}`)
      })))
      expect(result.text).toBe("from the fallback")
      expect(result.state.fallbackIndex).toBe(3)
      // one call each: no model retries
      expect(calls).toEqual([
        "openai constructor",
        "fatal: Missing credentials",
        "openai request",
        "fatal: Could not resolve authentication method",
        "anthropic request",
        "fatal: Could not resolve authentication method"
      ])
      expect(server.requests.length).toBe(1)
    })))

  it("the errors the SDKs throw are FatalError { reason: \"credentials\" }", async () => {
    const constructed = (() => {
      try {
        return openaiWithout("http://127.0.0.1:1/v1")
      } catch (error) {
        return error
      }
    })()
    expect(constructed).toBeInstanceOf(OpenAI.OpenAIError)
    expect(L0Error.fromUnknown(constructed)).toMatchObject({ _tag: "FatalError", reason: "credentials" })
    const anthropic = new Anthropic({ baseURL: "http://127.0.0.1:1", apiKey: null, authToken: null, maxRetries: 0 })
    const thrown = await anthropic.messages.create({ model: "c", max_tokens: 1, messages }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(L0Error.fromUnknown(thrown)).toMatchObject({ _tag: "FatalError", reason: "credentials" })
  })
})
