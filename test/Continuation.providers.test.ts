import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Adapters, Continuation, L0, L0Error, L0Event } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"
import { API_KEY } from "./clients.js"
import { failureOf, lastErrorOf } from "./support.js"

const retry = { baseDelay: "1 millis", maxDelay: "20 millis", backoff: "fixed" } as const
const timeout = { initialToken: "1 second", interToken: "1 second" } as const

/** Cut after 4 chunks of 4 characters: "def total(xs):\n " ends with whitespace. */
const CODE = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"
/** Cut after 3 chunks: "The quick br". */
const PROSE = "The quick brown fox jumps over the lazy dog."

const messages = [{ role: "user" as const, content: "Go" }]

/** Like a model told to continue that restates its last two words first. */
const restateTwoWords = (partial: string): number =>
  partial.length - (partial.lastIndexOf(" ", partial.lastIndexOf(" ") - 1) + 1)

interface Way {
  readonly name: string
  readonly source: (server: ProviderServer.ProviderServer) => L0.SourceFactory
}

const anthropicWays: ReadonlyArray<Way> = [
  {
    name: "Anthropic SDK",
    source: (server) => {
      const client = new Anthropic({
        baseURL: server.anthropicBaseUrl,
        apiKey: API_KEY,
        maxRetries: 0,
        logLevel: "off"
      })
      const request = { model: "claude-test", max_tokens: 256, messages, stream: true as const }
      return ({ checkpoint, signal }) => client.messages.create(Continuation.anthropic(request, checkpoint), { signal })
    }
  },
  {
    name: "Adapters.anthropicHttp",
    source: (server) => {
      const body = { model: "claude-test", max_tokens: 256, messages }
      return Adapters.anthropicHttp({
        baseUrl: server.anthropicBaseUrl,
        apiKey: API_KEY,
        body: (ctx) => Continuation.anthropic(body, ctx.checkpoint)
      })
    }
  }
]

const openaiWays: ReadonlyArray<Way> = [
  {
    name: "openai SDK chat.completions",
    source: (server) => {
      const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
      const request = { model: "gpt-test", messages, stream: true as const }
      return ({ checkpoint, signal }) =>
        client.chat.completions.create(Continuation.openaiChat(request, checkpoint), { signal })
    }
  },
  {
    name: "Adapters.openaiHttp",
    source: (server) => {
      const body = { model: "gpt-test", messages }
      return Adapters.openaiHttp({
        baseUrl: server.openaiBaseUrl,
        apiKey: API_KEY,
        body: (ctx) => Continuation.openaiChat(body, ctx.checkpoint)
      })
    }
  }
]

const run = (script: ProviderServer.Script, way: Way, continuation: L0.L0Options["continuation"]) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* ProviderServer.start(script)
    const events = yield* Stream.runCollect(L0.stream({ stream: way.source(server), continuation, retry, timeout }))
    return { server, events, shown: events.reduce(L0Event.applyTo, "") }
  }))

const resetsOf = (events: ReadonlyArray<L0Event.L0Event>) =>
  events.filter((e): e is L0Event.Reset => e._tag === "Reset").map((e) => e.kept)

describe("Continuation.anthropic against the provider server", () => {
  for (const way of anthropicWays) {
    it.live(`${way.name}: the retry prefills the answer so far and the code comes out whole`, () =>
      Effect.gen(function*() {
        const script = ProviderServer.continuing(CODE, { replies: [{ fault: ProviderServer.resetAfter(4) }, {}] })
        const { events, server, shown } = yield* run(script, way, Continuation.anthropicOptions)
        expect(shown).toBe(CODE)
        expect(server.requests).toHaveLength(2)
        // the prefill is the checkpoint "def total(xs):\n " without its trailing whitespace
        expect(server.requests[1]!.body).toMatchObject({
          messages: [...messages, { role: "assistant", content: "def total(xs):" }]
        })
        // the model wrote "\n    s = 0…": it starts with the checkpoint's "\n ", so nothing is taken back
        expect(resetsOf(events)).toEqual([16])
        const complete = events.at(-1) as L0Event.Complete
        expect(complete.state.content).toBe(CODE)
        expect(complete.state.checkpoint).toBe(CODE.slice(0, 16))
      }))
  }

  it.live("a prefill that ends with whitespace is refused, as by the real API", () =>
    Effect.gen(function*() {
      const untrimmed: Way = {
        name: "untrimmed",
        source: (server) => {
          const client = new Anthropic({
            baseURL: server.anthropicBaseUrl,
            apiKey: API_KEY,
            maxRetries: 0,
            logLevel: "off"
          })
          return ({ checkpoint, signal }) =>
            client.messages.create({
              model: "claude-test",
              max_tokens: 256,
              stream: true,
              messages: checkpoint === "" ? messages : [...messages, { role: "assistant", content: checkpoint }]
            }, { signal })
        }
      }
      const script = ProviderServer.continuing(CODE, { replies: [{ fault: ProviderServer.resetAfter(4) }, {}] })
      const exit = yield* Effect.exit(run(script, untrimmed, true))
      const error = lastErrorOf(failureOf(exit))
      expect(error).toBeInstanceOf(L0Error.FatalError)
      expect(error.status).toBe(400)
      expect(error.message).toContain("final assistant content cannot end with trailing whitespace")
    }))
})

