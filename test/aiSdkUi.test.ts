import { createAnthropic } from "@ai-sdk/anthropic"
import { createOpenAI } from "@ai-sdk/openai"
import { describe, expect, it } from "@effect/vitest"
import type { UIMessage, UIMessageChunk } from "ai"
import {
  createUIMessageStream,
  parseJsonEventStream,
  readUIMessageStream,
  streamText,
  UI_MESSAGE_STREAM_HEADERS,
  uiMessageChunkSchema
} from "ai"
import { readUIMessageStream as readUIMessageStream6 } from "ai6"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Stream from "effect/Stream"
import { AiSdk, EventBus, L0, L0Event, L0State } from "effect-l0"
import { uiMessageText } from "effect-l0/client"
import type { L0Error } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import { API_KEY } from "./clients.js"
import { advance, ampleTimeout } from "./support.js"

const TEXT = "The quick brown fox jumps over the lazy dog."
const retry = { baseDelay: "1 millis", maxDelay: "20 millis", backoff: "fixed" } as const

/** The real `streamText` of ai 7 over openai.chat, as an L0 source. */
const openai = (server: ProviderServer.Addresses): L0.SourceFactory => {
  const model = createOpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY }).chat("gpt-test")
  return ({ signal }) => streamText({ model, prompt: "Hello", maxRetries: 0, abortSignal: signal, onError: () => {} })
}

const anthropic = (server: ProviderServer.Addresses): L0.SourceFactory => {
  const model = createAnthropic({ baseURL: `${server.anthropicBaseUrl}/v1`, apiKey: API_KEY })("claude-test")
  return ({ signal }) => streamText({ model, prompt: "Hello", maxRetries: 0, abortSignal: signal, onError: () => {} })
}

/** The chunks of a response body, parsed and checked with the AI SDK's own schema. */
const readAll = async <A>(stream: ReadableStream<A>): Promise<Array<A>> => {
  const reader = stream.getReader()
  const values: Array<A> = []
  for (let next = await reader.read(); !next.done; next = await reader.read()) values.push(next.value)
  return values
}

const chunksOf = async (response: Response): Promise<Array<UIMessageChunk>> =>
  (await readAll(parseJsonEventStream({ stream: response.body!, schema: uiMessageChunkSchema }))).map((result) => {
    if (!result.success) throw result.error
    return result.value
  })

/** The message as `useChat` would hold it at the end: the real reader of ai 7. */
const messageOf = async (chunks: ReadonlyArray<UIMessageChunk>): Promise<UIMessage | undefined> => {
  let last: UIMessage | undefined
  const stream = new ReadableStream<UIMessageChunk>({
    start: (controller) => {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    }
  })
  for await (const message of readUIMessageStream({ stream, onError: () => {} })) last = message
  return last
}

/** The message as ai 6's `readUIMessageStream` holds it at the end. */
const messageOf6 = async (chunks: ReadonlyArray<unknown>): Promise<UIMessage | undefined> => {
  let last: UIMessage | undefined
  const stream = new ReadableStream({
    start: (controller) => {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    }
  })
  for await (const message of readUIMessageStream6({ stream: stream as never })) last = message as unknown as UIMessage
  return last
}

const textOf = (message: UIMessage | undefined): string =>
  (message?.parts ?? []).map((part) => part.type === "text" ? part.text : "").join("")

const types = (chunks: ReadonlyArray<UIMessageChunk>): Array<string> => chunks.map((chunk) => chunk.type)

/** A run of `options` against `script`, sent as a UI message stream response and read back. */
const served = (script: ProviderServer.Script, options: (server: ProviderServer.Addresses) => L0.L0Options) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* ProviderServer.start(script)
    const response = AiSdk.toUIMessageStreamResponse(L0.stream({ retry, timeout: ampleTimeout, ...options(server) }))
    const chunks = yield* Effect.promise(() => chunksOf(response))
    const message = yield* Effect.promise(() => messageOf(chunks))
    return { server, response, chunks, message }
  }))

