import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as Stream from "effect/Stream"
import { EventBus, Guardrail, L0, L0Event } from "effect-l0"
import type { L0Error, Structured } from "effect-l0"

type AnyL0Error = L0Error.L0Error
import { ProviderServer, TestSource } from "effect-l0/testing"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { loadFixture } from "./fixtureFiles.js"
import { advance, ampleTimeout, connectionReset, lastErrorOf, retry, withRetries } from "./support.js"

const Item = Schema.Struct({ name: Schema.String, price: Schema.Number })
const Order = Schema.Struct({ id: Schema.String, items: Schema.Array(Item) })
const valid = `{"id": "A1", "items": [{"name": "tea", "price": 3}]}`
const order = { id: "A1", items: [{ name: "tea", price: 3 }] }
/** One attempt: a reply that does not decode fails at once. */
const once = { maxAttempts: 1, maxRetries: 0 } as const

describe("L0.structured", () => {
  it.effect("decodes a JSON reply into the schema's type", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": "A1", `, `"items": [{"name": "tea", "price": 3}]}`])
      expect(yield* L0.structured(Order, { stream: source.stream })).toStrictEqual(order)
    }))

  it.effect("decodes to a class and through transformations (Type differs from the JSON)", () =>
    Effect.gen(function*() {
      class Price extends Schema.Class<Price>("Price")({ amount: Schema.NumberFromString, currency: Schema.String }) {
        get label(): string {
          return `${this.amount.toFixed(2)} ${this.currency}`
        }
      }
      const source = TestSource.make([`{"amount": "12.5", "currency": "EUR"}`])
      const price = yield* L0.structured(Price, { stream: source.stream })
      expect(price).toBeInstanceOf(Price)
      expect(price.label).toBe("12.50 EUR")
      const partials = TestSource.make([`{"amount": "12.5", `, TestSource.sleep("1 millis"), `"currency": "EUR"}`])
      const fiber = yield* Effect.forkChild(Stream.runCollect(L0.structuredStream(Price, { stream: partials.stream })))
      yield* advance("1 millis")
      const events = yield* Fiber.join(fiber)
      expect(events[0]).toStrictEqual({ _tag: "Partial", value: { amount: "12.5" } })
      const last = events.at(-1)
      expect(last?._tag === "Final" && last.value.label).toBe("12.50 EUR")
    }))

  it.effect("repairs a fenced reply with prose by default", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["Here you go:\n```json\n",
        `{'id': 'A1', items: [{"name": "tea", "price": 3,},],}`, "\n```"])
      expect(yield* L0.structured(Order, { stream: source.stream })).toStrictEqual(order)
      expect(source.calls).toHaveLength(1)
    }))

  it.effect("autoCorrect: false fails on fenced JSON, accepts plain JSON", () =>
    Effect.gen(function*() {
      const fenced = TestSource.make(["```json\n", valid, "\n```"])
      const error = yield* Effect.flip(
        L0.structured(Order, { stream: fenced.stream, autoCorrect: false, retry: { maxAttempts: 1 } })
      )
      expect(error._tag).toBe("ExhaustedError")
      const last = lastErrorOf(error)
      expect(last).toMatchObject({ _tag: "ContentError", rule: "json" })
      expect(last?.message).toMatch(/^Invalid JSON: .*\(autoCorrect is off\)$/s)
      const plain = TestSource.make([valid])
      expect(yield* L0.structured(Order, { stream: plain.stream, autoCorrect: false })).toStrictEqual(order)
    }))

  it.effect("a schema failure is a ContentError whose message names every path and what was there", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": 7, "items": [{"name": "tea", "price": "3 EUR"}, {"price": 1}]}`])
      const error = yield* Effect.flip(L0.structured(Order, { stream: source.stream, retry: { maxAttempts: 1 } }))
      const last = lastErrorOf(error)
      expect(last).toMatchObject({ _tag: "ContentError", category: "content", rule: "schema" })
      expect(last?.message).toBe(
        `The reply does not match the schema: id: Expected string, got 7; ` +
          `items[0].price: Expected number, got "3 EUR"; items[1].name: Missing key`
      )
    }))

  it.effect("formats odd paths, the root, and long lists of issues", () =>
    Effect.gen(function*() {
      const Odd = Schema.Struct({ "first name": Schema.String, list: Schema.Array(Schema.Number) })
      const odd = TestSource.make([`{"first name": 1, "list": [${"\"x\",".repeat(12)} "x"]}`])
      const oddError = lastErrorOf(
        yield* Effect.flip(L0.structured(Odd, { stream: odd.stream, retry: { maxAttempts: 1 } }))
      )
      expect(oddError?.message).toContain(`["first name"]: Expected string, got 1; list[0]: Expected number, got "x"`)
      expect(oddError?.message).toMatch(/list\[8\]: Expected number, got "x"; … and 4 more$/)
      const long = TestSource.make([`{"list": ["${"y".repeat(60)}"]}`])
      const longError = lastErrorOf(
        yield* Effect.flip(L0.structured(Schema.Struct({ list: Schema.Array(Schema.Number) }), {
          stream: long.stream,
          retry: { maxAttempts: 1 }
        }))
      )
      expect(longError?.message).toContain(`list[0]: Expected number, got "${"y".repeat(39)}…`)
      const root = TestSource.make([`[1]`])
      const rootError = lastErrorOf(
        yield* Effect.flip(L0.structured(Schema.String, { stream: root.stream, retry: { maxAttempts: 1 } }))
      )
      expect(rootError?.message).toBe("The reply does not match the schema: value: Expected string, got [1]")
    }))

  it.effect("an invalid answer then a valid one yields the valid value after exactly one retry", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": "A1", "items": [{"name": "tea"}]}`], [valid])
      const result = yield* withRetries(L0.structured(Order, { stream: source.stream, retry }))
      expect(result).toStrictEqual(order)
      expect(source.calls).toHaveLength(2)
      expect(source.calls[0]!.context.previousError).toBeUndefined()
      const previous = source.calls[1]!.context.previousError
      expect(previous).toMatchObject({ _tag: "ContentError", rule: "schema" })
      expect(previous?.message).toContain("items[0].price: Missing key")
    }))

  it.effect("schema failures consume maxAttempts and then move to the fallback", () =>
    Effect.gen(function*() {
      const primary = TestSource.make([`{"id": 1}`])
      const fallback = TestSource.make([valid])
      const result = yield* withRetries(
        L0.structured(Order, {
          stream: primary.stream,
          fallbacks: [fallback.stream],
          retry: { ...retry, maxAttempts: 2 }
        })
      )
      expect(result).toStrictEqual(order)
      expect(primary.calls).toHaveLength(2)
      expect(fallback.calls).toHaveLength(1)
      expect(fallback.calls[0]!.context.previousError).toMatchObject({ rule: "schema" })
    }))

  it.effect("bounds the JSON with json.maxDepth / json.maxLength", () =>
    Effect.gen(function*() {
      const deep = TestSource.make([`{"id": "A1", "items": [{"name": {"x": 1}, "price": 1}]}`])
      const depthError = lastErrorOf(
        yield* Effect.flip(
          L0.structured(Order, { stream: deep.stream, json: { maxDepth: 3 }, retry: { maxAttempts: 1 } })
        )
      )
      expect(depthError).toMatchObject({ _tag: "ContentError", rule: "json" })
      expect(depthError?.message).toContain("maxDepth (3)")
      const long = TestSource.make([valid])
      const lengthError = lastErrorOf(
        yield* Effect.flip(
          L0.structured(Order, {
            stream: long.stream,
            json: { maxLength: 10 },
            autoCorrect: false,
            retry: { maxAttempts: 1 }
          })
        )
      )
      expect(lengthError?.message).toContain("maxLength (10 characters)")
    }))

  it.effect("decodes safely: a __proto__ key pollutes nothing", () =>
    Effect.gen(function*() {
      const Bag = Schema.Record(Schema.String, Schema.Unknown)
      const source = TestSource.make([`{"__proto__": {"polluted": true}, "a": {"__proto__": {"polluted": 1}}}`])
      const bag = yield* L0.structured(Bag, { stream: source.stream })
      expect(bag).toStrictEqual({ a: {} })
      expect(Object.getPrototypeOf(bag)).toBe(Object.prototype)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      const strict = TestSource.make([`{"__proto__": {"polluted": true}}`])
      expect(yield* L0.structured(Bag, { stream: strict.stream, autoCorrect: false })).toStrictEqual({})
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    }))

  it.effect("rejects invalid options with a FatalError that names them, before calling the source", () =>
    Effect.gen(function*() {
      const source = TestSource.make([valid])
      const cases: Array<[Effect.Effect<unknown, AnyL0Error>, string]> = [
        [L0.structured(Order, { stream: source.stream, autoCorrect: "yes" as unknown as boolean }),
          `"autoCorrect": expected a boolean, got a string`],
        [L0.structured(Order, { stream: source.stream, toolCall: "" }),
          `"toolCall": expected a tool name, got an empty string`],
        [L0.structured(Order, { stream: source.stream, json: { maxDepth: 0 } }),
          `"json.maxDepth": expected an integer ≥ 1, got 0`],
        [L0.structured(Order, { stream: source.stream, json: 3 as unknown as Structured.StructuredOptions["json"] }),
          `"json": expected { maxLength?, maxDepth? }, got 3`],
        [L0.structured({} as unknown as typeof Order, { stream: source.stream }),
          `"schema": expected an Effect Schema or a Standard Schema v1, got an object`],
        [L0.structured(Order, null as unknown as Structured.StructuredOptions),
          `"options": expected an options object, got null`],
        [Stream.runDrain(L0.structuredStream(Order, { stream: source.stream, toolCall: 1 as unknown as string })),
          `"toolCall": expected a tool name, got 1`]
      ]
      for (const [effect, message] of cases) {
        const error = yield* Effect.flip(effect)
        expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
        expect(error.message).toBe(`Invalid option ${message}`)
      }
      const invalidStream = yield* Effect.flip(
        L0.structured(Order, { stream: 1 as unknown as Structured.StructuredOptions["stream"] })
      )
      expect(invalidStream.message).toContain(`Invalid option "stream"`)
      expect(source.calls).toHaveLength(0)
    }))

  it.effect("an Effect Schema with an asynchronous step decodes once the step completes", () =>
    Effect.gen(function*() {
      const Slow = Schema.String.pipe(
        Schema.decode({
          decode: SchemaGetter.transformEffect((s: string) =>
            Effect.delay(Effect.succeed(s.toUpperCase()), "1 second")
          ),
          encode: SchemaGetter.passthrough()
        })
      )
      const source = TestSource.make([`"x"`])
      const fiber = yield* Effect.forkChild(L0.structured(Slow, { stream: source.stream }))
      yield* advance("999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* advance("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("X")
      expect(source.calls).toHaveLength(1)
    }))

  it.effect("a schema that throws while decoding ends the run with a FatalError, without retrying", () =>
    Effect.gen(function*() {
      const Broken = Schema.String.pipe(
        Schema.decode({
          decode: SchemaGetter.transform((): string => {
            throw new Error("boom")
          }),
          encode: SchemaGetter.passthrough()
        })
      )
      const source = TestSource.make([`"x"`], [`"x"`])
      const error = yield* Effect.flip(L0.structured(Broken, { stream: source.stream, retry }))
      expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(error.message).toBe("The schema threw while decoding: boom")
      expect(source.calls).toHaveLength(1)
    }))
})

