import { describe, expect, it } from "@effect/vitest"
import { inspect } from "node:util"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as AiError from "effect/ai/AiError"
import * as LanguageModel from "effect/ai/LanguageModel"
import type * as Prompt from "effect/ai/Prompt"
import * as Response from "effect/ai/Response"
import type * as Scope from "effect/Scope"
import * as Schema from "effect/Schema"
import { Adapters, EffectAi, EventBus, Guardrail, L0, L0Error, L0Event } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"
import { expectTypeOf } from "vitest"
import { API_KEY } from "./clients.js"
import type { Farewell } from "./support.js"
import {
  advance,
  ampleTimeout,
  farewelled,
  farewellLayer,
  failureOf,
  Greeting,
  greetingLayer,
  httpError,
  lastErrorOf,
  noDelay
} from "./support.js"

const TEXT = "The quick brown fox jumps over the lazy dog."

const aiError = (reason: AiError.AiErrorReason): AiError.AiError =>
  AiError.make({ module: "Test", method: "streamText", reason })

const usage = new Response.Usage({ inputTokens: { total: 7 }, outputTokens: { total: 3 } })

/** The parts of a streamed answer, as `LanguageModel.streamText` decodes them. */
const answer = (deltas: ReadonlyArray<string>, reason: Response.FinishReason = "stop") => [
  Response.makePart("response-metadata", { id: "resp_1", modelId: "test-model", timestamp: undefined }),
  Response.makePart("text-start", { id: "t" }),
  ...deltas.map((delta) => Response.makePart("text-delta", { id: "t", delta })),
  Response.makePart("text-end", { id: "t" }),
  Response.makePart("finish", { reason, usage, response: undefined })
]

/** The same answer as a provider hands it to `LanguageModel.make`, encoded. */
const encoded = (deltas: ReadonlyArray<string>): Array<Response.StreamPartEncoded> => [
  { type: "response-metadata", id: "resp_1", modelId: "test-model" },
  { type: "text-start", id: "t" },
  ...deltas.map((delta): Response.StreamPartEncoded => ({ type: "text-delta", id: "t", delta })),
  { type: "text-end", id: "t" },
  { type: "finish", reason: "stop", usage: { inputTokens: { total: 7 }, outputTokens: { total: 3 } } }
]

/** A `LanguageModel` whose `streamText` plays `parts`, one list per call (the last one repeats). */
const scripted = (...calls: ReadonlyArray<ReadonlyArray<Response.StreamPartEncoded> | AiError.AiError>) => {
  let call = 0
  return Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: () => Effect.succeed([]),
      streamText: () =>
        Stream.suspend(() => {
          const next = calls[Math.min(call++, calls.length - 1)]!
          return AiError.isAiError(next) ? Stream.fail(next) : Stream.fromIterable(next)
        })
    })
  )
}

/** The typed error of a failed exit. */
const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
  return reason?._tag === "Fail" ? reason.error : undefined
}

/** The text of a `streamText`, from its `text-delta` parts. */
const deltas = (parts: ReadonlyArray<Response.AnyPart>): string =>
  parts.map((part) => part.type === "text-delta" ? part.delta : "").join("")

/** Converts an `effect/ai` prompt to Chat Completions messages (text only). */
const messagesOf = (prompt: Prompt.Prompt): Array<OpenAI.ChatCompletionMessageParam> =>
  prompt.content.map((message) => {
    const content = typeof message.content === "string"
      ? message.content
      : message.content.map((part) => part.type === "text" ? part.text : "").join("")
    return message.role === "assistant" ? { role: "assistant", content } : { role: "user", content }
  })

/** What an OpenAI SDK error is in `effect/ai` terms. */
const toAiError = (url: string) => (error: unknown): AiError.AiError =>
  aiError(
    error instanceof OpenAI.APIError && error.status !== undefined
      ? error.status === 429
        ? new AiError.RateLimitError({ retryAfter: Duration.seconds(Number(error.headers?.get("retry-after") ?? 0)) })
        : AiError.reasonFromHttpStatus({ status: error.status, description: error.message })
      : new AiError.NetworkError({ reason: "TransportError", method: "POST", url, description: String(error) })
  )

