import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Guardrails, L0 } from "effect-l0"
import type { Guardrail } from "effect-l0"
import * as fc from "fast-check"
// the reference below is written independently of the detector: only the vocabulary is shared
import { FORMAL_WORDS, HEDGE_PHRASES, INFORMAL_WORDS, META_PHRASES } from "../src/internal/guardrails/drift.js"
import { cut, messages } from "./guardrailCheck.js"

// Reference checks: each reads the whole text at once, with regular expressions and naive windows,
// written independently of the incremental scanners.

interface Word {
  readonly text: string
  readonly start: number
  readonly numeric: boolean
  /** Only whitespace separates it from the word before. */
  readonly joined: boolean
  /** Each `!` of a run followed by whitespace, each pictograph, between it and the word before. */
  readonly marks: number
}

const fold = (word: string): string =>
  word.replace(/’/g, "'").replace(/[\u0000-\u052f]/g, (ch) => ch.toLowerCase().length === 1 ? ch.toLowerCase() : ch)

const isPictograph = (cp: number): boolean => (cp >= 0x2600 && cp <= 0x27bf) || (cp >= 0x1f300 && cp <= 0x1faff)

const marksOf = (gap: string): number =>
  (gap.match(/!+(?=\s)/g) ?? []).join("").length +
  [...gap].filter((ch) => isPictograph(ch.codePointAt(0)!)).length

