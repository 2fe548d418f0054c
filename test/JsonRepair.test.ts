import { describe, expect, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaParser from "effect/SchemaParser"
import { JsonRepair } from "effect-l0"
import * as fc from "fast-check"
import { jsonrepair } from "jsonrepair"
import { isDeepStrictEqual } from "node:util"
import { corpus } from "./json-corpus.js"

const value = (result: Result.Result<unknown, unknown>): unknown => {
  if (Result.isFailure(result)) throw new Error(`expected a success, got ${String(result.failure)}`)
  return result.success
}

const failure = (result: Result.Result<unknown, { readonly _tag: string; readonly message: string }>) => {
  if (Result.isSuccess(result)) throw new Error(`expected a failure, got ${JSON.stringify(result.success)}`)
  return result.failure
}

/** Whether every field `partial` shows is in `whole` with the same value (arrays may grow, objects gain keys). */
const isContained = (partial: unknown, whole: unknown): boolean => {
  if (Array.isArray(partial)) {
    return Array.isArray(whole) && partial.length <= whole.length &&
      partial.every((item, i) => isContained(item, whole[i]))
  }
  if (typeof partial === "object" && partial !== null) {
    return typeof whole === "object" && whole !== null && !Array.isArray(whole) &&
      Object.entries(partial).every(([key, item]) =>
        Object.prototype.hasOwnProperty.call(whole, key) && isContained(item, (whole as Record<string, unknown>)[key])
      )
  }
  return Object.is(partial, whole)
}

const incremental = () => value(JsonRepair.incremental()) as JsonRepair.Incremental

describe("JsonRepair corpus", () => {
  it("has at least 60 cases", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60)
  })

  it.each(corpus)("parse: $name", ({ expected, input }) => {
    expect(value(JsonRepair.parse(input))).toStrictEqual(expected)
  })

  it.each(corpus)("repair gives JSON text of the same value: $name", ({ expected, input }) => {
    const text = value(JsonRepair.repair(input)) as string
    const reparsed: unknown = JSON.parse(text)
    expect(isDeepStrictEqual(reparsed, expected)).toBe(true)
  })

  it.each(corpus)("incremental, one character at a time: $name", ({ expected: whole, input, streamed }) => {
    const expected = streamed ?? whole
    const parser = incremental()
    const snapshots: Array<unknown> = []
    for (const char of input) {
      if (parser.push(char)) snapshots.push(parser.value())
    }
    const final = value(parser.end())
    expect(final).toStrictEqual(expected)
    for (const snapshot of snapshots) expect(isContained(snapshot, final)).toBe(true)
  })

  it("gives the same value however the text is split", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...corpus),
        fc.array(fc.nat(), { maxLength: 6 }),
        ({ expected: whole, input, streamed }, cuts) => {
          const expected = streamed ?? whole
          const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b)
          const parser = incremental()
          let from = 0
          const snapshots: Array<unknown> = []
          for (const point of [...points, input.length]) {
            if (parser.push(input.slice(from, point))) snapshots.push(parser.value())
            from = point
          }
          const final = value(parser.end())
          return isDeepStrictEqual(final, expected) && snapshots.every((snapshot) => isContained(snapshot, final))
        }
      ),
      { numRuns: 300, seed: 6 }
    )
  })

  it("never throws, and any text gives the same value whole or in pieces", () => {
    const jsonish = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."{}[]:,\"'\\/*#`\n tfnTFNu0123456789.-+eE“”‘’a_$") }),
      fc.json().map((json) => json.slice(0, Math.max(0, json.length - 3))),
      fc.string({ unit: "grapheme" })
    )
    fc.assert(
      fc.property(jsonish, fc.array(fc.nat(), { maxLength: 5 }), (input, cuts) => {
        const whole = JsonRepair.parse(input)
        const repaired = JsonRepair.repair(input)
        expect(Result.isSuccess(whole)).toBe(Result.isSuccess(repaired))
        if (Result.isSuccess(whole) && Result.isSuccess(repaired)) {
          expect(JSON.stringify(JSON.parse(repaired.success))).toBe(JSON.stringify(whole.success))
        }
        const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b)
        const parser = incremental()
        const snapshots: Array<unknown> = []
        let from = 0
        for (const point of [...points, input.length]) {
          if (parser.push(input.slice(from, point))) snapshots.push(parser.value())
          from = point
        }
        const end = parser.end()
        expect(Result.isSuccess(end)).toBe(Result.isSuccess(whole))
        if (Result.isSuccess(end) && Result.isSuccess(whole)) {
          expect(end.success).toStrictEqual(whole.success)
          for (const snapshot of snapshots) expect(isContained(snapshot, end.success)).toBe(true)
        }
      }),
      { numRuns: 2000, seed: 42 }
    )
  })

  describe("strings holding braces, brackets and quotes", () => {
    it("a string literal is a string, not the object or array a brace inside it opens", () => {
      expect(value(JsonRepair.parse(`"{"`))).toBe("{")
      expect(value(JsonRepair.parse(`"["`))).toBe("[")
      expect(value(JsonRepair.parse(` "a{b}[c]" `))).toBe("a{b}[c]")
      expect(value(JsonRepair.parse(`"\\"{"`))).toBe(`"{`)
      expect(value(JsonRepair.parse("```json\n\"{\"\n```"))).toBe("{")
      expect(value(JsonRepair.parseWithRepairs(`"{"`))).toStrictEqual({ value: "{", repairs: [] })
      expect(value(JsonRepair.parse(`"{abc`))).toBe("{abc")
    })

    it("a quoted phrase followed by more text is prose: the value after it, or inside it, still wins", () => {
      expect(value(JsonRepair.parseWithRepairs(`"note" {"a": 1}`))).toStrictEqual({
        value: { a: 1 },
        repairs: ["prose"]
      })
      expect(value(JsonRepair.parse(`"{"a": 1}"`))).toStrictEqual({ a: 1 })
    })

    const awkward = fc.string({ unit: fc.constantFrom(..."{}[]\"\\:, a\n") })

    it("any string round-trips, at top level and nested, whole and in pieces", () => {
      fc.assert(
        fc.property(awkward, fc.array(fc.nat(), { maxLength: 4 }), (text, cuts) => {
          for (
            const [input, expected] of [
              [JSON.stringify(text), text],
              [JSON.stringify({ k: text, n: [text] }), { k: text, n: [text] }],
              [JSON.stringify([text, { k: text }]), [text, { k: text }]]
            ] as const
          ) {
            expect(value(JsonRepair.parse(input))).toStrictEqual(expected)
            const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b)
            const parser = incremental()
            let from = 0
            for (const point of [...points, input.length]) {
              parser.push(input.slice(from, point))
              from = point
            }
            expect(value(parser.end())).toStrictEqual(expected)
          }
        }),
        { numRuns: 500, seed: 17 }
      )
    })
  })

  // The decision recorded in docs/structured-output.md: the corpus decides between our parser and jsonrepair.
  it("passes more cases than the jsonrepair package", () => {
    let ours = 0
    let theirs = 0
    const missed: Array<string> = []
    for (const { expected, input, name } of corpus) {
      if (isDeepStrictEqual(value(JsonRepair.parse(input)), expected)) ours++
      let repaired: unknown = undefined
      try {
        repaired = JSON.parse(jsonrepair(input))
      } catch {
        // jsonrepair throws on text it cannot repair: a miss
      }
      if (isDeepStrictEqual(repaired, expected)) theirs++
      else missed.push(name)
    }
    expect(ours).toBe(corpus.length)
    expect(theirs).toBe(65)
    expect(missed).toContain("prose around a fence")
    expect(missed).toContain("prototype key dropped")
  })
})

