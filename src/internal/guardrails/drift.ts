/**
 * The scanners behind `Guardrails.drift`. Each reads every character once
 * and keeps a bounded window (the last few words, a ring of characters,
 * counters), so a whole output costs O(length) in constant memory. Words
 * are hashed as they arrive and never kept as strings.
 */
import { FOLDED as folded, isSpace as isSpaceUnit, Lead } from "./scanners.js"

// Per-character loops read local bindings: dev loaders (tsx, vitest) turn imported ones into getter calls.
const FOLDED = folded
const isSpace = isSpaceUnit

// Characters

const TAB = 9
const LF = 10
const SPACE = 32
const BANG = 33
const HASH = 35
const APOSTROPHE = 39
const CLOSE_PAREN = 41
const STAR = 42
const PLUS = 43
const DASH = 45
const DOT = 46
const DIGIT_0 = 48
const DIGIT_9 = 57
const GREATER = 62
const OPEN_BRACE = 123
const OPEN_BRACKET = 91
const BACKTICK = 96
const PIPE = 124
const TILDE = 126
const RIGHT_SINGLE_QUOTE = 0x2019

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff

/** Pictographs counted as informal markers: Miscellaneous Symbols and Dingbats, and the emoji planes. */
const isEmoji = (cp: number): boolean => (cp >= 0x2600 && cp <= 0x27bf) || (cp >= 0x1f300 && cp <= 0x1faff)

// Character classes: a word is a run of letters (with their marks) and digits

const UNKNOWN = 0
const LETTER = 1
const DIGIT = 2
const WHITESPACE = 3
const OTHER = 4

const letter = /[\p{L}\p{M}]/u
const digit = /\p{N}/u

const classify = (cp: number): number => {
  const ch = String.fromCodePoint(cp)
  return letter.test(ch) ? LETTER : digit.test(ch) ? DIGIT : cp <= 0xffff && isSpace(cp) ? WHITESPACE : OTHER
}

/** Classes of the Basic Multilingual Plane, filled as characters show up (ASCII up front). */
const CLASSES = (() => {
  const table = new Uint8Array(0x10000)
  for (let c = 0; c < 128; c++) table[c] = classify(c)
  return table
})()

const classOf = (c: number): number => {
  const known = CLASSES[c]!
  return known !== UNKNOWN ? known : (CLASSES[c] = classify(c))
}

const isWordClass = (cls: number): boolean => cls === LETTER || cls === DIGIT

// Messages

const PREVIEW = 60

const quote = (text: string): string => {
  const collapsed = text.replace(/\s+/g, " ").trim()
  return JSON.stringify(collapsed.length > PREVIEW ? `${collapsed.slice(0, PREVIEW)}…` : collapsed)
}

/** How much recent text is kept for the quotes in messages. */
const KEEP = 256

/** The last deltas, at least `KEEP` characters of them, kept by reference to quote a finding. */
class Recent {
  private readonly parts: Array<string> = []
  private kept = 0
  private end = 0

  push(delta: string): void {
    if (delta.length === 0) return
    this.parts.push(delta)
    this.kept += delta.length
    this.end += delta.length
    while (this.parts.length > 1 && this.kept - this.parts[0]!.length >= KEEP) {
      this.kept -= this.parts.shift()!.length
    }
  }

  /** The text between two offsets of the whole output, as much of it as is still kept. */
  slice(from: number, to: number): string {
    const text = this.parts.join("")
    const base = this.end - text.length
    return text.slice(Math.max(from - base, 0), Math.max(to - base, 0))
  }
}

/** Prose rules skip output that starts with `{` or `[`: JSON has no tone, hedges or markdown structure. */
class ProseGate {
  private readonly lead = new Lead(false)
  private decided = false
  skipped = false

  admits(delta: string): boolean {
    if (!this.decided && this.lead.find(delta) >= 0) {
      this.decided = true
      this.skipped = this.lead.first === OPEN_BRACE || this.lead.first === OPEN_BRACKET
    }
    return !this.skipped
  }
}