/**
 * An OpenAI-compatible `LanguageModel` built in the test: the real `openai`
 * client against `ProviderServer`, its chunks turned into `effect/ai` parts.
 */
const openAiModel = (server: ProviderServer.Addresses) => {
  const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
  const failed = toAiError(server.openaiBaseUrl)
  return Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: () => Effect.fail(aiError(new AiError.UnknownError({ description: "streamText only" }))),
      streamText: (options) =>
        Stream.unwrap(
          Effect.tryPromise({
            try: (signal) =>
              client.chat.completions.create({
                model: "gpt-test",
                messages: messagesOf(options.prompt),
                stream: true,
                stream_options: { include_usage: true }
              }, { signal }),
            catch: failed
          }).pipe(Effect.map((chunks) => Stream.fromAsyncIterable(chunks, failed)))
        ).pipe(
          Stream.flatMap((chunk): Stream.Stream<Response.StreamPartEncoded> => {
            const choice = chunk.choices[0]
            const parts: Array<Response.StreamPartEncoded> = []
            if (choice?.delta.content) parts.push({ type: "text-delta", id: "t", delta: choice.delta.content })
            if (choice?.finish_reason) parts.push({ type: "text-end", id: "t" })
            if (chunk.usage) {
              parts.push({
                type: "finish",
                reason: "stop",
                usage: {
                  inputTokens: { total: chunk.usage.prompt_tokens },
                  outputTokens: { total: chunk.usage.completion_tokens }
                }
              })
            }
            return Stream.fromIterable(parts)
          }),
          Stream.prepend<Response.StreamPartEncoded>([
            { type: "response-metadata", id: "resp", modelId: "gpt-test" },
            { type: "text-start", id: "t" }
          ])
        )
    })
  )
}

/** The model restates the last word of the partial answer before going on, as chat models do. */
const restatesLastWord = (partial: string) => partial.length - partial.lastIndexOf(" ") - 1

const streamedText = LanguageModel.streamText({ prompt: "Hello" }).pipe(
  Stream.runCollect,
  Effect.map((parts) => deltas(parts))
)