describe("JsonRepair", () => {
  it("repair keeps the digits of numbers and normalizes loose ones", () => {
    expect(value(JsonRepair.repair(`{"id": 12345678901234567890, "x": 1.50, "y": +.5, "z": 1e999}`))).toBe(
      `{"id":12345678901234567890,"x":1.50,"y":0.5,"z":1e999}`
    )
  })

  it("repair escapes strings and keys", () => {
    expect(value(JsonRepair.repair("{'a\"b': 'line\nnext', k: [\"\\u0001\"]}"))).toBe(
      `{"a\\"b":"line\\nnext","k":["\\u0001"]}`
    )
  })

  it("parses a top-level scalar only when no object or array is present", () => {
    expect(value(JsonRepair.parse("```\n'single'\n```"))).toBe("single")
    expect(value(JsonRepair.parse("42 apples"))).toBe(42)
    expect(value(JsonRepair.parse("None"))).toBe(null)
    expect(value(JsonRepair.parse("Fals"))).toBe(false)
    expect(value(JsonRepair.parse("The list is [1, 2]"))).toStrictEqual([1, 2])
  })

  it.each([
    ["an empty text", ""],
    ["prose", "I cannot help with that."],
    ["an empty fence", "```json\n```"],
    ["a date-like word", "2024-01-01"],
    ["a lone fence line", "```"]
  ])("fails on %s with a ContentError", (_, input) => {
    const error = failure(JsonRepair.parse(input))
    expect(error._tag).toBe("ContentError")
    expect(error).toMatchObject({ rule: "json", message: "No JSON value found in the text" })
  })

  it("rejects text that is not a string", () => {
    const error = failure(JsonRepair.parse(42 as unknown as string))
    expect(error).toMatchObject({ _tag: "ContentError", message: "Expected JSON text (a string), got a number" })
    expect(failure(JsonRepair.parseStrict(null as unknown as string)).message).toContain("got null")
  })

  it("reads escapes: standard, unknown, and a broken unicode escape", () => {
    expect(value(JsonRepair.parse(`["\\b\\f\\r\\t\\/\\'", "\\uZZ", "\\q"]`))).toStrictEqual(["\b\f\r\t/'", "\\uZZ",
      "\\q"])
  })

  it("tolerates stray characters, comments and closers in odd places", () => {
    expect(value(JsonRepair.parse(`{"a": 1 : , "b" : : 2, @ "c" 3}`))).toStrictEqual({ a: 1, b: 2, c: 3 })
    expect(value(JsonRepair.parse(`{"a" /* x */ : "v" /**/, "b": /* a * star */ [1 :]}`))).toStrictEqual({
      a: "v",
      b: [1]
    })
    expect(value(JsonRepair.parse(`[1, 2] ] }`))).toStrictEqual([1, 2])
    expect(value(JsonRepair.parse(`[@ 1, ~]`))).toStrictEqual([1])
    expect(value(JsonRepair.parse(`{"a": [1, 2]]}`))).toStrictEqual({ a: [1, 2] })
    expect(value(JsonRepair.parse(`{"a",  "b": 1, "c": , "d": 2}`))).toStrictEqual({ b: 1, d: 2 })
    expect(value(JsonRepair.parse(`{"a": 1 / 2}`))).toStrictEqual({ a: 1 })
    expect(value(JsonRepair.parse(`{"a": 'x'}`))).toStrictEqual({ a: "x" })
    expect(value(JsonRepair.parse(`{"k": "v"}  // done`))).toStrictEqual({ k: "v" })
  })

  it("ends truncated text in a comment or after a key", () => {
    expect(value(JsonRepair.parse(`{"a": 1, // trailing`))).toStrictEqual({ a: 1 })
    expect(value(JsonRepair.parse(`{"a": 1 /* open`))).toStrictEqual({ a: 1 })
    expect(value(JsonRepair.parse(`{"a": 1, "b"`))).toStrictEqual({ a: 1 })
    expect(value(JsonRepair.parse(`{"a": 1, "b": "x"  `))).toStrictEqual({ a: 1, b: "x" })
    expect(value(JsonRepair.parse(`[`))).toStrictEqual([])
    expect(value(JsonRepair.parse(`{"a": hello`))).toStrictEqual({ a: "hello" })
    expect(value(JsonRepair.parse(`{"a": 12px`))).toStrictEqual({ a: "12px" })
  })

  describe("prototype safety", () => {
    it("a __proto__ key never reaches a prototype and the value stays a plain object", () => {
      const parsed = value(JsonRepair.parse(`{"__proto__": {"polluted": true}}`))
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(parsed).toStrictEqual({})
      expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
      expect(Object.keys(parsed as object)).toStrictEqual([])
    })

    it("drops nested __proto__ members, including scalars and arrays, in parse, repair and parseStrict", () => {
      const input = `{"a": {"__proto__": {"x": {"y": 1}}, "b": [{"__proto__": 1}]}, "__proto__": [1, [2]], "c": 3}`
      const expected = { a: { b: [{}] }, c: 3 }
      expect(value(JsonRepair.parse(input))).toStrictEqual(expected)
      expect(JSON.parse(value(JsonRepair.repair(input)) as string)).toStrictEqual(expected)
      const strict = value(JsonRepair.parseStrict(input)) as Record<string, unknown>
      expect(strict).toStrictEqual(expected)
      expect(Object.prototype.hasOwnProperty.call(strict, "__proto__")).toBe(false)
      expect(({} as Record<string, unknown>).x).toBeUndefined()
    })

    it("keeps constructor and prototype as inert own data", () => {
      const parsed = value(JsonRepair.parse(`{"constructor": {"prototype": {"polluted": true}}}`)) as Record<
        string,
        unknown
      >
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.getOwnPropertyDescriptor(parsed, "constructor")?.value).toStrictEqual({
        prototype: { polluted: true }
      })
      expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    })

    it("decodes safely with a Record schema", () => {
      const parsed = value(JsonRepair.parse(`{"__proto__": {"polluted": true}, "a": 1}`))
      const decoded = SchemaParser.decodeUnknownSync(Schema.Record(Schema.String, Schema.Number))(parsed)
      expect(decoded).toStrictEqual({ a: 1 })
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  })

  describe("limits", () => {
    it("documents its defaults", () => {
      expect(JsonRepair.defaults).toStrictEqual({ maxLength: 8 * 1024 * 1024, maxDepth: 256 })
    })

    it("fails past maxDepth with a clear ContentError", () => {
      const deep = "[".repeat(300)
      const error = failure(JsonRepair.parse(deep))
      expect(error).toMatchObject({ _tag: "ContentError", rule: "json" })
      expect(error.message).toContain("nested deeper than maxDepth (256)")
      expect(value(JsonRepair.parse("[[[1]]]", { maxDepth: 3 }))).toStrictEqual([[[1]]])
      expect(failure(JsonRepair.parse("[[[[1]]]]", { maxDepth: 3 })).message).toContain("maxDepth (3)")
      expect(failure(JsonRepair.repair(`{"a": {"b": {}}}`, { maxDepth: 2 })).message).toContain("maxDepth (2)")
    })

    it("fails past maxLength, also when the text arrives in pieces", () => {
      expect(failure(JsonRepair.parse(`{"a": "${"x".repeat(100)}"}`, { maxLength: 50 })).message).toBe(
        "The JSON text is longer than maxLength (50 characters)"
      )
      const parser = value(JsonRepair.incremental({ maxLength: 10 })) as JsonRepair.Incremental
      expect(parser.push(`{"a": 1, `)).toBe(true)
      expect(parser.push(`"b": 2}`)).toBe(false)
      expect(parser.push(`more`)).toBe(false)
      expect(parser.value()).toStrictEqual({ a: 1 })
      expect(failure(parser.end()).message).toContain("maxLength (10")
    })

    it("parseStrict enforces both limits, even on very deep input", () => {
      expect(failure(JsonRepair.parseStrict(`[1, 2, 3]`, { maxLength: 4 })).message).toContain("maxLength (4")
      const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`
      expect(failure(JsonRepair.parseStrict(deep)).message).toContain("maxDepth (256)")
      expect(failure(JsonRepair.parse(deep)).message).toContain("maxDepth (256)")
    })

    it("rejects invalid limits with a FatalError that names the option", () => {
      expect(failure(JsonRepair.parse("{}", { maxDepth: 0 }))).toMatchObject({
        _tag: "FatalError",
        reason: "options",
        message: `Invalid option "maxDepth": expected an integer ≥ 1, got 0`
      })
      expect(failure(JsonRepair.repair("{}", { maxLength: "big" as unknown as number })).message).toBe(
        `Invalid option "maxLength": expected an integer ≥ 1, got a string`
      )
      expect(failure(JsonRepair.incremental(5 as unknown as JsonRepair.Options)).message).toBe(
        `Invalid option "options": expected { maxLength?, maxDepth? }, got 5`
      )
    })
  })

  describe("parseStrict", () => {
    it("accepts standard JSON and rejects anything repaired", () => {
      expect(value(JsonRepair.parseStrict(` {"a": [1, "x", null]} `))).toStrictEqual({ a: [1, "x", null] })
      const error = failure(JsonRepair.parseStrict("```json\n{\"a\": 1}\n```"))
      expect(error).toMatchObject({ _tag: "ContentError", rule: "json" })
      expect(error.message).toMatch(/^Invalid JSON: /)
    })
  })

  describe("incremental", () => {
    it("shows complete fields only, and copies so that old snapshots never change", () => {
      const parser = incremental()
      expect(parser.value()).toBeUndefined()
      expect(parser.push(`Sure: {"title": "Du`)).toBe(true)
      const first = parser.value()
      expect(first).toStrictEqual({})
      expect(parser.push(`ne", "year": 19`)).toBe(true)
      expect(parser.value()).toStrictEqual({ title: "Dune" })
      // a closing quote counts once the next character shows it is not a quote inside the text
      expect(parser.push(`65, "tags": ["sf"`)).toBe(true)
      expect(parser.value()).toStrictEqual({ title: "Dune", year: 1965, tags: [] })
      expect(parser.push(` `)).toBe(false)
      expect(parser.push(`,`)).toBe(true)
      const third = parser.value()
      expect(third).toStrictEqual({ title: "Dune", year: 1965, tags: ["sf"] })
      expect(parser.push(` "pulp"], "ok": tru`)).toBe(true)
      expect(parser.value()).toStrictEqual({ title: "Dune", year: 1965, tags: ["sf", "pulp"] })
      expect(first).toStrictEqual({})
      expect(third).toStrictEqual({ title: "Dune", year: 1965, tags: ["sf"] })
      expect(value(parser.end())).toStrictEqual({ title: "Dune", year: 1965, tags: ["sf", "pulp"], ok: true })
    })

    it("copies only the open path: closed containers are shared", () => {
      const parser = incremental()
      parser.push(`{"done": {"a": [1]}, "open": [{"b": 1}, `)
      const one = parser.value() as { done: unknown; open: Array<unknown> }
      parser.push(`{"c": 2}`)
      const two = parser.value() as { done: unknown; open: Array<unknown> }
      expect(two.done).toBe(one.done)
      expect(two.open[0]).toBe(one.open[0])
      expect(one.open).toHaveLength(1)
      expect(two.open).toStrictEqual([{ b: 1 }, { c: 2 }])
    })
  })
})

