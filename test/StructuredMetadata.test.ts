import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { JsonRepair, L0Event, Structured } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import * as fc from "fast-check"
import * as z from "zod"
import { corpus } from "./json-corpus.js"
import { advance, connectionReset, httpError, retry, withRetries } from "./support.js"

const Order = Schema.Struct({
  id: Schema.String,
  items: Schema.Array(Schema.Struct({ name: Schema.String, price: Schema.Number }))
})
const valid = `{"id": "A1", "items": [{"name": "tea", "price": 3}]}`
const order = { id: "A1", items: [{ name: "tea", price: 3 }] }

const repairsOf = (text: string): ReadonlyArray<JsonRepair.Repair> => {
  const parsed = JsonRepair.parseWithRepairs(text)
  if (Result.isFailure(parsed)) throw new Error(`expected a success, got ${parsed.failure.message}`)
  return parsed.success.repairs
}

const isStrictJson = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

describe("Structured.structuredWithMetadata", () => {
  it.effect("standard JSON: the raw text, not repaired, one attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": "A1", `, `"items": [{"name": "tea", "price": 3}]}`])
      const result = yield* Structured.structuredWithMetadata(Order, { stream: source.stream })
      expect(result.value).toStrictEqual(order)
      expect(result.raw).toBe(valid)
      expect([result.repaired, result.repairs, result.attempts]).toEqual([false, [], 1])
      expect(result.result.text).toBe(valid)
    }))

  it.effect("a repaired reply says what was repaired", () =>
    Effect.gen(function*() {
      const reply = "Here it is:\n```json\n{'id': 'A1', items: [{\"name\": \"tea\", \"price\": 3,},], done: True}\n```"
      const result = yield* Structured.structuredWithMetadata(
        Schema.Struct({ id: Schema.String, items: Order.fields.items, done: Schema.Boolean }),
        { stream: TestSource.make([reply]).stream }
      )
      expect(result.value).toStrictEqual({ ...order, done: true })
      expect(result.raw).toBe(reply)
      expect(result.repaired).toBe(true)
      expect(result.repairs).toEqual(["fence", "prose", "quotes", "unquotedKeys", "trailingCommas", "literals"])
    }))

  it.effect("attempts count content retries, network retries and fallbacks; the metadata is the successful attempt's", () =>
    Effect.gen(function*() {
      const primary = TestSource.make([`{"id": "A1"`], [TestSource.fail(connectionReset())], [`{"id": 7}`])
      const fallback = TestSource.make([TestSource.fail(httpError(500))], ["```\n" + valid + "\n```"])
      const result = yield* withRetries(
        Structured.structuredWithMetadata(z.object({ id: z.string(), items: z.array(z.unknown()) }), {
          stream: primary.stream,
          fallbacks: [fallback.stream],
          retry: { ...retry, maxAttempts: 2 }
        }),
        4
      )
      expect(result.attempts).toBe(5)
      expect(primary.calls.length + fallback.calls.length).toBe(5)
      expect(result.raw).toBe("```\n" + valid + "\n```")
      expect(result.repairs).toEqual(["fence"])
      expect(result.result.state.fallbackIndex).toBe(1)
    }))

  it.effect("with toolCall, raw is the tool call's arguments", () =>
    Effect.gen(function*() {
      const source = TestSource.make([L0Event.toolCall("c1", "order", `{"id": "A1", "items": [],}`)])
      const result = yield* Structured.structuredWithMetadata(Order, { stream: source.stream, toolCall: "order" })
      expect(result.raw).toBe(`{"id": "A1", "items": [],}`)
      expect(result.repairs).toEqual(["trailingCommas"])
    }))

  it.effect("with autoCorrect: false, nothing is repaired", () =>
    Effect.gen(function*() {
      const result = yield* Structured.structuredWithMetadata(Order, {
        stream: TestSource.make([` ${valid}\n`]).stream,
        autoCorrect: false
      })
      expect([result.repaired, result.repairs]).toEqual([false, []])
    }))

  it.effect("invalid options fail before any attempt, as with structured", () =>
    Effect.gen(function*() {
      const source = TestSource.make([valid])
      const error = yield* Effect.flip(
        Structured.structuredWithMetadata(Order, { stream: source.stream, toolCall: "" })
      )
      expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(source.calls).toHaveLength(0)
    }))
})