describe("L0.structured inside the attempt loop", () => {
  it.effect("a schema failure is reported on the EventBus as error_content, then retry_attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": 1}`], [valid])
      const result = yield* withRetries(L0.structured(Order, { stream: source.stream, retry }))
      expect(result).toStrictEqual(order)
      const collected = yield* EventBus.Collected
      const events = yield* collected.events
      const types = events.map((event) => event.type).filter((type) => type !== "stream_token")
      expect(types).toStrictEqual([
        "session_start",
        "stream_start",
        "error_content",
        "retry_attempt",
        "stream_start",
        "reset",
        "stream_complete",
        "session_end"
      ])
      expect(events.find((event) => event.type === "error_content")?.data).toMatchObject({
        tag: "ContentError",
        message: "The reply does not match the schema: id: Expected string, got 1; items: Missing key"
      })
    }).pipe(Effect.provide(EventBus.layerCollect)))

  it.effect("guardrails run first; a warning leaves the schema check to decide", () =>
    Effect.gen(function*() {
      const noTodo = Guardrail.make({
        name: "no-todo",
        check: ({ delta }) => delta.includes("TODO") ? "the reply contains TODO" : undefined
      })
      const shouting = Guardrail.withSeverity(
        Guardrail.make({ name: "shouting", check: ({ delta }) => delta.includes("!!") ? "too loud" : undefined }),
        "warning"
      )
      const source = TestSource.make([`{"id": "TODO", "items": []}`], [`{"id": "A1!!", "items": []}`])
      const result = yield* withRetries(
        L0.structured(Order, { stream: source.stream, guardrails: [noTodo, shouting], retry })
      )
      expect(result).toStrictEqual({ id: "A1!!", items: [] })
      expect(source.calls[1]!.context.previousError).toMatchObject({ _tag: "ContentError", rule: "no-todo" })
    }))
})

describe("L0.structured with braces quoted in the prose", () => {
  it.effect("the JSON after a quoted phrase holding braces decodes on the first attempt", () =>
    Effect.gen(function*() {
      const Person = Schema.Struct({ name: Schema.String })
      const source = TestSource.make([
        `The user said "use {} for objects" and here is the data: `,
        `{"name": "Alice"}`
      ])
      expect(yield* L0.structured(Person, { stream: source.stream, retry: once })).toStrictEqual({ name: "Alice" })
      const list = TestSource.make([`Note that "arrays use []"; the list: ["a", "b"]`])
      expect(yield* L0.structured(Schema.Array(Schema.String), { stream: list.stream, retry: once }))
        .toStrictEqual(["a", "b"])
    }))
})

describe("L0.structured with toolCall", () => {
  const Weather = Schema.Struct({ city: Schema.String })

  it.effect("decodes the arguments of the named tool call", () =>
    Effect.gen(function*() {
      const source = TestSource.make([
        L0Event.token("Let me check."),
        L0Event.toolCall("call_1", "lookup", `{"q": "x"}`),
        L0Event.toolCall("call_2", "get_weather", `{"city": "Paris"}`)
      ])
      expect(yield* L0.structured(Weather, { stream: source.stream, toolCall: "get_weather" })).toStrictEqual({
        city: "Paris"
      })
    }))

  it.effect("arguments without their opening brace decode as the object, on the first attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make([L0Event.toolCall("call_1", "get_weather", `"city": "Paris"}`)])
      const result = yield* L0.structuredWithMetadata(Weather, {
        stream: source.stream,
        toolCall: "get_weather",
        retry: once
      })
      expect(result.value).toStrictEqual({ city: "Paris" })
      expect(result.repairs).toStrictEqual(["syntax"])
    }))

  it.effect("treats empty arguments as {}", () =>
    Effect.gen(function*() {
      const source = TestSource.make([L0Event.toolCall("call_1", "ping", "")])
      expect(yield* L0.structured(Schema.Struct({}), { stream: source.stream, toolCall: "ping" })).toStrictEqual({})
    }))

  it.effect("a reply without the tool call, or with invalid arguments, retries with the reason", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        [L0Event.toolCall("call_1", "lookup", `{}`)],
        [L0Event.token("no tools")],
        [L0Event.toolCall("call_2", "get_weather", `{"city": 3}`)],
        [L0Event.toolCall("call_3", "get_weather", `{"city": "Oslo"}`)]
      )
      const result = yield* withRetries(
        L0.structured(Weather, { stream: source.stream, toolCall: "get_weather", retry: { ...retry, maxAttempts: 4 } }),
        3
      )
      expect(result).toStrictEqual({ city: "Oslo" })
      expect(source.calls.map((call) => call.context.previousError?.message)).toStrictEqual([
        undefined,
        `The reply has no "get_weather" tool call (it has "lookup")`,
        `The reply has no "get_weather" tool call (it has none)`,
        `The reply does not match the schema: city: Expected string, got 3`
      ])
    }))
})

type Events<A> = ReadonlyArray<Structured.StructuredEvent<A, unknown>>

describe("L0.structuredStream", () => {
  const Todo = Schema.Struct({ title: Schema.String, items: Schema.Array(Schema.String), done: Schema.Boolean })

  it.effect("emits complete fields as they arrive, then the final value", () =>
    Effect.gen(function*() {
      const pause = TestSource.sleep("10 millis")
      const source = TestSource.make([
        `{"title": "Sho`,
        pause,
        `pping", "items": [`,
        pause,
        `"milk", "eg`,
        pause,
        `gs"], "done": fal`,
        pause,
        `se}`
      ])
      const fiber = yield* Effect.forkChild(Stream.runCollect(L0.structuredStream(Todo, { stream: source.stream })))
      for (let i = 0; i < 4; i++) yield* advance("10 millis")
      const events: Events<typeof Todo.Type> = yield* Fiber.join(fiber)
      expect(events).toStrictEqual([
        { _tag: "Partial", value: {} },
        { _tag: "Partial", value: { title: "Shopping", items: [] } },
        { _tag: "Partial", value: { title: "Shopping", items: ["milk"] } },
        { _tag: "Partial", value: { title: "Shopping", items: ["milk", "eggs"] } },
        { _tag: "Partial", value: { title: "Shopping", items: ["milk", "eggs"], done: false } },
        { _tag: "Final", value: { title: "Shopping", items: ["milk", "eggs"], done: false } }
      ])
    }))

  it.effect("after a failed attempt emits Reset and restarts the partials", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        [`{"title": "A", "items": ["x", `, TestSource.sleep("10 millis"), TestSource.fail(connectionReset())],
        [`{"title": "B", "items": [], "done": true}`]
      )
      const fiber = yield* Effect.forkChild(
        Stream.runCollect(L0.structuredStream(Todo, { stream: source.stream, retry }))
      )
      yield* advance("10 millis")
      yield* advance("1 second")
      const events: Events<typeof Todo.Type> = yield* Fiber.join(fiber)
      expect(events).toStrictEqual([
        { _tag: "Partial", value: { title: "A", items: ["x"] } },
        { _tag: "Reset" },
        { _tag: "Partial", value: { title: "B", items: [], done: true } },
        { _tag: "Final", value: { title: "B", items: [], done: true } }
      ])
    }))

  it.effect("a schema failure resets the partials and retries; no Reset before any partial", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["prose only"], [`{"title": 1}`], [`{"title": "C", "items": [], "done": false}`])
      const fiber = yield* Effect.forkChild(
        Stream.runCollect(L0.structuredStream(Todo, { stream: source.stream, retry: { ...retry, maxAttempts: 3 } }))
      )
      yield* advance("1 second")
      yield* advance("1 second")
      const events: Events<typeof Todo.Type> = yield* Fiber.join(fiber)
      expect(events.map((event) => event._tag)).toStrictEqual(["Partial", "Reset", "Partial", "Final"])
      expect(source.calls[1]!.context.previousError?.message).toBe("No JSON value found in the text")
      expect(source.calls[2]!.context.previousError?.message).toContain("title: Expected string, got 1")
    }))

  it.effect("with continuation, the kept text is parsed again after the reset", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        [`{"title": "A", `, TestSource.sleep("10 millis"), `"items": ["x"], `, TestSource.fail(connectionReset())],
        [`"done": true}`]
      )
      const fiber = yield* Effect.forkChild(
        Stream.runCollect(L0.structuredStream(Todo, { stream: source.stream, retry, continuation: true }))
      )
      yield* advance("10 millis")
      yield* advance("1 second")
      const events: Events<typeof Todo.Type> = yield* Fiber.join(fiber)
      expect(events).toStrictEqual([
        { _tag: "Partial", value: { title: "A" } },
        { _tag: "Partial", value: { title: "A", items: ["x"] } },
        { _tag: "Reset" },
        { _tag: "Partial", value: { title: "A", items: ["x"], done: true } },
        { _tag: "Final", value: { title: "A", items: ["x"], done: true } }
      ])
    }))

  it.effect("with toolCall, emits only the final value", () =>
    Effect.gen(function*() {
      const source = TestSource.make([L0Event.token(`{"a": 1}`), L0Event.toolCall("c", "f", `{"city": "Rome"}`)])
      const events = yield* Stream.runCollect(
        L0.structuredStream(Schema.Struct({ city: Schema.String }), { stream: source.stream, toolCall: "f" })
      )
      expect(events).toStrictEqual([{ _tag: "Final", value: { city: "Rome" } }])
    }))
})