describe("Adapters.effectAi", () => {
  it.effect("reads streamText parts: a leading response-metadata, text, finish reason and usage", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({ stream: () => Stream.fromIterable(answer(["Hel", "lo"])) })
      expect(result.text).toBe("Hello")
      expect(result.state.finishReason).toBe("stop")
      expect(result.usage).toMatchObject({ inputTokens: 7, outputTokens: 3, totalTokens: 10 })
    }))

  it.effect("is detected before the Vercel AI SDK parts of the same names, which stay Vercel's", () =>
    Effect.gen(function*() {
      const adapters: Array<unknown> = []
      const record = EventBus.layer((event) => {
        if (event.type === "stream_complete") adapters.push(event.data.adapter)
      })
      yield* L0.text({ stream: () => Stream.fromIterable(answer(["a"])) }).pipe(Effect.provide(record))
      yield* L0.text({
        stream: () => Stream.make({ type: "text-delta", text: "a" }, { type: "finish", finishReason: "stop" })
      }).pipe(Effect.provide(record))
      expect(adapters).toEqual(["effect-ai", "vercel-ai"])
    }))

  it.effect("turns tool calls, reasoning and sources into events", () =>
    Effect.gen(function*() {
      const events = yield* Stream.runCollect(L0.stream({
        adapter: Adapters.effectAi,
        stream: () =>
          Stream.make(
            Response.makePart("reasoning-start", { id: "r" }),
            Response.makePart("reasoning-delta", { id: "r", delta: "thinking" }),
            Response.makePart("tool-params-start", { id: "c1", name: "weather", providerExecuted: false }),
            Response.makePart("tool-params-delta", { id: "c1", delta: "{\"city\":" }),
            Response.makePart("tool-call", {
              id: "c1",
              name: "weather",
              params: { city: "Paris" },
              providerExecuted: false
            }),
            Response.makePart("file", { mediaType: "image/png", data: new Uint8Array([1]) }),
            Response.makePart("finish", { reason: "tool-calls", usage, response: undefined })
          )
      }))
      expect(events.filter((e) => e._tag === "Data").map((e) => e.value)).toEqual([
        { type: "reasoning", text: "thinking" },
        expect.objectContaining({ type: "file", mediaType: "image/png" })
      ])
      const complete = events.at(-1)!
      expect(complete._tag === "Complete" && complete.state.toolCalls).toEqual([
        L0Event.toolCall("c1", "weather", "{\"city\":\"Paris\"}")
      ])
      expect(complete._tag === "Complete" && complete.state.finishReason).toBe("tool-calls")
    }))

  it.effect("retries a stream cut before its finish part, and fails on a content-filter finish", () =>
    Effect.gen(function*() {
      let calls = 0
      const text = yield* L0.text({
        retry: noDelay,
        stream: () => Stream.fromIterable(calls++ === 0 ? answer(["partial"]).slice(0, 3) : answer(["whole"]))
      })
      expect([text, calls]).toEqual(["whole", 2])
      const exit = yield* Effect.exit(L0.text({
        adapter: "effect-ai",
        retry: { ...noDelay, maxAttempts: 1 },
        stream: () => Stream.fromIterable(answer(["bad"], "content-filter"))
      }))
      expect(lastErrorOf(failureOf(exit))._tag).toBe("ContentError")
    }))

  it.effect("fails the attempt with the error of an error part", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(L0.text({
        stream: () =>
          Stream.make(
            Response.makePart("text-start", { id: "t" }),
            Response.makePart("error", { error: aiError(new AiError.AuthenticationError({ kind: "InvalidKey" })) })
          )
      }))
      const error = lastErrorOf(failureOf(exit))
      expect(error._tag).toBe("FatalError")
      expect(AiError.isAiError(error.cause)).toBe(true)
    }))

  it.effect("reads the whole text and reasoning parts of generateText, and skips empty deltas", () =>
    Effect.gen(function*() {
      const events = yield* Stream.runCollect(L0.stream({
        stream: () =>
          Stream.make(
            Response.makePart("reasoning", { text: "why" }),
            Response.makePart("reasoning-delta", { id: "r", delta: "" }),
            Response.makePart("text-delta", { id: "t", delta: "" }),
            Response.makePart("text", { text: "whole" }),
            Response.makePart("finish", {
              reason: "stop",
              usage: new Response.Usage({ inputTokens: {}, outputTokens: {} }),
              response: undefined
            })
          )
      }))
      expect(events.map((e) => e._tag === "Token" ? e.value : e._tag === "Data" ? e.value : e._tag)).toEqual([
        { type: "reasoning", text: "why" },
        "whole",
        "Complete"
      ])
      const complete = events.at(-1)!
      // a usage without counts is no usage
      expect(complete._tag === "Complete" && complete.usage).toBe(undefined)
      const exit = yield* Effect.exit(L0.text({
        retry: { ...noDelay, maxAttempts: 1 },
        stream: () =>
          Stream.make(Response.makePart("text-start", { id: "t" }), Response.makePart("error", { error: undefined }))
      }))
      expect(lastErrorOf(failureOf(exit)).message).toBe("The effect-ai stream sent an error part")
    }))

  it.effect("fails with a clear FatalError on tool call params that cannot be written as JSON", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(L0.text({
        stream: () =>
          Stream.make(Response.makePart("tool-call", {
            id: "c1",
            name: "count",
            params: { n: 1n },
            providerExecuted: false
          }))
      }))
      const error = lastErrorOf(failureOf(exit))
      expect(error._tag === "FatalError" && [error.reason, error.message]).toEqual([
        "protocol",
        "The effect-ai tool call's params cannot be written as JSON"
      ])
    }))
})