describe("Structured.structuredStreamWithMetadata", () => {
  it.effect("partials, then a Final with the value and the metadata structuredWithMetadata returns", () =>
    Effect.gen(function*() {
      const reply = ["```json\n", `{"id": "A1", `, TestSource.sleep("1 millis"),
        `"items": [{"name": "tea", "price": 3,}]}`, "\n```"]
      const streamed = TestSource.make(reply)
      const fiber = yield* Effect.forkChild(
        Stream.runCollect(Structured.structuredStreamWithMetadata(Order, { stream: streamed.stream }))
      )
      yield* advance("1 millis")
      const events = yield* Fiber.join(fiber)
      expect(events.slice(0, -1).every((event) => event._tag === "Partial")).toBe(true)
      expect(events.length).toBeGreaterThan(1)
      const final = events.at(-1)!
      if (final._tag !== "Final") throw new Error(`expected Final, got ${final._tag}`)
      const whole = yield* Structured.structuredWithMetadata(Order, {
        stream: TestSource.make([reply.filter((part) => typeof part === "string").join("")]).stream
      })
      expect(final.value).toStrictEqual(order)
      expect(final.metadata.raw).toBe(whole.raw)
      expect([final.metadata.repaired, final.metadata.repairs, final.metadata.attempts]).toEqual([true, ["fence",
        "trailingCommas"], 1])
      expect(final.metadata.result.text).toBe(whole.result.text)
    }))

  it.effect("after a retry: a Reset, and attempts counts every attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": 7, "items": []}`], [TestSource.fail(connectionReset())], [valid])
      const events = yield* withRetries(
        Stream.runCollect(Structured.structuredStreamWithMetadata(Order, { stream: source.stream, retry })),
        2
      )
      expect(events.map((event) => event._tag)).toContain("Reset")
      const final = events.at(-1)!
      if (final._tag !== "Final") throw new Error(`expected Final, got ${final._tag}`)
      expect(final.value).toStrictEqual(order)
      expect([final.metadata.attempts, final.metadata.repaired, final.metadata.raw]).toEqual([3, false, valid])
      expect(final.metadata.result.state.modelRetryCount).toBe(1)
    }))

  it.effect("structuredStream's Final stays without metadata", () =>
    Effect.gen(function*() {
      const events = yield* Stream.runCollect(
        Structured.structuredStream(Order, { stream: TestSource.make([valid]).stream })
      )
      expect(events.at(-1)).toStrictEqual({ _tag: "Final", value: order })
    }))

  it.effect("invalid options fail before any attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make([valid])
      const error = yield* Effect.flip(
        Stream.runDrain(
          Structured.structuredStreamWithMetadata(Order, {
            stream: source.stream,
            autoCorrect: "yes" as unknown as boolean
          })
        )
      )
      expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(source.calls).toHaveLength(0)
    }))
})

describe("JsonRepair.parseWithRepairs", () => {
  it("on the corpus, no repairs exactly when the text is standard JSON", () => {
    for (const { expected, input, name } of corpus) {
      const parsed = JsonRepair.parseWithRepairs(input)
      if (Result.isFailure(parsed)) continue
      expect(parsed.success.value, name).toStrictEqual(expected)
      const repairs = parsed.success.repairs.filter((repair) => repair !== "unsafeKeys")
      expect(repairs.length === 0, `${name}: ${repairs.join(", ")}`).toBe(isStrictJson(input))
    }
  })

  it("reports nothing for any standard JSON object or array, however it is spaced", () => {
    const container = fc.oneof(fc.array(fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue()))
    fc.assert(
      fc.property(container, fc.constantFrom(undefined, 2, "\t"), (json, space) => {
        const text = JSON.stringify(json, null, space)
        expect(repairsOf(` \n${text}\r\n`).filter((repair) => repair !== "unsafeKeys")).toEqual([])
      }),
      { numRuns: 300 }
    )
  })

  it("names each kind of repair", () => {
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<JsonRepair.Repair>]> = [
      ["```json\n[1]\n```", ["fence"]],
      ["The answer: [1] as asked", ["prose"]],
      [`{'a': "b"}`, ["quotes"]],
      [`{a: 1}`, ["unquotedKeys"]],
      [`{"a": b}`, ["unquotedValues"]],
      [`{"a": 1 /* one */}`, ["comments"]],
      [`[1, 2,]`, ["trailingCommas"]],
      [`[None, False]`, ["literals"]],
      [`[+1, .5]`, ["numbers"]],
      [`{"a": "say "hi" now"}`, ["unescapedQuotes"]],
      [`{"a": "two\nlines"}`, ["controlCharacters"]],
      [`{"a": "\\d+"}`, ["escapes"]],
      [`{"a" 1 "b": 2}`, ["syntax"]],
      [`{"a": [1, 2`, ["truncated"]],
      [`[1, ...]`, ["ellipsis"]],
      [`{"__proto__": 1, "a": 2}`, ["unsafeKeys"]],
      ["```\n42\n```", ["fence"]]
    ]
    for (const [text, repairs] of cases) expect(repairsOf(text), text).toEqual(repairs)
  })

  it("fails like parse on bad input", () => {
    expect(Result.isFailure(JsonRepair.parseWithRepairs("no json here"))).toBe(true)
    expect(Result.isFailure(JsonRepair.parseWithRepairs(42 as unknown as string))).toBe(true)
    expect(Result.isFailure(JsonRepair.parseWithRepairs("[1]", { maxDepth: 0 }))).toBe(true)
  })
})