// Words

const SEED = 0x811c9dc5 | 0
const PRIME = 0x01000193

/**
 * Splits text fed in pieces into words: runs of letters and digits, with
 * an apostrophe (`'` or `’`) inside a word kept as `'`. Each word comes out
 * as two 32-bit hashes of its case-folded characters, its length, its
 * offset, whether only whitespace separates it from the word before, and
 * the informal markers in the gap before it: each `!` of a run followed by
 * whitespace, each pictograph.
 *
 * `feed` and `end` leave the words they completed in the arrays, `count`
 * of them; the next call overwrites them.
 */
export class Words {
  count = 0
  readonly hash1: Array<number> = []
  readonly hash2: Array<number> = []
  readonly lengths: Array<number> = []
  readonly starts: Array<number> = []
  readonly joined: Array<boolean> = []
  readonly marks: Array<number> = []
  readonly numeric: Array<boolean> = []

  private offset = 0
  /** A high surrogate that ended the previous piece. */
  private high = 0
  private inWord = false
  /** An apostrophe after a word: inside the word if a letter or digit follows. */
  private apostrophe = false
  private h1 = SEED
  private h2 = 0
  private length = 0
  private start = 0
  private digitsOnly = true
  private seen = 0
  private spaceOnly = true
  private bangs = 0
  private gapMarks = 0

  feed(delta: string): void {
    this.count = 0
    const base = this.offset
    this.offset += delta.length
    for (let i = 0; i < delta.length; i++) {
      if (this.inWord && !this.apostrophe && this.high === 0) i = this.asciiRun(delta, i)
      if (i === delta.length) break
      const c = delta.charCodeAt(i)
      if (c < 128) {
        if (this.high !== 0) this.lone(base + i - 1)
        this.step(c, CLASSES[c]!, base + i, 1)
      } else if (c < 0xd800 || c > 0xdfff) {
        if (this.high !== 0) this.lone(base + i - 1)
        this.step(c, classOf(c), base + i, 1)
      } else if (isHigh(c)) {
        if (this.high !== 0) this.lone(base + i - 1)
        this.high = c
      } else if (this.high !== 0) {
        const cp = ((this.high - 0xd800) << 10) + (c - 0xdc00) + 0x10000
        this.high = 0
        this.step(cp, classify(cp), base + i - 1, 2)
      } else {
        this.step(c, OTHER, base + i, 1)
      }
    }
  }

  /**
   * Adds the ASCII letters and digits from `from` to the current word, the
   * common case, in locals; returns the index of the first other character.
   */
  private asciiRun(delta: string, from: number): number {
    let h1 = this.h1
    let h2 = this.h2
    let letters = false
    let i = from
    for (; i < delta.length; i++) {
      const c = delta.charCodeAt(i)
      if (c >= 128) break
      const cls = CLASSES[c]!
      if (cls !== LETTER && cls !== DIGIT) break
      const folded = c >= 65 && c <= 90 ? c | 32 : c
      h1 = Math.imul(h1 ^ folded, PRIME)
      h2 = (Math.imul(h2, 31) + folded) | 0
      letters ||= cls === LETTER
    }
    this.h1 = h1
    this.h2 = h2
    this.length += i - from
    if (letters) this.digitsOnly = false
    return i
  }

  /** Completes the last word, at the end of the output. */
  end(): void {
    this.count = 0
    if (this.inWord) this.finish()
  }

  private lone(at: number): void {
    const high = this.high
    this.high = 0
    this.step(high, OTHER, at, 1)
  }

