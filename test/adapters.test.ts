import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { Adapter, Adapters, EventBus, L0, L0Error, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import type { Fixture } from "./fixtureFiles.js"
import { fixtureNames, loadFixture } from "./fixtureFiles.js"
import { advance, connectionReset, lastErrorOf } from "./support.js"

const noRetry = { maxRetries: 0 } as const

/** Runs `chunks` as one attempt without retries; the error, if any, is the attempt's. */
const runChunks = (chunks: ReadonlyArray<unknown>, options: Partial<L0.L0Options> = {}) =>
  Effect.gen(function*() {
    const events: Array<L0Event.L0Event> = []
    const exit = yield* Stream.runForEach(
      L0.stream({ stream: TestSource.make(chunks).stream, retry: noRetry, ...options }),
      (event) => Effect.sync(() => void events.push(event))
    ).pipe(Effect.exit)
    return { events, exit }
  })

const failureOf = (chunks: ReadonlyArray<unknown>, options: Partial<L0.L0Options> = {}) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(L0.run({ stream: TestSource.make(chunks).stream, retry: noRetry, ...options }))
    return lastErrorOf(error)
  })

const dataOf = (events: ReadonlyArray<L0Event.L0Event>, type: string): string =>
  events.flatMap((e) =>
    e._tag === "Data" && (e.value as { type?: unknown }).type === type ? [(e.value as { text: string }).text] : []
  ).join("")

const expectedCategory = (fixture: Fixture): string =>
  fixture.expected.error?.type === "insufficient_quota" ? "FatalError" : "TransientError"

describe("adapters: every fixture decoded from its JSON events", () => {
  for (const name of fixtureNames) {
    const fixture = loadFixture(name)
    const { expected } = fixture
    it.effect(name, () =>
      Effect.gen(function*() {
        const collected: Array<EventBus.BusEvent> = []
        // a fixture may be an answer of nothing (a refusal): decoding is the point, so it is accepted
        const { events, exit } = yield* runChunks(fixture.chunks, { allowEmpty: true }).pipe(
          Effect.provide(EventBus.layer((event) => collected.push(event)))
        )
        const adapter = collected.find((e) => e.type === "stream_start")
        expect(adapter).toBeDefined()
        if (expected.error !== null) {
          expect(exit._tag).toBe("Failure")
          const error = yield* Effect.flip(L0.run({ stream: TestSource.make(fixture.chunks).stream, retry: noRetry }))
          expect(error._tag).toBe("ExhaustedError")
          const last = (error as L0Error.ExhaustedError).lastError!
          expect(last._tag).toBe(expectedCategory(fixture))
          expect(last.message).toContain(expected.error.message)
          return
        }
        const complete = events.at(-1)
        if (complete?._tag !== "Complete") return expect.unreachable("no Complete event")
        const { state, usage } = complete
        expect(state.content).toBe(expected.text)
        expect(events.filter(L0Event.isToken).map((e) => e.value).join("")).toBe(expected.text)
        expect(state.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args }))).toEqual(
          expected.toolCalls
        )
        expect(state.finishReason).toBe(expected.finishReason)
        expect(usage?.raw).toEqual(expected.usage)
        expect(dataOf(events, "reasoning")).toBe(expected.reasoning ?? "")
        expect(dataOf(events, "refusal")).toBe(expected.refusal ?? "")
        const stats = collected.find((e) => e.type === "stream_complete")!
        expect(stats.data.adapter).toBe(expected.protocol)
      }))
  }

  it.effect("usage fields are mapped per protocol", () =>
    Effect.gen(function*() {
      const usageOf = (name: string) =>
        Effect.map(L0.run({ stream: TestSource.make(loadFixture(name).chunks).stream }), (r) => r.usage)
      const chat = yield* usageOf("openai-chat-text-usage")
      expect([chat?.inputTokens, chat?.outputTokens, chat?.totalTokens]).toEqual([14, 30, 44])
      const responses = yield* usageOf("openai-responses-text")
      expect([responses?.inputTokens, responses?.outputTokens, responses?.totalTokens]).toEqual([444, 12, 456])
      const anthropic = yield* usageOf("anthropic-text")
      expect([anthropic?.inputTokens, anthropic?.outputTokens, anthropic?.totalTokens]).toEqual([12, 30, 42])
    }))
})