/** The value of `input`, parsed whole and fed in pieces cut at `cuts`: both must agree. */
const parsedBothWays = (input: string, cuts: ReadonlyArray<number> = []): unknown => {
  const whole = value(JsonRepair.parse(input))
  const parser = incremental()
  let from = 0
  for (const point of [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b)) {
    parser.push(input.slice(from, point))
    from = point
  }
  parser.push(input.slice(from))
  expect(value(parser.end())).toStrictEqual(whole)
  return whole
}

describe("quoted braces in prose, and arguments without their opening brace", () => {
  it("a quoted phrase in the prose before the value is skipped, braces and brackets in it too", () => {
    expect(parsedBothWays(`The user said "use {} for objects" and here is the data: {"name": "Alice"}`))
      .toStrictEqual({ name: "Alice" })
    expect(parsedBothWays(`Remember: "arrays use []", so the list is ["a", "b"]`)).toStrictEqual(["a", "b"])
    expect(parsedBothWays(`He wrote “use {x} here” and then: {"ok": true}`)).toStrictEqual({ ok: true })
    expect(parsedBothWays(`the 'x {y}' rule gives {"a": 1}`)).toStrictEqual({ a: 1 })
    // the text opens with the phrase
    expect(parsedBothWays(`"use {} for objects", then {"name": "Alice"}`)).toStrictEqual({ name: "Alice" })
    expect(value(JsonRepair.parseWithRepairs(`He said "use {}" here: {"a": 1}`)))
      .toStrictEqual({ value: { a: 1 }, repairs: ["prose"] })
  })

  it("a quote that is not a phrase's, or a value in quotes, does not hide the value", () => {
    // an inch mark and an apostrophe open no phrase
    expect(parsedBothWays(`The 5" screen's specs: {"size": 5}`)).toStrictEqual({ size: 5 })
    // a value in quotes is the value
    expect(parsedBothWays(`Here: "{"a": 1}"`)).toStrictEqual({ a: 1 })
    // with no value after the phrases, the first brace inside one is the value after all
    expect(parsedBothWays(`The answer is "here: {"a": 1, "b": "x y"}`)).toStrictEqual({ a: 1, b: "x y" })
    expect(parsedBothWays(`He said "hi {"a": [1]}`)).toStrictEqual({ a: [1] })
  })

  it("tool-call arguments without their opening brace are the object", () => {
    expect(parsedBothWays(`"key": "value"}`)).toStrictEqual({ key: "value" })
    expect(parsedBothWays(`"a": 1, "b": [2, {"c": null}]}`)).toStrictEqual({ a: 1, b: [2, { c: null }] })
    expect(parsedBothWays(` "q": "weather in \\"Paris\\""`)).toStrictEqual({ q: `weather in "Paris"` })
    expect(value(JsonRepair.parseWithRepairs(`"key": "value"}`)))
      .toStrictEqual({ value: { key: "value" }, repairs: ["syntax"] })
    // a quoted label followed by prose is not a key
    expect(parsedBothWays(`"Note": here is the data {"a": 1}`)).toStrictEqual({ a: 1 })
  })

  /** Prose that a quoted phrase may hold: braces, brackets, colons, but not the phrase's own quote. */
  const phrase = fc.string({ unit: fc.constantFrom(..."{}[]:, abc1\n") })
  const jsonValue = fc.jsonValue().filter((v) => typeof v === "object" && v !== null)

  it("property: any object or array after prose with quoted phrases is found, whole and in pieces", () => {
    fc.assert(
      fc.property(phrase, phrase, jsonValue, fc.array(fc.nat(), { maxLength: 4 }), (one, two, data, cuts) => {
        // a phrase that opens with a brace is a value in quotes (see above), so these open with a word
        const json = JSON.stringify(data)
        const input = `The user said "use ${one}" and “see ${two}”, so here is the data: ${json}`
        expect(parsedBothWays(input, cuts)).toStrictEqual(value(JsonRepair.parse(json)))
      }),
      { numRuns: 500, seed: 23 }
    )
  })

  it("property: any non-empty object without its opening brace is the object, whole and in pieces", () => {
    const object = fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 })
    fc.assert(
      fc.property(object, fc.array(fc.nat(), { maxLength: 4 }), (data, cuts) => {
        const text = JSON.stringify(data)
        expect(parsedBothWays(text.slice(1), cuts)).toStrictEqual(value(JsonRepair.parse(text)))
      }),
      { numRuns: 500, seed: 29 }
    )
  })
})
