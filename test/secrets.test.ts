import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import { Adapters, EventBus, L0, L0Error } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import { inspect } from "node:util"
import OpenAI from "openai"

/** Three shapes of key: only the first looks like a key to a pattern. */
const KEYS: ReadonlyArray<readonly [string, string]> = [
  ["an sk- key", "sk-proj-Q7x9LmN2vR4tK8wY3bC6dF1h"],
  ["an Azure-style 32-hex key", "3f9c2a7be41d4c0f8a6b5e2d9c1f0a7b"],
  ["an opaque gateway token", "Zx8Qp2LmN4vR7tK9wY3bC6dF"]
]

const retry = { maxRetries: 0, baseDelay: "1 millis" } as const
const messages = [{ role: "user" as const, content: "Hello" }]

interface Client {
  readonly name: string
  /** SDK clients need the key in `redact`; the raw factories know their own. */
  readonly sdk: boolean
  readonly source: (server: ProviderServer.Addresses, key: string) => L0.SourceFactory
}

const clients: ReadonlyArray<Client> = [
  {
    name: "Adapters.openaiHttp chat",
    sdk: false,
    source: (server, key) =>
      Adapters.openaiHttp({ baseUrl: server.openaiBaseUrl, apiKey: key, body: { model: "m", messages } })
  },
  {
    name: "Adapters.openaiHttp responses",
    sdk: false,
    source: (server, key) =>
      Adapters.openaiHttp({
        baseUrl: server.openaiBaseUrl,
        path: "/responses",
        apiKey: Redacted.make(key),
        body: { model: "m", input: "Hi" }
      })
  },
  {
    name: "Adapters.anthropicHttp",
    sdk: false,
    source: (server, key) =>
      Adapters.anthropicHttp({
        baseUrl: server.anthropicBaseUrl,
        apiKey: key,
        body: { model: "c", max_tokens: 16, messages }
      })
  },
  {
    name: "openai SDK chat.completions",
    sdk: true,
    source: (server, key) => {
      const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: key, maxRetries: 0, logLevel: "off" })
      return ({ signal }) => client.chat.completions.create({ model: "m", messages, stream: true }, { signal })
    }
  },
  {
    name: "openai SDK responses",
    sdk: true,
    source: (server, key) => {
      const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: key, maxRetries: 0, logLevel: "off" })
      return ({ signal }) => client.responses.create({ model: "m", input: "Hi", stream: true }, { signal })
    }
  },
  {
    name: "Anthropic SDK messages",
    sdk: true,
    source: (server, key) => {
      const client = new Anthropic({ baseURL: server.anthropicBaseUrl, apiKey: key, maxRetries: 0, logLevel: "off" })
      return ({ signal }) => client.messages.create({ model: "c", max_tokens: 16, messages, stream: true }, { signal })
    }
  }
]

/**
 * The first source gets a 401 that echoes the key in its body and in a
 * header; the fallback gets an in-band error event whose message holds it.
 */
const echoing = (key: string): ProviderServer.Script => (_, index) =>
  index === 0
    ? ProviderServer.httpError(401, { echoCredential: true, error: { message: "Incorrect API key provided" } })
    : ProviderServer.reply("Hello there", {
      fault: ProviderServer.errorAfter(1, { type: "invalid_request_error", message: `key ${key} is not allowed here` })
    })

const deep = { depth: Infinity, showHidden: true } as const

/** Every printed form of the run's error, its attempts and their causes. */
const printed = (exit: Exit.Exit<unknown, L0Error.L0Error>): Array<string> => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = Cause.squash(exit.cause) as L0Error.L0Error
  const attempts = error._tag === "ExhaustedError" ? error.attempts.map((a) => a.error) : [error]
  return [
    error.message,
    String(error),
    Cause.pretty(exit.cause),
    JSON.stringify(error),
    inspect(error, deep),
    ...attempts.flatMap((e) => [e.message, String(e), JSON.stringify(e), inspect(e, deep), inspect(e.cause, deep)])
  ]
}

