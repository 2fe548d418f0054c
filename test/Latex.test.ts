import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Guardrails, L0 } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import * as fc from "fast-check"
import { cut, messages, verdict } from "./guardrailCheck.js"
import { failureOf, lastErrorOf, noDelay } from "./support.js"

const rule = Guardrails.latex

describe("Guardrails.latex", () => {
  it("passes balanced math and environments, nested", () => {
    const document = [
      "\\section{Results} % costs $5, a comment",
      "The area is $\\pi r^2$ and \\(e^{i\\pi} = -1\\); it costs \\$5.",
      "\\begin{align}",
      "  a &= b \\\\",
      "  c &= \\begin{pmatrix} 1 & 0 \\end{pmatrix}",
      "\\end{align}",
      "$$\\sum_{k=1}^n k \\text{ for $n > 0$}$$ and \\[ x^2 \\] and $a$$b$.",
      "\\verb|$| and \\verb*+\\end{x}+ are verbatim.",
      "\\begin{verbatim}",
      "$ \\end{itemize} \\(",
      "\\end{verbatim}",
      "\\begin {itemize}\\item one\\end{itemize}"
    ].join("\n")
    expect(verdict(rule, document)).toEqual([])
    expect(verdict(rule, "")).toEqual([])
  })

  it("reports a closer that closes the wrong opener, mid-stream", () => {
    const check = rule.start()
    const input = { content: "", tokenCount: 1, toolCallCount: 0, completed: false }
    expect(check({ ...input, delta: "\\begin{align} x \\end{ali" })).toBeUndefined()
    expect(check({ ...input, delta: "gned}" })).toBe(`"\\end{aligned}" at offset 16 closes "\\begin{align}" (offset 0)`)
    expect(check({ ...input, delta: "\\end{align}", completed: true })).toBeUndefined()
  })

  it("reports closers that close nothing or cross math", () => {
    expect(verdict(rule, "x \\end{a}")).toEqual([`"\\end{a}" at offset 2 closes nothing`])
    expect(verdict(rule, "$a \\) b$")).toEqual([`"\\)" at offset 3 closes "$" (offset 0)`])
    expect(verdict(rule, "\\[ a $$ b \\]")).toEqual([`"\\]" at offset 10 closes "$$" (offset 5)`])
    expect(verdict(rule, "\\begin{x} $ \\end{x} $")).toEqual([`"\\end{x}" at offset 12 closes "$" (offset 10)`])
  })

  it("reports what is still open at completion", () => {
    expect(verdict(rule, "Let $x = 1 and \\begin{proof} \\[ y")).toEqual([
      `the output ends with 3 unclosed: "$" at offset 4, "\\begin{proof}" at offset 15, "\\[" at offset 29`
    ])
    expect(verdict(rule, "$$ a $ b $ c $")).toEqual([
      `the output ends with 2 unclosed: "$$" at offset 0, "$" at offset 13`
    ])
    expect(verdict(rule, "\\( \\( \\( \\( x")).toEqual([
      `the output ends with 4 unclosed: "\\(" at offset 0, "\\(" at offset 3, "\\(" at offset 6, …`
    ])
    expect(verdict(rule, "\\begin{verbatim} $$ never ends")).toEqual([
      `the output ends with 1 unclosed: "\\begin{verbatim}" at offset 0`
    ])
  })

  it("reports an environment name that never ends", () => {
    expect(verdict(rule, "text \\begin{ali")).toEqual([`"\\begin{" at offset 5 never closes its name with "}"`])
    expect(verdict(rule, "\\begin{a}\\end {a")).toEqual([`"\\end{" at offset 9 never closes its name with "}"`])
  })

  it("reads \\$ as a dollar sign and \\\\ as a line break", () => {
    expect(verdict(rule, "Price: \\$5 or \\$6")).toEqual([])
    expect(verdict(rule, "a \\\\$x$ b")).toEqual([])
    expect(verdict(rule, "a \\\\$x b")).toEqual([`the output ends with 1 unclosed: "$" at offset 4`])
  })

  it("counts a dollar in prose as math, as TeX does", () => {
    expect(verdict(rule, "It costs $5.")).toEqual([`the output ends with 1 unclosed: "$" at offset 9`])
  })

  it("skips markdown code blocks, so the math of a markdown answer can be checked", () => {
    const answer = "Run:\n```bash\necho $HOME \\end{x}\n```\nThe area is $\\pi r^2$.\n  ~~~\n$\n~~~"
    expect(verdict(rule, answer)).toEqual([])
    expect(verdict(rule, "```\nopen fence $")).toEqual([])
    expect(verdict(rule, "a ```\n$")).toEqual([`the output ends with 1 unclosed: "$" at offset 6`])
    // a fence starts a line: not after a verbatim body on the same line, nor after other blanks
    expect(verdict(rule, "\\begin{verbatim}\n\\end{verbatim}```\n$")).toEqual([
      `the output ends with 1 unclosed: "$" at offset 35`
    ])
    expect(verdict(rule, "\\begin\n\u00a0```\n$")).toEqual([`the output ends with 1 unclosed: "$" at offset 12`])
    expect(verdict(rule, "\\begin\n  ```\n$\n```")).toEqual([])
  })
})

