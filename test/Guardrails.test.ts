import { describe, expect, it } from "@effect/vitest"
import { Guardrail, Guardrails } from "effect-l0"
import { checkChunks, messages, units, verdict } from "./guardrailCheck.js"

describe("Guardrails.json", () => {
  const rule = Guardrails.json

  it("passes balanced JSON, escapes and brackets inside strings", () => {
    expect(verdict(rule, `{"a": [1, {"b": "}]\\"["}], "c": "\\\\"}`)).toEqual([])
    expect(verdict(rule, `[[], {}, [{}]]`)).toEqual([])
    expect(verdict(rule, `  \n{"a": 1}`)).toEqual([])
  })

  it("reports structures left open at completion, also inside a string", () => {
    expect(verdict(rule, `{"a": [1, 2`)).toEqual(["the output ends with 2 unclosed bracket(s)"])
    expect(verdict(rule, `{"a": "text`)).toEqual(["the output ends with 1 unclosed bracket(s), inside a string"])
    expect(verdict(rule, `{"a": "\\"}`)).toEqual(["the output ends with 1 unclosed bracket(s), inside a string"])
  })

  it("reports a wrong closer mid-stream, before completion", () => {
    const check = rule.start()
    const input = { content: "", tokenCount: 1, toolCallCount: 0, completed: false }
    expect(check({ ...input, delta: `{"a": [1` })).toBeUndefined()
    expect(check({ ...input, delta: `}` })).toBe(`"}" at offset 8 closes "["`)
    expect(check({ ...input, delta: `]}`, completed: true })).toBeUndefined()
  })

  it("reports a closer that closes nothing after the top-level value", () => {
    expect(verdict(rule, `{"a": 1}}`)).toEqual([`"}" at offset 8 closes nothing`])
    expect(verdict(rule, `[1]\n]`)).toEqual([`"]" at offset 4 closes nothing`])
  })

  it("accepts further top-level values (JSON Lines) and stops at trailing text", () => {
    expect(verdict(rule, `{"a": 1}\n{"a": 2}\n`)).toEqual([])
    expect(verdict(rule, `{"a": 1}\nThat is all } ] [`)).toEqual([])
    expect(verdict(rule, `{"a": 1} "tail [`)).toEqual([])
    expect(verdict(rule, `{"a": 1}\n{"b": [`)).toEqual(["the output ends with 2 unclosed bracket(s)"])
  })

  it("checks JSON inside an opening code fence", () => {
    expect(verdict(rule, "```json\n{\"a\": 1}\n```\n")).toEqual([])
    expect(verdict(rule, "```json\n{\"a\": [1}\n```")).toEqual([`"}" at offset 16 closes "["`])
    expect(verdict(rule, "````\n[1, 2")).toEqual(["the output ends with 1 unclosed bracket(s)"])
  })

  it("leaves prose alone, even with stray brackets", () => {
    expect(verdict(rule, "The set } is closed { and [ open")).toEqual([])
    expect(verdict(rule, "``{ not a fence")).toEqual([])
    expect(verdict(rule, "```json")).toEqual([])
    expect(verdict(rule, "   \n ")).toEqual([])
    expect(verdict(rule, "")).toEqual([])
  })
})