const expectClean = (forms: ReadonlyArray<string>, key: string) => {
  for (const form of forms) {
    expect(form).not.toContain(key)
    // a partly removed key leaks too
    expect(form).not.toContain(key.slice(-12))
  }
}

const run = (client: Client, key: string, extra: Partial<L0.L0Options> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* ProviderServer.start(echoing(key))
    const previous: Array<unknown> = []
    const fallback = client.source(server, key)
    const options: L0.L0Options = {
      stream: client.source(server, key),
      fallbacks: [(ctx) => {
        previous.push(ctx.previousError)
        return fallback(ctx)
      }],
      retry,
      ...(client.sdk ? { redact: [key] } : {}),
      ...extra
    }
    const collected = yield* Effect.gen(function*() {
      const exit = yield* Effect.exit(L0.text(options))
      const events = yield* (yield* EventBus.Collected).events
      return { exit, events }
    }).pipe(Effect.provide(EventBus.layerCollect))
    const lines: Array<string> = []
    const capture = Logger.make((entry) => {
      lines.push(Logger.formatLogFmt.log(entry), inspect(entry.message, deep))
    })
    const logged = yield* Effect.exit(L0.text(options)).pipe(
      Effect.provide(EventBus.layerLogger.pipe(Layer.provide(Logger.layer([capture]))))
    )
    expect(server.requests.length).toBe(4)
    return { collected, logged, lines, previous }
  }))

describe("secrets echoed by the server never leave", () => {
  for (const [shape, key] of KEYS) {
    for (const client of clients) {
      it.live(`${client.name}, ${shape}: not in messages, causes, printed forms, events or logs`, () =>
        Effect.gen(function*() {
          const { collected, lines, logged, previous } = yield* run(client, key)
          const error = Cause.squash(
            (collected.exit as Exit.Failure<unknown, L0Error.L0Error>).cause
          ) as L0Error.L0Error
          // the attack happened: both sources failed, the first with the 401
          expect(error._tag).toBe("ExhaustedError")
          expect(error._tag === "ExhaustedError" && error.attempts.map((a) => a.error.status)).toContain(401)
          expectClean(printed(collected.exit), key)
          expectClean(printed(logged), key)
          expectClean([JSON.stringify(collected.events), inspect(collected.events, deep)], key)
          expect(lines.some((line) => line.includes("error_fatal"))).toBe(true)
          expectClean(lines, key)
          expectClean(previous.map((e) => inspect(e, deep)), key)
        }))
    }
  }

  it.live("control: without redact, an SDK error carries the echoed hex key, so the scan above can see a leak", () =>
    Effect.gen(function*() {
      const key = KEYS[1]![1]
      const client = clients.find((c) => c.name === "openai SDK chat.completions")!
      const { collected } = yield* run({ ...client, sdk: false }, key)
      expect(printed(collected.exit).join("\n")).toContain(key)
    }))

  it.live("an SDK error keeps its class once scrubbed", () =>
    Effect.gen(function*() {
      const key = KEYS[2]![1]
      const client = clients.find((c) => c.name === "openai SDK chat.completions")!
      const { collected } = yield* run(client, key)
      const error = Cause.squash(
        (collected.exit as Exit.Failure<unknown, L0Error.L0Error>).cause
      ) as L0Error.ExhaustedError
      const cause = error.attempts[0]!.error.cause
      expect(cause).toBeInstanceOf(OpenAI.AuthenticationError)
      const apiError = cause as InstanceType<typeof OpenAI.APIError>
      expect(apiError.status).toBe(401)
      expect(apiError.headers?.get("x-echoed-credential")).toBe("<redacted>")
    }))
})