const Weather = Schema.Struct({ city: Schema.String, temperature: Schema.Number, units: Schema.Literals(["c", "f"]) })

describe("structured output on recorded fixtures (openai-chat adapter)", () => {
  it.effect("streams partials of a real gpt-4o JSON reply (openai-chat-multiple-choices, choice 0)", () =>
    Effect.gen(function*() {
      const { chunks } = loadFixture("openai-chat-multiple-choices")
      const source = TestSource.make(TestSource.paced(chunks, "1 millis"))
      const fiber = yield* Effect.forkChild(Stream.runCollect(L0.structuredStream(Weather, { stream: source.stream })))
      for (let i = 0; i < chunks.length; i++) yield* advance("1 millis")
      const events: Events<typeof Weather.Type> = yield* Fiber.join(fiber)
      const partials = events.filter((event) => event._tag === "Partial").map((event) => event.value)
      expect(partials).toStrictEqual([
        {},
        { city: "San Francisco" },
        { city: "San Francisco", temperature: 65 },
        { city: "San Francisco", temperature: 65, units: "f" }
      ])
      expect(events.at(-1)).toStrictEqual({
        _tag: "Final",
        value: { city: "San Francisco", temperature: 65, units: "f" }
      })
    }))

  it.effect("a reply cut off by max_tokens (openai-chat-length) fails the schema and falls back", () =>
    Effect.gen(function*() {
      const truncated = TestSource.make(loadFixture("openai-chat-length").chunks)
      const fallback = TestSource.make([`{"city": "Paris", "temperature": 20, "units": "c"}`])
      const result = yield* L0.structured(Weather, {
        stream: truncated.stream,
        fallbacks: [fallback.stream],
        retry: { maxAttempts: 1 }
      })
      expect(result).toStrictEqual({ city: "Paris", temperature: 20, units: "c" })
      expect(fallback.calls[0]!.context.previousError?.message).toBe(
        "The reply does not match the schema: city: Missing key; temperature: Missing key; units: Missing key"
      )
    }))

  it.effect("validates tool-call arguments of a real stream by name (openai-chat-parallel-tool-calls)", () =>
    Effect.gen(function*() {
      const { chunks } = loadFixture("openai-chat-parallel-tool-calls")
      const Stock = Schema.Struct({ ticker: Schema.String, exchange: Schema.String })
      const stock = yield* L0.structured(Stock, { stream: TestSource.make(chunks).stream, toolCall: "get_stock_price" })
      expect(stock).toStrictEqual({ ticker: "AAPL", exchange: "NASDAQ" })
    }))
})