  private step(cp: number, cls: number, at: number, units: number): void {
    if (isWordClass(cls)) {
      if (!this.inWord) {
        this.inWord = true
        this.h1 = SEED
        this.h2 = 0
        this.length = 0
        this.start = at
        this.digitsOnly = true
      } else if (this.apostrophe) {
        this.apostrophe = false
        this.add(APOSTROPHE)
        this.length++
        this.digitsOnly = false
      }
      this.add(cp < FOLDED.length ? FOLDED[cp]! : cp)
      this.length += units
      if (cls !== DIGIT) this.digitsOnly = false
    } else if (this.inWord && !this.apostrophe && (cp === APOSTROPHE || cp === RIGHT_SINGLE_QUOTE)) {
      this.apostrophe = true
    } else {
      if (this.inWord) this.finish()
      if (cls === WHITESPACE) {
        this.gapMarks += this.bangs
        this.bangs = 0
      } else {
        this.spaceOnly = false
        if (cp === BANG) this.bangs++
        else {
          this.bangs = 0
          if (isEmoji(cp)) this.gapMarks++
        }
      }
    }
  }

  private add(c: number): void {
    this.h1 = Math.imul(this.h1 ^ c, PRIME)
    this.h2 = (Math.imul(this.h2, 31) + c) | 0
  }

  private finish(): void {
    const k = this.count++
    this.hash1[k] = this.h1
    this.hash2[k] = this.h2
    this.lengths[k] = this.length
    this.starts[k] = this.start
    this.joined[k] = this.seen > 0 && this.spaceOnly
    this.marks[k] = this.gapMarks
    this.numeric[k] = this.digitsOnly
    this.seen++
    this.inWord = false
    this.spaceOnly = true
    this.bangs = 0
    this.gapMarks = 0
    if (this.apostrophe) {
      this.apostrophe = false
      this.spaceOnly = false
    }
  }
}

// Phrases

/** A key for a sequence of words, folded from the newest word back. */
const extend1 = (key: number, h1: number, length: number): number =>
  Math.imul(Math.imul(key ^ h1, PRIME) ^ length, PRIME)
const extend2 = (key: number, h2: number): number => (Math.imul(key, 0x5bd1e995) + h2) | 0
const keyOf = (k1: number, k2: number): number => (k1 >>> 0) * 0x200000 + (k2 & 0x1fffff)

/** A filter on a phrase's last word: most words end no phrase, and are dismissed by one table lookup. */
const FILTER_BITS = 16
const filterSlot = (h1: number): number => h1 & ((1 << FILTER_BITS) - 1)

/** Phrases of whole words, compiled once into keys of their hashed words. */
export class Phrases {
  readonly keys = new Map<number, number>()
  readonly lastWords = new Uint8Array(1 << FILTER_BITS)
  readonly longest: number

  constructor(readonly list: ReadonlyArray<string>) {
    let longest = 1
    list.forEach((phrase, index) => {
      const words = new Words()
      const hashes: Array<readonly [number, number, number]> = []
      const collect = () => {
        for (let i = 0; i < words.count; i++) hashes.push([words.hash1[i]!, words.hash2[i]!, words.lengths[i]!])
      }
      words.feed(phrase)
      collect()
      words.end()
      collect()
      let k1 = SEED
      let k2 = 0
      for (let i = hashes.length - 1; i >= 0; i--) {
        const [h1, h2, length] = hashes[i]!
        k1 = extend1(k1, h1, length)
        k2 = extend2(k2, h2)
      }
      this.keys.set(keyOf(k1, k2), index)
      this.lastWords[filterSlot(hashes[hashes.length - 1]![0])] = 1
      longest = Math.max(longest, hashes.length)
    })
    this.longest = longest
  }
}

/** The last words of an output, matched against phrases as each word completes. */
class PhraseWindow {
  private readonly size: number
  private readonly h1: Int32Array
  private readonly h2: Int32Array
  private readonly lengths: Int32Array
  private readonly joined: Uint8Array
  private readonly starts: Array<number>
  private n = 0
  /** The offset of the phrase `push` found last. */
  matchStart = 0