describe("the redact option", () => {
  it.effect("accepts strings and Redacted values; anything else is an invalid option that never shows the secret", () =>
    Effect.gen(function*() {
      const key = KEYS[2]![1]
      const stream = () =>
        (async function*() {
          yield "ok"
        })()
      expect(yield* L0.text({ stream, redact: [key, Redacted.make(key)] })).toBe("ok")
      for (const redact of [key, [key, ""], [key, 42], [key, [key]], [key, null], { key }]) {
        const error = yield* Effect.flip(L0.text({ stream, redact } as unknown as L0.L0Options))
        expect(error._tag === "FatalError" && error.reason).toBe("options")
        expect(error.message).toMatch(/^Invalid option "redact(\[\d\])?": expected /)
        expect(error.message).not.toContain(key)
      }
    }))

  it.effect("scrubs errors that a source throws directly", () =>
    Effect.gen(function*() {
      const key = KEYS[1]![1]
      const thrown = Object.assign(new Error(`gateway rejected ${key}`), {
        status: 403,
        response: { headers: new Headers({ "x-token": key }), body: { detail: [key] } }
      })
      const error = yield* Effect.flip(L0.text({
        stream: () => Promise.reject(thrown),
        redact: [Redacted.make(key)],
        retry
      }))
      const forms = [String(error), JSON.stringify(error), inspect(error, deep)]
      const last = (error as L0Error.ExhaustedError).lastError!
      forms.push(inspect(last, deep), JSON.stringify(last), inspect(last.cause, deep))
      expectClean(forms, key)
      expect(last.message).toBe("gateway rejected <redacted>")
      // the original is left as it was
      expect(thrown.message).toContain(key)
    }))
})

describe("causes", () => {
  // a cause that holds a cycle cannot be serialised: it is described instead (hostileCallbacks.test.ts)
  it("keys shaped like keys are scrubbed from a copy of the cause: nested, in Maps and Headers", () => {
    const details: Record<string, unknown> = {
      map: new Map([["authorization", "Bearer abcdefghijk123"]]),
      headers: new Headers({ "x-debug": "sk-live-abcdefghijk" }),
      list: ["fine", "sk-live-abcdefghijk"],
      when: new Date(0)
    }
    details.keyless = new Proxy({}, {
      ownKeys: () => {
        throw new Error("no keys")
      }
    })
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    const thrown = Object.assign(new Error("request failed"), { status: 500, details, hostile: proxy })
    Object.defineProperty(thrown, "extra", {
      enumerable: true,
      get: () => {
        throw new Error("getter")
      }
    })
    const error = L0Error.fromUnknown(thrown)
    const cause = error._tag === "ExhaustedError" ? undefined : error.cause as typeof thrown
    expect(cause).toBeInstanceOf(Error)
    expect(cause).not.toBe(thrown)
    expect(inspect(cause, deep)).not.toMatch(/abcdefghijk/)
    expect((cause?.details.map as Map<string, string>).get("authorization")).toBe("Bearer <redacted>")
    expect((cause?.details.headers as Headers).get("x-debug")).toBe("<redacted>")
    // what holds no secret is kept as it is; what cannot be read is left out
    expect(cause?.details.when).toBe(details.when)
    expect(cause?.hostile).toBeUndefined()
    expect(Object.keys(cause?.details.keyless as object)).toEqual([])
    expect(Object.getOwnPropertyDescriptor(cause, "extra")).toBeUndefined()
    expect(cause?.status).toBe(500)
    // the thrown value itself is untouched
    expect((details.list as Array<string>)[1]).toBe("sk-live-abcdefghijk")
  })

  it("a cause with nothing to scrub is kept as it is", () => {
    const thrown = Object.assign(new Error("plain failure"), {
      status: 500,
      headers: new Headers({ "x-request-id": "r1" })
    })
    expect(L0Error.fromUnknown(thrown)).toMatchObject({ cause: thrown })
    expect((L0Error.fromUnknown(thrown) as L0Error.TransientError).cause).toBe(thrown)
  })
})
