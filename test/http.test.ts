import * as Net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { Adapters, L0 } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import { API_KEY } from "./clients.js"
import { ampleTimeout } from "./support.js"

const context = (signal: AbortSignal = new AbortController().signal): L0.AttemptContext => ({
  attempt: 1,
  fallbackIndex: 0,
  checkpoint: "",
  signal
})

const chat = (server: ProviderServer.Addresses, extra: Partial<Adapters.HttpOptions> = {}) =>
  Adapters.openaiHttp({ baseUrl: server.openaiBaseUrl, apiKey: API_KEY, body: { model: "m", messages: [] }, ...extra })

/** Runs one attempt of `source` outside L0 and returns its error. */
const errorOf = (source: Adapters.HttpSource, signal?: AbortSignal) =>
  Effect.flip(Stream.runCollect(source(context(signal))))

const chatChunk = (content: string, finish: string | null = null) =>
  `data: ${
    JSON.stringify({
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta: { content }, finish_reason: finish }]
    })
  }\n\n`

/** A port nothing listens on. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = Net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

const withServer = <A, E>(
  script: ProviderServer.Script,
  f: (server: ProviderServer.ProviderServer) => Effect.Effect<A, E>
) => Effect.scoped(Effect.flatMap(ProviderServer.start(script), f))

describe("Adapters.openaiHttp / anthropicHttp", () => {
  it.effect("invalid options fail with a FatalError naming the option, before any request", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ body: {} }, "apiKey"],
        [{ apiKey: "", body: {} }, "apiKey"],
        [{ apiKey: "k", baseUrl: 42, body: {} }, "baseUrl"],
        [{ apiKey: "k", baseUrl: "not a url", body: {} }, "baseUrl"],
        [{ apiKey: "k", path: 1, body: {} }, "path"],
        [{ apiKey: "k", body: "hello" }, "body"],
        [{ apiKey: "k", body: {}, headers: { a: 1 } }, "headers.a"],
        [{ apiKey: "k", body: { big: 1n } }, "body"],
        [{
          apiKey: "k",
          body: () => {
            throw "no body today"
          }
        }, "body"]
      ]
      const whole = yield* errorOf(Adapters.openaiHttp(undefined as unknown as Adapters.HttpOptions))
      expect(whole.message).toBe(`Invalid option "Adapters.openaiHttp": expected an options object, got undefined`)
      for (const [options, option] of cases) {
        const error = yield* errorOf(Adapters.openaiHttp(options as Adapters.HttpOptions))
        expect(error._tag === "FatalError" && error.reason).toBe("options")
        expect(error.message).toContain(`Invalid option "Adapters.openaiHttp.${option}": expected `)
        const run = yield* Effect.flip(L0.text({ stream: Adapters.anthropicHttp(options as Adapters.HttpOptions) }))
        expect(run._tag).toBe("FatalError")
      }
    }))

  it.live("sends the body with stream: true, the key as a header, and the attempt's context to a body function", () =>
    withServer(["Hi", "Hi"], (server) =>
      Effect.gen(function*() {
        const text = yield* L0.text({
          timeout: ampleTimeout,
          stream: Adapters.openaiHttp({
            baseUrl: `${server.openaiBaseUrl}/`,
            apiKey: Redacted.make(API_KEY),
            headers: { "x-team": "l0" },
            body: (ctx) => ({ model: "m", messages: [], metadata: { attempt: ctx.attempt } })
          })
        })
        expect(text).toBe("Hi")
        const openai = server.requests[0]!
        expect(openai.path).toBe("/v1/chat/completions")
        expect(openai.body).toEqual({ model: "m", messages: [], metadata: { attempt: 1 }, stream: true })
        expect(openai.headers.authorization).toBe("Bearer <redacted>")
        expect(openai.headers["x-team"]).toBe("l0")
        expect(openai.headers.accept).toBe("text/event-stream")
        yield* L0.text({
          timeout: ampleTimeout,
          stream: Adapters.anthropicHttp({ baseUrl: server.anthropicBaseUrl, apiKey: API_KEY, body: { model: "c" } })
        })
        const anthropic = server.requests[1]!
        expect(anthropic.path).toBe("/v1/messages")
        expect(anthropic.headers["x-api-key"]).toBe("<redacted>")
        expect(anthropic.headers["anthropic-version"]).toBe("2023-06-01")
      })))

  it.live("Retry-After as an HTTP date, status and provider message are kept", () =>
    // the date is made when the request arrives, a minute ahead, so that a slow machine cannot eat the margin
    withServer((_, index) =>
      index === 0
        ? ProviderServer.httpError(429, { retryAfter: new Date(Date.now() + 60_000).toUTCString() })
        : ProviderServer.httpError(400, {
          error: { type: "invalid_request_error", message: "max_tokens is too large" }
        }), (server) =>
      Effect.gen(function*() {
        const limited = yield* errorOf(chat(server))
        if (limited._tag !== "TransientError") {
          return expect.unreachable(limited._tag)
        }
        expect(limited.status).toBe(429)
        // HTTP dates have whole seconds
        const wait = Duration.toMillis(limited.retryAfter!)
        expect(wait).toBeGreaterThan(30_000)
        expect(wait).toBeLessThanOrEqual(60_000)
        const invalid = yield* errorOf(chat(server))
        expect(invalid._tag).toBe("FatalError")
        expect(invalid.message).toBe("invalid_request_error: OpenAI responded 400: max_tokens is too large")
      })))

  it.live("an error page that is not JSON still maps by status", () =>
    withServer(
      [ProviderServer.httpError(502, { body: "<html>Bad gateway</html>" })],
      (server) =>
        Effect.gen(function*() {
          const error = yield* errorOf(chat(server))
          expect(error._tag).toBe("TransientError")
          expect(error.message).toBe("OpenAI responded 502")
        })
    ))

  it.live("connection refused is a NetworkError without the key", () =>
    Effect.gen(function*() {
      const error = yield* errorOf(
        Adapters.anthropicHttp({ baseUrl: `http://127.0.0.1:${yield* closedPort}`, apiKey: API_KEY, body: {} })
      )
      expect(error._tag === "NetworkError" && error.reason).toBe("refused")
      expect(error.message).toMatch(/^The Anthropic request failed/)
      expect(JSON.stringify(error) + String(error)).not.toContain(API_KEY)
    }))

  it.live("aborting ctx.signal fails the stream with an aborted FatalError and closes the connection", () =>
    withServer(
      [ProviderServer.reply("x".repeat(20), { chunkSize: 1, fault: ProviderServer.stallAfter(2) })],
      (server) =>
        Effect.gen(function*() {
          const controller = new AbortController()
          const error = yield* Effect.flip(
            Stream.runForEach(chat(server)(context(controller.signal)), () => Effect.sync(() => controller.abort()))
          )
          expect(error._tag === "FatalError" && error.reason).toBe("aborted")
          expect(yield* server.awaitEnd(0)).toBe("disconnected")
          const already = yield* errorOf(chat(server), controller.signal)
          expect(already._tag === "FatalError" && already.reason).toBe("aborted")
        })
    ))

  it.live("invalid JSON in a data line is a ModelError that shows where, after the events before it", () =>
    withServer([
      ProviderServer.replay(`${chatChunk("kept")}event: delta\ndata: {"choices": [oops\n\n${chatChunk("", "stop")}`)
    ], (server) =>
      Effect.gen(function*() {
        const events: Array<unknown> = []
        const error = yield* Effect.flip(
          Stream.runForEach(chat(server)(context()), (event) => Effect.sync(() => void events.push(event)))
        )
        expect(events.length).toBe(1)
        expect(error._tag).toBe("ModelError")
        expect(error.message).toBe(
          `OpenAI sent malformed SSE: the data of event "delta" is not JSON: "{\\"choices\\": [oops"`
        )
      })))

  it.live("the end of the body: a last event without its blank line is kept, a cut-off one is a NetworkError", () =>
    withServer([
      ProviderServer.replay(`${chatChunk("whole")}${chatChunk("", "stop").trimEnd()}\n`),
      ProviderServer.replay(`${chatChunk("part")}data: {"choices": [{"index"`)
    ], (server) =>
      Effect.gen(function*() {
        expect(yield* L0.text({ stream: chat(server), timeout: ampleTimeout })).toBe("whole")
        const error = yield* errorOf(chat(server))
        expect(error._tag === "NetworkError" && error.reason).toBe("eof")
      })))

  it.live("[DONE] ends the events; retry lines and comments are ignored", () =>
    withServer([
      ProviderServer.replay(`retry: 1000\n: keep-alive\n\n${chatChunk("ok", "stop")}data: [DONE]\n\ndata: not json\n\n`)
    ], (server) =>
      Effect.gen(function*() {
        expect(yield* L0.text({ stream: chat(server), timeout: ampleTimeout })).toBe("ok")
      })))

  it.live("an event larger than the SSE limit is a ModelError", () =>
    withServer(
      [ProviderServer.replay(`data: "${"x".repeat(10 * 1024 * 1024 + 1)}`)],
      (server) =>
        Effect.gen(function*() {
          const error = yield* errorOf(chat(server))
          expect(error._tag).toBe("ModelError")
          expect(error.message).toContain("maximum size")
        })
    ))
})