  constructor(private readonly phrases: Phrases) {
    this.size = phrases.longest
    this.h1 = new Int32Array(this.size)
    this.h2 = new Int32Array(this.size)
    this.lengths = new Int32Array(this.size)
    this.joined = new Uint8Array(this.size)
    this.starts = new Array<number>(this.size).fill(0)
  }

  /** Adds word `i` of `words`; returns the index of the shortest phrase ending with it, or -1. */
  push(words: Words, i: number): number {
    const size = this.size
    const slot = this.n % size
    this.h1[slot] = words.hash1[i]!
    this.h2[slot] = words.hash2[i]!
    this.lengths[slot] = words.lengths[i]!
    this.joined[slot] = words.joined[i]! ? 1 : 0
    this.starts[slot] = words.starts[i]!
    this.n++
    if (this.phrases.lastWords[filterSlot(this.h1[slot]!)] === 0) return -1
    let k1 = SEED
    let k2 = 0
    for (let length = 1; length <= size && length <= this.n; length++) {
      const s = (this.n - length) % size
      // a phrase spans whitespace only: the word after `s` must follow it across whitespace
      if (length > 1 && this.joined[(s + 1) % size] === 0) break
      k1 = extend1(k1, this.h1[s]!, this.lengths[s]!)
      k2 = extend2(k2, this.h2[s]!)
      const found = this.phrases.keys.get(keyOf(k1, k2))
      if (found !== undefined) {
        this.matchStart = this.starts[s]!
        return found
      }
    }
    return -1
  }
}

// metaCommentary

/**
 * The driver shared by the word-based prose kinds: a gate that skips JSON
 * output, the words of each delta, and a scan over the words it completed.
 */
abstract class ProseWordScan {
  private readonly gate = new ProseGate()
  protected readonly words = new Words()
  protected done = false

  feed(delta: string): string | undefined {
    if (this.done || !this.gate.admits(delta)) return undefined
    this.keep(delta)
    this.words.feed(delta)
    return this.scan()
  }

  end(): string | undefined {
    if (this.done || this.gate.skipped) return undefined
    this.words.end()
    return this.scan()
  }

  /** Keeps the text a finding quotes; only the kinds that quote keep it. */
  protected keep(_delta: string): void {}

  protected abstract scan(): string | undefined
}

/** Reports the first phrase of `phrases` in prose output. */
export class MetaCommentaryScan extends ProseWordScan {
  private readonly recent = new Recent()
  private readonly window: PhraseWindow

  constructor(phrases: Phrases) {
    super()
    this.window = new PhraseWindow(phrases)
  }

  protected override keep(delta: string): void {
    this.recent.push(delta)
  }

  protected scan(): string | undefined {
    const words = this.words
    for (let i = 0; i < words.count; i++) {
      if (this.window.push(words, i) >= 0) {
        this.done = true
        const start = this.window.matchStart
        return `meta commentary at offset ${start}: ${
          quote(this.recent.slice(start, words.starts[i]! + words.lengths[i]!))
        }`
      }
    }
    return undefined
  }
}

// hedging

interface HedgingLimits {
  readonly window: number
  readonly maxHedges: number
}

/** Reports the first time more than `maxHedges` of the last `window` words end a hedge. */
export class HedgingScan extends ProseWordScan {
  private readonly recent = new Recent()
  private readonly window: PhraseWindow
  private readonly hedged: Uint8Array
  private n = 0
  private sum = 0

  constructor(phrases: Phrases, private readonly limits: HedgingLimits) {
    super()
    this.window = new PhraseWindow(phrases)
    this.hedged = new Uint8Array(limits.window)
  }

  protected override keep(delta: string): void {
    this.recent.push(delta)
  }

