import { createAnthropic } from "@ai-sdk/anthropic"
import { createOpenAI } from "@ai-sdk/openai"
import { describe, expect, it } from "@effect/vitest"
import type { LanguageModel, ToolSet } from "ai"
import { generateObject, generateText, Output, streamObject, streamText, tool, wrapLanguageModel } from "ai"
import {
  generateObject as generateObject6,
  generateText as generateText6,
  streamObject as streamObject6,
  streamText as streamText6,
  wrapLanguageModel as wrapLanguageModel6
} from "ai6"
import { createAnthropic as createAnthropic6 } from "ai6-anthropic"
import { createOpenAI as createOpenAI6 } from "ai6-openai"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { pipe } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Tracer from "effect/Tracer"
import { AiSdk, EventBus, Guardrail, Guardrails, L0Async, ProviderHealth } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import { beforeAll } from "vitest"
import { z } from "zod"
import { API_KEY } from "./clients.js"
import { advance, ampleTimeout } from "./support.js"

beforeAll(() => {
  // ai 7 warns that streamObject is deprecated, and about settings of the test models
  ;(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false
})

const TEXT = "The quick brown fox jumps over the lazy dog."
const FOX = "{\"name\":\"Fox\",\"age\":3}"
const Fox = z.object({ name: z.string(), age: z.number() })
const retry = { baseDelay: "1 millis", maxDelay: "20 millis", backoff: "fixed" } as const

/** One AI SDK major: its functions typed as ai 7's (ai 6's results have the fields read here too). */
interface Major {
  readonly name: "ai 7" | "ai 6"
  readonly version: "v3" | "v4"
  readonly streamText: typeof streamText
  readonly generateText: typeof generateText
  readonly streamObject: typeof streamObject
  readonly generateObject: typeof generateObject
  readonly wrap: (model: unknown, options: AiSdk.MiddlewareOptions) => LanguageModel
  readonly openai: (server: ProviderServer.Addresses, api?: "chat" | "responses") => unknown
  readonly anthropic: (server: ProviderServer.Addresses) => unknown
}

const majors: ReadonlyArray<Major> = [
  {
    name: "ai 7",
    version: "v4",
    streamText,
    generateText,
    streamObject,
    generateObject,
    wrap: (model, options) =>
      wrapLanguageModel({
        model: model as never,
        middleware: AiSdk.middleware({ ...options, specificationVersion: "v4" })
      }),
    openai: (server, api = "chat") => createOpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY })[api]("gpt-test"),
    anthropic: (server) => createAnthropic({ baseURL: `${server.anthropicBaseUrl}/v1`, apiKey: API_KEY })("claude-test")
  },
  {
    name: "ai 6",
    version: "v3",
    streamText: streamText6 as unknown as typeof streamText,
    generateText: generateText6 as unknown as typeof generateText,
    streamObject: streamObject6 as unknown as typeof streamObject,
    generateObject: generateObject6 as unknown as typeof generateObject,
    wrap: (model, options) =>
      wrapLanguageModel6({
        model: model as never,
        middleware: AiSdk.middleware({ ...options, specificationVersion: "v3" })
      }) as unknown as LanguageModel,
    openai: (server, api = "chat") =>
      createOpenAI6({ baseURL: server.openaiBaseUrl, apiKey: API_KEY })[api]("gpt-test"),
    anthropic: (server) =>
      createAnthropic6({ baseURL: `${server.anthropicBaseUrl}/v1`, apiKey: API_KEY })("claude-test")
  }
]

interface Streamed {
  readonly types: ReadonlyArray<string>
  readonly text: string
  readonly errors: ReadonlyArray<unknown>
  readonly finishReason: unknown
}

/** Reads a `streamText` result to its end: the part types, the text of its deltas, its `error` parts. */
const read = async (result: { readonly fullStream: AsyncIterable<unknown> }): Promise<Streamed> => {
  const types: Array<string> = []
  const errors: Array<unknown> = []
  let text = ""
  let finishReason: unknown
  for await (const part of result.fullStream as AsyncIterable<Record<string, unknown>>) {
    types.push(String(part.type))
    if (part.type === "text-delta") text += String(part.text)
    if (part.type === "error") errors.push(part.error)
    if (part.type === "finish") finishReason = part.finishReason
  }
  return { types, text, errors, finishReason }
}

const count = (types: ReadonlyArray<string>, type: string): number => types.filter((t) => t === type).length

/** The text of the last assistant message of a request: what a continuation sent. */
const partialOf = (request: ProviderServer.RecordedRequest): string => {
  const messages = (request.body as { readonly messages?: ReadonlyArray<{ role: string; content: unknown }> })
    .messages ?? []
  const last = messages.filter((message) => message.role === "assistant").at(-1)
  return typeof last?.content === "string" ? last.content : ""
}

const withServer = async <A>(
  script: ProviderServer.Script,
  f: (server: ProviderServer.AsyncProviderServer) => Promise<A>
) => {
  const server = await ProviderServer.listen(script)
  try {
    return await f(server)
  } finally {
    await server.close()
  }
}