describe("AiError categories", () => {
  it("maps each reason onto an L0 category, keeping retryAfter and the HTTP status", () => {
    const limited = L0Error.fromUnknown(aiError(new AiError.RateLimitError({ retryAfter: Duration.seconds(3) })))
    expect(limited._tag).toBe("TransientError")
    expect(limited._tag !== "ExhaustedError" && limited.retryAfter).toEqual(Duration.seconds(3))
    // an absurd wait is clamped to five minutes, as a header's is
    const absurd = L0Error.fromUnknown(aiError(new AiError.RateLimitError({ retryAfter: Duration.days(30) })))
    expect(absurd._tag !== "ExhaustedError" && absurd.retryAfter).toEqual(Duration.minutes(5))
    const categories = [
      new AiError.AuthenticationError({ kind: "InvalidKey" }),
      new AiError.QuotaExhaustedError({}),
      new AiError.InvalidRequestError({}),
      new AiError.InternalProviderError({ description: "boom" }),
      new AiError.NetworkError({ reason: "TransportError", method: "POST", url: "http://x" }),
      new AiError.NetworkError({ reason: "InvalidUrlError", method: "POST", url: "nope" }),
      new AiError.ContentPolicyError({ description: "no" }),
      new AiError.InvalidOutputError({ description: "bad json" }),
      new AiError.UnknownError({ http: { response: { status: 503, headers: {} } } }),
      new AiError.UnknownError({})
    ].map((reason) => L0Error.categorize(aiError(reason)))
    expect(categories).toEqual([
      "fatal",
      "fatal",
      "fatal",
      "transient",
      "network",
      "fatal",
      "content",
      "model",
      "transient",
      "model"
    ])
    const missing = L0Error.fromUnknown(aiError(new AiError.AuthenticationError({ kind: "MissingKey" })))
    expect(missing._tag === "FatalError" && missing.reason).toBe("credentials")
  })

  it.effect("a rate limit through a run waits its retryAfter, then retries", () =>
    Effect.gen(function*() {
      let calls = 0
      const fiber = yield* Effect.forkChild(L0.text({
        retry: { backoff: "fixed", baseDelay: "1 second" },
        stream: () =>
          calls++ === 0
            ? Stream.fail(aiError(new AiError.RateLimitError({ retryAfter: Duration.seconds(5) })))
            : Stream.fromIterable(answer(["ok"]))
      }))
      yield* advance("4 seconds")
      expect(calls).toBe(1)
      yield* advance("1 second")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(calls).toBe(2)
    }))
})