  protected scan(): string | undefined {
    const { maxHedges, window } = this.limits
    const words = this.words
    for (let i = 0; i < words.count; i++) {
      const found = this.window.push(words, i)
      const slot = this.n++ % window
      const hedge = found >= 0 ? 1 : 0
      this.sum += hedge - this.hedged[slot]!
      this.hedged[slot] = hedge
      if (this.sum > maxHedges) {
        this.done = true
        const start = this.window.matchStart
        const phrase = this.recent.slice(start, words.starts[i]! + words.lengths[i]!)
        return `hedging at offset ${start}: ${this.sum} hedge${this.sum === 1 ? "" : "s"} within ${
          Math.min(this.n, window)
        } words, the last ${quote(phrase)}`
      }
    }
    return undefined
  }
}

// toneShift

interface ToneLimits {
  readonly window: number
  readonly threshold: number
}

/**
 * Scores each word: +1 for an informal word, -1 for a formal one, +1 for
 * each informal marker before it. Reports the first time the last `window`
 * words score, per word, at least `threshold` away from the first `window`
 * words (the two windows do not overlap).
 */
export class ToneShiftScan extends ProseWordScan {
  private readonly window: PhraseWindow
  private readonly scores: Int32Array
  private n = 0
  private sum = 0
  private baseline = 0

  constructor(
    phrases: Phrases,
    private readonly values: ReadonlyArray<number>,
    private readonly limits: ToneLimits
  ) {
    super()
    this.window = new PhraseWindow(phrases)
    this.scores = new Int32Array(limits.window)
  }

  protected scan(): string | undefined {
    const { threshold, window } = this.limits
    const words = this.words
    for (let i = 0; i < words.count; i++) {
      const found = this.window.push(words, i)
      const score = words.marks[i]! + (found >= 0 ? this.values[found]! : 0)
      const slot = this.n % window
      this.sum += score - this.scores[slot]!
      this.scores[slot] = score
      this.n++
      if (this.n === window) this.baseline = this.sum
      if (this.n >= 2 * window && Math.abs(this.sum - this.baseline) >= threshold * window) {
        this.done = true
        return `tone shift at offset ${words.starts[i]}: the last ${window} words score ${
          signed(this.sum)
        }, the first ${window} ${signed(this.baseline)} (informal words and markers +1, formal words -1)`
      }
    }
    return undefined
  }
}

const signed = (n: number): string => n > 0 ? `+${n}` : String(n)

// repetition

/** The longest block of words whose repetition is detected. */
const MAX_PERIOD = 16

interface LoopLimits {
  readonly maxRepeats: number
  readonly minLength: number
}

/**
 * For every period p ≤ 16 words, keeps the length of the current run of
 * words equal to the word p before (case folded; a word of digits only
 * equals nothing, so counting and numbered lists never loop). When the last
 * p words came more than `maxRepeats` times in a row and those repetitions
 * span at least `minLength` characters (each word counts its length plus
 * one), the output is looping.
 */
export class LoopScan {
  private readonly words = new Words()
  private readonly recent = new Recent()
  private readonly hashes1 = new Int32Array(MAX_PERIOD)
  private readonly hashes2 = new Int32Array(MAX_PERIOD)
  private readonly lengths = new Int32Array(MAX_PERIOD)
  private readonly numeric = new Uint8Array(MAX_PERIOD)
  private readonly starts = new Array<number>(MAX_PERIOD).fill(0)
  private readonly runs = new Int32Array(MAX_PERIOD + 1)
  private n = 0
  private done = false

  constructor(private readonly limits: LoopLimits) {}

  feed(delta: string): string | undefined {
    if (this.done) return undefined
    this.recent.push(delta)
    this.words.feed(delta)
    return this.scan()
  }

  end(): string | undefined {
    if (this.done) return undefined
    this.words.end()
    return this.scan()
  }

