import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Guardrails } from "effect-l0"
import type { Guardrail } from "effect-l0"
import { L0 } from "effect-l0"
import * as fc from "fast-check"
import { cut, messages } from "./guardrailCheck.js"

// Reference checks: each reads the whole text at once, written independently of the incremental rules.

const WS = 0
const PUNCT = 1
const OTHER = 2

/** CommonMark's character classes; `undefined` is a line edge and counts as whitespace. */
const classOf = (ch: string | undefined): number =>
  ch === undefined || /\s/.test(ch) ? WS : /[\p{P}\p{S}]/u.test(ch) ? PUNCT : OTHER

const referenceJson = (text: string): boolean => {
  const start = /^\s*(?:`{3,}[^\n]*\n\s*)?/.exec(text)![0].length
  if (text[start] !== "{" && text[start] !== "[") return false
  const tokens = text.slice(start).match(/"(?:[^"\\]|\\[\s\S])*"|"[\s\S]*|[{}[\]]|\s+|[^\s"{}[\]]+/g) ?? []
  const open: Array<string> = []
  for (const token of tokens) {
    if (token === "{" || token === "[") open.push(token)
    else if (token === "}" || token === "]") {
      if (open.pop() !== (token === "}" ? "{" : "[")) return true
    } else if (open.length === 0) {
      if (!/^\s+$/.test(token)) return false
    } else if (token.startsWith("\"") && !/^"(?:[^"\\]|\\[\s\S])*"$/.test(token)) {
      return true
    }
  }
  return open.length > 0
}

const referenceStrictJson = (text: string, options: { scalars: boolean; fences: boolean }): boolean => {
  let body = text.trim()
  if (options.fences && body.startsWith("```")) {
    const lineEnd = body.indexOf("\n")
    if (lineEnd < 0) return true
    body = body.slice(lineEnd + 1).trimEnd().replace(/(?:^|\n)[ \t]*`{3,}$/, "")
  }
  try {
    const value: unknown = JSON.parse(body)
    return !options.scalars && (typeof value !== "object" || value === null)
  } catch {
    return true
  }
}

interface MarkdownVerdict {
  fence: boolean
  emphasis: boolean
  table: boolean
}

const referenceMarkdown = (text: string): MarkdownVerdict => {
  const verdict = { fence: false, emphasis: false, table: false }
  const first = /\S/.exec(text)?.[0]
  if (first === "{" || first === "[") return verdict
  let fence: { char: string; length: number } | undefined
  let opens = [0, 0, 0]
  let codeSpan = 0
  let header = 0
  let columns = 0
  const endParagraph = () => {
    if (opens.some((count) => count > 0)) verdict.emphasis = true
    opens = [0, 0, 0]
    codeSpan = 0
    header = 0
    columns = 0
  }
  for (const line of text.split("\n")) {
    const fenceLine = /^ {0,3}(`{3,}|~{3,})([^\n]*)$/.exec(line)
    if (fence !== undefined) {
      const [, run, rest] = fenceLine ?? []
      if (run !== undefined && run[0] === fence.char && run.length >= fence.length && /^\s*$/.test(rest!)) {
        fence = undefined
      }
      continue
    }
    if (fenceLine !== null) {
      const [, run, rest] = fenceLine
      if (run![0] === "`" && rest!.includes("`")) {
        header = 0
        columns = 0
      } else {
        endParagraph()
        fence = { char: run![0]!, length: run!.length }
      }
      continue
    }
    if (/^\s*$/.test(line)) {
      endParagraph()
      continue
    }
    for (let i = 0; i < line.length;) {
      const ch = line[i]!
      if (ch === "\\" && codeSpan === 0) {
        i += 2
      } else if (ch === "`" || (codeSpan === 0 && (ch === "*" || ch === "_"))) {
        let j = i
        while (line[j] === ch) j++
        const length = j - i
        if (ch === "`") {
          codeSpan = codeSpan === 0 ? length : codeSpan === length ? 0 : codeSpan
        } else {
          const prev = classOf(line[i - 1])
          const next = classOf(line[j])
          const left = next !== WS && (next !== PUNCT || prev !== OTHER)
          const right = prev !== WS && (prev !== PUNCT || next !== OTHER)
          const kinds = ch === "*"
            ? { 1: [0], 2: [1], 3: [0, 1] }[length] ?? []
            : length === 2 || length === 3
            ? [2]
            : []
          for (const kind of kinds) {
            if (left && !right) opens[kind]!++
            else if (right && opens[kind]! > 0) opens[kind]!--
          }
        }
        i = j
      } else {
        i++
      }
    }
    const pipes: Array<number> = []
    for (let k = 0; k < line.length; k++) {
      if (line[k] === "\\") k++
      else if (line[k] === "|") pipes.push(k)
    }
    if (pipes.length === 0) {
      header = 0
      columns = 0
      continue
    }
    const leading = pipes[0] === line.search(/\S/)
    const trailing = pipes.at(-1) === /\S\s*$/.exec(line)!.index && !(pipes.length === 1 && leading)
    const cells = pipes.length + 1 - (leading ? 1 : 0) - (trailing ? 1 : 0)
    const delimiter = /^[\s|:-]*$/.test(line) && line.includes("-")
    if (columns > 0) {
      if (cells !== columns) verdict.table = true
    } else if (delimiter && header > 0) {
      if (cells === header) columns = cells
      else verdict.table = true
    }
    header = columns === 0 && !delimiter ? cells : 0
  }
  if (fence !== undefined) verdict.fence = true
  endParagraph()
  return verdict
}

