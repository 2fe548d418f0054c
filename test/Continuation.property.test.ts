import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Continuation, L0, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import * as fc from "fast-check"
import { connectionReset, noDelay } from "./support.js"

// Random texts: prose, indented code, emoji sequences (ZWJ, flags, skin tones, accents) and CJK, mixed.

const join = (parts: ReadonlyArray<string>): string => parts.join("")

const prose = fc.array(
  fc.tuple(
    fc.constantFrom(
      "the",
      "a",
      "ha",
      "fox",
      "quick",
      "brown",
      "row",
      "and",
      "I",
      "it's",
      "naïve",
      "café",
      "over",
      "3.14"
    ),
    fc.constantFrom(" ", " ", " ", ", ", ". ", "\n", "  ", "\n\n")
  ).map(([word, gap]) => word + gap),
  { minLength: 1, maxLength: 25 }
).map(join)

const code = fc.array(
  fc.tuple(
    fc.integer({ min: 0, max: 3 }),
    fc.constantFrom(
      "if x:",
      "return 1",
      "x = x + 1",
      "for i in range(3):",
      "pass",
      "}",
      "{",
      "print(\"ha ha\")",
      "",
      "\t# tab"
    )
  ).map(([depth, line]) => `${"    ".repeat(depth)}${line}\n`),
  { minLength: 1, maxLength: 12 }
).map(join)

const emoji = fc.array(
  fc.constantFrom("👨‍👩‍👧", "👨‍👨‍👦", "👨‍", "🇫🇷", "🇩🇪", "👍🏽", "😀", "e\u0301", "❤️", "🏳️‍🌈", " ", "a", "\n"),
  { minLength: 1, maxLength: 20 }
).map(join)

const cjk = fc.array(
  fc.constantFrom("我", "喜欢", "苹果", "。", "日本語", "の", "テキスト", "한국어", " ", "、", "漢字"),
  { minLength: 1, maxLength: 20 }
).map(join)

const text = fc.array(fc.oneof(prose, code, emoji, cjk), { minLength: 1, maxLength: 4 }).map(join)
  .filter((t) => t.length >= 2)

/** Chunk sizes in code units, cycled; `[1]` is one character per token. */
const sizes = fc.oneof(fc.constant([1]), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }))

/** Cuts `text` into chunks; a chunk may end inside a surrogate pair or a ZWJ sequence. */
const chunks = (text: string, sizes: ReadonlyArray<number>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0, n = 0; i < text.length; n++) {
    const size = sizes[n % sizes.length]!
    out.push(text.slice(i, i + size))
    i += size
  }
  return out
}

interface Outcome {
  readonly text: string
  readonly shown: string
}

/** The first attempt shows `first`, then its connection resets; the second sends `second`. */
const continueWith = (
  first: string,
  second: string,
  firstSizes: ReadonlyArray<number>,
  secondSizes: ReadonlyArray<number>,
  continuation: L0.L0Options["continuation"]
): Promise<Outcome> => {
  const source = TestSource.make(
    [...chunks(first, firstSizes), TestSource.fail(connectionReset())],
    chunks(second, secondSizes)
  )
  return Effect.runPromise(
    Stream.runCollect(L0.stream({ stream: source.stream, retry: noDelay, continuation })).pipe(
      Effect.map((events) => {
        const complete = events.at(-1) as L0Event.Complete
        return { text: complete.state.content, shown: events.reduce(L0Event.applyTo, "") }
      })
    )
  )
}

/** A cut strictly inside `text`, from a random number. */
const cutOf = (text: string, n: number): number => 1 + (n % (text.length - 1))

const segmentStarts = (text: string, granularity: "grapheme" | "word"): Set<number> => {
  const starts = new Set<number>()
  for (const segment of new Intl.Segmenter("und", { granularity }).segment(text)) {
    if (granularity === "grapheme" || segment.isWordLike === true) starts.add(segment.index)
  }
  return starts
}