  private scan(): string | undefined {
    const words = this.words
    const runs = this.runs
    const { maxRepeats, minLength } = this.limits
    for (let i = 0; i < words.count; i++) {
      const n = this.n++
      const h1 = words.hash1[i]!
      const h2 = words.hash2[i]!
      const length = words.lengths[i]!
      const numeric = words.numeric[i]!
      let looping = false
      for (let p = 1; p <= MAX_PERIOD; p++) {
        const slot = (n - p) % MAX_PERIOD
        const run = p <= n && !numeric && this.numeric[slot] === 0 && this.hashes1[slot] === h1 &&
            this.hashes2[slot] === h2 && this.lengths[slot] === length
          ? runs[p]! + 1
          : 0
        runs[p] = run
        if (run >= maxRepeats * p) looping = true
      }
      const slot = n % MAX_PERIOD
      this.hashes1[slot] = h1
      this.hashes2[slot] = h2
      this.lengths[slot] = length
      this.numeric[slot] = numeric ? 1 : 0
      this.starts[slot] = words.starts[i]!
      if (!looping) continue
      let block = 0
      for (let p = 1; p <= MAX_PERIOD && p <= n + 1; p++) {
        block += this.lengths[(n - p + 1) % MAX_PERIOD]! + 1
        const times = Math.floor(runs[p]! / p) + 1
        if (times > maxRepeats && times * block >= minLength) {
          this.done = true
          const from = this.starts[(n - p + 1) % MAX_PERIOD]!
          const text = quote(this.recent.slice(from, words.starts[i]! + length))
          return `repetition loop at offset ${words.starts[i]}: the same ${
            p === 1 ? "word" : `${p} words`
          } came ${times} times in a row: ${text}`
        }
      }
    }
    return undefined
  }
}

// entropyCollapse

interface EntropyLimits {
  readonly window: number
  readonly threshold: number
}

/** Fixed point for n·log2(n): sums of at most 65,536 terms stay exact integers below 2^53. */
const SCALE = 2 ** 32

/**
 * How far below the threshold an entropy must be: more than the fixed-point
 * rounding, so that a window exactly at the threshold ("abab" at 1 bit, for
 * any window size) never counts as below it.
 */
const TIE = 1e-9

/**
 * Keeps the last `window` non-whitespace code units in a ring with their
 * counts, and Σ n·log2(n) over the counts as an exact fixed-point sum, so
 * that each character updates the entropy in O(1): H = log2(W) − Σ/W.
 * Reports the first window whose entropy is below `threshold` bits per
 * character, or the first run of `window` whitespace characters.
 */
export class EntropyScan {
  private readonly ring: Uint16Array
  private readonly ascii = new Int32Array(128)
  private readonly others = new Map<number, number>()
  private readonly nLogN: Float64Array
  /** The window's entropy is below the threshold when Σ n·log2(n) exceeds this. */
  private readonly limit: number
  private readonly recent = new Recent()
  private filled = 0
  private sum = 0
  private spaces = 0
  private offset = 0
  private done = false

  constructor(private readonly limits: EntropyLimits) {
    const { threshold, window } = limits
    this.ring = new Uint16Array(window)
    this.nLogN = new Float64Array(window + 1)
    for (let n = 2; n <= window; n++) this.nLogN[n] = Math.round(n * Math.log2(n) * SCALE)
    this.limit = this.nLogN[window]! - (threshold - TIE) * window * SCALE
  }

  feed(delta: string): string | undefined {
    if (this.done) return undefined
    this.recent.push(delta)
    const base = this.offset
    this.offset += delta.length
    const window = this.limits.window
    const ring = this.ring
    const nLogN = this.nLogN
    for (let i = 0; i < delta.length; i++) {
      const c = delta.charCodeAt(i)
      if (c < 128 ? CLASSES[c] === WHITESPACE : c < 0xd800 || c > 0xdfff ? classOf(c) === WHITESPACE : false) {
        if (++this.spaces === window) return this.found(base + i, `${window} whitespace characters in a row`)
        continue
      }
      this.spaces = 0
      const slot = this.filled % window
      if (this.filled >= window) {
        const old = ring[slot]!
        const count = this.count(old, -1)
        this.sum += nLogN[count]! - nLogN[count + 1]!
      }
      ring[slot] = c
      const count = this.count(c, 1)
      this.sum += nLogN[count]! - nLogN[count - 1]!
      if (++this.filled >= window && this.sum > this.limit) {
        const bits = (nLogN[window]! - this.sum) / (window * SCALE)
        const shown = quote(this.recent.slice(base + i + 1 - Math.min(window, PREVIEW), base + i + 1))
        return this.found(
          base + i,
          `the last ${window} non-whitespace characters carry ${
            bits.toFixed(2)
          } bits per character (below ${this.limits.threshold}): ${shown}`
        )
      }
    }
    return undefined
  }