const wordsOf = (text: string): ReadonlyArray<Word> => {
  const words: Array<Word> = []
  let previousEnd = 0
  for (const match of text.matchAll(/[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu)) {
    const gap = text.slice(previousEnd, match.index)
    words.push({
      text: fold(match[0]),
      start: match.index,
      numeric: /^\p{N}+$/u.test(match[0]),
      joined: words.length > 0 && /^\s+$/.test(gap),
      marks: marksOf(gap)
    })
    previousEnd = match.index + match[0].length
  }
  return words
}

const isJson = (text: string): boolean => /^\s*[{[]/.test(text)

/** The phrases ending with word `i`, shortest first: [phrase index, start offset]. */
const phraseAt = (
  words: ReadonlyArray<Word>,
  i: number,
  phrases: ReadonlyArray<string>
): [number, number] | undefined => {
  const split = phrases.map((phrase) => phrase.split(" "))
  for (let length = 1; length <= i + 1; length++) {
    const span = words.slice(i - length + 1, i + 1)
    if (span.slice(1).some((word) => !word.joined)) return undefined
    const found = split.findIndex((parts) =>
      parts.length === length && parts.every((part, k) => part === span[k]!.text)
    )
    if (found >= 0) return [found, span[0]!.start]
  }
  return undefined
}

/** Each reference returns the offset of its first finding, or undefined. */

const referenceMeta = (text: string): number | undefined => {
  if (isJson(text)) return undefined
  const words = wordsOf(text)
  for (let i = 0; i < words.length; i++) {
    const found = phraseAt(words, i, META_PHRASES)
    if (found !== undefined) return found[1]
  }
  return undefined
}

const referenceHedging = (text: string, window: number, maxHedges: number): number | undefined => {
  if (isJson(text)) return undefined
  const words = wordsOf(text)
  const found = words.map((_, i) => phraseAt(words, i, HEDGE_PHRASES))
  for (let i = 0; i < words.length; i++) {
    const hedges = found.slice(Math.max(0, i - window + 1), i + 1).filter((f) => f !== undefined).length
    if (hedges > maxHedges) return found[i]![1]
  }
  return undefined
}

const referenceTone = (text: string, window: number, threshold: number): number | undefined => {
  if (isJson(text)) return undefined
  const words = wordsOf(text)
  const scores = words.map((word) =>
    word.marks + (INFORMAL_WORDS.includes(word.text) ? 1 : FORMAL_WORDS.includes(word.text) ? -1 : 0)
  )
  const sum = (from: number, to: number) => scores.slice(from, to).reduce((a, b) => a + b, 0)
  const baseline = sum(0, window)
  for (let i = 2 * window - 1; i < words.length; i++) {
    if (Math.abs(sum(i - window + 1, i + 1) - baseline) >= threshold * window) return words[i]!.start
  }
  return undefined
}

const referenceLoop = (text: string, maxRepeats: number, minLength: number): number | undefined => {
  const words = wordsOf(text)
  const same = (a: number, b: number) => !words[a]!.numeric && !words[b]!.numeric && words[a]!.text === words[b]!.text
  for (let n = 0; n < words.length; n++) {
    let block = 0
    for (let p = 1; p <= 16 && p <= n + 1; p++) {
      block += words[n - p + 1]!.text.length + 1
      let run = 0
      for (let j = n; j - p >= 0 && same(j, j - p); j--) run++
      const times = Math.floor(run / p) + 1
      if (times > maxRepeats && times * block >= minLength) return words[n]!.start
    }
  }
  return undefined
}

const referenceEntropy = (text: string, window: number, threshold: number): number | undefined => {
  const kept: Array<string> = []
  let spaces = 0
  for (let at = 0; at < text.length; at++) {
    const unit = text[at]!
    if (/\s/.test(unit)) {
      if (++spaces === window) return at
      continue
    }
    spaces = 0
    kept.push(unit)
    if (kept.length < window) continue
    const counts = new Map<string, number>()
    for (const ch of kept.slice(-window)) counts.set(ch, (counts.get(ch) ?? 0) + 1)
    let entropy = 0
    for (const count of counts.values()) entropy -= (count / window) * Math.log2(count / window)
    if (entropy < threshold - 1e-9) return at
  }
  return undefined
}

const referenceFormat = (text: string, minStructure: number, maxLineLength: number): number | undefined => {
  if (isJson(text)) return undefined
  let structured = 0
  let inFence = false
  let lineStart = 0
  for (const line of text.split("\n")) {
    const judged = !inFence
    const lead = line.replace(/^[ \t]*/, "")
    const fence = /^(`{3}|~{3})/.test(lead)
    if (judged && structured >= minStructure) {
      // each finding is detected at a character: the first one past the limit, the blank after the marker
      const long = line.length > maxLineLength ? maxLineLength : Infinity
      const heading = /[^ \t][ \t]+(#{2,6})[ \t]/.exec(line)
      const headingStart = heading === null ? Infinity : heading.index + heading[0].length - 1 - heading[1]!.length
      const headingSeen = heading === null ? Infinity : heading.index + heading[0].length - 1
      if (long <= headingSeen && long !== Infinity) return lineStart + long
      if (headingSeen !== Infinity) return lineStart + headingStart
    }
    if (judged && (fence || /^(#{1,6}[ \t]|[-*+][ \t]|\d{1,9}[.)][ \t]|[|>])/.test(lead))) structured++
    if (fence) inFence = !inFence
    lineStart += line.length + 1
  }
  return undefined
}

// Generators: fragments that exercise each kind, joined by separators, some blocks repeated; then cut at random points.

const textOf = (fragments: ReadonlyArray<string>, maxLength = 60) =>
  fc.array(fc.constantFrom(...fragments), { maxLength }).map((parts) => parts.join(""))

const separator = fc.constantFrom(" ", " ", " ", "  ", "\n", ", ", ". ", "", "! ", "!!", "-", "\t", "\u00a0")

/** Fragments, each followed by a separator. */
const prose = (fragments: ReadonlyArray<string>, maxLength = 60) =>
  fc.array(fc.tuple(fc.constantFrom(...fragments), separator), { maxLength })
    .map((parts) => parts.map(([fragment, after]) => fragment + after).join(""))

/** Short stretches of prose, each repeated up to 8 times in a row. */
const looping = (fragments: ReadonlyArray<string>) =>
  fc.array(fc.tuple(prose(fragments, 4), fc.integer({ min: 1, max: 8 })), { maxLength: 10 })
    .map((blocks) => blocks.map(([text, times]) => text.repeat(times)).join(""))

const cuts = fc.array(fc.nat({ max: 10_000 }), { maxLength: 12 })

const offsetOf = (found: ReadonlyArray<string>): number | undefined => {
  expect(found.length).toBeLessThanOrEqual(1)
  return found.length === 0 ? undefined : Number(/ at offset (\d+)/.exec(found[0]!)![1])
}

const proseFragments = [
  "'",
  "’",
  "😂",
  "☀",
  "\ud83d",
  "𝒜",
  "7",
  "42",
  "{",
  "[",
  "The",
  "the",
  "answer",
  "is",
  "dogs'",
  "don't",
  "DON’T",
  "é",
  "ÄÖ",
  "!x"
]

const phraseFragments = (phrases: ReadonlyArray<string>) => [
  ...proseFragments,
  ...phrases.flatMap((phrase) => phrase.split(" ")),
  ...phrases.map((phrase) => phrase.toUpperCase()),
  ...phrases
]

const metaText = prose(phraseFragments(META_PHRASES), 30)
const hedgeText = prose(phraseFragments(HEDGE_PHRASES), 40)
const toneText = prose(phraseFragments([...INFORMAL_WORDS, ...FORMAL_WORDS]), 60)
const loopText = looping(["the", "The", "and then", "again", "1", "22", "x", "'", "’", "don't", "ÄÖ", "𝒜", "a b c"])
const entropyText = looping(["a", "b", "ab", "abc", "0,", "  ", " ", "\n", "\t", "é", "😀", "\ud83d", "xyz", "\u00a0",
  "aaaa"])

const formatLine = fc.tuple(
  fc.constantFrom(
    "",
    "",
    "# ",
    "## ",
    "#######",
    "#x",
    "- ",
    "* ",
    "+x",
    "1. ",
    "12) ",
    "1234567890. ",
    "| ",
    "> ",
    "```",
    "~~~",
    "``",
    "  - ",
    "\t# ",
    "   ```"
  ),
  textOf(["text", " ", " ## ", " ###### ", " ####### ## ", "a", "#", "xxxxxxxxxx", "\t##\t", "\r"], 6)
).map(([prefix, content]) => prefix + content)
const formatText = fc.tuple(fc.constantFrom("", "", "{", " [", "\n"), fc.array(formatLine, { maxLength: 14 }))
  .map(([lead, lines]) => lead + lines.join("\n"))

const seeded = (numRuns: number) => ({ numRuns, seed: 20_261_201 })

describe("drift kinds agree with full-text references, however the text is cut", () => {
  it("metaCommentary", () => {
    const [rule] = Guardrails.drift({
      toneShift: false,
      formatCollapse: false,
      repetition: false,
      entropyCollapse: false,
      hedging: false
    })
    fc.assert(
      fc.property(metaText, cuts, (text, at) => {
        expect(offsetOf(messages(rule!, cut(text, at)))).toBe(referenceMeta(text))
      }),
      seeded(400)
    )
  })

  it("hedging", () => {
    const config = fc.record({ window: fc.integer({ min: 1, max: 8 }), maxHedges: fc.integer({ min: 0, max: 3 }) })
    fc.assert(
      fc.property(hedgeText, cuts, config, (text, at, hedging) => {
        const [rule] = only("hedging", hedging)
        expect(offsetOf(messages(rule!, cut(text, at)))).toBe(referenceHedging(text, hedging.window, hedging.maxHedges))
      }),
      seeded(400)
    )
  })

  it("toneShift", () => {
    const config = fc.record({
      window: fc.integer({ min: 1, max: 5 }),
      threshold: fc.constantFrom(0.2, 0.5, 1, 1.5)
    })
    fc.assert(
      fc.property(toneText, cuts, config, (text, at, tone) => {
        const [rule] = only("toneShift", tone)
        expect(offsetOf(messages(rule!, cut(text, at)))).toBe(referenceTone(text, tone.window, tone.threshold))
      }),
      seeded(400)
    )
  })

  it("repetition", () => {
    const config = fc.record({
      maxRepeats: fc.integer({ min: 1, max: 4 }),
      minLength: fc.constantFrom(1, 5, 20, 50)
    })
    fc.assert(
      fc.property(loopText, cuts, config, (text, at, loop) => {
        const [rule] = only("repetition", loop)
        expect(offsetOf(messages(rule!, cut(text, at)))).toBe(referenceLoop(text, loop.maxRepeats, loop.minLength))
      }),
      seeded(400)
    )
  })

  it("entropyCollapse, with exact ties at the threshold", () => {
    const config = fc.record({
      window: fc.integer({ min: 2, max: 16 }),
      threshold: fc.constantFrom(0.5, 1, 1.5, 2)
    })
    fc.assert(
      fc.property(entropyText, cuts, config, (text, at, entropy) => {
        const [rule] = only("entropyCollapse", entropy)
        expect(offsetOf(messages(rule!, cut(text, at)))).toBe(
          referenceEntropy(text, entropy.window, entropy.threshold)
        )
      }),
      seeded(400)
    )
  })

  it("formatCollapse", () => {
    const config = fc.record({
      minStructure: fc.integer({ min: 1, max: 3 }),
      maxLineLength: fc.constantFrom(5, 10, 20, 40)
    })
    fc.assert(
      fc.property(formatText, cuts, config, (text, at, format) => {
        const [rule] = only("formatCollapse", format)
        expect(offsetOf(messages(rule!, cut(text, at)))).toBe(
          referenceFormat(text, format.minStructure, format.maxLineLength)
        )
      }),
      seeded(400)
    )
  })
})

/** `Guardrails.drift` with one kind on. */
const only = (kind: keyof Guardrails.DriftOptions, options: object): ReadonlyArray<Guardrail.GuardrailRule> =>
  Guardrails.drift({
    metaCommentary: false,
    toneShift: false,
    formatCollapse: false,
    repetition: false,
    entropyCollapse: false,
    hedging: false,
    [kind]: options
  })

describe("drift through L0.run, with random chunks and check intervals", () => {
  const outcome = (
    rules: ReadonlyArray<Guardrail.GuardrailRule>,
    chunks: ReadonlyArray<string>,
    checkInterval: number
  ) =>
    Effect.runPromise(Effect.exit(L0.run({
      stream: async function*() {
        yield* chunks
      },
      guardrails: rules,
      checkInterval,
      retry: { maxAttempts: 1 },
      // the rules' verdict is the point: an empty text passes them
      allowEmpty: true
    }))).then((exit) => Exit.isSuccess(exit) ? exit.value.state.violations.map((v) => v.rule) : ["failed"])

  it("an error-severity loop fails the run and a warning is kept, exactly when the references find them", async () => {
    const interval = fc.integer({ min: 1, max: 12 })
    await fc.assert(
      fc.asyncProperty(loopText, metaText, cuts, interval, async (loop, meta, at, checkInterval) => {
        const loops = only("repetition", {})
        expect(await outcome(loops, cut(loop, at), checkInterval)).toEqual(
          referenceLoop(loop, 4, 50) === undefined ? [] : ["failed"]
        )
        const metas = only("metaCommentary", {})
        expect(await outcome(metas, cut(meta, at), checkInterval)).toEqual(
          referenceMeta(meta) === undefined ? [] : ["drift.metaCommentary"]
        )
      }),
      seeded(60)
    )
  })
})