const PHRASES = /\bas\san\sai\b|\bi\scannot\b|\bi\sdon['’]t\shave\b|\bunfortunately\b|\bi\sapologize\b|\bfoo\sbar\b/gi
const USER_PATTERNS = [/b[0-9]{1,3}c/, /^x/, /y$/i, /\d+/]

const referencePattern = (text: string): ReadonlyArray<string> =>
  [PHRASES, ...USER_PATTERNS.map((regex) => new RegExp(regex.source, `${regex.flags}g`))]
    .flatMap((regex) => [...text.matchAll(regex)])
    .filter((match) => match[0].length > 0)
    .map((match) => `${match.index}:${match[0]}`)
    .sort()

const referenceZeroOutput = (text: string): boolean => {
  if (/[\p{L}\p{N}\p{Extended_Pictographic}]/u.test(text)) return false
  try {
    return typeof JSON.parse(text) !== "object"
  } catch {
    return true
  }
}

const referenceRepetition = (text: string, maxRepeats: number, minLength: number): boolean => {
  const fold = (s: string) =>
    s.replace(/[\u0000-\u052f]/g, (ch) => ch.toLowerCase().length === 1 ? ch.toLowerCase() : ch)
  const segments = text.split(/\n|(?<=[.!?])\s|(?<=[。！？])/)
    .map((segment) => fold(segment).replace(/\s+/g, " ").trim())
    .filter((segment) => segment.length > 0)
  for (let n = 0; n < segments.length; n++) {
    let block = 0
    for (let p = 1; p <= 16 && p <= n; p++) {
      block += segments[n - p + 1]!.length
      let run = 0
      for (let j = n; j - p >= 0 && segments[j] === segments[j - p]; j--) run++
      if (run >= maxRepeats * p && block >= minLength) return true
    }
  }
  return false
}

// Generators: texts joined from fragments that exercise each rule, cut at random points.

const textOf = (fragments: ReadonlyArray<string>, maxLength = 40) =>
  fc.array(fc.constantFrom(...fragments), { maxLength }).map((parts) => parts.join(""))

const cuts = fc.array(fc.nat({ max: 10_000 }), { maxLength: 12 })

/** Valid JSON whose strings hold quotes, backslashes and brackets, cut short or not, or fragments of it. */
const jsonText = fc.oneof(
  textOf(["{", "}", "[", "]", "\"", "\\", "\\\"", " ", "\n", "a", "1", ",", ":", "```json\n", "```", "``", "{\"k\": ",
    "[1, "]),
  fc.tuple(
    fc.constantFrom("", "```json\n", " \n", "x"),
    fc.jsonValue({ maxDepth: 4, stringUnit: fc.constantFrom("\"", "\\", "a", "{", "]", " ") }).map((v) =>
      JSON.stringify(v)
    ),
    fc.nat(),
    fc.constantFrom("", "}", "]", "\n```", " tail {")
  ).map(([prefix, json, at, suffix]) => `${prefix}${json.slice(0, at % (json.length + 1))}${suffix}`)
)

const markdownText = fc.oneof(
  textOf([
    "*",
    "**",
    "***",
    "****",
    "_",
    "__",
    "`",
    "``",
    "```",
    "~~~",
    "|",
    "-",
    ":",
    "\\",
    " ",
    "   ",
    "    ",
    "\t",
    "a",
    "b",
    "2",
    ".",
    "(",
    "\n",
    "\n\n",
    "# ",
    "{",
    "[",
    "|---|",
    "| a |",
    "```js\n",
    "é",
    "中",
    "\u00a0"
  ], 60),
  textOf(["*", "**", "***", "_", "__", "`", "\\", " ", "a", "b", ".", "(", "\n", "\n\n", "- "], 30)
)

const patternText = textOf([
  "as an ai",
  "As an AI",
  "as an",
  " ai",
  "i cannot",
  "I",
  " ",
  "cannot",
  "can",
  "not",
  "unfortunately",
  "Unfortunate",
  "ly",
  "i don't have",
  "i don’t have",
  "don",
  "'",
  "t have",
  "i apologize",
  "foo bar",
  "foo",
  " bar",
  "b12c",
  "b",
  "1",
  "2",
  "c",
  "x",
  "y",
  "Y",
  "\n",
  ".",
  "a"
])

const zeroText = textOf(
  [" ", "\n", "\t", ".", "!", "-", "—", "*", "{", "}", "[", "]", "[]", "{}", ",", "a", "Ж", "7", "👍", "\u00a0", "$",
    "€"],
  12
)

const repetitionText = textOf([
  "Hello there friend. ",
  "hello  THERE friend.\n",
  "Another sentence here! ",
  "Short. ",
  "Yes.\n",
  "}\n",
  "\n",
  " ",
  "We loop again and again? ",
  "我们再试一次。",
  "x",
  "The end",
  ".\t",
  "Ünïcödé ÄÖ line\n"
], 60)

const runs = { numRuns: 400 }

describe("incremental rules agree with full-text reference checks, however the text is cut", () => {
  it("json", () => {
    fc.assert(
      fc.property(jsonText, cuts, (text, at) => {
        expect(messages(Guardrails.json, cut(text, at)).length > 0).toBe(referenceJson(text))
      }),
      runs
    )
  })

  it("strictJson", () => {
    const wrapped = fc.tuple(
      fc.constantFrom("", " ", "\n", "```json\n", "```\n", "``", "Sure! ", "````\n"),
      fc.oneof(fc.json(), jsonText),
      fc.constantFrom("", "\n", "\n```", "```", " ok", "\n```\n", "\n````")
    ).map((parts) => parts.join(""))
    const options = fc.record({ scalars: fc.boolean(), fences: fc.boolean() })
    fc.assert(
      fc.property(wrapped, cuts, options, (text, at, config) => {
        const rule = Guardrails.strictJsonWith(config)
        expect(messages(rule, cut(text, at)).length > 0).toBe(referenceStrictJson(text, config))
      }),
      runs
    )
  })

  it("markdown", () => {
    fc.assert(
      fc.property(markdownText, cuts, (text, at) => {
        const found = messages(Guardrails.markdown, cut(text, at))
        expect({
          fence: found.some((m) => m.includes("code fence")),
          emphasis: found.some((m) => m.includes("is never closed in the paragraph")),
          table: found.some((m) => m.includes("table"))
        }).toEqual(referenceMarkdown(text))
      }),
      runs
    )
  })

  it("pattern: the same matches, each once", () => {
    const rule = Guardrails.pattern(["foo bar", ...USER_PATTERNS])
    fc.assert(
      fc.property(patternText, cuts, (text, at) => {
        const found = messages(rule, cut(text, at)).map((m) => {
          const [, shown, offset] = /^found (".*") at offset (\d+)$/.exec(m)!
          return `${offset}:${JSON.parse(shown!)}`
        })
        expect(found.sort()).toEqual(referencePattern(text))
      }),
      runs
    )
  })

  it("zeroOutput, with surrogate pairs split across chunks", () => {
    fc.assert(
      fc.property(zeroText, cuts, (text, at) => {
        expect(messages(Guardrails.zeroOutput, cut(text, at)).length > 0).toBe(referenceZeroOutput(text))
      }),
      runs
    )
  })

  it("repetition", () => {
    const limits = fc.record({ maxRepeats: fc.integer({ min: 1, max: 3 }), minLength: fc.constantFrom(1, 5, 10, 20) })
    fc.assert(
      fc.property(repetitionText, cuts, limits, (text, at, { maxRepeats, minLength }) => {
        const rule = Guardrails.repetition({ maxRepeats, minLength })
        expect(messages(rule, cut(text, at)).length > 0).toBe(referenceRepetition(text, maxRepeats, minLength))
      }),
      runs
    )
  })
})

describe("through L0.run, with random chunks and check intervals", () => {
  const outcome = (rule: Guardrail.GuardrailRule, chunks: ReadonlyArray<string>, checkInterval: number) =>
    Effect.runPromise(Effect.exit(L0.run({
      stream: async function*() {
        yield* chunks
      },
      guardrails: [rule],
      checkInterval,
      retry: { maxAttempts: 1 },
      // the rule's verdict is the point: an empty text passes it
      allowEmpty: true
    }))).then((exit) => Exit.isSuccess(exit) ? exit.value.state.violations.length > 0 : true)

  it("errors fail the run and warnings are kept exactly when the reference finds a violation", async () => {
    const interval = fc.integer({ min: 1, max: 12 })
    await fc.assert(
      fc.asyncProperty(jsonText, markdownText, cuts, interval, async (json, markdown, at, checkInterval) => {
        expect(await outcome(Guardrails.json, cut(json, at), checkInterval)).toBe(referenceJson(json))
        const verdict = referenceMarkdown(markdown)
        expect(await outcome(Guardrails.markdown, cut(markdown, at), checkInterval)).toBe(
          verdict.fence || verdict.emphasis || verdict.table
        )
      }),
      { numRuns: 60 }
    )
  })
})