  /** Adds `by` to the count of `c`; returns the new count. */
  private count(c: number, by: number): number {
    if (c < 128) return this.ascii[c] = this.ascii[c]! + by
    const count = (this.others.get(c) ?? 0) + by
    if (count === 0) this.others.delete(c)
    else this.others.set(c, count)
    return count
  }

  private found(at: number, what: string): string {
    this.done = true
    return `entropy collapse at offset ${at}: ${what}`
  }
}

// formatCollapse

interface FormatLimits {
  readonly minStructure: number
  readonly maxLineLength: number
}

/** How far the start of a line has been read. */
const LEAD = 0 // indentation
const FENCE_RUN = 1 // backticks or tildes
const HASHES = 2
const BULLET = 3
const DIGITS = 4
const DIGITS_END = 5 // a `.` or `)` after digits
const DECIDED = 6

/**
 * Counts structured lines (headings, list items, table rows, block quotes,
 * code fences) outside code blocks. Once `minStructure` of them came, a
 * later line outside a code block that grows past `maxLineLength`
 * characters, or that holds a `##`…`######` heading marker after other text,
 * means the structure collapsed. A line whose first non-blank characters
 * are three backticks or tildes opens or closes a code block; the lines
 * that start inside one are not judged.
 */
export class FormatCollapseScan {
  private readonly gate = new ProseGate()
  private offset = 0
  private line = 1
  private lineLength = 0
  private inFence = false
  private judged = true
  private structured = 0
  private structuredBefore = 0
  private lead = LEAD
  private run = 0
  private runChar = 0
  private content = false
  /** `#` characters since whitespace that followed content, or -1. */
  private hashes = -1
  private hashStart = 0
  private done = false

  constructor(private readonly limits: FormatLimits) {}

  feed(delta: string): string | undefined {
    if (this.done || !this.gate.admits(delta)) return undefined
    const base = this.offset
    this.offset += delta.length
    for (let i = 0; i < delta.length; i++) {
      const c = delta.charCodeAt(i)
      if (c === LF) {
        this.newLine()
        continue
      }
      if (this.lead !== DECIDED) this.prefix(c)
      this.lineLength++
      if (!this.judged || this.structuredBefore < this.limits.minStructure) continue
      if (this.lineLength > this.limits.maxLineLength) {
        return this.found(
          base + i,
          `line ${this.line} grows past ${this.limits.maxLineLength} characters after ${this.structuredBefore} structured lines`
        )
      }
      if (c === SPACE || c === TAB) {
        if (this.hashes >= 2 && this.hashes <= 6) {
          return this.found(this.hashStart, `a "${"#".repeat(this.hashes)}" heading in the middle of line ${this.line}`)
        }
        this.hashes = this.content ? 0 : -1
      } else {
        if (c === HASH && this.hashes >= 0) {
          if (this.hashes === 0) this.hashStart = base + i
          this.hashes++
        } else {
          this.hashes = -1
        }
        this.content = true
      }
    }
    return undefined
  }

  private found(at: number, what: string): string {
    this.done = true
    return `format collapse at offset ${at}: ${what}`
  }