describe("structured output through the real SDK clients and ProviderServer", () => {
  const openaiClient = (server: ProviderServer.ProviderServer) =>
    new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: "sk-test", maxRetries: 0, logLevel: "off" })

  it.live("openai chat: partial values of a replayed JSON reply, in 7-byte network pieces", () =>
    Effect.scoped(Effect.gen(function*() {
      const fixture = loadFixture("openai-chat-multiple-choices")
      const server = yield* ProviderServer.start([ProviderServer.replay(fixture.bytes, { chunkSize: 7 })])
      const client = openaiClient(server)
      const events: Events<typeof Weather.Type> = yield* Stream.runCollect(L0.structuredStream(Weather, {
        timeout: ampleTimeout,
        stream: ({ signal }) =>
          client.chat.completions.create({ model: "gpt-4o", messages: [], stream: true }, { signal })
      }))
      const final = { city: "San Francisco", temperature: 65, units: "f" }
      expect(events.at(-1)).toStrictEqual({ _tag: "Final", value: final })
      const partials = events.filter((event) => event._tag === "Partial").map((event) => event.value)
      expect(partials.length).toBeGreaterThan(0)
      expect(partials.at(-1)).toStrictEqual(final)
      for (const partial of partials) {
        expect(Object.entries(partial as object).every(([key, value]) => final[key as keyof typeof final] === value))
          .toBe(true)
      }
    })))

  it.live("openai chat: tool-call arguments decoded by name, after a truncated reply was retried", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([
        ProviderServer.replay(loadFixture("openai-chat-length").bytes),
        ProviderServer.replay(loadFixture("openai-chat-tool-call").bytes)
      ])
      const client = openaiClient(server)
      const seen: Array<string | undefined> = []
      const args = yield* L0.structured(Schema.Struct({ city: Schema.String }), {
        toolCall: "get_weather",
        retry: { baseDelay: "1 millis", backoff: "fixed" },
        timeout: ampleTimeout,
        stream: ({ previousError, signal }) => {
          seen.push(previousError?.message)
          return client.chat.completions.create({ model: "gpt-4o", messages: [], stream: true }, { signal })
        }
      })
      expect(args).toStrictEqual({ city: "New York City" })
      expect(seen).toStrictEqual([undefined, `The reply has no "get_weather" tool call (it has none)`])
      expect(server.requests).toHaveLength(2)
    })))

  it.live("anthropic: the tool_use input of a replayed stream (text block first)", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([ProviderServer.replay(loadFixture("anthropic-tool-use").bytes)])
      const client = new Anthropic({
        baseURL: server.anthropicBaseUrl,
        apiKey: "sk-test",
        maxRetries: 0,
        logLevel: "off"
      })
      const input = yield* L0.structured(Schema.Struct({ location: Schema.String }), {
        toolCall: "get_weather",
        timeout: ampleTimeout,
        stream: ({ signal }) =>
          client.messages.create({ model: "claude-test", max_tokens: 256, messages: [], stream: true }, { signal })
      })
      expect(input).toStrictEqual({ location: "Paris" })
    })))
})
