import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { L0, L0Event } from "effect-l0"
import type { L0Error } from "effect-l0"
import { ProviderServer, TestSource } from "effect-l0/testing"
import OpenAI from "openai"
import type { Client } from "./clients.js"
import { allClients, API_KEY, sdkClients } from "./clients.js"
import { connectionReset, failureOf, lastErrorOf, noDelay } from "./support.js"

const TEXT = "The quick brown fox jumps over the lazy dog."
const once = { maxRetries: 0 } as const
const retry = { baseDelay: "1 millis", maxDelay: "20 millis", backoff: "fixed" } as const
const timeout = { initialToken: "2 seconds", interToken: "2 seconds" } as const

/** The first event of each protocol, whole. */
const firstEvent: Record<ProviderServer.Protocol, string> = {
  "openai-chat": `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",` +
    `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`,
  "anthropic": `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",` +
    `"role":"assistant","content":[],"model":"m","stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}\n\n`,
  "openai-responses": `event: response.created\ndata: {"type":"response.created","sequence_number":0,` +
    `"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}\n\n`
}

/** 200 bodies that never complete a stream, and the error each client must fail with. */
const unfinished: ReadonlyArray<readonly [string, (protocol: ProviderServer.Protocol) => string]> = [
  ["an empty body", () => ""],
  ["only SSE comments", () => ": ping\n\n: ping\n\n"],
  ["a clean close inside the first event", (protocol) => firstEvent[protocol].slice(0, 50)],
  ["data: [DONE] as the first event", () => "data: [DONE]\n\n"],
  ["lines without the data: prefix", (protocol) => firstEvent[protocol].replace("data: ", "")]
]

/**
 * The openai SDK itself throws a SyntaxError (a ModelError, retried too) on
 * an event whose data is not JSON: cut short, or an `event:` line without data.
 */
const expectedError = (client: Client, label: string) =>
  client.name.startsWith("openai SDK") &&
    (label.includes("inside") || (label.includes("without") && client.protocol === "openai-responses"))
    ? { _tag: "ModelError" }
    : { _tag: "NetworkError", reason: "eof" }

const run = (client: Client, script: ProviderServer.Script, options: Partial<L0.L0Options> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* ProviderServer.start(script)
    const exit = yield* Effect.exit(L0.run({ stream: client.source(server), retry, timeout, ...options }))
    return { server, exit }
  }))

const json = { headers: { "content-type": "application/json" } }

describe("a stream that never completed is not a success", () => {
  for (const client of allClients) {
    describe(client.name, () => {
      for (const [label, body] of unfinished) {
        it.live(`${label}: a retryable error, never ""; the retry gets the answer`, () =>
          Effect.gen(function*() {
            const failed = yield* run(client, [ProviderServer.replay(body(client.protocol))], { retry: once })
            expect(lastErrorOf(failureOf(failed.exit))).toMatchObject(expectedError(client, label))
            expect(failed.server.requests.length).toBe(1)
            const recovered = yield* run(client, [ProviderServer.replay(body(client.protocol)), TEXT])
            expect(Exit.isSuccess(recovered.exit) && recovered.exit.value.text).toBe(TEXT)
            expect(recovered.server.requests.length).toBe(2)
          }))
      }

      it.live("an explicit adapter does not make an empty body a success", () =>
        Effect.gen(function*() {
          const { exit } = yield* run(client, [ProviderServer.replay("")], { retry: once, adapter: client.protocol })
          const error = lastErrorOf(failureOf(exit))
          expect(error).toMatchObject({ _tag: "NetworkError", reason: "eof" })
          expect(error.message).toContain(`The ${client.protocol} stream ended before its first chunk`)
        }))

      it.live("a whole JSON completion to a streamed request is decoded as the answer", () =>
        Effect.gen(function*() {
          const usage = { inputTokens: 3, outputTokens: 7 }
          const { exit, server } = yield* run(client, [ProviderServer.unstreamed(TEXT, { usage })])
          expect(Exit.isSuccess(exit)).toBe(true)
          if (!Exit.isSuccess(exit)) return
          const { state, text, usage: reported } = exit.value
          expect(text).toBe(TEXT)
          expect(state.finishReason).toBe(
            client.protocol === "anthropic" ? "end_turn" : client.protocol === "openai-chat" ? "stop" : "completed"
          )
          expect(reported).toMatchObject({ inputTokens: 3, outputTokens: 7, totalTokens: 10 })
          expect(server.requests[0]!.body).toMatchObject({ stream: true })
          expect(server.requests.length).toBe(1)
        }))

      it.live("a whole JSON completion with tool calls gives the calls, complete", () =>
        Effect.gen(function*() {
          const toolCalls = [
            { id: "call_a", name: "lookup", arguments: `{"q":"fox"}` },
            { id: "call_b", name: "weather", arguments: `{"city":"Paris"}` }
          ]
          const { exit } = yield* run(client, [ProviderServer.unstreamed("", { toolCalls })])
          expect(
            Exit.isSuccess(exit) &&
              exit.value.state.toolCalls.map(({ arguments: a, id, name }) => ({ id, name, arguments: a }))
          )
            .toEqual(toolCalls)
        }))

      it.live("a JSON body that is no completion is a FatalError; invalid JSON a ModelError", () =>
        Effect.gen(function*() {
          const unknown = yield* run(client, [ProviderServer.replay(`{"hello":"world"}`, json)], { retry: once })
          const error = lastErrorOf(failureOf(unknown.exit))
          expect(error._tag).toBe("FatalError")
          expect(error.message).toContain("No adapter recognizes the first chunk, an object with keys {hello}")
          const invalid = yield* run(client, [ProviderServer.replay(`{"choices": [`, json)], { retry: once })
          const malformed = lastErrorOf(failureOf(invalid.exit))
          expect(malformed._tag).toBe("ModelError")
          expect(malformed.message).toContain("answered with JSON instead of a stream")
          const empty = yield* run(client, [ProviderServer.replay("", json)], { retry: once })
          expect(lastErrorOf(failureOf(empty.exit))).toMatchObject({ _tag: "NetworkError", reason: "eof" })
        }))

      it.live("with continuation, an empty answer after a cut is retried, never the checkpoint alone", () =>
        Effect.gen(function*() {
          const { exit, server } = yield* run(
            client,
            [ProviderServer.reply(TEXT, { fault: ProviderServer.resetAfter(3) }), ProviderServer.replay("")],
            { continuation: true, retry: { ...retry, maxRetries: 2 } }
          )
          expect(lastErrorOf(failureOf(exit))).toMatchObject({ _tag: "NetworkError", reason: "eof" })
          expect(server.requests.length).toBe(3)
        }))
    })
  }

  for (const client of sdkClients) {
    it.live(`${client.name} in an async factory: a JSON answer reads as no events, so a retryable eof`, () =>
      Effect.gen(function*() {
        const { exit } = yield* Effect.scoped(Effect.gen(function*() {
          const server = yield* ProviderServer.start([ProviderServer.unstreamed(TEXT)])
          const source = client.source(server)
          const wrapped: L0.SourceFactory = async (ctx) => (await source(ctx)) as AsyncIterable<unknown>
          return { exit: yield* Effect.exit(L0.text({ stream: wrapped, retry: once, timeout })) }
        }))
        expect(lastErrorOf(failureOf(exit))).toMatchObject({ _tag: "NetworkError", reason: "eof" })
      }))
  }
})