const chatChunk = (delta: Record<string, unknown>, finish: string | null = null, index = 0) => ({
  object: "chat.completion.chunk",
  choices: [{ index, delta, finish_reason: finish }]
})

describe("openaiChat", () => {
  it.effect("assembles split tool calls of several indices, id and name only in the first piece", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({
        stream: TestSource.make([
          chatChunk({ role: "assistant", content: null }),
          chatChunk({ tool_calls: [{ index: 0, id: "a", function: { name: "f", arguments: "{\"x\"" } }] }),
          chatChunk({ tool_calls: [{ index: 1, id: "b", function: { name: "g", arguments: "" } }] }),
          chatChunk({
            tool_calls: [{ index: 1, function: { arguments: "[1]" } }, { index: 0, function: { arguments: ":1}" } }]
          }),
          chatChunk({ tool_calls: [{ function: { arguments: "" } }] }),
          chatChunk({}, "tool_calls")
        ]).stream
      })
      expect(result.state.toolCalls).toEqual([L0Event.toolCall("a", "f", "{\"x\":1}"),
        L0Event.toolCall("b", "g", "[1]")])
      expect(result.state.finishReason).toBe("tool_calls")
    }))

  it.effect("streams only choice 0 when n > 1", () =>
    Effect.gen(function*() {
      const text = yield* L0.text({
        stream: TestSource.make([
          chatChunk({ content: "A" }),
          chatChunk({ content: "B" }, null, 1),
          chatChunk({}, "stop", 1),
          chatChunk({ content: "C" }),
          chatChunk({}, "stop")
        ]).stream
      })
      expect(text).toBe("AC")
    }))

  it.effect("finish_reason length is reported in the Complete state", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({
        stream: TestSource.make([chatChunk({ content: "{\"" }), chatChunk({}, "length")]).stream
      })
      expect(result.state.finishReason).toBe("length")
      expect(result.text).toBe("{\"")
    }))

  it.effect("finish_reason content_filter fails the attempt with a ContentError", () =>
    Effect.gen(function*() {
      const error = yield* failureOf([chatChunk({ content: "x" }), chatChunk({}, "content_filter")])
      expect(error._tag).toBe("ContentError")
      expect(error.message).toContain("content_filter")
    }))

  it.effect("reasoning fields of compatible servers become Data", () =>
    Effect.gen(function*() {
      const { events } = yield* runChunks([
        chatChunk({ reasoning_content: "think " }),
        chatChunk({ reasoning: "more" }),
        chatChunk({ content: "ok" }, "stop")
      ])
      expect(dataOf(events, "reasoning")).toBe("think more")
    }))

  it.effect("in-band error chunks map by type and code", () =>
    Effect.gen(function*() {
      const server = yield* failureOf([{ error: { message: "The server had an error", type: "server_error" } }])
      expect(server._tag).toBe("TransientError")
      expect(server.message).toContain("The server had an error")
      const quota = yield* failureOf([chatChunk({ content: "a" }), {
        error: { message: "quota", code: "insufficient_quota" }
      }])
      expect(quota._tag).toBe("FatalError")
    }))

  it.effect("a stream without finish_reason was cut short: a retryable NetworkError", () =>
    Effect.gen(function*() {
      const error = yield* failureOf([chatChunk({ content: "partial" })])
      expect(error).toBeInstanceOf(L0Error.NetworkError)
      expect((error as L0Error.NetworkError).reason).toBe("eof")
    }))

  it.effect("chunks without choices (usage only, keep-alive) carry no output", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({
        stream: TestSource.make([
          chatChunk({ content: "x" }, "stop"),
          { object: "chat.completion.chunk", id: "keep-alive" },
          { object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }
        ]).stream
      })
      expect(result.usage).toEqual({
        inputTokens: 1,
        outputTokens: 2,
        totalTokens: 3,
        raw: { prompt_tokens: 1, completion_tokens: 2 }
      })
    }))
})