describe("AiSdk.toUIMessageStreamResponse, read by the AI SDK", () => {
  it.live("a whole answer: the AI SDK's headers, one text part, finish with usage, [DONE] last", () =>
    Effect.gen(function*() {
      const { chunks, message, response } = yield* served(
        [ProviderServer.reply(TEXT, { usage: { inputTokens: 3, outputTokens: 11 } })],
        (server) => ({ stream: openai(server) })
      )
      const headers: Record<string, string> = {}
      response.headers.forEach((value, name) => {
        headers[name] = value
      })
      expect(headers).toEqual(UI_MESSAGE_STREAM_HEADERS)
      expect(textOf(message)).toBe(TEXT)
      expect(message?.parts.map((part) => part.type)).toEqual(["step-start", "text"])
      expect(message?.metadata).toEqual({ usage: { inputTokens: 3, outputTokens: 11, totalTokens: 14 } })
      expect(types(chunks).at(-1)).toBe("finish")
      expect(chunks.at(-1)).toMatchObject({ finishReason: "stop" })
    }))

  it.live("the body is SSE as the AI SDK writes it, ending with data: [DONE]", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([TEXT])
      const response = AiSdk.toUIMessageStreamResponse(L0.stream({ stream: openai(server), retry }), {
        keepAlive: "Infinity",
        headers: { "access-control-allow-origin": "*" }
      })
      expect(response.headers.get("access-control-allow-origin")).toBe("*")
      expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1")
      const body = yield* Effect.promise(() => response.text())
      expect(body.startsWith("data: {\"type\":\"start\"}\n\ndata: {\"type\":\"start-step\"}\n\n")).toBe(true)
      expect(body.endsWith("data: [DONE]\n\n")).toBe(true)
    })))

  const faults = [
    ["a socket reset mid-stream", ProviderServer.resetAfter(3)],
    ["a body cut before its finish marker", ProviderServer.endAfter(3)],
    ["an in-band overloaded error mid-stream", ProviderServer.errorAfter(3, { type: "overloaded_error" })]
  ] as const

  for (const [what, fault] of faults) {
    it.live(`${what}, retried from the start: reset-step takes the failed text back, the page shows it once`, () =>
      Effect.gen(function*() {
        const { chunks, message } = yield* served(
          [ProviderServer.reply(TEXT, { fault }), TEXT],
          (server) => ({ stream: openai(server) })
        )
        expect(textOf(message)).toBe(TEXT)
        expect(types(chunks)).toContain("reset-step")
        expect(message?.parts.filter((part) => part.type === "text")).toHaveLength(1)
      }))

    it.live(`${what}, continued: no reset-step, one text part, every character once`, () =>
      Effect.gen(function*() {
        const { chunks, message } = yield* served(
          ProviderServer.continuing(TEXT, { replies: [{ fault }, {}] }),
          (server) => ({
            stream: ({ checkpoint, signal }) =>
              streamText({
                model: createOpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY }).chat("gpt-test"),
                messages: [
                  { role: "user", content: "Hello" },
                  ...(checkpoint.length > 0 ? [{ role: "assistant" as const, content: checkpoint }] : [])
                ],
                maxRetries: 0,
                abortSignal: signal,
                onError: () => {}
              }),
            continuation: true
          })
        )
        expect(textOf(message)).toBe(TEXT)
        expect(types(chunks)).not.toContain("reset-step")
        expect(types(chunks).filter((type) => type === "text-start")).toHaveLength(1)
      }))
  }

  it.live("a 5xx before the first token is retried; the page never sees it", () =>
    Effect.gen(function*() {
      const { chunks, message } = yield* served([ProviderServer.httpError(503), TEXT], (server) => ({
        stream: openai(server)
      }))
      expect(textOf(message)).toBe(TEXT)
      expect(types(chunks)).not.toContain("reset-step")
      expect(types(chunks)).not.toContain("error")
    }))

  it.live("a fallback after the first model streamed text: reset-step, then the fallback's whole answer", () =>
    Effect.gen(function*() {
      const { chunks, message, server } = yield* served(
        (request) =>
          request.protocol === "anthropic"
            ? TEXT
            : ProviderServer.reply("Something else entirely", {
              fault: ProviderServer.errorAfter(3, { type: "insufficient_quota", code: "insufficient_quota" })
            }),
        (server) => ({ stream: openai(server), fallbacks: [anthropic(server)] })
      )
      expect(textOf(message)).toBe(TEXT)
      expect(types(chunks)).toContain("reset-step")
      expect(server.requests.map((request) => request.protocol)).toEqual(["openai-chat", "anthropic"])
    }))

  it.live("a run that fails ends with an error chunk: the error's message, the echoed key redacted", () =>
    Effect.gen(function*() {
      const { chunks, message } = yield* served(
        [ProviderServer.httpError(401, { echoCredential: true })],
        (server) => ({ stream: openai(server) })
      )
      const error = chunks.find((chunk) => chunk.type === "error")
      expect(error?.type === "error" && error.errorText).toContain("FatalError: Invalid credential: <redacted>")
      expect(JSON.stringify(chunks)).not.toContain(API_KEY)
      expect(types(chunks)).toEqual(["start", "start-step", "error"])
      expect(textOf(message)).toBe("")
    }))

  it.effect("a 429's Retry-After and a stall are waited and timed on the run's clock", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([
        ProviderServer.httpError(429, { retryAfter: 2 }),
        ProviderServer.reply(TEXT, { fault: ProviderServer.stallAfter(3) }),
        TEXT
      ])
      const retrying = yield* Deferred.make<void>()
      const stalled = yield* Deferred.make<void>()
      let shown = ""
      const response = yield* AiSdk.toUIMessageStreamResponseEffect(
        L0.stream({
          stream: openai(server),
          retry: { backoff: "fixed", baseDelay: 0, maxDelay: "10 seconds" },
          timeout: { initialToken: "1 minute", interToken: "1 second" }
        }).pipe(Stream.provide(EventBus.layer((event) => {
          if (event.type === "retry_attempt") Deferred.doneUnsafe(retrying, Effect.void)
          if (event.type !== "stream_token") return
          shown += event.data.value
          if (shown.length >= 12) Deferred.doneUnsafe(stalled, Effect.void)
        }, { tokens: true }))),
        { keepAlive: "Infinity" }
      )
      const reading = yield* Effect.promise(() => chunksOf(response)).pipe(Effect.forkChild)
      yield* Deferred.await(retrying)
      yield* advance("1999 millis")
      expect(server.requests.length).toBe(1)
      yield* advance("1 millis")
      yield* Deferred.await(stalled)
      yield* advance("1 second")
      const chunks = yield* Fiber.join(reading)
      expect(textOf(yield* Effect.promise(() => messageOf(chunks)))).toBe(TEXT)
      expect(server.requests.length).toBe(3)
    })))

  it.live("cancelling the body interrupts the run and closes the provider request", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([ProviderServer.reply(TEXT, { fault: ProviderServer.stallAfter(2) })])
      const response = AiSdk.toUIMessageStreamResponse(L0.stream({ stream: openai(server), timeout: ampleTimeout }))
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      let body = ""
      while (!body.includes("text-delta")) body += decoder.decode((yield* Effect.promise(() => reader.read())).value)
      yield* Effect.promise(() => reader.cancel())
      expect(yield* server.awaitEnd(0)).toBe("disconnected")
    })))
})