describe("Continuation.openaiChat against the provider server", () => {
  const script = ProviderServer.continuing(PROSE, {
    replies: [{ fault: ProviderServer.resetAfter(3) }, {}],
    repeat: restateTwoWords
  })

  for (const way of openaiWays) {
    it.live(`${way.name}: the retry asks to continue; the restated words are removed`, () =>
      Effect.gen(function*() {
        const { events, server, shown } = yield* run(script, way, Continuation.openaiChatOptions)
        expect(shown).toBe(PROSE)
        expect(server.requests[1]!.body).toMatchObject({
          messages: [
            ...messages,
            { role: "assistant", content: "The quick br" },
            { role: "user", content: Continuation.defaultInstruction }
          ]
        })
        expect(resetsOf(events)).toEqual([12])
        // "quick br" was held back and dropped: the retry's first token is what follows it
        const after = events.slice(events.findIndex((e) => e._tag === "Reset") + 1).filter(L0Event.isToken)
        expect(after.map((e) => e.value).join("")).toBe(PROSE.slice(12))
      }))
  }

  it.live("without deduplication the restated words stay: exact continuation keeps what the model sent", () =>
    Effect.gen(function*() {
      const { shown } = yield* run(script, openaiWays[0]!, true)
      expect(shown).toBe(`The quick brquick brown fox jumps over the lazy dog.`)
    }))
})

describe("ProviderServer.continuing", () => {
  const textOf = (body: Record<string, unknown>, script: ProviderServer.Script, path?: string) =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start(script)
      return yield* L0.text({
        stream: Adapters.openaiHttp({
          baseUrl: server.openaiBaseUrl,
          apiKey: API_KEY,
          body,
          ...(path ? { path } : {})
        }),
        retry: { maxAttempts: 1, maxRetries: 0 },
        timeout
      })
    }))

  it.live("answers with the rest of the text after the last assistant message, restating `repeat` characters", () =>
    Effect.gen(function*() {
      const partial = { model: "m", messages: [...messages, { role: "assistant", content: "The quick " }] }
      expect(yield* textOf(partial, ProviderServer.continuing(PROSE))).toBe(PROSE.slice(10))
      expect(yield* textOf(partial, ProviderServer.continuing(PROSE, { repeat: 4 }))).toBe(PROSE.slice(6))
      expect(yield* textOf(partial, ProviderServer.continuing(PROSE, { repeat: 100 }))).toBe(PROSE)
      expect(yield* textOf({ model: "m", messages }, ProviderServer.continuing(PROSE))).toBe(PROSE)
      // Responses input items with content blocks
      const input = [{ role: "user", content: "Go" }, {
        role: "assistant",
        content: [{ type: "output_text", text: "The " }]
      }]
      expect(yield* textOf({ model: "m", input }, ProviderServer.continuing(PROSE), "/responses")).toBe(PROSE.slice(4))
    }))

  it.live("a partial answer that is not the start of the text gets a 400 saying so", () =>
    Effect.gen(function*() {
      const wrong = { model: "m", messages: [...messages, { role: "assistant", content: "The slow " }] }
      const error = lastErrorOf(failureOf(yield* Effect.exit(textOf(wrong, ProviderServer.continuing(PROSE)))))
      expect(error.status).toBe(400)
      expect(error.message).toContain(
        "the partial answer is not the start of the scripted text; it ends with \"The slow \""
      )
    }))

  it.live("an Anthropic prefill with trailing whitespace is refused before the script is asked", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start(["first answer", "second answer"])
      const post = (content: unknown) =>
        Effect.promise(() =>
          fetch(`${server.anthropicBaseUrl}/v1/messages`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              model: "m",
              max_tokens: 8,
              stream: true,
              messages: [...messages, { role: "assistant", content }]
            })
          }).then(async (response) => ({ status: response.status, body: await response.text() }))
        )
      const refused = yield* post("Hello ")
      expect(refused.status).toBe(400)
      expect(JSON.parse(refused.body)).toEqual({
        type: "error",
        error: {
          type: "invalid_request_error",
          message: "messages: final assistant content cannot end with trailing whitespace"
        }
      })
      expect((yield* post([{ type: "text", text: "Hello\n" }])).status).toBe(400)
      const accepted = yield* post("Hello")
      expect(accepted.status).toBe(200)
      expect(accepted.body).toContain("first answer".slice(0, 4))
    })))
})