describe("sources that require services", () => {
  it("put the requirement in the types of L0.stream, L0.run and L0.text, and leave it never otherwise", () => {
    const modelStream = () => LanguageModel.streamText({ prompt: "Hi" })
    expectTypeOf(L0.stream({ stream: modelStream })).toEqualTypeOf<
      Stream.Stream<L0Event.L0Event, L0Error.L0Error, LanguageModel.LanguageModel>
    >()
    expectTypeOf(L0.text({ stream: modelStream })).toEqualTypeOf<
      Effect.Effect<string, L0Error.L0Error, LanguageModel.LanguageModel>
    >()
    expectTypeOf(L0.run({ stream: () => Stream.make("a"), fallbacks: [modelStream] })).toEqualTypeOf<
      Effect.Effect<L0.L0Result, L0Error.L0Error, LanguageModel.LanguageModel>
    >()
    const greeted = () =>
      Effect.gen(function*() {
        const { word } = yield* Greeting
        return Stream.make(word)
      })
    expectTypeOf(L0.text({ stream: greeted })).toEqualTypeOf<Effect.Effect<string, L0Error.L0Error, Greeting>>()
    expectTypeOf(L0.stream({ stream: () => Stream.make("a") })).toEqualTypeOf<
      Stream.Stream<L0Event.L0Event, L0Error.L0Error, never>
    >()
    async function* tokens() {
      yield "a"
    }
    expectTypeOf(L0.text({ stream: tokens, fallbacks: [() => Promise.resolve(tokens())] })).toEqualTypeOf<
      Effect.Effect<string, L0Error.L0Error, never>
    >()
    expectTypeOf(EffectAi.layer({ models: [scripted(encoded([]))] })).toEqualTypeOf<
      Layer.Layer<LanguageModel.LanguageModel, never, never>
    >()
  })

  it.effect("get the services provided once to the run, on every attempt", () =>
    Effect.gen(function*() {
      let calls = 0
      const text = yield* L0.text({
        retry: noDelay,
        stream: () =>
          Effect.gen(function*() {
            const { word } = yield* Greeting
            return calls++ === 0 ? Stream.fail(new Error("read ECONNRESET")) : Stream.make(word, "!")
          })
      }).pipe(Effect.provideService(Greeting, { word: "hello" }))
      expect([text, calls]).toEqual(["hello!", 2])
    }))

  it.effect("a source and fallbacks that need different services make the run require them all", () =>
    Effect.gen(function*() {
      const greetings: Array<string> = []
      // reads its service, then fails in a way another source may fix
      const refused = () =>
        Effect.flatMap(Effect.service(Greeting), ({ word }) => {
          greetings.push(word)
          return Effect.fail(httpError(401))
        })
      const options = { stream: refused, fallbacks: [farewelled("!")] }
      type Both = Greeting | Farewell
      expectTypeOf(L0.stream(options)).toEqualTypeOf<Stream.Stream<L0Event.L0Event, L0Error.L0Error, Both>>()
      expectTypeOf(L0.run(options)).toEqualTypeOf<Effect.Effect<L0.L0Result, L0Error.L0Error, Both>>()
      expectTypeOf(L0.start(options)).toEqualTypeOf<Effect.Effect<L0.Handle, never, Scope.Scope | Both>>()
      const Point = Schema.Struct({ x: Schema.Number })
      expectTypeOf(L0.structured(Point, options)).toEqualTypeOf<
        Effect.Effect<{ readonly x: number }, L0Error.L0Error, Both>
      >()
      expectTypeOf(L0.structuredStreamWithMetadata(Point, options)).toExtend<
        Stream.Stream<unknown, L0Error.L0Error, Both>
      >()
      // @ts-expect-error a misspelt option is still an error where the services are inferred
      L0.text({ stream: refused, fallbacks: [farewelled()], retyr: noDelay })
      // options typed with a wider interface, and code generic in the services, keep their types
      const structuredOptions: L0.StructuredOptions<Greeting> = { stream: refused, autoCorrect: false }
      expectTypeOf(L0.text(structuredOptions)).toEqualTypeOf<Effect.Effect<string, L0Error.L0Error, Greeting>>()
      const withRetries = <R>(options: L0.L0Options<R>): Stream.Stream<L0Event.L0Event, L0Error.L0Error, R> =>
        L0.stream({ ...options, retry: noDelay })
      expectTypeOf(withRetries({ stream: refused })).toEqualTypeOf<
        Stream.Stream<L0Event.L0Event, L0Error.L0Error, Greeting>
      >()
      // @ts-expect-error and so is one that structured output does not know
      L0.structured(Point, { stream: refused, autoCorect: false })
      const text = yield* L0.text(options).pipe(Effect.provide(Layer.merge(greetingLayer, farewellLayer)))
      expect([text, greetings]).toEqual(["goodbye!", ["hello"]])
    }))

  it.effect("reach structured output too: its type names them, and each attempt gets them", () =>
    Effect.gen(function*() {
      const Point = Schema.Struct({ x: Schema.Number })
      let calls = 0
      const options = {
        retry: noDelay,
        stream: () =>
          Effect.gen(function*() {
            const { word } = yield* Greeting
            return calls++ === 0 ? Stream.make(`{"x": "${word}"}`) : Stream.make(`{"x": ${word.length}}`)
          })
      }
      const point = L0.structured(Point, options)
      expectTypeOf(point).toEqualTypeOf<Effect.Effect<{ readonly x: number }, L0Error.L0Error, Greeting>>()
      expectTypeOf(L0.structuredStream(Point, options)).toExtend<Stream.Stream<unknown, L0Error.L0Error, Greeting>>()
      expect(yield* point.pipe(Effect.provideService(Greeting, { word: "hello" }))).toEqual({ x: 5 })
      expect(calls).toBe(2)
    }))

  it.effect("run LanguageModel.streamText as a source", () =>
    Effect.gen(function*() {
      const text = yield* L0.text({ stream: () => LanguageModel.streamText({ prompt: "Hi" }) }).pipe(
        Effect.provide(scripted(encoded(["from ", "effect/ai"])))
      )
      expect(text).toBe("from effect/ai")
    }))
})