describe("AiSdk.uiMessageChunks", () => {
  const chunksOfRun = (stream: Stream.Stream<unknown>, options?: AiSdk.UIStreamOptions) =>
    Stream.runCollect(AiSdk.uiMessageChunks(L0.stream({ stream: () => stream }), options))

  it.effect("reasoning, text and a tool call become reasoning, text and dynamic tool parts the reader accepts", () =>
    Effect.gen(function*() {
      const chunks = yield* chunksOfRun(Stream.make(
        L0Event.data({ type: "reasoning", text: "Think" }),
        L0Event.data({ type: "reasoning", text: "ing" }),
        L0Event.token("Hello"),
        L0Event.toolCall("call_1", "weather", "{\"city\":\"Paris\"}"),
        L0Event.toolCall("call_2", "echo", "not json")
      ))
      const message = yield* Effect.promise(() => messageOf(chunks as Array<UIMessageChunk>))
      expect(message?.parts).toMatchObject([
        { type: "step-start" },
        { type: "reasoning", text: "Thinking", state: "done" },
        { type: "text", text: "Hello", state: "done" },
        { type: "dynamic-tool", toolCallId: "call_1", toolName: "weather", input: { city: "Paris" } },
        { type: "dynamic-tool", toolCallId: "call_2", toolName: "echo", input: "not json" }
      ])
    }))

  it.effect("options: the message id, no reasoning, own metadata, own error text", () =>
    Effect.gen(function*() {
      const chunks = yield* chunksOfRun(Stream.make(L0Event.data({ type: "reasoning", text: "hmm" }), "Hi"), {
        messageId: "m-1",
        sendReasoning: false,
        messageMetadata: (complete) => ({ length: complete.state.content.length })
      })
      expect(chunks[0]).toEqual({ type: "start", messageId: "m-1" })
      expect(chunks.map((chunk) => chunk.type)).not.toContain("reasoning-start")
      expect(chunks.at(-1)).toEqual({ type: "finish", finishReason: "stop", messageMetadata: { length: 2 } })
      const failed = yield* Stream.runCollect(AiSdk.uiMessageChunks(
        L0.stream({ stream: () => Stream.fail(new Error("boom")), retry: { maxRetries: 0, maxAttempts: 1 } }),
        { errorText: (error: L0Error.L0Error) => `failed: ${error._tag}` }
      ))
      expect(failed.at(-1)).toEqual({ type: "error", errorText: "failed: ExhaustedError" })
    }))

  it.effect("finish reasons of every adapter map to the protocol's", () =>
    Effect.gen(function*() {
      const reasons: Array<unknown> = []
      for (const reason of ["end_turn", "max_tokens", "tool_use", "content_filter", "something_new"]) {
        const chunks = yield* Stream.runCollect(
          AiSdk.uiMessageChunks(
            Stream.make(
              L0Event.token("x"),
              { _tag: "Complete", state: { ...L0State.initial, content: "x", finishReason: reason } }
            )
          )
        )
        reasons.push((chunks.at(-1) as { finishReason?: unknown }).finishReason)
      }
      expect(reasons).toEqual(["stop", "length", "tool-calls", "content-filter", "other"])
    }))

  it.effect("a keepAlive that is not a duration ends the response with an error chunk", () =>
    Effect.gen(function*() {
      const response = AiSdk.toUIMessageStreamResponse(L0.stream({ stream: () => Stream.make("Hi") }), {
        keepAlive: "soon" as never
      })
      const chunks = yield* Effect.promise(() => chunksOf(response))
      expect(chunks).toEqual([{ type: "error", errorText: expect.stringContaining("keepAlive") }])
    }))

  it.effect("a ReadableStream of chunks for createUIMessageStream's writer.merge, after parts of its own (sendStart: false)", () =>
    Effect.gen(function*() {
      const stream = createUIMessageStream({
        execute: ({ writer }) => {
          writer.write({ type: "data-note", data: "before the run" })
          writer.merge(
            AiSdk.toUIMessageStream(L0.stream({ stream: () => Stream.make("Hel", "lo") }), {
              sendStart: false,
              sendFinish: false
            }) as ReadableStream<
              UIMessageChunk
            >
          )
        }
      })
      const message = yield* Effect.promise(async () => {
        let last: UIMessage | undefined
        for await (const m of readUIMessageStream({ stream })) last = m
        return last
      })
      expect(textOf(message)).toBe("Hello")
      expect(message?.parts.map((part) => part.type)).toEqual(["data-note", "step-start", "text"])
    }))

  it.effect("ai 6's reader renders a continued run (no reset-step is sent) as it is", () =>
    Effect.gen(function*() {
      const continued = yield* Stream.runCollect(AiSdk.uiMessageChunks(
        Stream.make(L0Event.token("Hel"), L0Event.reset(3), L0Event.token("lo"))
      ))
      expect(continued.map((chunk) => chunk.type)).not.toContain("reset-step")
      expect(uiMessageText((yield* Effect.promise(() => messageOf6(continued)))!)).toBe("Hello")
    }))

  it.effect("reset: \"data-part\" for ai 6 pages: its reader keeps the marker, uiMessageText applies it", () =>
    Effect.gen(function*() {
      const chunks = yield* Stream.runCollect(AiSdk.uiMessageChunks(
        Stream.make(
          L0Event.token("The qu"),
          L0Event.reset(4),
          L0Event.token("quick fox"),
          L0Event.reset(0),
          L0Event.token("A fox")
        ),
        { reset: "data-part" }
      ))
      expect(chunks.map((chunk) => chunk.type)).not.toContain("reset-step")
      const message6 = yield* Effect.promise(() => messageOf6(chunks))
      expect(uiMessageText(message6!)).toBe("A fox")
      expect(message6!.parts.filter((part) => part.type === "text").map((part) => (part as { text: string }).text))
        .toEqual(["The qu", "quick fox", "A fox"])
      // ai 7 reads it the same way: the marker parts stay in the message
      expect(uiMessageText((yield* Effect.promise(() => messageOf(chunks as Array<UIMessageChunk>)))!)).toBe("A fox")
      // and the default, reset-step, is what ai 6's reader does not know: it would show every attempt
      const stepped = yield* Stream.runCollect(AiSdk.uiMessageChunks(
        Stream.make(L0Event.token("The qu"), L0Event.reset(0), L0Event.token("A fox"))
      ))
      expect(uiMessageText((yield* Effect.promise(() => messageOf6(stepped)))!)).toBe("The quA fox")
      expect(uiMessageText((yield* Effect.promise(() => messageOf(stepped as Array<UIMessageChunk>)))!)).toBe("A fox")
    }))

  it("uiMessageText ignores markers it cannot read", () => {
    expect(uiMessageText({
      parts: [
        { type: "text", text: "Hello" },
        { type: "data-effect-l0-reset", data: { kept: "2" } },
        { type: "data-effect-l0-reset", data: null },
        { type: "data-effect-l0-reset", data: { kept: -1 } },
        { type: "reasoning", text: "not shown" },
        { type: "text", text: 42 }
      ]
    })).toBe("Hello")
  })

  it.effect("a messageMetadata or errorText callback that throws: the chunk goes without it, the stream ends as usual, a warning is logged", () =>
    Effect.gen(function*() {
      const logs: Array<unknown> = []
      const logged = Logger.layer([Logger.make((options) => void logs.push(options.message))])
      const chunks = yield* Stream.runCollect(
        AiSdk.uiMessageChunks(L0.stream({ stream: () => Stream.make("Hi") }), {
          messageMetadata: () => {
            throw new Error("metadata exploded")
          }
        })
      ).pipe(Effect.provide(logged))
      expect(chunks.at(-1)).toEqual({ type: "finish", finishReason: "stop" })
      const failed = yield* Stream.runCollect(
        AiSdk.uiMessageChunks(
          L0.stream({ stream: () => Stream.fail(new Error("boom")), retry: { maxRetries: 0, maxAttempts: 1 } }),
          {
            errorText: () => {
              throw new Error("errorText exploded")
            }
          }
        )
      ).pipe(Effect.provide(logged))
      expect(failed.at(-1)).toMatchObject({ type: "error", errorText: expect.stringContaining("boom") })
      expect(logs.flat().filter((message) => typeof message === "string" && message.includes("threw"))).toEqual([
        "effect-l0/AiSdk: messageMetadata threw; the stream went on without it",
        "effect-l0/AiSdk: errorText threw; the stream went on without it"
      ])
    }))
})