describe("an SDK call without stream: true", () => {
  it.live("is an options FatalError that names what the factory returned, as before", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([ProviderServer.unstreamed(TEXT)])
      const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
      const error = yield* Effect.flip(L0.text({
        stream: ({ signal }) =>
          client.chat.completions.create({ model: "m", messages: [] }, { signal }) as unknown as AsyncIterable<unknown>,
        retry: once
      }))
      expect(lastErrorOf(error)).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(error.message).toContain("options.stream must return an AsyncIterable")
    })))
})

describe("the end of an in-process source", () => {
  const eof = { _tag: "NetworkError", reason: "eof" }

  const errorOf = (options: Omit<L0.L0Options, "retry">) =>
    Effect.map(Effect.flip(L0.run({ ...options, retry: once })), lastErrorOf)

  it.effect("a source without a single chunk fails with a retryable eof NetworkError", () =>
    Effect.gen(function*() {
      expect(yield* errorOf({ stream: TestSource.make([]).stream })).toMatchObject(eof)
      expect(yield* errorOf({ stream: () => Stream.empty })).toMatchObject(eof)
      const named = yield* errorOf({ stream: TestSource.make([]).stream, adapter: "openai-chat" })
      expect(named).toMatchObject(eof)
      expect(named.message).toContain("openai-chat")
      const source = TestSource.make([], ["ok"])
      expect(yield* L0.text({ stream: source.stream, retry: noDelay })).toBe("ok")
      expect(source.calls).toHaveLength(2)
    }))

  it.effect("strings have no end marker: once a chunk came, the clean end completes, even with no text", () =>
    Effect.gen(function*() {
      expect(yield* L0.text({ stream: TestSource.make([""]).stream, retry: once, allowEmpty: true })).toBe("")
      expect(yield* L0.text({ stream: TestSource.make(["a", "b"]).stream, retry: once })).toBe("ab")
    }))

  it.effect("a protocol chunk without its finish marker still fails when named explicitly", () =>
    Effect.gen(function*() {
      const chunk = {
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }]
      }
      expect(yield* errorOf({ stream: TestSource.make([chunk]).stream, adapter: "openai-chat" })).toMatchObject(eof)
    }))

  it.effect("with continuation, an attempt without a chunk is retried: the answer is never the checkpoint alone", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["Hel", TestSource.fail(connectionReset())], [], ["lo"])
      const events = yield* Stream.runCollect(L0.stream({ stream: source.stream, continuation: true, retry: noDelay }))
      expect(events.reduce(L0Event.applyTo, "")).toBe("Hello")
      expect(source.calls.map((call) => call.context.checkpoint)).toEqual(["", "Hel", "Hel"])
      const cut = TestSource.make(["Hel", TestSource.fail(connectionReset())], [])
      const error: L0Error.L0Error = yield* Effect.flip(
        L0.text({ stream: cut.stream, continuation: true, retry: { ...noDelay, maxRetries: 2 } })
      )
      expect(lastErrorOf(error)).toMatchObject(eof)
    }))
})