const responseEvent = (type: string, fields: Record<string, unknown> = {}) => ({ type, sequence_number: 0, ...fields })

describe("openaiResponses", () => {
  it.effect("response.incomplete reports its reason", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({
        stream: TestSource.make([
          responseEvent("response.output_text.delta", { delta: "Hi" }),
          responseEvent("response.incomplete", {
            response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } }
          })
        ]).stream
      })
      expect(result.state.finishReason).toBe("incomplete:max_output_tokens")
      expect(result.usage).toBeUndefined()
    }))

  it.effect("an incomplete response stopped by the content filter is a ContentError", () =>
    Effect.gen(function*() {
      const error = yield* failureOf([
        responseEvent("response.incomplete", {
          response: { status: "incomplete", incomplete_details: { reason: "content_filter" } }
        })
      ])
      expect(error._tag).toBe("ContentError")
    }))

  it.effect("response.failed and error events map by code", () =>
    Effect.gen(function*() {
      const failed = (error: unknown) => [
        responseEvent("response.created", { response: { status: "in_progress" } }),
        responseEvent("response.failed", { response: { status: "failed", error } })
      ]
      expect((yield* failureOf(failed({ code: "server_error", message: "boom" })))._tag).toBe("TransientError")
      expect((yield* failureOf(failed({ code: "rate_limit_exceeded", message: "slow down" })))._tag).toBe(
        "TransientError"
      )
      expect((yield* failureOf(failed({ code: "insufficient_quota", message: "pay" })))._tag).toBe("FatalError")
      expect((yield* failureOf(failed(null)))._tag).toBe("ModelError")
      const flat = yield* failureOf([
        responseEvent("error", { code: "rate_limit_exceeded", message: "Rate limit reached" })
      ])
      expect(flat._tag).toBe("TransientError")
      expect(flat.message).toContain("Rate limit reached")
    }))

  it.effect("refusal and reasoning deltas become Data; a function call without .done is emitted at output_item.done", () =>
    Effect.gen(function*() {
      const { events, exit } = yield* runChunks([
        responseEvent("response.reasoning_text.delta", { delta: "hm" }),
        responseEvent("response.refusal.delta", { delta: "No." }),
        responseEvent("response.output_text.delta", { delta: "" }),
        responseEvent("response.output_item.added", {
          item: { type: "function_call", id: "fc", call_id: "c", name: "f" }
        }),
        responseEvent("response.function_call_arguments.delta", { item_id: "fc", delta: "{}" }),
        responseEvent("response.function_call_arguments.delta", { item_id: "other", delta: "x" }),
        responseEvent("response.output_item.done", { item: { type: "function_call", id: "fc", arguments: "{}" } }),
        responseEvent("response.completed", { response: {} })
      ])
      expect(exit._tag).toBe("Success")
      expect(dataOf(events, "reasoning")).toBe("hm")
      expect(dataOf(events, "refusal")).toBe("No.")
      expect(events.filter((e) => e._tag === "ToolCall")).toEqual([L0Event.toolCall("c", "f", "{}")])
      const complete = events.at(-1) as L0Event.Complete
      expect(complete.state.finishReason).toBe("completed")
    }))

  it.effect("a stream without response.completed is a NetworkError", () =>
    Effect.gen(function*() {
      const error = yield* failureOf([responseEvent("response.output_text.delta", { delta: "Hi" })])
      expect(error._tag).toBe("NetworkError")
    }))
})

const anthropicText = (text: string) => ({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })
const anthropicStop = { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 3 } }