const midStream = [
  ["a socket reset mid-stream", ProviderServer.resetAfter(3)],
  ["a body cut before its finish marker", ProviderServer.endAfter(3)],
  ["an in-band overloaded error mid-stream",
    ProviderServer.errorAfter(3, { type: "overloaded_error", message: "Overloaded" })],
  ["malformed SSE mid-stream", ProviderServer.malformedAfter(3)]
] as const

const finishPart = {
  type: "finish",
  finishReason: { unified: "stop", raw: "stop" },
  usage: { inputTokens: { total: 1 }, outputTokens: { total: 2 } }
}

/**
 * A model of `version` whose first answer is "The quick " and, once
 * `release` is called, "BAD fox"; every later answer is "A good fox". The
 * gate keeps the first text on its own, so that it is shown before the bad
 * part arrives, whatever the machine's speed.
 */
const gated = (version: "v3" | "v4") => {
  let release = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let calls = 0
  const model = {
    specificationVersion: version,
    provider: "test",
    modelId: "gated",
    supportedUrls: {},
    doGenerate: () => Promise.reject(new Error("not called")),
    doStream: () => {
      const first = calls++ === 0
      return Promise.resolve({
        stream: new ReadableStream({
          start: async (controller) => {
            controller.enqueue({ type: "text-start", id: "t" })
            if (first) {
              controller.enqueue({ type: "text-delta", id: "t", delta: "The quick " })
              await gate
              controller.enqueue({ type: "text-delta", id: "t", delta: "BAD fox" })
            } else {
              controller.enqueue({ type: "text-delta", id: "t", delta: "A good fox" })
            }
            controller.enqueue({ type: "text-end", id: "t" })
            controller.enqueue(finishPart)
            controller.close()
          }
        })
      })
    }
  }
  return { model, release: () => release(), calls: () => calls }
}

