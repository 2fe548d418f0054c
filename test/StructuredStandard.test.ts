import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import type { StandardSchemaV1 } from "effect/StandardSchema"
import * as Stream from "effect/Stream"
import { L0 } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import * as z from "zod"
import { advance, lastErrorOf, retry, withRetries } from "./support.js"

const Order = z.object({
  id: z.string(),
  items: z.array(z.object({ name: z.string(), price: z.number().positive() }))
})
const valid = `{"id": "A1", "items": [{"name": "tea", "price": 3}]}`
const order = { id: "A1", items: [{ name: "tea", price: 3 }] }

describe("L0.structured with a Standard Schema", () => {
  it.effect("decodes a reply with a Zod schema, typed by the schema's output", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["Sure:\n```json\n", valid, "\n```"])
      const value: z.infer<typeof Order> = yield* L0.structured(Order, { stream: source.stream })
      expect(value).toStrictEqual(order)
    }))

  it.effect("applies the schema's transformations (output type differs from the JSON)", () =>
    Effect.gen(function*() {
      const Price = z.object({ amount: z.string().transform(Number), currency: z.string() })
      const source = TestSource.make([`{"amount": "12.5", "currency": "EUR"}`])
      const price = yield* L0.structured(Price, { stream: source.stream })
      expect(price.amount.toFixed(2)).toBe("12.50")
    }))

  it.effect("a validation failure is a ContentError naming each path; the retry sees it and succeeds", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": 7, "items": [{"name": "tea", "price": -3}, {"price": 1}]}`], [valid])
      const result = yield* withRetries(L0.structured(Order, { stream: source.stream, retry }))
      expect(result).toStrictEqual(order)
      expect(source.calls).toHaveLength(2)
      const previous = source.calls[1]!.context.previousError
      expect(previous).toMatchObject({ _tag: "ContentError", category: "content", rule: "schema" })
      expect(previous?.message).toMatch(/^The reply does not match the schema: id: [^;]*expected string[^;]*; /i)
      expect(previous?.message).toMatch(/; items\[0\]\.price: [^;]*>0[^;]*; items\[1\]\.name: /)
    }))

  it.effect("failures consume maxAttempts like any content error", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": "A1"}`], [`{"id": "A1"}`])
      const error = yield* withRetries(
        Effect.flip(L0.structured(Order, { stream: source.stream, retry: { ...retry, maxAttempts: 2 } }))
      )
      expect(error._tag).toBe("ExhaustedError")
      expect(lastErrorOf(error).message).toMatch(/^The reply does not match the schema: items: /)
      expect(source.calls).toHaveLength(2)
    }))

  it.effect("a Zod schema with an async refinement: a passing reply decodes, a failing one retries as a content error", () =>
    Effect.gen(function*() {
      const Checked = z.object({ id: z.string() }).refine(async (value) => value.id.startsWith("A"), {
        message: "id must start with A"
      })
      const source = TestSource.make([`{"id": "B2"}`], [`{"id": "A1"}`])
      const value = yield* withRetries(L0.structured(Checked, { stream: source.stream, retry }))
      expect(value).toStrictEqual({ id: "A1" })
      expect(source.calls).toHaveLength(2)
      expect(source.calls[1]!.context.previousError).toMatchObject({ _tag: "ContentError", rule: "schema" })
      expect(source.calls[1]!.context.previousError!.message).toContain("id must start with A")
    }))

  describe("a hand-written asynchronous Standard Schema", () => {
    const asyncSchema = (
      validate: (value: unknown) => Promise<StandardSchemaV1.Result<unknown>>
    ): StandardSchemaV1 => ({
      "~standard": { version: 1, vendor: "handmade", validate }
    })

    it.effect("its resolved value is the result", () =>
      Effect.gen(function*() {
        const schema = asyncSchema(async (value) => ({ value: { wrapped: value } }))
        expect(yield* L0.structured(schema, { stream: TestSource.make([`{"a": 1}`]).stream })).toStrictEqual({
          wrapped: { a: 1 }
        })
      }))

    it.effect("resolved issues fail the attempt with a ContentError that retries and reaches the next attempt", () =>
      Effect.gen(function*() {
        let calls = 0
        const schema = asyncSchema(async (value) =>
          ++calls === 1 ? { issues: [{ message: "Not yet", path: ["a"] }] } : { value }
        )
        const source = TestSource.make([`{"a": 1}`], [`{"a": 2}`])
        expect(yield* withRetries(L0.structured(schema, { stream: source.stream, retry }))).toStrictEqual({ a: 2 })
        expect(source.calls[1]!.context.previousError).toMatchObject({
          _tag: "ContentError",
          rule: "schema",
          message: "The reply does not match the schema: a: Not yet"
        })
      }))

    it.effect("a rejected promise ends the run with a FatalError, without retrying", () =>
      Effect.gen(function*() {
        const schema = asyncSchema(async () => {
          throw new Error("validator offline")
        })
        const source = TestSource.make([`{}`], [`{}`])
        const error = yield* Effect.flip(L0.structured(schema, { stream: source.stream, retry }))
        expect(error).toMatchObject({
          _tag: "FatalError",
          reason: "options",
          message: "The handmade schema threw while validating: validator offline"
        })
        expect(source.calls).toHaveLength(1)
      }))

    it.effect("a promise resolving to no result ends the run with a FatalError", () =>
      Effect.gen(function*() {
        const schema = asyncSchema(() => Promise.resolve(undefined as unknown as StandardSchemaV1.Result<unknown>))
        const error = yield* Effect.flip(L0.structured(schema, { stream: TestSource.make([`{}`]).stream }))
        expect(error).toMatchObject({
          _tag: "FatalError",
          message: "The handmade schema's validate returned undefined, not a result"
        })
        const number = asyncSchema(() => Promise.resolve(42 as unknown as StandardSchemaV1.Result<unknown>))
        const numberError = yield* Effect.flip(L0.structured(number, { stream: TestSource.make([`{}`]).stream }))
        expect(numberError).toMatchObject({ _tag: "FatalError", reason: "options" })
        expect(numberError.message).toBe("The handmade schema's validate returned a number, not a result")
      }))

    it.effect("a resolved result whose fields throw when read ends the run with a FatalError", () =>
      Effect.gen(function*() {
        const trap = Object.defineProperty({}, "issues", {
          get: () => {
            throw new Error("trapped")
          }
        })
        const schema = asyncSchema(() => Promise.resolve(trap as StandardSchemaV1.Result<unknown>))
        const error = yield* Effect.flip(L0.structured(schema, { stream: TestSource.make([`{}`]).stream }))
        expect(error).toMatchObject({
          _tag: "FatalError",
          message: "The handmade schema threw while validating: trapped"
        })
      }))

    it.effect("a validation that never settles can be interrupted, and the request is closed", () =>
      Effect.gen(function*() {
        const schema = asyncSchema(() => new Promise(() => {}))
        const source = TestSource.make([`{}`])
        const fiber = yield* Effect.forkChild(L0.structured(schema, { stream: source.stream }))
        yield* advance("1 millis")
        expect(source.calls).toHaveLength(1)
        yield* Fiber.interrupt(fiber)
        expect(source.calls[0]!.context.signal.aborted).toBe(true)
      }))

    it.effect("structuredStream waits for it: the Final event holds the validated value", () =>
      Effect.gen(function*() {
        const schema = asyncSchema(async (value) => ({ value: { checked: value } }))
        const events = yield* Stream.runCollect(
          L0.structuredStream(schema, { stream: TestSource.make([`{"a": 1}`]).stream })
        )
        expect(events.at(-1)).toStrictEqual({ _tag: "Final", value: { checked: { a: 1 } } })
      }))
  })

  it.effect("any vendor: object path segments, a throwing validate, a validate returning no result", () =>
    Effect.gen(function*() {
      const standard = (
        validate: StandardSchemaV1.Props<unknown, string>["validate"]
      ): StandardSchemaV1<unknown, string> => ({
        "~standard": { version: 1, vendor: "handmade", validate }
      })
      const segments = standard(() => ({
        issues: [{ message: "Too short", path: [{ key: "list" }, { key: 0 }] }, { message: "Bad" }]
      }))
      const failed = yield* Effect.flip(
        L0.structured(segments, { stream: TestSource.make([`{"list": ["x"]}`]).stream, retry: { maxAttempts: 1 } })
      )
      expect(lastErrorOf(failed).message).toBe("The reply does not match the schema: list[0]: Too short; value: Bad")
      const throwing = standard(() => {
        throw new Error("boom")
      })
      const thrown = yield* Effect.flip(L0.structured(throwing, { stream: TestSource.make([`{}`]).stream }))
      expect(thrown).toMatchObject({ _tag: "FatalError", message: "The handmade schema threw while validating: boom" })
      const empty = standard(() => undefined as unknown as StandardSchemaV1.Result<string>)
      const none = yield* Effect.flip(L0.structured(empty, { stream: TestSource.make([`{}`]).stream }))
      expect(none).toMatchObject({
        _tag: "FatalError",
        message: "The handmade schema's validate returned undefined, not a result"
      })
      const notList = standard(() => ({ issues: "bad" }) as unknown as StandardSchemaV1.Result<string>)
      const notListError = yield* Effect.flip(L0.structured(notList, { stream: TestSource.make([`{}`]).stream }))
      expect(notListError.message).toBe("The handmade schema's validate returned issues that are not a list")
      const noIssue = standard(() => ({ issues: [] }))
      const noIssueError = yield* Effect.flip(
        L0.structured(noIssue, { stream: TestSource.make([`{}`]).stream, retry: { maxAttempts: 1 } })
      )
      expect(lastErrorOf(noIssueError)).toMatchObject({
        rule: "schema",
        message: "The reply does not match the schema (no issue given)"
      })
      const hostile = standard(() => {
        throw {
          toString: () => {
            throw new Error("gotcha")
          }
        }
      })
      const hostileError = yield* Effect.flip(L0.structured(hostile, { stream: TestSource.make([`{}`]).stream }))
      expect(hostileError.message).toBe("The handmade schema threw while validating: an object with keys {toString}")
      const trap = Object.defineProperty({}, "~standard", {
        get: () => {
          throw new Error("trap")
        }
      }) as StandardSchemaV1
      const trapError = yield* Effect.flip(L0.structured(trap, { stream: TestSource.make([`{}`]).stream }))
      expect(trapError.message).toContain(`"schema": expected an Effect Schema or a Standard Schema v1`)
      const ok = standard((value) => ({ value: JSON.stringify(value) }))
      expect(yield* L0.structured(ok, { stream: TestSource.make([`{"a": [1,]}`]).stream })).toBe(`{"a":[1]}`)
    }))

  it.effect("an Effect Schema turned into a Standard Schema keeps Effect's messages", () =>
    Effect.gen(function*() {
      const Standard = Schema.toStandardSchemaV1(Schema.Struct({ n: Schema.Number }))
      const source = TestSource.make([`{"n": "1"}`])
      const error = yield* Effect.flip(L0.structured(Standard, { stream: source.stream, retry: { maxAttempts: 1 } }))
      expect(lastErrorOf(error).message).toBe(`The reply does not match the schema: n: Expected number, got "1"`)
    }))

  it.effect("something that is no schema fails with a FatalError naming the option", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<unknown> = [{}, { "~standard": { version: 2, validate: () => ({ value: 1 }) } }, null]
      for (const schema of cases) {
        const error = yield* Effect.flip(
          L0.structured(schema as StandardSchemaV1, { stream: TestSource.make([`{}`]).stream })
        )
        expect(error._tag).toBe("FatalError")
        expect(error.message).toContain(`"schema": expected an Effect Schema or a Standard Schema v1`)
      }
    }))

  it.effect("structuredStream streams partials of the JSON and the Zod-validated final value", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"id": "A1", `, TestSource.sleep("1 millis"),
        `"items": [{"name": "tea", "price": 3}]}`])
      const fiber = yield* Effect.forkChild(Stream.runCollect(L0.structuredStream(Order, { stream: source.stream })))
      yield* advance("1 millis")
      const events = yield* Fiber.join(fiber)
      expect(events[0]).toStrictEqual({ _tag: "Partial", value: { id: "A1" } })
      expect(events.at(-1)).toStrictEqual({ _tag: "Final", value: order })
    }))
})