describe("anthropic", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["overloaded_error", "TransientError"],
    ["api_error", "TransientError"],
    ["rate_limit_error", "TransientError"],
    ["invalid_request_error", "FatalError"],
    ["authentication_error", "FatalError"],
    ["permission_error", "FatalError"]
  ]
  for (const [type, tag] of cases) {
    it.effect(`an in-band ${type} is a ${tag}`, () =>
      Effect.gen(function*() {
        const error = yield* failureOf([
          { type: "message_start", message: { usage: { input_tokens: 1 } } },
          anthropicText("Hel"),
          { type: "error", error: { type, message: "Something" } }
        ])
        expect(error._tag).toBe(tag)
        expect(error.message).toContain(type)
      }))
  }

  it.effect("text in content_block_start, signature deltas and unknown blocks", () =>
    Effect.gen(function*() {
      const { events } = yield* runChunks([
        { type: "message_start", message: {} },
        { type: "content_block_start", index: 0, content_block: { type: "text", text: "Pre" } },
        { type: "content_block_start", index: 1, content_block: { type: "server_tool_use", id: "s", name: "web" } },
        { type: "content_block_start", index: 2 },
        { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "sig" } },
        { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "" } },
        { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "" } },
        { type: "content_block_delta", index: 0 },
        anthropicText("fix"),
        anthropicStop,
        { type: "message_stop" }
      ])
      const complete = events.at(-1) as L0Event.Complete
      expect(complete.state.content).toBe("Prefix")
      expect(complete.usage).toEqual({
        inputTokens: undefined,
        outputTokens: 3,
        totalTokens: undefined,
        raw: { output_tokens: 3 }
      })
      expect(complete.state.toolCalls).toEqual([])
    }))

  it.effect("ping is not model output: it does not hold off the first-token timeout", () =>
    Effect.gen(function*() {
      const source = TestSource.make([
        { type: "message_start", message: {} },
        ...TestSource.paced(Array.from({ length: 10 }, () => ({ type: "ping" })), "400 millis")
      ])
      const fiber = yield* Effect.forkChild(
        Effect.flip(L0.run({ stream: source.stream, retry: noRetry, timeout: { initialToken: "1 second" } }))
      )
      for (let i = 0; i < 3; i++) yield* advance("400 millis")
      const error = yield* Fiber.join(fiber)
      expect(error._tag === "ExhaustedError" && error.lastError?._tag).toBe("NetworkError")
    }))

  it.effect("a stream without stop_reason is a NetworkError; no usage means undefined usage", () =>
    Effect.gen(function*() {
      const error = yield* failureOf([anthropicText("Hi")])
      expect(error._tag).toBe("NetworkError")
      const result = yield* L0.run({
        stream:
          TestSource.make([anthropicText("Hi"), { type: "message_delta", delta: { stop_reason: "end_turn" } }]).stream
      })
      expect(result.usage).toBeUndefined()
    }))
})