/** Reference rule, read off the whole checkpoint: may an overlap start at `start`? */
const accepts = (checkpoint: string, boundary: Continuation.Boundary): (start: number) => boolean => {
  if (boundary === "line") return (start) => start === 0 || checkpoint[start - 1] === "\n"
  const starts = segmentStarts(checkpoint, boundary)
  return (start) => starts.has(start)
}

const RUNS = { numRuns: 300 } as const

describe("continuation properties", () => {
  it("exact continuation gives the full text, code unit for code unit, for any cut and chunking", async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.nat(), sizes, sizes, async (full, n, firstSizes, secondSizes) => {
        const cut = cutOf(full, n)
        const outcome = await continueWith(full.slice(0, cut), full.slice(cut), firstSizes, secondSizes, true)
        expect(outcome.text).toBe(full)
        expect(outcome.shown).toBe(full)
      }),
      { ...RUNS, seed: 11 }
    )
  })

  it("with deduplication on, exact continuation still gives the full text when nothing could be a repetition", async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.nat(), sizes, async (full, n, secondSizes) => {
        const cut = cutOf(full, n)
        const checkpoint = full.slice(0, cut)
        const rest = full.slice(cut)
        const accepted = accepts(checkpoint, "word")
        // skip the cuts where the continuation begins with a restatable tail of the checkpoint
        for (let start = Math.max(0, cut - 512); start <= cut - 2; start++) {
          fc.pre(!(accepted(start) && rest.startsWith(checkpoint.slice(start))))
        }
        const outcome = await continueWith(checkpoint, rest, [4], secondSizes, { deduplicate: true })
        expect(outcome.text).toBe(full)
      }),
      { ...RUNS, seed: 12 }
    )
  })

  it("an Anthropic-style continuation (prefill without trailing whitespace) gives the full text", async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.nat(), sizes, sizes, async (full, n, firstSizes, secondSizes) => {
        const cut = cutOf(full, n)
        // the model saw the checkpoint without its trailing whitespace and writes everything after it
        const prefill = full.slice(0, cut).trimEnd().length
        const outcome = await continueWith(
          full.slice(0, cut),
          full.slice(prefill),
          firstSizes,
          secondSizes,
          Continuation.anthropicOptions
        )
        expect(outcome.text).toBe(full)
        expect(outcome.shown).toBe(full)
      }),
      { ...RUNS, seed: 13 }
    )
  })

  it("with deduplication on, a model that restates the last k characters gives the full text once", async () => {
    const settings = fc.record({
      boundary: fc.constantFrom<Continuation.Boundary>("grapheme", "word", "line"),
      minOverlap: fc.integer({ min: 1, max: 4 }),
      maxOverlap: fc.integer({ min: 4, max: 80 })
    })
    await fc.assert(
      fc.asyncProperty(text, fc.nat(), fc.nat(), settings, sizes, async (full, n, pick, deduplicate, secondSizes) => {
        const cut = cutOf(full, n)
        const checkpoint = full.slice(0, cut)
        const accepted = accepts(checkpoint, deduplicate.boundary)
        const lengths: Array<number> = []
        for (let k = deduplicate.minOverlap; k <= Math.min(deduplicate.maxOverlap, cut); k++) {
          if (accepted(cut - k)) lengths.push(k)
        }
        fc.pre(lengths.length > 0)
        const k = lengths[pick % lengths.length]!
        const restated = full.slice(cut - k)
        // a longer tail that the restated text also begins with would be removed instead: ambiguous, skipped
        fc.pre(lengths.every((longer) => longer <= k || !restated.startsWith(checkpoint.slice(cut - longer))))
        const outcome = await continueWith(checkpoint, restated, [3], secondSizes, { deduplicate })
        expect(outcome.text).toBe(full)
        expect(outcome.shown).toBe(full)
      }),
      { ...RUNS, seed: 14 }
    )
  })
})