describe("AiSdk.middleware", () => {
  it("fits wrapLanguageModel of ai 7 (v4) and of ai 6 (v3)", () => {
    const v4 = wrapLanguageModel({ model: createOpenAI({ apiKey: API_KEY }).chat("m"), middleware: AiSdk.middleware() })
    const v3 = wrapLanguageModel6({
      model: createOpenAI6({ apiKey: API_KEY }).chat("m"),
      middleware: AiSdk.middleware({ specificationVersion: "v3" })
    })
    expect([v4.specificationVersion, v3.specificationVersion]).toEqual(["v4", "v3"])
    expect(AiSdk.middleware().specificationVersion).toBe("v4")
  })

  for (const major of majors) {
    describe(major.name, () => {
      const reliable = (
        server: ProviderServer.Addresses,
        options: AiSdk.MiddlewareOptions = {},
        api?: "chat" | "responses"
      ) => major.wrap(major.openai(server, api), { retry, timeout: ampleTimeout, ...options })

      for (const api of ["chat", "responses"] as const) {
        it(`streamText over openai.${api}: a whole answer streams once, in one text block, with its finish reason and usage`, () =>
          withServer([ProviderServer.reply(TEXT, { usage: { inputTokens: 3, outputTokens: 11 } })], async (server) => {
            const result = major.streamText({ model: reliable(server, {}, api), prompt: "Hello", onError: () => {} })
            const streamed = await read(result)
            expect(streamed.text).toBe(TEXT)
            expect([count(streamed.types, "text-start"), count(streamed.types, "text-end")]).toEqual([1, 1])
            expect(streamed.errors).toEqual([])
            expect(await result.finishReason).toBe("stop")
            expect((await result.usage).outputTokens).toBe(11)
            expect(server.requests.length).toBe(1)
          }))

        it(`generateText over openai.${api}: a whole answer, streamed underneath, with its finish reason and usage`, () =>
          withServer([ProviderServer.reply(TEXT, { usage: { inputTokens: 3, outputTokens: 11 } })], async (server) => {
            const result = await major.generateText({ model: reliable(server, {}, api), prompt: "Hello" })
            expect([result.text, result.finishReason, result.usage.outputTokens]).toEqual([TEXT, "stop", 11])
            expect(server.requests[0]?.body).toMatchObject({ stream: true })
          }))
      }

      for (const [what, fault] of midStream) {
        it(`streamText: ${what} is retried, continuing the text: every character once, in the same block`, () =>
          withServer(ProviderServer.continuing(TEXT, { replies: [{ fault }, {}] }), async (server) => {
            const bus: Array<EventBus.BusEvent> = []
            const model = reliable(server, { layer: EventBus.layer((event) => bus.push(event)) })
            const streamed = await read(major.streamText({ model, prompt: "Hello", onError: () => {} }))
            expect(streamed.text).toBe(TEXT)
            expect(streamed.errors).toEqual([])
            expect([count(streamed.types, "text-start"), count(streamed.types, "text-end")]).toEqual([1, 1])
            expect(server.requests.length).toBe(2)
            expect(partialOf(server.requests[1]!)).toBe(TEXT.slice(0, 12))
            expect(bus.map((event) => event.type)).toEqual(expect.arrayContaining(["retry_attempt", "stream_complete"]))
          }))

        it(`generateText: ${what} is retried to the exact text`, () =>
          withServer(ProviderServer.continuing(TEXT, { replies: [{ fault }, {}] }), async (server) => {
            const result = await major.generateText({ model: reliable(server), prompt: "Hello" })
            expect(result.text).toBe(TEXT)
            expect(server.requests.length).toBe(2)
          }))
      }

      it("a retry that restates the last word is deduplicated: the text is exact", () =>
        withServer(
          ProviderServer.continuing(TEXT, {
            replies: [{ fault: ProviderServer.resetAfter(3) }, {}],
            repeat: (partial) => partial.length - partial.lastIndexOf(" ") - 1
          }),
          async (server) => {
            const streamed = await read(
              major.streamText({ model: reliable(server), prompt: "Hello", onError: () => {} })
            )
            expect(streamed.text).toBe(TEXT)
          }
        ))

      it("a 503 before the first token is retried; the AI SDK's own maxRetries adds no request", () =>
        withServer([ProviderServer.httpError(503), TEXT], async (server) => {
          const result = await major.generateText({ model: reliable(server), prompt: "Hello", maxRetries: 2 })
          expect(result.text).toBe(TEXT)
          expect(server.requests.length).toBe(2)
        }))

      it("a 401 fails the call once with the L0 error, its status and the provider's APICallError as cause", () =>
        withServer([ProviderServer.httpError(401)], async (server) => {
          const errors: Array<unknown> = []
          const streamed = await read(
            major.streamText({
              model: reliable(server),
              prompt: "Hello",
              maxRetries: 2,
              onError: ({ error }) => void errors.push(error)
            })
          )
          expect(streamed.text).toBe("")
          expect(errors[0]).toMatchObject({ _tag: "ExhaustedError", lastError: { _tag: "FatalError", status: 401 } })
          expect((errors[0] as { lastError: { cause: unknown } }).lastError.cause).toMatchObject({ statusCode: 401 })
          expect(server.requests.length).toBe(1)
          await expect(major.generateText({ model: reliable(server), prompt: "Hello", maxRetries: 2 })).rejects
            .toMatchObject({ _tag: "ExhaustedError" })
          expect(server.requests.length).toBe(2)
        }))

      it.effect("a 429's Retry-After is waited out (on the run's clock), then the call answers", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* ProviderServer.start([ProviderServer.httpError(429, { retryAfter: 2 }), TEXT])
          const retrying = yield* Deferred.make<void>()
          const context = yield* Effect.context<never>()
          const model = reliable(server, {
            retry: { backoff: "fixed", baseDelay: "1 millis", maxDelay: "10 seconds" },
            layer: Layer.merge(
              Layer.succeedContext(context),
              EventBus.layer((event) => {
                if (event.type === "retry_attempt") Deferred.doneUnsafe(retrying, Effect.void)
              })
            )
          })
          const fiber = yield* Effect.promise(() => major.generateText({ model, prompt: "Hello" })).pipe(
            Effect.forkChild
          )
          yield* Deferred.await(retrying)
          yield* advance("1999 millis")
          expect(server.requests.length).toBe(1)
          yield* advance("1 millis")
          expect((yield* Fiber.join(fiber)).text).toBe(TEXT)
          expect(server.requests.length).toBe(2)
        })))

      it.effect("a stall mid-stream is timed out by the inter-token limit and continued", () =>
        Effect.scoped(Effect.gen(function*() {
          const server = yield* ProviderServer.start(
            ProviderServer.continuing(TEXT, { replies: [{ fault: ProviderServer.stallAfter(3) }, {}] })
          )
          const stalled = yield* Deferred.make<void>()
          const context = yield* Effect.context<never>()
          let shown = ""
          const model = reliable(server, {
            // no backoff: the clock stands still once the stall is timed out
            retry: { backoff: "fixed", baseDelay: 0 },
            timeout: { initialToken: "1 minute", interToken: "1 second" },
            layer: Layer.merge(
              Layer.succeedContext(context),
              EventBus.layer((event) => {
                if (event.type !== "stream_token") return
                shown += event.data.value
                // stallAfter(3): the third chunk of four characters is the last before the stall
                if (shown.length >= 12) Deferred.doneUnsafe(stalled, Effect.void)
              }, { tokens: true })
            )
          })
          const fiber = yield* Effect.promise(() =>
            read(major.streamText({ model, prompt: "Hello", onError: () => {} }))
          )
            .pipe(Effect.forkChild)
          yield* Deferred.await(stalled)
          yield* advance("1 second")
          const streamed = yield* Fiber.join(fiber)
          expect(streamed.text).toBe(TEXT)
          expect(yield* server.awaitEnd(0)).toBe("disconnected")
          expect(server.requests.length).toBe(2)
        })))

      it("a guardrail violation after text went out fails streamText with a TakeBackError, text shown once; generateText retries", async () => {
        const options: AiSdk.MiddlewareOptions = {
          retry,
          timeout: ampleTimeout,
          guardrails: [pipe(Guardrails.pattern(["BAD"], { defaults: false }), Guardrail.withSeverity("error"))],
          checkInterval: 1
        }
        const streaming = gated(major.version)
        const errors: Array<unknown> = []
        const result = major.streamText({
          model: major.wrap(streaming.model, options),
          prompt: "Hello",
          onError: ({ error }) => void errors.push(error)
        })
        let text = ""
        for await (const part of result.fullStream) {
          if (part.type !== "text-delta") continue
          text += part.text
          // the first attempt's text is on the page: now it turns bad
          if (text === "The quick ") streaming.release()
        }
        expect(text).toBe("The quick ")
        expect(errors).toHaveLength(1)
        expect(errors[0]).toBeInstanceOf(AiSdk.TakeBackError)
        expect(errors[0]).toMatchObject({ shown: 10, kept: 0, cause: { _tag: "ContentError" } })
        expect((errors[0] as Error).message).toContain("would take back 10 of the 10 characters")
        const generating = gated(major.version)
        generating.release()
        const generated = await major.generateText({ model: major.wrap(generating.model, options), prompt: "Hello" })
        expect(generated.text).toBe("A good fox")
        expect(generating.calls()).toBe(2)
      })

      it("continuation: false starts retries over: generateText answers once, streamText fails rather than repeat text", () =>
        withServer(
          (_request, index) =>
            index % 2 === 0 ? ProviderServer.reply(TEXT, { fault: ProviderServer.resetAfter(3) }) : TEXT,
          async (server) => {
            const generated = await major.generateText({
              model: reliable(server, { continuation: false }),
              prompt: "Hello"
            })
            expect(generated.text).toBe(TEXT)
            expect(partialOf(server.requests[1]!)).toBe("")
            const errors: Array<unknown> = []
            const streamed = await read(
              major.streamText({
                model: reliable(server, { continuation: false }),
                prompt: "Hello",
                onError: ({ error }) => void errors.push(error)
              })
            )
            expect(streamed.text).toBe(TEXT.slice(0, 12))
            expect(errors[0]).toMatchObject({
              _tag: "TakeBackError",
              shown: 12,
              kept: 0,
              cause: { _tag: "NetworkError" }
            })
          }
        ))

      it("falls back from an openai model to an anthropic model, streaming and generating", () =>
        withServer(
          (request) => request.protocol === "anthropic" ? TEXT : ProviderServer.httpError(503),
          async (server) => {
            const bus: Array<EventBus.BusEvent> = []
            const model = reliable(server, {
              retry: { ...retry, maxRetries: 1 },
              fallbacks: [major.anthropic(server)],
              layer: EventBus.layer((event) => bus.push(event))
            })
            const streamed = await read(major.streamText({ model, prompt: "Hello", onError: () => {} }))
            expect(streamed.text).toBe(TEXT)
            expect((await major.generateText({ model, prompt: "Hello" })).text).toBe(TEXT)
            expect(server.requests.map((request) => request.protocol)).toEqual([
              "openai-chat",
              "openai-chat",
              "anthropic",
              "openai-chat",
              "openai-chat",
              "anthropic"
            ])
            expect(bus.filter((event) => event.type === "fallback_start")).toHaveLength(2)
          }
        ))

      it("a fallback after text went out continues it on the anthropic model", () => {
        const continuing = ProviderServer.continuing(TEXT) as (
          request: ProviderServer.RecordedRequest,
          index: number
        ) => ProviderServer.Answer
        return withServer(
          (request, index) =>
            request.protocol === "anthropic"
              ? continuing(request, index)
              : ProviderServer.reply(TEXT, {
                fault: ProviderServer.errorAfter(3, { code: "insufficient_quota", type: "insufficient_quota" })
              }),
          async (server) => {
            const model = reliable(server, { fallbacks: [major.anthropic(server)] })
            const streamed = await read(major.streamText({ model, prompt: "Hello", onError: () => {} }))
            expect(streamed.text).toBe(TEXT)
            expect([count(streamed.types, "text-start"), count(streamed.types, "text-end")]).toEqual([1, 1])
            expect(server.requests.map((request) => request.protocol)).toEqual(["openai-chat", "anthropic"])
          }
        )
      })

      it("streamObject and generateObject: a reset mid-object is continued to the whole object", () =>
        withServer(
          ProviderServer.continuing(FOX, { replies: [{ fault: ProviderServer.resetAfter(2) }, {}] }),
          async (server) => {
            const streamed = major.streamObject({
              model: reliable(server),
              schema: Fox,
              prompt: "A fox",
              onError: () => {}
            })
            // the object settles once the stream has been read
            expect((await read(streamed)).errors).toEqual([])
            expect(await streamed.object).toEqual({ name: "Fox", age: 3 })
            const generated = await major.generateObject({ model: reliable(server), schema: Fox, prompt: "A fox" })
            expect(generated.object).toEqual({ name: "Fox", age: 3 })
            expect(server.requests.length).toBe(3)
          }
        ))

      it("tool calls pass through unchanged, once, even when an attempt that streamed one failed", () =>
        withServer([
          ProviderServer.reply("", {
            toolCalls: [{ id: "call_1", name: "weather", arguments: "{\"city\":\"Paris\"}" }],
            fault: ProviderServer.endAfter(100)
          }),
          ProviderServer.reply("", {
            toolCalls: [{ id: "call_2", name: "weather", arguments: "{\"city\":\"Paris\"}" }]
          })
        ], async (server) => {
          const weather = tool({ description: "The weather", inputSchema: z.object({ city: z.string() }) })
          const result = major.streamText({
            model: reliable(server),
            prompt: "Weather?",
            // ai's tool types do not compile under exactOptionalPropertyTypes
            tools: { weather } as unknown as ToolSet,
            onError: () => {}
          })
          const streamed = await read(result)
          expect(count(streamed.types, "tool-call")).toBe(1)
          const calls = await result.toolCalls
          expect(calls.map((call) => [call.toolCallId, call.toolName, call.input])).toEqual([
            ["call_2", "weather", { city: "Paris" }]
          ])
          expect(await result.finishReason).toBe("tool-calls")
          expect(server.requests.length).toBe(2)
        }))

      it("the caller's abortSignal ends the call: no retry, the request closed", () =>
        withServer([ProviderServer.reply(TEXT, { fault: ProviderServer.stallAfter(3) }), TEXT], async (server) => {
          const controller = new AbortController()
          const result = major.streamText({
            model: reliable(server),
            prompt: "Hello",
            abortSignal: controller.signal,
            onError: () => {}
          })
          let text = ""
          for await (const part of result.fullStream) {
            if (part.type === "text-delta") {
              text += part.text
              if (text.length >= 12) controller.abort()
            }
          }
          expect(text).toBe(TEXT.slice(0, 12))
          expect(await server.awaitEnd(0)).toBe("disconnected")
          expect(server.requests.length).toBe(1)
        }))

      it("provider health: an open circuit sends the next call straight to the fallback", () =>
        withServer(
          (request) => request.protocol === "anthropic" ? TEXT : ProviderServer.httpError(503),
          async (server) => {
            const bus: Array<EventBus.BusEvent> = []
            const model = reliable(server, {
              retry: { ...retry, maxRetries: 0 },
              fallbacks: [major.anthropic(server)],
              layer: Layer.merge(
                ProviderHealth.layerMemory({ failures: 1 }),
                EventBus.layer((event) => bus.push(event))
              )
            })
            expect((await major.generateText({ model, prompt: "Hello" })).text).toBe(TEXT)
            expect((await major.generateText({ model, prompt: "Hello" })).text).toBe(TEXT)
            expect(server.requests.map((request) => request.protocol)).toEqual(["openai-chat", "anthropic",
              "anthropic"])
            expect(bus.find((event) => event.type === "circuit_open")?.data).toMatchObject({
              key: "openai.chat:gpt-test"
            })
          }
        ))

      it("a layer that fails to build fails every call with its typed error", () =>
        withServer([TEXT], async (server) => {
          const model = reliable(server, { layer: ProviderHealth.layerMemory({ failures: -1 }) })
          await expect(major.generateText({ model, prompt: "Hello" })).rejects.toMatchObject({
            _tag: "FatalError",
            reason: "options"
          })
          expect(server.requests.length).toBe(0)
        }))
    })
  }

  it("a misspelt option (from JSON) or an invalid one is a FatalError that names it, when the middleware is made", () => {
    for (const json of ["{\"retyr\":{\"maxAttempts\":3}}", "{\"retry\":{\"maxAttempts\":-1}}", "{\"stream\":1}"]) {
      const options = JSON.parse(json) as AiSdk.MiddlewareOptions
      expect(() => AiSdk.middleware(options)).toThrow(
        expect.objectContaining({ _tag: "FatalError", reason: "options" })
      )
    }
    expect(() => AiSdk.middleware(JSON.parse("{\"retyr\":{}}") as AiSdk.MiddlewareOptions)).toThrow(/"retyr"/)
  })

  it("telemetry: a tracer in the layer gets the run's span and one span per attempt", () =>
    withServer([ProviderServer.httpError(503), TEXT], async (server) => {
      const spans: Array<string> = []
      const tracer = Tracer.make({
        span: (options) => {
          spans.push(options.name)
          return Tracer.nativeTracer.span(options)
        }
      })
      const model = majors[0]!.wrap(majors[0]!.openai(server), {
        retry,
        timeout: ampleTimeout,
        layer: Layer.succeed(Tracer.Tracer)(tracer)
      })
      expect((await generateText({ model, prompt: "Hello" })).text).toBe(TEXT)
      expect(spans.filter((name) => name === "effect-l0.stream")).toHaveLength(1)
      expect(spans.filter((name) => name === "l0.attempt")).toHaveLength(2)
    }))

  it("ai 7: generateText with Output.object decodes the object after a reset mid-object", () =>
    withServer(
      ProviderServer.continuing(FOX, { replies: [{ fault: ProviderServer.resetAfter(2) }, {}] }),
      async (server) => {
        const model = majors[0]!.wrap(majors[0]!.openai(server), { retry, timeout: ampleTimeout })
        const result = await generateText({ model, prompt: "A fox", output: Output.object({ schema: Fox }) })
        expect(result.output).toEqual({ name: "Fox", age: 3 })
        expect(server.requests.length).toBe(2)
      }
    ))

  describe("models it cannot call", () => {
    const params = { prompt: [] }
    const doStream = () => Promise.reject(new Error("not called"))

    it("a fallback that is not a language model is a FatalError when the middleware is made", () => {
      const hostile = {
        get specificationVersion(): never {
          throw new Error("getter exploded")
        }
      }
      for (
        const fallback of [{}, null, "gpt-4o", { specificationVersion: "v2", doStream }, hostile, {
          specificationVersion: "v4"
        }]
      ) {
        expect(() => AiSdk.middleware({ fallbacks: [fallback] })).toThrow(
          expect.objectContaining({ _tag: "FatalError", reason: "options" })
        )
      }
    })

    it("a wrapped model of no supported version rejects the call with a FatalError", async () => {
      const middleware = AiSdk.middleware()
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      for (const model of [{ specificationVersion: "v2", doStream }, proxy]) {
        await expect(middleware.wrapStream({ doStream, params, model })).rejects.toMatchObject({
          _tag: "FatalError",
          reason: "options"
        })
      }
    })

    it("models of two versions in one call are a FatalError: their prompts differ", async () => {
      const fallback = createOpenAI6({ apiKey: API_KEY }).chat("m")
      const middleware = AiSdk.middleware({ fallbacks: [fallback] })
      await expect(
        middleware.wrapStream({ doStream, params, model: createOpenAI({ apiKey: API_KEY }).chat("m") })
      ).rejects.toMatchObject({ _tag: "FatalError", message: expect.stringContaining("one AI SDK major") })
    })
  })

  describe("parts it does not know", () => {
    /** A LanguageModelV4 that streams `parts`, its stream not async-iterable (as in older browsers). */
    const scripted = (parts: ReadonlyArray<Record<string, unknown>>) => ({
      specificationVersion: "v4",
      provider: "test",
      modelId: "scripted",
      supportedUrls: {},
      doGenerate: () => Promise.reject(new Error("not called")),
      doStream: () => {
        const stream = new ReadableStream({
          start: (controller) => {
            for (const part of parts) controller.enqueue(part)
            controller.close()
          }
        })
        Object.defineProperty(stream, Symbol.asyncIterator, { value: undefined })
        return Promise.resolve({ stream })
      }
    })
    const finish = {
      type: "finish",
      finishReason: { unified: "stop", raw: "stop" },
      usage: { inputTokens: { total: 1 }, outputTokens: { total: 2 } }
    }

    it("a part of an unknown type is passed on unchanged, in its place", async () => {
      const future = { type: "x-future-part", payload: { deep: [1, 2] } }
      const model = wrapLanguageModel({
        model: scripted([
          { type: "stream-start", warnings: [] },
          { type: "text-start", id: "t" },
          { type: "text-delta", id: "t", delta: "Hi" },
          future,
          { type: "text-end", id: "t" },
          finish
        ]) as never,
        middleware: AiSdk.middleware({ retry, timeout: ampleTimeout })
      })
      const reader = (await model.doStream({ prompt: [] })).stream.getReader()
      const parts: Array<unknown> = []
      for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(next.value)
      expect(parts).toEqual([
        { type: "stream-start", warnings: [] },
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "Hi" },
        future,
        { type: "text-end", id: "t" },
        finish
      ])
    })

    it("a finish part without a unified reason is a cut stream: retried, never a success", async () => {
      const attempts = { count: 0 }
      const cut = scripted([{ type: "text-delta", id: "t", delta: "Hi" }, { type: "finish", usage: {} }])
      const model = wrapLanguageModel({
        model: {
          ...cut,
          doStream: () => {
            attempts.count++
            return cut.doStream()
          }
        } as never,
        middleware: AiSdk.middleware({ retry: { ...retry, maxRetries: 1 }, timeout: ampleTimeout })
      })
      await expect(generateText({ model, prompt: "Hello" })).rejects.toMatchObject({
        _tag: "ExhaustedError",
        lastError: { _tag: "NetworkError", reason: "eof" }
      })
      expect(attempts.count).toBe(2)
    })
  })

  describe("a model that fails, lies or hangs", () => {
    /** A LanguageModelV4 whose n-th doStream does what `answers[n]` says (the last one repeats). */
    const model = (answers: ReadonlyArray<() => unknown>) => {
      let calls = 0
      return {
        calls: () => calls,
        model: {
          specificationVersion: "v4",
          provider: "test",
          modelId: "faulty",
          supportedUrls: {},
          doGenerate: () => Promise.reject(new Error("not called")),
          doStream: () => answers[Math.min(calls++, answers.length - 1)]!()
        }
      }
    }
    const streamOf = (parts: ReadonlyArray<unknown>) => ({
      stream: new ReadableStream({
        start: (controller) => {
          for (const part of parts) controller.enqueue(part)
          controller.close()
        }
      })
    })
    const good = () =>
      Promise.resolve(streamOf([
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "Fine" },
        { type: "text-end", id: "t" },
        finishPart
      ]))
    const generate = (faulty: { readonly model: object }, options: AiSdk.MiddlewareOptions = {}) =>
      generateText({
        model: wrapLanguageModel({
          model: faulty.model as never,
          middleware: AiSdk.middleware({ retry, timeout: ampleTimeout, ...options })
        }),
        prompt: "Hello"
      })

    it("a doStream that throws at once, rejects with a revoked Proxy or resolves a throwing getter is categorized and retried", async () => {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      const faulty = model([
        () => {
          throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
        },
        () => Promise.reject(proxy),
        () =>
          Promise.resolve({
            get stream(): never {
              throw new Error("stream getter exploded")
            }
          }),
        good
      ])
      expect((await generate(faulty)).text).toBe("Fine")
      expect(faulty.calls()).toBe(4)
    })

    it("a doStream that resolves without a readable stream is a FatalError, not retried", async () => {
      for (const resolved of [{ stream: 42 }, null, "a stream"]) {
        const faulty = model([() => Promise.resolve(resolved), good])
        await expect(generate(faulty)).rejects.toMatchObject({ _tag: "FatalError", reason: "options" })
        expect(faulty.calls()).toBe(1)
      }
    })

    it("a part whose type getter throws, or an error part carrying a revoked Proxy, fails the attempt, which is retried", async () => {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      const hostile = {
        get type(): never {
          throw new Error("getter exploded")
        }
      }
      const faulty = model([
        () => Promise.resolve(streamOf([hostile])),
        () => Promise.resolve(streamOf([{ type: "error", error: proxy }])),
        good
      ])
      const bus: Array<EventBus.BusEvent> = []
      expect((await generate(faulty, { layer: EventBus.layer((event) => bus.push(event)) })).text).toBe("Fine")
      expect(bus.filter((event) => event.type.startsWith("error_")).map((event) => event.type)).toEqual([
        "error_model",
        "error_model"
      ])
    })

    it.effect("a doStream that never resolves is cut by the first-token timeout and retried", () =>
      Effect.gen(function*() {
        const faulty = model([() => new Promise(() => {}), good])
        const context = yield* Effect.context<never>()
        const fiber = yield* Effect.promise(() =>
          generate(faulty, {
            retry: { backoff: "fixed", baseDelay: 0 },
            timeout: { initialToken: "5 seconds", interToken: "5 seconds" },
            layer: Layer.succeedContext(context)
          })
        ).pipe(Effect.forkChild)
        yield* advance("5 seconds")
        expect((yield* Fiber.join(fiber)).text).toBe("Fine")
        expect(faulty.calls()).toBe(2)
      }))

    it("callbacks that throw (L0Async, EventBus) never break the call", async () => {
      const faulty = model([() => Promise.reject(new Error("503 Service Unavailable")), good])
      const text = (await generate(faulty, {
        layer: L0Async.layer({
          onRetry: () => {
            throw new Error("onRetry exploded")
          },
          onComplete: () => {
            throw new Error("onComplete exploded")
          }
        })
      })).text
      expect(text).toBe("Fine")
    })

    it("the AI SDK's own callbacks that throw (onChunk, onFinish) are contained by the AI SDK: the call answers", () =>
      withServer([TEXT], async (server) => {
        const model = wrapLanguageModel({
          model: createOpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY }).chat("gpt-test"),
          middleware: AiSdk.middleware({ retry, timeout: ampleTimeout })
        })
        const streamed = await read(streamText({
          model,
          prompt: "Hello",
          onChunk: () => {
            throw new Error("onChunk exploded")
          },
          onFinish: () => {
            throw new Error("onFinish exploded")
          },
          onError: () => {}
        }))
        expect(streamed.text).toBe(TEXT)
        expect(server.requests.length).toBe(1)
      }))
  })

  describe("parts as models send them", () => {
    /** A LanguageModelV4 whose n-th doStream streams `attempts[n]` (the last one repeats). */
    const scriptedModel = (attempts: ReadonlyArray<ReadonlyArray<unknown>>) => {
      let calls = 0
      return {
        calls: () => calls,
        model: wrapLanguageModel({
          model: {
            specificationVersion: "v4",
            provider: "test",
            modelId: "parts",
            supportedUrls: {},
            doGenerate: () => Promise.reject(new Error("not called")),
            doStream: () => {
              const parts = attempts[Math.min(calls++, attempts.length - 1)]!
              return Promise.resolve({
                stream: new ReadableStream({
                  start: (controller) => {
                    for (const part of parts) controller.enqueue(part)
                    controller.close()
                  }
                })
              })
            }
          } as never,
          middleware: AiSdk.middleware({ retry: { ...retry, maxAttempts: 3 }, timeout: ampleTimeout })
        })
      }
    }
    const doStreamParts = async (model: LanguageModel) => {
      const reader = (await (model as unknown as { doStream: (p: object) => Promise<{ stream: ReadableStream }> })
        .doStream({ prompt: [] })).stream.getReader()
      const parts: Array<Record<string, unknown>> = []
      for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(next.value)
      return parts
    }

    it("text without text-start or text-end gets a block of its own, opened and closed", async () => {
      const { model } = scriptedModel([[{ type: "text-delta", id: "x", delta: "Hi" }, finishPart]])
      expect(await doStreamParts(model)).toEqual([
        { type: "text-start", id: "effect-l0-text-0" },
        { type: "text-delta", id: "effect-l0-text-0", delta: "Hi" },
        { type: "text-end", id: "effect-l0-text-0" },
        finishPart
      ])
    })

    it("a retry after the failed attempt closed its block goes on in that block", async () => {
      const { calls, model } = scriptedModel([
        [{ type: "text-start", id: "a" }, { type: "text-delta", id: "a", delta: "Hel" }, { type: "text-end", id: "a" }],
        [
          { type: "text-start", id: "b" },
          { type: "text-delta", id: "b", delta: "lo" },
          { type: "text-end", id: "b" },
          finishPart
        ]
      ])
      expect(await doStreamParts(model)).toEqual([
        { type: "text-start", id: "a" },
        { type: "text-delta", id: "a", delta: "Hel" },
        { type: "text-delta", id: "a", delta: "lo" },
        { type: "text-end", id: "a" },
        finishPart
      ])
      expect(calls()).toBe(2)
    })

    it("two text blocks of one answer stay two blocks", async () => {
      const { model } = scriptedModel([[
        { type: "text-start", id: "a" },
        { type: "text-delta", id: "a", delta: "One" },
        { type: "text-end", id: "a" },
        { type: "text-start", id: "b" },
        { type: "text-delta", id: "b", delta: "Two" },
        { type: "text-end", id: "b" },
        finishPart
      ]])
      expect((await doStreamParts(model)).map((part) => `${part.type}:${String(part.id)}`)).toEqual([
        "text-start:a",
        "text-delta:a",
        "text-end:a",
        "text-start:b",
        "text-delta:b",
        "text-end:b",
        "finish:undefined"
      ])
    })

    it("generateText answers with the reasoning, the sources and the warnings of the attempt that answered", async () => {
      const { model } = scriptedModel([[
        { type: "stream-start", warnings: [{ type: "other", message: "a warning" }] },
        { type: "response-metadata", id: "resp-1", modelId: "parts" },
        { type: "reasoning-start", id: "r" },
        { type: "reasoning-delta", id: "r", delta: "Think" },
        { type: "reasoning-delta", id: "r", delta: "ing" },
        { type: "reasoning-end", id: "r" },
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "Answer" },
        { type: "text-end", id: "t" },
        { type: "source", sourceType: "url", id: "s1", url: "https://example.com" },
        finishPart
      ]])
      const result = await generateText({ model, prompt: "Hello" })
      expect([result.text, result.reasoningText, result.response.id]).toEqual(["Answer", "Thinking", "resp-1"])
      expect(result.sources).toMatchObject([{ id: "s1", url: "https://example.com" }])
      expect(result.warnings).toMatchObject([{ message: "a warning" }])
    })

    it("a content-filter finish, a part that is not an object, a stream without finish: failed attempts, typed", async () => {
      const contentFiltered = scriptedModel([[
        { type: "text-delta", id: "t", delta: "Hi" },
        { ...finishPart, finishReason: { unified: "content-filter", raw: "content_filter" } }
      ]])
      await expect(generateText({ model: contentFiltered.model, prompt: "Hello" })).rejects.toMatchObject({
        _tag: "ExhaustedError",
        lastError: { _tag: "ContentError" }
      })
      expect(contentFiltered.calls()).toBe(3)
      // a model that sends something other than parts speaks another protocol: no retry fixes that
      const notAPart = scriptedModel([["text"], [{ type: "text-delta", id: "t", delta: "Hi" }, finishPart]])
      await expect(generateText({ model: notAPart.model, prompt: "Hello" })).rejects.toMatchObject({
        _tag: "ExhaustedError",
        lastError: { _tag: "FatalError", reason: "protocol" }
      })
      expect(notAPart.calls()).toBe(1)
      const noFinish = scriptedModel([[{ type: "text-delta", id: "t", delta: "Hi" }], [
        { type: "text-delta", id: "t", delta: "Hi" },
        { type: "error" }
      ], [{ type: "text-delta", id: "t", delta: "Hi!" }, finishPart]])
      expect((await generateText({ model: noFinish.model, prompt: "Hello" })).text).toBe("Hi!")
      expect(noFinish.calls()).toBe(3)
    })
  })
})