describe("vercelAi", () => {
  it.effect("AI SDK v5 parts", () =>
    Effect.gen(function*() {
      const { events } = yield* runChunks([
        { type: "start" },
        { type: "start-step", request: {}, warnings: [] },
        { type: "reasoning-delta", id: "r", text: "think" },
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", text: "Hello" },
        { type: "text-delta", id: "t", text: "" },
        { type: "tool-input-start", id: "c1", toolName: "f" },
        { type: "tool-input-delta", id: "c1", delta: "{\"a\":" },
        { type: "tool-call", toolCallId: "c1", toolName: "f", input: { a: 1 } },
        { type: "source", sourceType: "url", id: "s", url: "https://example.com" },
        { type: "finish-step", usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 }, finishReason: "tool-calls" },
        { type: "finish", finishReason: "tool-calls", totalUsage: { inputTokens: 5, outputTokens: 6, totalTokens: 11 } }
      ])
      const complete = events.at(-1) as L0Event.Complete
      expect(complete.state.content).toBe("Hello")
      expect(complete.state.toolCalls).toEqual([L0Event.toolCall("c1", "f", "{\"a\":1}")])
      expect(complete.state.finishReason).toBe("tool-calls")
      expect(complete.usage?.totalTokens).toBe(11)
      expect(dataOf(events, "reasoning")).toBe("think")
      expect(events.some((e) => e._tag === "Data" && (e.value as { type: string }).type === "source")).toBe(true)
    }))

  it.effect("AI SDK v4 parts", () =>
    Effect.gen(function*() {
      const { events } = yield* runChunks([
        { type: "step-start", messageId: "m", request: {}, warnings: [] },
        { type: "reasoning", textDelta: "hmm" },
        { type: "text-delta", textDelta: "Hi" },
        { type: "tool-call-streaming-start", toolCallId: "c", toolName: "g" },
        { type: "tool-call-delta", toolCallId: "c", toolName: "g", argsTextDelta: "{}" },
        { type: "tool-call", toolCallId: "c", toolName: "g", args: "{}" },
        { type: "step-finish", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, finishReason: "stop" },
        { type: "finish", finishReason: "stop" }
      ])
      const complete = events.at(-1) as L0Event.Complete
      expect(complete.state.content).toBe("Hi")
      expect(complete.state.toolCalls).toEqual([L0Event.toolCall("c", "g", "{}")])
      expect(complete.usage).toEqual({
        inputTokens: 1,
        outputTokens: 2,
        totalTokens: 3,
        raw: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }
      })
      expect(dataOf(events, "reasoning")).toBe("hmm")
    }))

  it.effect("an error part keeps the APICallError's status and Retry-After", () =>
    Effect.gen(function*() {
      const apiCallError = Object.assign(new Error("Too Many Requests"), {
        name: "AI_APICallError",
        statusCode: 429,
        responseHeaders: { "retry-after": "2" },
        isRetryable: true
      })
      const error = yield* failureOf([{ type: "start" }, { type: "error", error: apiCallError }])
      expect(error._tag).toBe("TransientError")
      expect(error.status).toBe(429)
      expect(error.retryAfter && Duration.toMillis(error.retryAfter)).toBe(2000)
    }))

  it.effect("abort, content-filter and a missing finish part fail the attempt", () =>
    Effect.gen(function*() {
      const aborted = yield* failureOf([{ type: "start" }, { type: "abort" }])
      expect(aborted._tag === "FatalError" && aborted.reason).toBe("aborted")
      const filtered = yield* failureOf([{ type: "text-delta", text: "x" }, {
        type: "finish",
        finishReason: "content-filter"
      }])
      expect(filtered._tag).toBe("ContentError")
      const cut = yield* failureOf([{ type: "text-delta", text: "x" }])
      expect(cut._tag).toBe("NetworkError")
    }))

  // finishReason, rawFinishReason → completes (with that finish reason), or fails as a cut stream (eof)
  const finishes: ReadonlyArray<readonly [unknown, unknown, boolean]> = [
    ["stop", "stop", true],
    ["stop", undefined, true], // Responses gives no raw reason for a whole answer
    ["length", undefined, true],
    ["tool-calls", undefined, true],
    ["other", "something_new", true], // a provider value the AI SDK does not map
    ["unknown", "max_output_tokens", true],
    ["a-future-value", "done", true],
    ["interrupted", undefined, false], // ai 7: the body ended before the provider's finish marker
    ["interrupted", "stop", false],
    ["other", undefined, false], // ai 6
    ["other", "", false],
    ["unknown", undefined, false], // ai 4 and 5
    ["error", undefined, false],
    ["error", "error", false],
    ["a-future-value", undefined, false],
    ["constructor", undefined, false],
    ["__proto__", undefined, false],
    [undefined, undefined, false],
    [undefined, "stop", false],
    [42, undefined, false],
    [null, "stop", false]
  ]
  for (const [finishReason, rawFinishReason, complete] of finishes) {
    it.effect(
      `a finish part with finishReason ${String(finishReason)} and rawFinishReason ${String(rawFinishReason)} ${
        complete ? "completes" : "is a cut stream, retried"
      }`,
      () =>
        Effect.gen(function*() {
          const finish = {
            type: "finish",
            finishReason,
            rawFinishReason,
            totalUsage: { inputTokens: 1, outputTokens: 2 }
          }
          const parts = [{ type: "start" }, { type: "text-delta", id: "t", text: "partial" }, finish]
          if (complete) {
            const result = yield* L0.run({ stream: TestSource.make(parts).stream, retry: noRetry })
            expect([result.text, result.state.finishReason, result.usage?.totalTokens]).toEqual([
              "partial",
              finishReason,
              3
            ])
            return
          }
          const error = yield* failureOf(parts)
          expect(error).toMatchObject({ _tag: "NetworkError", reason: "eof", category: "network" })
          expect(error.message).toContain("without a finish reason from the provider")
          // retried like any cut stream: the next attempt's whole answer is the result
          const source = TestSource.make(parts, [{ type: "text-delta", text: "whole" }, {
            type: "finish",
            finishReason: "stop"
          }])
          const retried = yield* L0.run({ stream: source.stream, retry: { backoff: "fixed", baseDelay: 0 } })
          expect([retried.text, source.calls.length]).toEqual(["whole", 2])
        })
    )
  }
})