describe("presets", () => {
  it("markdownOnly raises markdown to error; latexOnly is latex and zeroOutput", () => {
    expect(Guardrails.markdownOnly.map((r) => [r.name, r.severity])).toEqual([
      ["markdown", "error"],
      ["zeroOutput", "error"]
    ])
    expect(Guardrails.latexOnly.map((r) => [r.name, r.severity])).toEqual([["latex", "error"], ["zeroOutput", "error"]])
  })

  it.effect("markdownOnly retries an unclosed code fence; latexOnly retries unbalanced math", () =>
    Effect.gen(function*() {
      const markdown = yield* L0.run({
        stream: TestSource.make(["# Code\n```js\nx()"], ["# Code\n```js\nx()\n```"]).stream,
        guardrails: Guardrails.markdownOnly,
        retry: noDelay
      })
      expect(markdown.state.attempt).toBe(2)
      const exit = yield* Effect.exit(L0.text({
        stream: TestSource.make(["$x", "^2"], ["\\[ x \\)"]).stream,
        guardrails: Guardrails.latexOnly,
        retry: { ...noDelay, maxAttempts: 2 }
      }))
      const error = lastErrorOf(failureOf(exit))
      expect(error._tag).toBe("ContentError")
      expect(error.message).toBe(`Guardrail latex: "\\)" at offset 5 closes "\\[" (offset 0)`)
    }))
})

// Reference: reads the whole text with sticky regular expressions, written independently of the scanner.

const VERBATIM = ["verbatim", "verbatim*", "Verbatim", "lstlisting", "minted", "comment"]

const shown = (label: string): string => {
  const flat = label.replace(/\s+/g, " ")
  return `"${flat.length > 60 ? `${flat.slice(0, 60)}…` : flat}"`
}