describe("whole completions, decoded by the adapters", () => {
  const runWhole = (whole: unknown) => L0.run({ stream: TestSource.make([whole]).stream, retry: once })

  const dataOf = (events: ReadonlyArray<L0Event.L0Event>) => events.flatMap((e) => e._tag === "Data" ? [e.value] : [])

  const eventsOf = (whole: unknown) =>
    Stream.runCollect(L0.stream({ stream: TestSource.make([whole]).stream, retry: once }))

  it.effect("an OpenAI chat.completion: reasoning, text, refusal, finish reason and usage", () =>
    Effect.gen(function*() {
      const whole = {
        object: "chat.completion",
        choices: [{
          index: 0,
          message: { role: "assistant", content: "Hi", reasoning_content: "think", refusal: "no" },
          finish_reason: "stop"
        }],
        usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 }
      }
      const events = yield* eventsOf(whole)
      expect(events.map((e) => e._tag)).toEqual(["Data", "Token", "Data", "Complete"])
      expect(dataOf(events)).toEqual([{ type: "reasoning", text: "think" }, { type: "refusal", text: "no" }])
      const result = yield* runWhole(whole)
      expect(result).toMatchObject({ text: "Hi", state: { finishReason: "stop" }, usage: { totalTokens: 3 } })
      const calls = yield* runWhole({
        object: "chat.completion",
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [null, { id: "call_1", function: { name: "f", arguments: "{}" } }]
          },
          finish_reason: "tool_calls"
        }]
      })
      expect(calls.state.toolCalls).toEqual([L0Event.toolCall("call_1", "f", "{}")])
      const filtered = yield* Effect.flip(
        runWhole({ ...whole, choices: [{ ...whole.choices[0], finish_reason: "content_filter" }] })
      )
      expect(lastErrorOf(filtered)._tag).toBe("ContentError")
    }))

  it.effect("an Anthropic message: thinking, text and tool_use blocks, stop reason and usage", () =>
    Effect.gen(function*() {
      const whole = {
        type: "message",
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature: "s" },
          { type: "text", text: "Looking it up." },
          { type: "tool_use", id: "toolu_1", name: "lookup", input: { q: "fox" } },
          "not a block",
          { type: "tool_use", id: "toolu_2", name: "now" }
        ],
        stop_reason: "tool_use",
        usage: { input_tokens: 5, output_tokens: 9 }
      }
      const events = yield* eventsOf(whole)
      expect(dataOf(events)).toEqual([{ type: "reasoning", text: "hmm" }])
      const result = yield* runWhole(whole)
      expect(result.text).toBe("Looking it up.")
      expect(result.state.toolCalls).toEqual([
        L0Event.toolCall("toolu_1", "lookup", `{"q":"fox"}`),
        L0Event.toolCall("toolu_2", "now", "{}")
      ])
      expect(result.state.finishReason).toBe("tool_use")
      expect(result.usage).toMatchObject({ inputTokens: 5, outputTokens: 9, totalTokens: 14 })
    }))

  it.effect("an OpenAI response: reasoning summary, text, refusal, function call, status and usage; failed and unfinished ones fail", () =>
    Effect.gen(function*() {
      const whole = {
        object: "response",
        status: "completed",
        output: [
          { type: "reasoning", summary: [{ type: "summary_text", text: "plan" }] },
          {
            type: "message",
            content: [{ type: "output_text", text: "Done." }, { type: "refusal", refusal: "not that" }]
          },
          { type: "function_call", call_id: "call_1", name: "lookup", arguments: `{"q":"fox"}` }
        ],
        usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 }
      }
      const events = yield* eventsOf(whole)
      expect(dataOf(events)).toEqual([{ type: "reasoning", text: "plan" }, { type: "refusal", text: "not that" }])
      const result = yield* runWhole(whole)
      expect(result).toMatchObject({ text: "Done.", state: { finishReason: "completed" }, usage: { totalTokens: 3 } })
      expect(result.state.toolCalls).toEqual([L0Event.toolCall("call_1", "lookup", `{"q":"fox"}`)])
      const incomplete = yield* runWhole({
        ...whole,
        status: "incomplete",
        incomplete_details: { reason: "max_output_tokens" }
      })
      expect(incomplete.state.finishReason).toBe("incomplete:max_output_tokens")
      const error = { code: "server_error", message: "boom" }
      const failed = yield* Effect.flip(runWhole({ object: "response", status: "failed", output: [], error }))
      expect(lastErrorOf(failed)._tag).toBe("TransientError")
      const unfinished = yield* Effect.flip(runWhole({ object: "response", status: "in_progress", output: [] }))
      expect(lastErrorOf(unfinished)).toMatchObject({ _tag: "NetworkError", reason: "eof" })
    }))
})