describe("EffectAi.layer", () => {
  it.effect("retries a stream cut midway: streamText continues the text, each part of it streamed once", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start(ProviderServer.continuing(TEXT, {
        replies: [{ fault: ProviderServer.resetAfter(4) }, {}],
        repeat: restatesLastWord
      }))
      const Reliable = EffectAi.layer({ models: [openAiModel(server)], retry: noDelay, timeout: ampleTimeout })
      const parts = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "Hello" })).pipe(
        Effect.provide(Reliable)
      )
      expect(deltas(parts)).toBe(TEXT)
      expect(server.requests.length).toBe(2)
      // the retry asked the model to continue the streamed text
      const messages = (server.requests[1]!.body as { messages: ReadonlyArray<{ role: string; content: string }> })
        .messages
      expect(messages.at(-1)?.role).toBe("assistant")
      expect(TEXT.startsWith(messages.at(-1)!.content)).toBe(true)
      expect(messages.at(-1)!.content.length).toBeGreaterThan(0)
      // one text block, as a consumer grouping deltas by id expects
      expect(parts.filter((part) => part.type === "text-start").length).toBe(1)
      expect(parts.filter((part) => part.type === "finish").length).toBe(1)
    })))

  it.effect("generateText answers the whole text once after a retry, with the finish reason and usage", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start(ProviderServer.continuing(TEXT, {
        replies: [{ fault: ProviderServer.resetAfter(4) }, {}],
        repeat: restatesLastWord
      }))
      const Reliable = EffectAi.layer({ models: [openAiModel(server)], retry: noDelay, timeout: ampleTimeout })
      const response = yield* LanguageModel.generateText({ prompt: "Hello" }).pipe(Effect.provide(Reliable))
      expect(response.text).toBe(TEXT)
      expect(response.finishReason).toBe("stop")
      expect(response.usage.outputTokens.total).toBeGreaterThan(0)
      expect(server.requests.length).toBe(2)
    })))

  it.effect("without continuation, generateText still answers once, and streamText fails rather than repeat text", () =>
    Effect.gen(function*() {
      const cut = encoded(["The quick "]).slice(0, 3)
      const Reliable = () =>
        EffectAi.layer({ models: [scripted(cut, encoded(["The quick ", "fox"]))], continuation: false, retry: noDelay })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(Reliable()))
      expect(response.text).toBe("The quick fox")
      const exit = yield* Effect.exit(streamedText.pipe(Effect.provide(Reliable())))
      const error = errorOf(exit)
      expect(AiError.isAiError(error) && error.reason._tag === "UnknownError" && error.reason.metadata["effect-l0"])
        .toEqual({ tag: "Reset" })
    }))

  it.effect("falls back to the next LanguageModel when the first fails", () =>
    Effect.scoped(Effect.gen(function*() {
      const down = yield* ProviderServer.start([ProviderServer.httpError(503)])
      const up = yield* ProviderServer.start([TEXT])
      const Reliable = EffectAi.layer({
        models: [openAiModel(down), openAiModel(up)],
        retry: { ...noDelay, maxRetries: 2 },
        timeout: ampleTimeout
      })
      expect(yield* streamedText.pipe(Effect.provide(Reliable))).toBe(TEXT)
      expect([down.requests.length, up.requests.length]).toEqual([3, 1])
    })))

  it.effect("does not retry a fatal authentication error: the model's own AiError comes out", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([ProviderServer.httpError(401), TEXT])
      const Reliable = EffectAi.layer({ models: [openAiModel(server)], retry: noDelay, timeout: ampleTimeout })
      const exit = yield* Effect.exit(streamedText.pipe(Effect.provide(Reliable)))
      const error = errorOf(exit)
      expect(AiError.isAiError(error) && error.reason._tag).toBe("AuthenticationError")
      expect(server.requests.length).toBe(1)
    })))

  it.effect("times a stalled stream out and retries it", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([
        ProviderServer.reply(TEXT, { fault: ProviderServer.stallAfter(0) }),
        TEXT
      ])
      const Reliable = EffectAi.layer({
        models: [openAiModel(server)],
        retry: noDelay,
        timeout: { initialToken: "1 second", interToken: "1 second" }
      })
      const fiber = yield* Effect.forkChild(streamedText.pipe(Effect.provide(Reliable)))
      yield* server.awaitRequest(0)
      yield* advance("1 second")
      expect(yield* Fiber.join(fiber)).toBe(TEXT)
      expect(server.requests.length).toBe(2)
    })))

  it.effect("applies guardrails: a fatal violation ends the run with an AiError that names it", () =>
    Effect.gen(function*() {
      const Reliable = EffectAi.layer({
        models: [scripted(encoded(["the password is hunter2"]))],
        guardrails: [Guardrail.make({
          name: "no-password",
          severity: "fatal",
          check: ({ content }) => content.includes("password") ? "a password in the output" : undefined
        })]
      })
      const exit = yield* Effect.exit(streamedText.pipe(Effect.provide(Reliable)))
      const error = errorOf(exit)
      expect(AiError.isAiError(error)).toBe(true)
      expect(AiError.isAiError(error) && error.reason._tag === "UnknownError" && error.reason.metadata["effect-l0"])
        .toEqual({ tag: "FatalError", category: "fatal" })
      expect(error).toMatchObject({ reason: { description: expect.stringContaining("no-password") } })
    }))

  it.effect("removes the redact secrets from the model's error that comes out", () =>
    Effect.gen(function*() {
      const secret = "gateway-token-7f3a9c"
      const leaky = aiError(new AiError.InvalidRequestError({ description: `bad header x-token: ${secret}` }))
      const Reliable = EffectAi.layer({ models: [scripted(leaky)], redact: [secret] })
      const error = errorOf(yield* Effect.exit(streamedText.pipe(Effect.provide(Reliable))))
      expect(AiError.isAiError(error) && error.reason._tag).toBe("InvalidRequestError")
      expect(`${String(error)} ${JSON.stringify(error)} ${inspect(error, { depth: 10 })}`).not.toContain(secret)
    }))

  it.effect("generateText keeps reasoning, metadata and finish in order, the text as one part", () =>
    Effect.gen(function*() {
      const parts: Array<Response.StreamPartEncoded> = [
        { type: "response-metadata", id: "r1" },
        { type: "reasoning-start", id: "r" },
        { type: "reasoning-delta", id: "r", delta: "let me " },
        { type: "reasoning-delta", id: "r", delta: "think" },
        { type: "reasoning-end", id: "r" },
        // text without a text-start, as some providers send it
        { type: "text-delta", id: "t", delta: "The answer " },
        { type: "text-delta", id: "t", delta: "is 42" },
        { type: "finish", reason: "length", usage: { inputTokens: { total: 1 }, outputTokens: { total: 2 } } }
      ]
      const Reliable = EffectAi.layer({ models: [scripted(parts)], retry: noDelay })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(Reliable))
      expect(response.content.map((part) => part.type)).toEqual(["response-metadata", "reasoning", "text", "finish"])
      expect([response.text, response.reasoningText, response.finishReason, response.usage.outputTokens.total])
        .toEqual(["The answer is 42", "let me think", "length", 2])
      // streamed, the text without a text-start gets one, so that it has a block
      const streamed = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "Hi" })).pipe(
        Effect.provide(Reliable)
      )
      const types = streamed.map((part) => part.type)
      expect(types.indexOf("text-start")).toBeLessThan(types.indexOf("text-delta"))
      expect(deltas(streamed)).toBe("The answer is 42")
    }))

  it.effect("EffectAi.make wraps models already built", () =>
    Effect.gen(function*() {
      const cut = yield* Layer.build(scripted(encoded(["The quick "]).slice(0, 3), encoded(["The quick ", "fox"])))
      const model = EffectAi.make([Context.get(cut, LanguageModel.LanguageModel)], { retry: noDelay })
      const text = yield* streamedText.pipe(Effect.provideService(LanguageModel.LanguageModel, model))
      expect(text).toBe("The quick fox")
    }))

  it.effect("generateObject falls back to the next model", () =>
    Effect.gen(function*() {
      const failing = Layer.effect(
        LanguageModel.LanguageModel,
        LanguageModel.make({
          generateText: () => Effect.fail(aiError(new AiError.InternalProviderError({ description: "down" }))),
          streamText: () => Stream.empty
        })
      )
      const working = Layer.effect(
        LanguageModel.LanguageModel,
        LanguageModel.make({
          generateText: () => Effect.succeed([{ type: "text", text: "{\"n\":1}" }]),
          streamText: () => Stream.empty
        })
      )
      const response = yield* LanguageModel.generateObject({
        prompt: "n",
        schema: Schema.Struct({ n: Schema.Number })
      }).pipe(Effect.provide(EffectAi.layer({ models: [failing, working] })))
      expect(response.value).toEqual({ n: 1 })
    }))
})