describe("odd but valid shapes", () => {
  it.effect("chat: tool call pieces without index, function or id; non-record entries", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({
        stream: TestSource.make([
          chatChunk({
            tool_calls: ["junk", { id: "a" }, { function: { name: "f" } }, { function: { arguments: "{}" } }]
          }),
          { object: "chat.completion.chunk", choices: ["junk", { delta: "junk", finish_reason: "stop" }] }
        ]).stream
      })
      expect(result.state.toolCalls).toEqual([L0Event.toolCall("a", "f", "{}")])
    }))

  it.effect("responses: events with missing fields are skipped; a bare response.completed completes", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({
        stream: TestSource.make([
          responseEvent("response.created"),
          responseEvent("response.output_item.added", { item: { type: "message", id: "m" } }),
          responseEvent("response.output_item.added", {
            item: { type: "function_call", call_id: "c", name: "f", arguments: "{" }
          }),
          responseEvent("response.function_call_arguments.delta", {}),
          responseEvent("response.function_call_arguments.delta", { delta: "}" }),
          responseEvent("response.output_item.done", { item: { type: "message", id: "m" } }),
          responseEvent("response.function_call_arguments.done", {}),
          responseEvent("response.output_text.delta", { delta: 42 }),
          responseEvent("response.completed")
        ]).stream
      })
      expect(result.state.toolCalls).toEqual([L0Event.toolCall("c", "f", "{}")])
      expect(result.state.finishReason).toBe("completed")
      const error = yield* failureOf([responseEvent("response.failed")])
      expect(error._tag).toBe("ModelError")
    }))

  it.effect("anthropic: events with missing fields; null usage values keep earlier ones", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({
        stream: TestSource.make([
          { type: "message_start", message: "junk" },
          { type: "message_start", message: { usage: { input_tokens: 5, output_tokens: 1 } } },
          { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "t", name: "f" } },
          { type: "content_block_delta", index: 0, delta: { type: "input_json_delta" } },
          { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "{}" } },
          { type: "content_block_stop", index: 0 },
          { type: "message_delta", usage: { input_tokens: null, output_tokens: 9 } },
          { type: "message_delta", delta: { stop_reason: "tool_use" } }
        ]).stream
      })
      expect(result.state.toolCalls).toEqual([L0Event.toolCall("t", "f", "{}")])
      expect(result.usage).toEqual({
        inputTokens: 5,
        outputTokens: 9,
        totalTokens: 14,
        raw: { input_tokens: 5, output_tokens: 9 }
      })
    }))

  it.effect("vercel: tool calls without ids or input, empty reasoning, error parts without an error", () =>
    Effect.gen(function*() {
      const result = yield* L0.run({
        stream: TestSource.make([
          { type: "reasoning-delta", text: "" },
          { type: "text-delta" },
          { type: "tool-call" },
          { type: "finish-step", usage: "junk" },
          { type: "finish", finishReason: "stop", totalUsage: null }
        ]).stream
      })
      expect(result.state.toolCalls).toEqual([L0Event.toolCall("", "", "{}")])
      expect(result.usage).toBeUndefined()
      const error = yield* failureOf([{ type: "error", message: "rate limit exceeded" }])
      expect(error._tag).toBe("TransientError")
    }))

  it("Adapter.describe names the shape, never the content", () => {
    expect(Adapter.describe(null)).toBe("null")
    expect(Adapter.describe([1, 2])).toBe("an array of 2")
    expect(Adapter.describe(7)).toBe("a number")
    expect(Adapter.describe({ a: 1, type: 2 })).toBe("an object with keys {a, type}")
    const wide = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i]))
    expect(Adapter.describe({ ...wide, type: "x".repeat(100) })).toBe(
      `an object with keys {k0, k1, k2, k3, k4, k5, k6, k7, …} and type "${"x".repeat(64)}"`
    )
  })
})