  private newLine(): void {
    this.line++
    this.lineLength = 0
    this.structuredBefore = this.structured
    this.judged = !this.inFence
    this.lead = LEAD
    this.content = false
    this.hashes = -1
  }

  /** Reads the start of a line: is it a fence, a structured line, or text? */
  private prefix(c: number): void {
    switch (this.lead) {
      case LEAD: {
        if (c === SPACE || c === TAB) return
        if (c === BACKTICK || c === TILDE) {
          this.lead = FENCE_RUN
          this.runChar = c
          this.run = 1
        } else if (c === HASH) {
          this.lead = HASHES
          this.run = 1
        } else if (c === DASH || c === STAR || c === PLUS) {
          this.lead = BULLET
        } else if (c >= DIGIT_0 && c <= DIGIT_9) {
          this.lead = DIGITS
          this.run = 1
        } else {
          this.decide(c === PIPE || c === GREATER)
        }
        return
      }
      case FENCE_RUN: {
        if (c !== this.runChar) return this.decide(false)
        if (++this.run === 3) {
          this.inFence = !this.inFence
          this.decide(true)
        }
        return
      }
      case HASHES: {
        if (c === HASH && ++this.run <= 6) return
        return this.decide(c === SPACE || c === TAB)
      }
      case BULLET:
      case DIGITS_END:
        return this.decide(c === SPACE || c === TAB)
      case DIGITS: {
        if (c >= DIGIT_0 && c <= DIGIT_9 && ++this.run <= 9) return
        if (c === DOT || c === CLOSE_PAREN) this.lead = DIGITS_END
        else this.decide(false)
        return
      }
    }
  }

  private decide(structural: boolean): void {
    this.lead = DECIDED
    if (structural && this.judged) this.structured++
  }
}

// Default phrases

/** Self-reference and narration of the answer's own progress. */
export const META_PHRASES: ReadonlyArray<string> = [
  "as an ai",
  "as a language model",
  "as a large language model",
  "as an assistant",
  "i am an ai",
  "i'm an ai",
  "i'm just an ai",
  "i am a language model",
  "i'm a language model",
  "my training data",
  "my knowledge cutoff",
  "i was trained",
  "i'll now",
  "i will now",
  "now i'll",
  "now i will",
  "let me now",
  "now let me",
  "i'm now going to",
  "i am now going to",
  "in this response",
  "in my previous response"
]

/** Words and phrases that soften a claim. */
export const HEDGE_PHRASES: ReadonlyArray<string> = [
  "perhaps",
  "possibly",
  "maybe",
  "probably",
  "presumably",
  "arguably",
  "conceivably",
  "seemingly",
  "might",
  "i think",
  "i believe",
  "i guess",
  "i suppose",
  "it seems",
  "it appears",
  "not sure",
  "not certain",
  "could be",
  "may be",
  "sort of",
  "to some extent",
  "more or less",
  "as far as i know",
  "it is possible",
  "it's possible"
]

/** Chat register: each scores +1 in `toneShift`. */
export const INFORMAL_WORDS: ReadonlyArray<string> = [
  "lol",
  "lmao",
  "rofl",
  "omg",
  "gonna",
  "wanna",
  "gotta",
  "kinda",
  "sorta",
  "dunno",
  "yeah",
  "yep",
  "yup",
  "nope",
  "nah",
  "hey",
  "dude",
  "bro",
  "awesome",
  "haha",
  "hehe",
  "btw",
  "tbh",
  "imo",
  "idk",
  "y'all",
  "ain't"
]

/** Formal register: each scores -1 in `toneShift`. */
export const FORMAL_WORDS: ReadonlyArray<string> = [
  "therefore",
  "furthermore",
  "moreover",
  "consequently",
  "hence",
  "thus",
  "whereas",
  "nevertheless",
  "nonetheless",
  "notwithstanding",
  "hereby",
  "herein",
  "thereof",
  "aforementioned",
  "pursuant",
  "henceforth",
  "accordingly"
]