describe("Guardrails.strictJson", () => {
  const rule = Guardrails.strictJson

  it("passes an object or array, with whitespace and one code fence around it", () => {
    expect(verdict(rule, ` {"a": [1, "x"]}\n`)).toEqual([])
    expect(verdict(rule, "```json\n[1, 2]\n```")).toEqual([])
    expect(verdict(rule, "```\n{}\n````\n")).toEqual([])
    expect(verdict(rule, "```json\n{}")).toEqual([])
  })

  it("fails early on output that cannot start an object or array", () => {
    const check = rule.start()
    const input = { content: "", tokenCount: 1, toolCallCount: 0, completed: false }
    expect(check({ ...input, delta: "  " })).toBeUndefined()
    expect(check({ ...input, delta: "Sure! {" })).toBe(`the output starts with "S", not a JSON object or array`)
    expect(check({ ...input, delta: "}", content: "  Sure! {}", completed: true })).toBeUndefined()
  })

  it("fails at completion on invalid JSON, trailing prose, scalars and empty output", () => {
    expect(verdict(rule, `{"a": 1,}`)[0]).toMatch(/^the output is not valid JSON \(/)
    expect(verdict(rule, `{"a": 1} Hope this helps!`)[0]).toMatch(/^the output is not valid JSON/)
    expect(verdict(rule, `42`)).toEqual([`the output starts with "4", not a JSON object or array`])
    expect(verdict(rule, `  `)).toEqual(["the output is empty, not JSON"])
    expect(verdict(rule, "```json")).toEqual(["the output is only a code fence line, not JSON"])
    expect(verdict(rule, "Here:\n```json\n{}\n```")).toHaveLength(1)
  })

  it("is configurable: scalars, no fences", () => {
    const scalars = Guardrails.strictJsonWith({ scalars: true })
    expect(verdict(scalars, `"text"`)).toEqual([])
    expect(verdict(scalars, ` -1.5e3 `)).toEqual([])
    expect(verdict(scalars, `null`)).toEqual([])
    expect(verdict(scalars, `nope`)[0]).toMatch(/^the output is not valid JSON/)
    expect(verdict(scalars, `yes`)).toEqual([`the output starts with "y", not a JSON value`])
    const bare = Guardrails.strictJsonWith({ fences: false })
    expect(verdict(bare, `{"a": 1}`)).toEqual([])
    expect(verdict(bare, "```json\n{}\n```")).toEqual([`the output starts with "\`", not a JSON object or array`])
  })

  it("reads `content` only at completion", () => {
    const check = rule.start()
    let reads = 0
    const input = (delta: string, completed: boolean) => ({
      delta,
      tokenCount: 1,
      toolCallCount: 0,
      completed,
      get content() {
        reads++
        return `{"a": 1}`
      }
    })
    check(input(`{"a"`, false))
    check(input(`: 1`, false))
    expect(reads).toBe(0)
    expect(check(input(`}`, true))).toBeUndefined()
    expect(reads).toBe(1)
  })
})

describe("Guardrails.markdown", () => {
  const rule = Guardrails.markdown

  it("passes well-formed markdown", () => {
    const text = [
      "# Title with **bold** and *em*",
      "",
      "* a bullet with __strong__ text",
      "  * nested bullet, 2*3 = 6, 2 * 3, x**2 + y**2, snake_case_name, __init__.py",
      "- **Note:** `**kwargs` and `a * b` are code; \\*escaped\\* stars",
      "",
      "***",
      "",
      "| a | b |",
      "|:--|--:|",
      "| 1 | 2 |",
      "| `x \\| y` | 3 |",
      "",
      "```python",
      "def f(*args, **kwargs): return **",
      "```",
      "~~~",
      "```still code",
      "~~~",
      "**粗体**文字, price 5*, a*b*c, **nbsp**\u00a0after, \u3000*ideographic space*「*quoted*」"
    ].join("\n")
    expect(verdict(rule, text)).toEqual([])
  })

  it("reports an unclosed code fence", () => {
    expect(verdict(rule, "Intro\n\n```ts\nconst a = 1\n")).toEqual(["the code fence opened at line 3 is never closed"])
    expect(verdict(rule, "````\ncode\n```\n")).toEqual(["the code fence opened at line 1 is never closed"])
    expect(verdict(rule, "~~~\ncode\n```")).toEqual(["the code fence opened at line 1 is never closed"])
    expect(verdict(rule, "```\ncode\n```  not a closer\n")).toEqual(["the code fence opened at line 1 is never closed"])
    expect(verdict(rule, "text\n```")).toEqual(["the code fence opened at line 2 is never closed"])
  })

  it("does not take indented or inline backticks for a fence", () => {
    expect(verdict(rule, "    ```\ncode")).toEqual([])
    expect(verdict(rule, "``` a ` b\ntext")).toEqual([])
    expect(verdict(rule, "``inline`` code")).toEqual([])
    expect(verdict(rule, "   ```\ncode\n   ```")).toEqual([])
    expect(verdict(rule, "text\n``` a ` b\n**open")).toEqual([`"**" is never closed in the paragraph at line 1`])
  })

  it("reports emphasis left open at the end of its paragraph", () => {
    expect(verdict(rule, "This is **important\n\nNext paragraph")).toEqual([
      `"**" is never closed in the paragraph at line 1`
    ])
    expect(verdict(rule, "Intro\n\nAn *emphasis that\nspans lines")).toEqual([
      `"*" is never closed in the paragraph at line 3`
    ])
    expect(verdict(rule, "A __strong one")).toEqual([`"__" is never closed in the paragraph at line 1`])
    expect(verdict(rule, "***both")).toEqual([`"*" is never closed in the paragraph at line 1`])
    expect(verdict(rule, "**open\n```\ncode\n```")).toEqual([`"**" is never closed in the paragraph at line 1`])
  })

  it("accepts emphasis across lines of one paragraph and ignores single underscores", () => {
    expect(verdict(rule, "An **emphasis that\nspans lines** fine")).toEqual([])
    expect(verdict(rule, "the _private field and my_var_")).toEqual([])
    expect(verdict(rule, "a `code span\nover lines with **` inside")).toEqual([])
  })

  it("reports tables whose rows do not match their header", () => {
    expect(verdict(rule, "| a | b |\n|---|---|\n| 1 | 2 | 3 |\n")).toEqual([
      "the table row at line 3 has 3 cell(s), its header 2"
    ])
    expect(verdict(rule, "| a | b |\n|---|\n")).toEqual([
      "the table delimiter row at line 2 has 1 cell(s), its header 2"
    ])
    expect(verdict(rule, "a | b\n--- | ---\n1 | 2\n3\n\n| x |\n|---|\n| 1 | 2 |")).toEqual([
      "the table row at line 8 has 2 cell(s), its header 1"
    ])
  })

  it("ignores pipes outside tables and escaped pipes", () => {
    expect(verdict(rule, "a | b | c in prose\n\n| x |")).toEqual([])
    expect(verdict(rule, "| a | b |\n|---|---|\n| 1 \\| one | 2 |")).toEqual([])
    expect(verdict(rule, "|\n|-|\n|")).toEqual([])
    expect(verdict(rule, "| a | b |\n---\n| 1 |")).toEqual([])
  })

  it("reports each kind of problem once, together", () => {
    const text = "**a\n\n*b\n\n| a | b |\n|---|---|\n| 1 |\n| 1 |\n\n```\nopen"
    expect(verdict(rule, text)).toEqual([
      "the code fence opened at line 10 is never closed",
      `"**" is never closed in the paragraph at line 1`,
      "the table row at line 7 has 1 cell(s), its header 2"
    ])
  })

  it("does not check output that starts like JSON", () => {
    expect(verdict(rule, ` {"a": "**kwargs", "b": "| x |"}`)).toEqual([])
    expect(verdict(rule, `["*args"`)).toEqual([])
  })

  it("is a warning by default", () => {
    expect(checkChunks(rule, ["```\nx"])[0]?.severity).toBe("warning")
  })
})

describe("Guardrails.pattern", () => {
  it("finds the default phrases, case-insensitively, as whole words", () => {
    const rule = Guardrails.pattern()
    expect(verdict(rule, "As an AI, I cannot do that. UNFORTUNATELY I don’t have it. I apologize.")).toEqual([
      `found "As an AI" at offset 0`,
      `found "I cannot" at offset 10`,
      `found "UNFORTUNATELY" at offset 28`,
      `found "I don’t have" at offset 42`,
      `found "I apologize" at offset 59`
    ])
    expect(verdict(rule, "as an aide, hi cannot, unfortunatelyx, i don't haven't")).toEqual([])
    expect(Guardrails.defaultPhrases).toContain("unfortunately")
  })

  it("finds matches split across chunks, each once", () => {
    const rule = Guardrails.pattern()
    expect(messages(rule, ["I can", "not", " and I ca", "nnot"])).toEqual([
      `found "I cannot" at offset 0`,
      `found "I cannot" at offset 13`
    ])
    expect(messages(rule, ["x", "x", "unfortunately", "", " unfor", "tunately"])).toEqual([
      `found "unfortunately" at offset 16`
    ])
  })

  it("waits for the next character before judging a word boundary", () => {
    const rule = Guardrails.pattern()
    const check = rule.start()
    const input = { content: "", tokenCount: 1, toolCallCount: 0 }
    expect(check({ ...input, delta: "I cannot", completed: false })).toEqual([])
    expect(check({ ...input, delta: "s", completed: false })).toEqual([])
    expect(check({ ...input, delta: "", completed: true })).toEqual([])
  })

  it("adds user strings and RegExps to the defaults, or replaces them", () => {
    const rule = Guardrails.pattern(["lorem ipsum", /order #\d{4,}/, "", "c++", "#fail", /[\]x]{3}/])
    expect(verdict(rule, "Lorem  ipsum, lorem\nipsum; order #12345; unfortunately; C++ a#FAIL ]x]")).toEqual([
      `found "lorem\\nipsum" at offset 14`,
      `found "unfortunately" at offset 41`,
      `found "C++" at offset 56`,
      `found "#FAIL" at offset 61`,
      `found "order #12345" at offset 27`,
      `found "]x]" at offset 67`
    ])
    const only = Guardrails.pattern([/secret/], { defaults: false })
    expect(verdict(only, "unfortunately SECRET secret")).toEqual([`found "secret" at offset 21`])
  })

  it("keeps a RegExp's flags and anchors them to the whole output", () => {
    const rule = Guardrails.pattern([/^Sure/, /done$/, /^- item/m], { defaults: false })
    expect(messages(rule, ["Sure, ", "Sure", "\n- item\nnot - item ", "done", ". done"])).toEqual([
      `found "Sure" at offset 0`,
      `found "- item" at offset 11`,
      `found "done" at offset 35`
    ])
  })

  it("skips empty matches and does not report a growing match twice", () => {
    const rule = Guardrails.pattern([/x*/, /\d+/], { defaults: false })
    expect(messages(rule, ["ab1", "2", "3c4"])).toEqual([`found "123" at offset 2`, `found "4" at offset 6`])
  })

  it("finds long matches up to maxMatchLength across chunks", () => {
    const rule = Guardrails.pattern([/<<[a-z]+>>/], { defaults: false, maxMatchLength: 300 })
    const long = `<<${"z".repeat(250)}>>`
    expect(messages(rule, units(`x ${long} y`))).toEqual([`found "<<${"z".repeat(78)}…" at offset 2`])
  })

  it("is a warning by default and can be raised", () => {
    expect(checkChunks(Guardrails.pattern(), ["I apologize"])[0]?.severity).toBe("warning")
    const raised = Guardrail.withSeverity(Guardrails.pattern(), "error")
    expect(checkChunks(raised, ["I apologize"])[0]?.severity).toBe("error")
  })

  it("refuses nested quantifiers with a fatal violation", () => {
    for (const regex of [/(a+)+b/, /(\w*\s?)*$/, /((ab)*c)+/, /(x{2,})*/, /(?:a|b+){1,5}/]) {
      const found = checkChunks(Guardrails.pattern([regex]), ["aaa"])
      expect(found[0]?.severity).toBe("fatal")
      expect(found[0]?.message).toContain(String(regex))
    }
    for (const regex of [/(ab)+c/, /a+b*/, /[(+)]+/, /\(a+\)+/, /(a)+?/, /(a+){1}/, /a{2/]) {
      expect(checkChunks(Guardrails.pattern([regex], { defaults: false }), ["zzz"])).toEqual([])
    }
  })

  it("refuses invalid patterns and options with a fatal violation", () => {
    const invalid = [
      Guardrails.pattern([42 as unknown as string]),
      Guardrails.pattern("text" as unknown as Array<string>),
      Guardrails.pattern([], { maxMatchLength: 0 }),
      Guardrails.pattern([], { defaults: "no" as unknown as boolean }),
      Guardrails.pattern([], 7 as unknown as Guardrails.PatternOptions)
    ]
    expect(invalid.map((rule) => checkChunks(rule, ["x"]).map((v) => [v.severity, v.message]))).toEqual([
      [["fatal", "patterns[0] is neither a string nor a RegExp"]],
      [["fatal", `Invalid option "Guardrails.pattern.patterns": expected an array of patterns, got a string`]],
      [["fatal", `Invalid option "Guardrails.pattern.maxMatchLength": expected an integer ≥ 1, got 0`]],
      [["fatal", `Invalid option "Guardrails.pattern.defaults": expected a boolean, got a string`]],
      [["fatal", `Invalid option "Guardrails.pattern": expected { defaults?, maxMatchLength? }, got 7`]]
    ])
  })
})

describe("Guardrails.zeroOutput", () => {
  const rule = Guardrails.zeroOutput

  it("reports empty, whitespace-only and punctuation-only output", () => {
    expect(verdict(rule, "")).toEqual(["the output is empty"])
    expect(verdict(rule, " \n\t ")).toEqual(["the output is empty"])
    expect(verdict(rule, "... !? -- ** {}")).toEqual(["the output has no letters, digits or emoji, only punctuation"])
    expect(messages(rule, [])).toEqual(["the output is empty"])
  })

  it("passes letters, digits and emoji in any script, also split across chunks", () => {
    expect(verdict(rule, "  ok")).toEqual([])
    expect(verdict(rule, "... 7")).toEqual([])
    expect(verdict(rule, "— Ж")).toEqual([])
    expect(verdict(rule, "👍")).toEqual([])
    expect(verdict(rule, "!👍!")).toEqual([])
  })

  it("passes a reply made of tool calls, and empty JSON structures", () => {
    expect(messages(rule, [""], 1)).toEqual([])
    expect(verdict(rule, " [] ")).toEqual([])
    expect(verdict(rule, "{}")).toEqual([])
    expect(verdict(rule, "[{}, []]")).toEqual([])
    expect(verdict(rule, "[}")).toEqual(["the output has no letters, digits or emoji, only punctuation"])
  })

  it("is an error by default", () => {
    expect(checkChunks(rule, [""])[0]?.severity).toBe("error")
  })
})

describe("Guardrails.repetition", () => {
  const rule = Guardrails.repetition()

  it("reports a sentence or line that comes more than maxRepeats times in a row", () => {
    expect(verdict(rule, "I am stuck here. I am stuck here. I am stuck here. I am stuck here.")).toEqual([
      `the same line or sentence came 4 times in a row: "I am stuck here."`
    ])
    expect(verdict(rule, "Loop line again\nloop   LINE again\n LOOP line again \nLoop line again")).toEqual([
      `the same line or sentence came 4 times in a row: "Loop line again"`
    ])
    expect(verdict(rule, "I am stuck here. I am stuck here. I am stuck here. Done now.")).toEqual([])
  })

  it("reports a block of lines or sentences that loops", () => {
    const block = "First point is this. Second point is that!\nThird line here\n"
    expect(verdict(rule, `Intro text here. ${block.repeat(4)}`)).toEqual([
      `the same 3 lines or sentences came 4 times in a row, the last: "Third line here"`
    ])
    expect(verdict(rule, block.repeat(3))).toEqual([])
  })

  it("ignores short segments and recurring lines that are not in a row", () => {
    expect(verdict(rule, "Yes.\nYes.\nYes.\nYes.\nYes.\n}\n}\n}\n}\n}")).toEqual([])
    const items = Array.from({ length: 8 }, (_, i) => `  {\n    "id": ${i},\n    "enabled": true\n  },`).join("\n")
    expect(verdict(rule, `[\n${items}\n]`)).toEqual([])
  })

  it("splits CJK sentences at 。！？ and keeps a bounded preview", () => {
    expect(verdict(Guardrails.repetition({ minLength: 3 }), "我们再试一次。".repeat(4))).toEqual([
      `the same line or sentence came 4 times in a row: "我们再试一次。"`
    ])
    const long = `${"word ".repeat(30)}end.`
    expect(messages(rule, [`${long} ${long} ${long} ${long}`])[0]).toBe(
      `the same line or sentence came 4 times in a row: "${"word ".repeat(12)}…"`
    )
  })

  it("honours maxRepeats and minLength", () => {
    const strictRule = Guardrails.repetition({ maxRepeats: 1, minLength: 3 })
    expect(verdict(strictRule, "Yes.\nYes.")).toEqual([`the same line or sentence came 2 times in a row: "Yes."`])
    expect(verdict(Guardrails.repetition({ maxRepeats: 5 }), "Same line here\n".repeat(5))).toEqual([])
  })

  it("refuses invalid options with a fatal violation", () => {
    const found = checkChunks(Guardrails.repetition({ maxRepeats: 0, minLength: 2.5 }), ["x"])
    expect(found.map((v) => [v.severity, v.message])).toEqual([
      ["fatal", `Invalid option "Guardrails.repetition.maxRepeats": expected an integer ≥ 1, got 0`]
    ])
    const json = checkChunks(Guardrails.strictJsonWith({ scalars: 1 as unknown as boolean }), ["{}"])
    expect(json.map((v) => v.message)).toEqual([
      `Invalid option "Guardrails.strictJsonWith.scalars": expected a boolean, got 1`
    ])
  })
})

describe("presets", () => {
  it("hold the documented rules", () => {
    const names = (rules: ReadonlyArray<Guardrail.GuardrailRule>) => rules.map((rule) => rule.name)
    expect(names(Guardrails.minimal)).toEqual(["json", "zeroOutput"])
    expect(names(Guardrails.recommended)).toEqual(["json", "markdown", "pattern", "zeroOutput"])
    expect(names(Guardrails.strict)).toEqual(["json", "markdown", "pattern", "zeroOutput", "strictJson", "repetition"])
    expect(names(Guardrails.jsonOnly)).toEqual(["json", "strictJson", "zeroOutput"])
  })
})

describe("adversarial inputs", () => {
  const all = [...Guardrails.strict, Guardrails.pattern([/a*b/, /(x|y)+z/, "aaaa"])]
  /** How many violations each rule finds, for each way of cutting the same text. */
  const run = (chunkings: ReadonlyArray<ReadonlyArray<string>>) =>
    chunkings.map((pieces) => all.map((rule) => messages(rule, pieces).length))

  it("100 KB of { or \" in one chunk and in 1-character chunks", () => {
    const braces = "{".repeat(100_000)
    const [whole, single] = run([[braces], units(braces)])
    expect(whole).toEqual(single)
    expect(messages(Guardrails.json, [braces])).toEqual(["the output ends with 100000 unclosed bracket(s)"])
    expect(messages(Guardrails.zeroOutput, [braces])).toHaveLength(1)
    const quotes = "\"".repeat(100_000)
    const [wholeQuotes, singleQuotes] = run([[quotes], units(quotes)])
    expect(wholeQuotes).toEqual(singleQuotes)
    expect(messages(Guardrails.strictJson, units(quotes))).toHaveLength(1)
  })

  it("100 KB of brackets in nested order, open then closed", () => {
    const nested = `${"[".repeat(50_000)}${"]".repeat(50_000)}`
    expect(messages(Guardrails.json, units(nested))).toEqual([])
    expect(messages(Guardrails.strictJson, [nested])).toEqual([])
  })

  it("long lines of one repeated character", () => {
    for (const c of ["a", "*", "`", "|", "-", " ", ".", "_", "~", "\\"]) {
      const line = c.repeat(30_000)
      const [whole, pieces] = run([[line], line.match(/[\s\S]{1,7}/g)!])
      expect(whole).toEqual(pieces)
    }
  })

  it("regex-hostile text against user patterns, with the window bounding each scan", () => {
    const hostile = "a".repeat(50_000)
    const rule = Guardrails.pattern([/a*b/, /(x|y)+z/, /a{3}c/], { defaults: false })
    expect(messages(rule, [hostile])).toEqual([])
    expect(messages(rule, [hostile, "b"])).toEqual([`found "${"a".repeat(80)}…" at offset 49872`])
    const refused = checkChunks(Guardrails.pattern([/(a+)+b/]), [hostile])
    expect(refused.map((v) => v.severity)).toEqual(["fatal"])
  })
})