describe("detection and the registry", () => {
  it.effect("an unknown chunk shape fails with a FatalError that describes it, not its content", () =>
    Effect.gen(function*() {
      const error = yield* failureOf([{ secretPayload: "sk-proj-abcdefghijklmnop", other: 1 }])
      expect(error._tag).toBe("FatalError")
      expect(error.message).toContain("{secretPayload, other}")
      expect(error.message).not.toContain("sk-proj")
    }))

  it.effect("a chunk the chosen adapter cannot read is a protocol FatalError", () =>
    Effect.gen(function*() {
      const adapters = [Adapters.openaiChat, Adapters.openaiResponses, Adapters.anthropic, Adapters.vercelAi,
        Adapters.events]
      for (const adapter of [...adapters, Adapters.text]) {
        const unreadable = adapter === Adapters.text ? { type: "message_start" }
          : adapter === Adapters.events ? 42 : "plain text"
        const error = yield* failureOf([unreadable], { adapter })
        expect(error._tag === "FatalError" && error.reason).toBe("protocol")
        expect(error.message).toContain(adapter.name)
      }
    }))

  it.effect("L0Events pass through: another L0 stream as the source, its Reset applied, its Complete dropped", () =>
    Effect.gen(function*() {
      const inner = TestSource.make(["a", "b", TestSource.fail(connectionReset())], ["x", "y"])
      const result = yield* L0.run({
        stream: () => L0.stream({ stream: inner.stream, retry: { baseDelay: "0 millis", backoff: "fixed" } })
      })
      expect(result.text).toBe("xy")
    }))

  it.effect("the adapter option takes a built-in name", () =>
    Effect.gen(function*() {
      const text = yield* L0.text({
        stream: TestSource.make([anthropicText("named"), anthropicStop]).stream,
        adapter: "anthropic"
      })
      expect(text).toBe("named")
    }))

  it.effect("Adapter.register puts a custom adapter before the built-in ones", () =>
    Effect.gen(function*() {
      const shouting = Adapter.make({
        name: "shouting-chat",
        detect: (chunk) => typeof chunk === "object" && chunk !== null && "choices" in chunk,
        make: () =>
          Adapter.stateless((_, out) => {
            out.push(L0Event.token("!"))
            return true
          })
      })
      const chunks = [chatChunk({ content: "a" }), chatChunk({}, "stop")]
      const text = yield* L0.text({ stream: TestSource.make(chunks).stream }).pipe(
        Effect.provide(Adapter.register(shouting))
      )
      expect(text).toBe("!!")
      expect(yield* L0.text({ stream: TestSource.make(chunks).stream })).toBe("a")
    }))

  it("detects each protocol and nothing else", () => {
    const detected = (chunk: unknown) => Adapter.detect(Adapter.Registry.defaultValue(), chunk)?.name
    expect(detected("x")).toBe("text")
    expect(detected(L0Event.token("x"))).toBe("events")
    expect(detected({ choices: [] })).toBe("openai-chat")
    expect(detected({ error: { message: "m" } })).toBe("openai-chat")
    expect(detected({ type: "message_start" })).toBe("anthropic")
    expect(detected({ type: "error", error: { type: "overloaded_error" } })).toBe("anthropic")
    expect(detected({ type: "error", sequence_number: 1, code: "x" })).toBe("openai-responses")
    expect(detected({ type: "response.created" })).toBe("openai-responses")
    expect(detected({ type: "text-delta", text: "x" })).toBe("vercel-ai")
    expect(detected({ type: "mystery" })).toBeUndefined()
    expect(detected({ type: 1 })).toBeUndefined()
    expect(detected(42)).toBeUndefined()
  })
})