const referenceLatex = (text: string): ReadonlyArray<string> => {
  const open: Array<{ readonly label: string; readonly at: number }> = []
  const close = (opener: string, closer: string, at: number): string | undefined => {
    const top = open.pop()
    if (top?.label === opener) return undefined
    return top === undefined
      ? `${shown(closer)} at offset ${at} closes nothing`
      : `${shown(closer)} at offset ${at} closes ${shown(top.label)} (offset ${top.at})`
  }
  const at = (regex: RegExp, i: number): RegExpExecArray | null => {
    regex.lastIndex = i
    return regex.exec(text)
  }
  let fenced = false
  let i = 0
  while (i < text.length) {
    if (i === 0 || text[i - 1] === "\n") {
      const fence = at(/[ \t]*(?:`{3}|~{3})/y, i)
      if (fence !== null) {
        fenced = !fenced
        i += fence[0].length
        continue
      }
    }
    if (fenced) {
      const end = text.indexOf("\n", i)
      i = end < 0 ? text.length : end + 1
      continue
    }
    const c = text[i]
    if (c === "%") {
      const end = text.indexOf("\n", i)
      i = end < 0 ? text.length : end
    } else if (c === "$") {
      const top = open.at(-1)
      if (top?.label === "$") {
        open.pop()
        i++
      } else if (text[i + 1] === "$") {
        if (top?.label === "$$") open.pop()
        else open.push({ label: "$$", at: i })
        i += 2
      } else {
        open.push({ label: "$", at: i })
        i++
      }
    } else if (c === "\\") {
      const environment = at(/\\(begin|end)\s*\{([^}]*)\}/y, i)
      if (environment !== null) {
        const [whole, command, name] = environment
        if (command === "end") {
          const found = close(`\\begin{${name}}`, `\\end{${name}}`, i)
          if (found !== undefined) return [found]
          i += whole.length
        } else {
          open.push({ label: `\\begin{${name}}`, at: i })
          i += whole.length
          if (VERBATIM.includes(name!)) {
            const end = text.indexOf(`\\end{${name}}`, i)
            if (end < 0) i = text.length
            else {
              open.pop()
              i = end + `\\end{${name}}`.length
            }
          }
        }
        continue
      }
      const unterminated = at(/\\(begin|end)\s*\{/y, i)
      if (unterminated !== null) {
        return [`${shown(`\\${unterminated[1]}{`)} at offset ${i} never closes its name with "}"`]
      }
      if (at(/\\verb(?![a-zA-Z])/y, i) !== null) {
        let j = i + 5
        if (text[j] === "*") j++
        if (j < text.length && text[j] !== "\n") {
          const delimiter = text[j]
          j++
          while (j < text.length && text[j] !== delimiter && text[j] !== "\n") j++
          if (text[j] === delimiter) j++
        }
        i = j
        continue
      }
      const word = at(/\\[a-zA-Z]+/y, i)
      if (word !== null) {
        i += word[0].length
        continue
      }
      const next = text[i + 1]
      const found = next === "("
        ? void open.push({ label: "\\(", at: i })
        : next === "["
        ? void open.push({ label: "\\[", at: i })
        : next === ")"
        ? close("\\(", "\\)", i)
        : next === "]"
        ? close("\\[", "\\]", i)
        : undefined
      if (found !== undefined) return [found]
      i += 2
    } else {
      i++
    }
  }
  if (open.length === 0) return []
  const listed = open.slice(0, 3).map((o) => `${shown(o.label)} at offset ${o.at}`).join(", ")
  return [`the output ends with ${open.length} unclosed: ${listed}${open.length > 3 ? ", …" : ""}`]
}

const latexText = fc.array(
  fc.constantFrom(
    "$",
    "$$",
    "\\$",
    "\\\\",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "\\begin{a}",
    "\\end{a}",
    "\\begin{b}",
    "\\end{b}",
    "\\begin",
    "\\end",
    " {",
    "{",
    "}",
    "a",
    " ",
    "\n",
    "\n",
    "%",
    "\\verb|",
    "|",
    "\\verb*",
    "*",
    "\\begin{verbatim}",
    "\\end{verbatim}",
    "\\begin{minted}{py}",
    "\\end{minted}",
    "```",
    "~~~",
    "``",
    "\\alpha",
    "\\",
    "x",
    "\t",
    "\\begin{a\nb}",
    "\\end{a\nb}",
    "\\verbatim",
    "é"
  ),
  { maxLength: 40 }
).map((parts) => parts.join(""))

/** Few fragments, so that verbatim bodies, fences and line starts meet often. */
const latexEdges = fc.array(
  fc.constantFrom(
    "\\begin{verbatim}",
    "\\end{verbatim}",
    "\\",
    "\n",
    "```",
    " ",
    "$",
    "\\begin",
    "\\end",
    "{a}",
    "x",
    "\u00a0",
    "\r",
    "\t"
  ),
  { maxLength: 30 }
).map((parts) => parts.join(""))

describe("Guardrails.latex agrees with a full-text reference, however the text is cut", () => {
  it("the same message, or none", () => {
    fc.assert(
      fc.property(fc.oneof(latexText, latexEdges), fc.array(fc.nat({ max: 10_000 }), { maxLength: 12 }), (text, at) => {
        expect(messages(rule, cut(text, at))).toEqual(referenceLatex(text))
      }),
      { numRuns: 1000, seed: 20_261_201 }
    )
  })
})
