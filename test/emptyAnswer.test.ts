import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as LanguageModel from "effect/ai/LanguageModel"
import type * as Response from "effect/ai/Response"
import { Consensus, EffectAi, L0, L0Async, L0Event } from "effect-l0"
import type { L0Error } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { lastErrorOf, noDelay } from "./support.js"

/** An OpenAI Chat Completions stream that finishes (`stop`) without a character. */
const emptyChat = [
  { id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: "" } }] },
  { id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }
]

const isEmptyAnswer = (error: unknown): boolean =>
  (error as L0Error.CategoryError)._tag === "ContentError" && (error as L0Error.ContentError).rule === "empty"

describe("an empty answer is not a success by default", () => {
  it.effect("no text, or whitespace only, is a ContentError that retries", () =>
    Effect.gen(function*() {
      const source = TestSource.make([""], [" \n\t "], ["ok"])
      expect(yield* L0.text({ stream: source.stream, retry: noDelay })).toBe("ok")
      expect(source.calls).toHaveLength(3)
      expect(isEmptyAnswer(source.calls[1]!.context.previousError)).toBe(true)
      expect(source.calls[1]!.context.previousError?.message).toContain("allowEmpty")
    }))

  it.effect("a provider stream that finishes with no text is retried; always empty, the run fails after maxAttempts", () =>
    Effect.gen(function*() {
      const source = TestSource.make(emptyChat)
      const error = yield* Effect.flip(L0.text({ stream: source.stream, adapter: "openai-chat", retry: noDelay }))
      expect(error._tag).toBe("ExhaustedError")
      expect(isEmptyAnswer(lastErrorOf(error))).toBe(true)
      // a content error consumes maxAttempts (3)
      expect(source.calls).toHaveLength(3)
    }))

  it.effect("allowEmpty: true accepts it as \"\"", () =>
    Effect.gen(function*() {
      const source = TestSource.make(emptyChat)
      expect(yield* L0.text({ stream: source.stream, adapter: "openai-chat", allowEmpty: true })).toBe("")
      expect(source.calls).toHaveLength(1)
    }))

  it.effect("an answer of tool calls only, or of data only, is an answer", () =>
    Effect.gen(function*() {
      const call = L0Event.toolCall("call_1", "lookup", `{"q": "x"}`)
      const calls = TestSource.make([call])
      const result = yield* L0.run({ stream: calls.stream })
      expect(result.text).toBe("")
      expect(result.state.toolCalls).toEqual([call])
      const data = TestSource.make([L0Event.data({ type: "image", url: "https://example.com/a.png" })])
      expect(yield* L0.text({ stream: data.stream })).toBe("")
      expect(calls.calls.length + data.calls.length).toBe(2)
    }))

  it.effect("allowEmpty is checked like every option", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["ok"])
      const error = yield* Effect.flip(L0.text({ stream: source.stream, allowEmpty: "yes" as unknown as boolean }))
      expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(error.message).toBe(`Invalid option "allowEmpty": expected a boolean, got a string`)
      expect(source.calls).toHaveLength(0)
    }))

  it.effect("structured output retries an empty answer with the same error, and decodes the next", () =>
    Effect.gen(function*() {
      const source = TestSource.make([""], [`{"name": "Ada"}`])
      const value = yield* L0.structured(Schema.Struct({ name: Schema.String }), {
        stream: source.stream,
        retry: noDelay
      })
      expect(value).toStrictEqual({ name: "Ada" })
      expect(isEmptyAnswer(source.calls[1]!.context.previousError)).toBe(true)
    }))

  it.effect("consensus votes on the retried answers, not on empty ones", () =>
    Effect.gen(function*() {
      const sources = [TestSource.make([""], ["Paris"]), TestSource.make(["Paris"]), TestSource.make([" "], ["Paris"])]
      const result = yield* Consensus.consensus(sources.map((source) => ({ stream: source.stream, retry: noDelay })))
      // without the retries, "" and " " would be two votes for an empty answer
      expect(result.value).toBe("Paris")
      expect(result.candidates.map((candidate) => candidate.value)).toEqual(["Paris"])
      expect(result.outputs.every((output) => output.value === "Paris")).toBe(true)
    }))

  it("L0Async rejects an answer that stays empty, and resolves \"\" with allowEmpty", async () => {
    const always = TestSource.make([""])
    const rejected = await L0Async.text({ stream: always.stream, retry: noDelay }).then(() => undefined, (e) => e)
    expect((rejected as L0Error.L0Error)._tag).toBe("ExhaustedError")
    expect(isEmptyAnswer(lastErrorOf(rejected as L0Error.L0Error))).toBe(true)
    expect(await L0Async.text({ stream: TestSource.make([""]).stream, allowEmpty: true })).toBe("")
  })

  it.effect("EffectAi retries a model's empty answer (framing parts are no output), and allowEmpty accepts it", () =>
    Effect.gen(function*() {
      const empty: Array<Response.StreamPartEncoded> = [
        { type: "response-metadata", id: "resp_1", modelId: "test-model" },
        { type: "text-start", id: "t" },
        { type: "text-end", id: "t" },
        { type: "finish", reason: "stop", usage: { inputTokens: { total: 7 }, outputTokens: { total: 0 } } }
      ]
      const full: Array<Response.StreamPartEncoded> = [
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "Hello" },
        { type: "text-end", id: "t" },
        { type: "finish", reason: "stop", usage: { inputTokens: { total: 7 }, outputTokens: { total: 1 } } }
      ]
      let calls = 0
      const model = (...answers: ReadonlyArray<ReadonlyArray<Response.StreamPartEncoded>>) => {
        calls = 0
        return Layer.effect(
          LanguageModel.LanguageModel,
          LanguageModel.make({
            generateText: () => Effect.succeed([]),
            streamText: () => Stream.suspend(() => Stream.fromIterable(answers[Math.min(calls++, answers.length - 1)]!))
          })
        )
      }
      const retried = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(EffectAi.layer({ models: [model(empty, full)], retry: noDelay }))
      )
      expect(retried.text).toBe("Hello")
      expect(calls).toBe(2)
      const accepted = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(EffectAi.layer({ models: [model(empty, full)], allowEmpty: true }))
      )
      expect(accepted.text).toBe("")
      expect(calls).toBe(1)
    }))
})
