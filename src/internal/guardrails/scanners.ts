/**
 * The character scanners behind the built-in guardrails: each looks at
 * every character once, keeping only the state it needs.
 *
 * They live in one module on purpose: dev loaders (tsx, vitest) compile
 * imported bindings to getter calls, which cost more than the scan itself
 * in a per-character loop.
 */

// Characters

const TAB = 9
const LF = 10
const CR = 13
const SPACE = 32
const BANG = 33
const QUOTE = 34
const STAR = 42
const DASH = 45
const DOT = 46
const COLON = 58
const QUESTION = 63
const OPEN_BRACKET = 91
const BACKSLASH = 92
const CLOSE_BRACKET = 93
const UNDERSCORE = 95
const BACKTICK = 96
const OPEN_BRACE = 123
const PIPE = 124
const CLOSE_BRACE = 125
const TILDE = 126
const IDEOGRAPHIC_FULL_STOP = 0x3002
const FULLWIDTH_BANG = 0xff01
const FULLWIDTH_QUESTION = 0xff1f

/** JavaScript's `\s` (what `String.prototype.trim` removes), for one UTF-16 code unit. */
export const isSpace = (c: number): boolean =>
  c <= SPACE
    ? c === SPACE || (c >= TAB && c <= CR)
    : c >= 0xa0 && (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
      c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff)

const WHITESPACE = 0
const PUNCTUATION = 1
const OTHER = 2
type CharClass = typeof WHITESPACE | typeof PUNCTUATION | typeof OTHER

const ASCII_CLASSES = (() => {
  const classes = new Uint8Array(128).fill(OTHER)
  for (let c = 0; c < 128; c++) {
    if (isSpace(c)) classes[c] = WHITESPACE
    else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
      classes[c] = PUNCTUATION
    }
  }
  return classes
})()

const unicodePunctuation = /[\p{P}\p{S}]/u

/** The classes CommonMark uses to decide whether `*` and `_` can open or close emphasis. */
const charClass = (c: number): CharClass =>
  c < 128
    ? ASCII_CLASSES[c] as CharClass
    : isSpace(c)
    ? WHITESPACE
    : unicodePunctuation.test(String.fromCharCode(c))
    ? PUNCTUATION
    : OTHER

// The start of the output

const START = 0
const TICKS = 1
const INFO = 2
const BODY = 3

/**
 * Finds the first significant character of an output fed in pieces: the
 * first one that is not whitespace, after an optional opening code fence
 * line (three or more backticks and an info string) when `fences` is set.
 */
export class Lead {
  private phase = START
  private ticks = 0
  /** The character found, once `find` returned an index. */
  first = -1

  constructor(private readonly fences: boolean) {}

  /** The index in `text` where the output's significant part starts, or -1 while still undecided. */
  find(text: string): number {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (this.phase === INFO) {
        if (c === LF) this.phase = BODY
      } else if (this.phase === TICKS) {
        if (c === BACKTICK) this.ticks++
        else if (this.ticks < 3) return this.found(BACKTICK, i)
        else this.phase = c === LF ? BODY : INFO
      } else if (!isSpace(c)) {
        if (this.phase === START && this.fences && c === BACKTICK) {
          this.phase = TICKS
          this.ticks = 1
        } else {
          return this.found(c, i)
        }
      }
    }
    return -1
  }

  private found(c: number, index: number): number {
    this.first = c
    return index
  }
}

// json and strictJson

const isOpener = (c: number): boolean => c === OPEN_BRACE || c === OPEN_BRACKET

const shown = (c: number): string => `"${String.fromCharCode(c)}"`

/**
 * Checks bracket structure while text arrives. It activates only when the
 * output (after whitespace and an optional code fence line) starts with
 * `{` or `[`; prose is left alone. Once the top-level value is closed, a
 * further `{` or `[` starts another value, a stray closer is a violation,
 * and anything else ends the check (trailing text is `strictJson`'s business).
 */
export class JsonScan {
  private readonly lead = new Lead(true)
  private active = false
  private stopped = false
  private readonly open: Array<number> = []
  private inString = false
  private escaped = false
  private offset = 0

  /** Feeds the next text; returns a violation message the first time the structure breaks. */
  feed(delta: string): string | undefined {
    if (this.stopped) return undefined
    const offset = this.offset
    this.offset += delta.length
    let i = 0
    if (!this.active) {
      i = this.lead.find(delta)
      if (i < 0) return undefined
      if (!isOpener(this.lead.first)) {
        this.stopped = true
        return undefined
      }
      this.active = true
    }
    const open = this.open
    for (; i < delta.length; i++) {
      const c = delta.charCodeAt(i)
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === BACKSLASH) this.escaped = true
        else if (c === QUOTE) this.inString = false
      } else if (isOpener(c)) {
        open.push(c)
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        const opener = open.pop()
        const expected = c === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET
        if (opener !== expected) {
          this.stopped = true
          return opener === undefined
            ? `${shown(c)} at offset ${offset + i} closes nothing`
            : `${shown(c)} at offset ${offset + i} closes ${shown(opener)}`
        }
      } else if (open.length === 0) {
        if (!isSpace(c)) {
          this.stopped = true
          return undefined
        }
      } else if (c === QUOTE) {
        this.inString = true
      }
    }
    return undefined
  }

  /** The verdict at completion: unclosed structures are a violation. */
  end(): string | undefined {
    if (this.stopped || this.open.length === 0) return undefined
    return `the output ends with ${this.open.length} unclosed bracket(s)${this.inString ? ", inside a string" : ""}`
  }
}

interface StrictJsonSettings {
  readonly scalars: boolean
  readonly fences: boolean
}

const SCALAR_STARTS = new Set([...`"-0123456789tfn`].map((c) => c.charCodeAt(0)))

const closingFence = /(?:^|\n)[ \t]*`{3,}$/

/** What `JSON.parse` must accept: the trimmed text, without its code fence when fences are tolerated. */
const jsonBody = (text: string, fences: boolean): string | undefined => {
  const trimmed = text.trim()
  if (!fences || !trimmed.startsWith("```")) return trimmed
  const lineEnd = trimmed.indexOf("\n")
  if (lineEnd < 0) return undefined
  return trimmed.slice(lineEnd + 1).trimEnd().replace(closingFence, "")
}

/**
 * Checks that the whole output is JSON. It fails early when the first
 * significant character cannot start an accepted value, and parses the
 * text once at completion.
 */
export class StrictJson {
  private readonly lead: Lead
  private decided = false
  private failed = false

  constructor(private readonly options: StrictJsonSettings) {
    this.lead = new Lead(options.fences)
  }

  feed(delta: string): string | undefined {
    if (this.decided || this.lead.find(delta) < 0) return undefined
    this.decided = true
    const c = this.lead.first
    if (isOpener(c) || (this.options.scalars && SCALAR_STARTS.has(c))) return undefined
    this.failed = true
    return `the output starts with ${shown(c)}, not ${this.options.scalars ? "a JSON value" : "a JSON object or array"}`
  }

  /** The verdict at completion, unless `feed` already reported the output. */
  end(content: string): string | undefined {
    if (this.failed) return undefined
    const body = jsonBody(content, this.options.fences)
    if (body === undefined) return "the output is only a code fence line, not JSON"
    if (body.length === 0) return "the output is empty, not JSON"
    try {
      JSON.parse(body)
      return undefined
    } catch (error) {
      return `the output is not valid JSON (${(error as Error).message.slice(0, 160)})`
    }
  }
}

// markdown

/** What the current line turned out to be. */
const PENDING = 0 // still in the indentation or a leading run of fence characters
const INLINE = 1 // text: emphasis and table cells count
const FENCE_OPEN = 2 // opens a code block (valid so far)
const FENCE_CLOSE = 3 // closes the open code block (valid so far)
const FENCED = 4 // inside a code block
const OPAQUE = 5 // starts like a fence but is not one: paragraph text we do not analyse

/** Emphasis kinds: `*`, `**` and `__`. Single `_` is left out: identifiers like `_id` are too common in prose. */
const DELIMITERS = ["*", "**", "__"] as const

/**
 * Tracks what would render wrongly once the output is complete: an open
 * code fence, an emphasis delimiter left open at the end of its paragraph,
 * a table row whose cell count differs from its header. Outputs that start
 * with `{` or `[` are JSON, not markdown, and are not checked.
 */
export class MarkdownScan {
  private readonly lead = new Lead(false)
  private decided = false
  private skipped = false
  private line = 1
  private kind = PENDING
  private indent = 0
  private fenceRunChar = 0
  private fenceRunLength = 0
  private fenceChar = 0
  private fenceLength = 0
  private fenceLine = 0
  private paragraphLine = 0
  private prevClass: CharClass = WHITESPACE
  private escaped = false
  private runChar = 0
  private runLength = 0
  private runPrev: CharClass = WHITESPACE
  private codeSpan = 0
  private readonly opens = [0, 0, 0]
  private blank = true
  private pipes = 0
  private leadingPipe = false
  private lastIsPipe = false
  private delimiterOnly = true
  private hasDash = false
  private headerCells = 0
  private tableColumns = 0
  private emphasisProblem: string | undefined = undefined
  private tableProblem: string | undefined = undefined

  feed(delta: string): void {
    if (this.skipped) return
    if (!this.decided && this.lead.find(delta) >= 0) {
      this.decided = true
      if (this.lead.first === OPEN_BRACE || this.lead.first === OPEN_BRACKET) {
        this.skipped = true
        return
      }
    }
    for (let i = 0; i < delta.length; i++) {
      const c = delta.charCodeAt(i)
      if (c === LF) this.endLine()
      else this.char(c)
    }
  }

  /** The problems found, once the output is complete. */
  end(): ReadonlyArray<string> {
    if (this.skipped) return []
    this.endLine()
    const problems: Array<string> = []
    if (this.fenceChar !== 0) {
      problems.push(`the code fence opened at line ${this.fenceLine} is never closed`)
    }
    this.endParagraph()
    if (this.emphasisProblem !== undefined) problems.push(this.emphasisProblem)
    if (this.tableProblem !== undefined) problems.push(this.tableProblem)
    return problems
  }

  private char(c: number): void {
    switch (this.kind) {
      case PENDING:
        return this.prefix(c)
      case INLINE:
        return this.inline(c)
      case FENCE_OPEN: {
        // a backtick fence's info string cannot hold a backtick
        if (c === BACKTICK && this.fenceRunChar === BACKTICK) this.kind = OPAQUE
        return
      }
      case FENCE_CLOSE: {
        if (!isSpace(c)) this.kind = FENCED
        return
      }
    }
  }

  /** Up to three spaces, then maybe a run of three or more backticks or tildes: a fence line. */
  private prefix(c: number): void {
    if (this.fenceRunLength > 0 && c === this.fenceRunChar) {
      this.fenceRunLength++
      return
    }
    if (this.fenceRunLength === 0) {
      if (c === SPACE && this.indent < 3) {
        this.indent++
        return
      }
      if (c === BACKTICK || c === TILDE) {
        this.fenceRunChar = c
        this.fenceRunLength = 1
        return
      }
    }
    this.resolvePrefix()
    this.char(c)
  }

  /** Decides the kind of a line whose prefix has ended. */
  private resolvePrefix(): void {
    const length = this.fenceRunLength
    if (length >= 3 && this.fenceChar === 0) {
      this.kind = FENCE_OPEN
    } else if (this.fenceChar !== 0) {
      this.kind = this.fenceRunChar === this.fenceChar && length >= this.fenceLength ? FENCE_CLOSE : FENCED
    } else {
      this.kind = INLINE
      for (let i = 0; i < length; i++) this.inline(this.fenceRunChar)
    }
  }

  private inline(c: number): void {
    const escaped = this.escaped
    this.escaped = c === BACKSLASH && !escaped
    const cls = charClass(c)
    if (cls !== WHITESPACE) this.tableChar(c, escaped)
    if (this.runLength > 0) {
      if (c === this.runChar) {
        this.runLength++
        return
      }
      this.endRun(cls)
    }
    // inside a code span a backslash escapes nothing
    if (
      c === BACKTICK ? !escaped || this.codeSpan > 0
        : this.codeSpan === 0 && !escaped && (c === STAR || c === UNDERSCORE)
    ) {
      this.runChar = c
      this.runLength = 1
      this.runPrev = this.prevClass
    }
    this.prevClass = cls
  }

  private tableChar(c: number, escaped: boolean): void {
    const pipe = c === PIPE && !escaped
    if (this.blank) {
      this.blank = false
      this.leadingPipe = pipe
      if (this.paragraphLine === 0) this.paragraphLine = this.line
    }
    this.lastIsPipe = pipe
    if (pipe) this.pipes++
    else if (c === DASH) this.hasDash = true
    else if (c !== COLON) this.delimiterOnly = false
  }

  /** A run of backticks opens or closes a code span; a run of `*` or `_` may open or close emphasis (CommonMark flanking). */
  private endRun(next: CharClass): void {
    const c = this.runChar
    const length = this.runLength
    this.runLength = 0
    if (c === BACKTICK) {
      if (this.codeSpan === 0) this.codeSpan = length
      else if (this.codeSpan === length) this.codeSpan = 0
      return
    }
    const prev = this.runPrev
    const left = next !== WHITESPACE && (next !== PUNCTUATION || prev !== OTHER)
    const right = prev !== WHITESPACE && (prev !== PUNCTUATION || next !== OTHER)
    if (c === STAR) {
      if (length === 1 || length === 3) this.delimit(0, left, right)
      if (length === 2 || length === 3) this.delimit(1, left, right)
    } else if (length === 2 || length === 3) {
      this.delimit(2, left, right)
    }
  }

  /** Only a delimiter that can open and not close opens; any closer closes what is open. */
  private delimit(kind: number, left: boolean, right: boolean): void {
    if (left && !right) this.opens[kind]!++
    else if (right && this.opens[kind]! > 0) this.opens[kind]!--
  }

  private endLine(): void {
    if (this.kind === PENDING) this.resolvePrefix()
    switch (this.kind) {
      case INLINE: {
        if (this.runLength > 0) this.endRun(WHITESPACE)
        if (this.blank) this.endParagraph()
        else this.endTableRow()
        break
      }
      case FENCE_OPEN: {
        this.endParagraph()
        this.fenceChar = this.fenceRunChar
        this.fenceLength = this.fenceRunLength
        this.fenceLine = this.line
        break
      }
      case FENCE_CLOSE: {
        this.fenceChar = 0
        break
      }
      case OPAQUE: {
        if (this.paragraphLine === 0) this.paragraphLine = this.line
        this.headerCells = 0
        this.tableColumns = 0
        break
      }
    }
    this.line++
    this.kind = PENDING
    this.indent = 0
    this.fenceRunLength = 0
    this.prevClass = WHITESPACE
    this.escaped = false
    this.blank = true
    this.pipes = 0
    this.leadingPipe = false
    this.lastIsPipe = false
    this.delimiterOnly = true
    this.hasDash = false
  }

  private endTableRow(): void {
    if (this.pipes === 0) {
      this.headerCells = 0
      this.tableColumns = 0
      return
    }
    const trailing = this.lastIsPipe && (this.pipes > 1 || !this.leadingPipe)
    const cells = this.pipes + 1 - (this.leadingPipe ? 1 : 0) - (trailing ? 1 : 0)
    const delimiter = this.delimiterOnly && this.hasDash
    if (this.tableColumns > 0) {
      if (cells !== this.tableColumns) {
        this.tableProblem ??= `the table row at line ${this.line} has ${cells} cell(s), its header ${this.tableColumns}`
      }
    } else if (delimiter && this.headerCells > 0) {
      if (cells === this.headerCells) this.tableColumns = cells
      else {
        this.tableProblem ??=
          `the table delimiter row at line ${this.line} has ${cells} cell(s), its header ${this.headerCells}`
      }
    }
    this.headerCells = this.tableColumns === 0 && !delimiter ? cells : 0
  }

  /** A blank line, a fence or the end: emphasis cannot stay open across it. */
  private endParagraph(): void {
    const open = this.opens.findIndex((count) => count > 0)
    if (open >= 0) {
      this.emphasisProblem ??= `"${DELIMITERS[open]}" is never closed in the paragraph at line ${this.paragraphLine}`
    }
    this.opens.fill(0)
    this.codeSpan = 0
    this.paragraphLine = 0
    this.headerCells = 0
    this.tableColumns = 0
  }
}

// repetition

/** The longest block of segments whose repetition is detected. */
const MAX_PERIOD = 16

/** How much of a looping segment a message quotes. */
const PREVIEW = 60

/** Lower case for the scripts that have case (Latin, Greek, Cyrillic), one code unit at a time. */
export const FOLDED = (() => {
  const table = new Uint16Array(0x530)
  for (let c = 0; c < table.length; c++) {
    const lower = String.fromCharCode(c).toLowerCase()
    table[c] = lower.length === 1 ? lower.charCodeAt(0) : c
  }
  return table
})()

interface RepetitionLimits {
  readonly maxRepeats: number
  readonly minLength: number
}

/**
 * Splits the text into segments (lines, and sentences ended by `.`, `!` or
 * `?` before whitespace, or by `。！？`), normalizes each (whitespace
 * collapsed, case folded) into a 64-bit hash, and keeps for every period
 * p ≤ `MAX_PERIOD` the length of the current run of segments equal to the
 * one p before. A run of `maxRepeats × p` means a block of p segments came
 * more than `maxRepeats` times in a row; it counts when the block holds at
 * least `minLength` characters. Empty segments are skipped; short ones stay
 * in the sequence, so that a short line that differs breaks a run. Memory
 * stays constant.
 */
export class RepetitionScan {
  private hash1 = 0x811c9dc5
  private hash2 = 0
  private length = 0
  private pendingSpace = false
  private afterTerminal = false
  private preview = ""
  private readonly hashes1 = new Int32Array(MAX_PERIOD)
  private readonly hashes2 = new Int32Array(MAX_PERIOD)
  private readonly lengths = new Int32Array(MAX_PERIOD)
  private readonly runs = new Int32Array(MAX_PERIOD + 1)
  private segments = 0
  private found: string | undefined = undefined

  constructor(private readonly limits: RepetitionLimits) {}

  /** Returns a violation message the first time a repetition completes. */
  feed(delta: string): string | undefined {
    if (this.found !== undefined) return undefined
    let start = 0
    for (let i = 0; i < delta.length; i++) {
      const c = delta.charCodeAt(i)
      if (c === LF || (this.afterTerminal && isSpace(c))) {
        this.extendPreview(delta, start, i)
        start = i + 1
        if (this.close()) return this.found
      } else if (isSpace(c)) {
        if (this.length > 0) this.pendingSpace = true
      } else {
        if (this.pendingSpace) {
          this.add(32)
          this.pendingSpace = false
        }
        this.add(c < FOLDED.length ? FOLDED[c]! : c)
        this.afterTerminal = c === DOT || c === BANG || c === QUESTION
        if (c === IDEOGRAPHIC_FULL_STOP || c === FULLWIDTH_BANG || c === FULLWIDTH_QUESTION) {
          this.extendPreview(delta, start, i + 1)
          start = i + 1
          if (this.close()) return this.found
        }
      }
    }
    this.extendPreview(delta, start, delta.length)
    return undefined
  }

  /** The verdict at completion: the last segment ends here. */
  end(): string | undefined {
    return this.found === undefined && this.close() ? this.found : undefined
  }

  private add(c: number): void {
    this.hash1 = Math.imul(this.hash1 ^ c, 0x01000193)
    this.hash2 = (Math.imul(this.hash2, 31) + c) | 0
    this.length++
  }

  private extendPreview(delta: string, from: number, to: number): void {
    if (this.preview.length <= PREVIEW && to > from) {
      this.preview += delta.slice(from, Math.min(to, from + PREVIEW + 1 - this.preview.length))
    }
  }

  /** Ends the current segment; returns true when it completes a repetition. */
  private close(): boolean {
    const { hash1, hash2, length, preview } = this
    this.hash1 = 0x811c9dc5
    this.hash2 = 0
    this.length = 0
    this.pendingSpace = false
    this.afterTerminal = false
    this.preview = ""
    if (length === 0) return false
    const n = this.segments++
    const runs = this.runs
    for (let p = 1; p <= MAX_PERIOD; p++) {
      const slot = (n - p) % MAX_PERIOD
      runs[p] = p <= n && this.hashes1[slot] === hash1 && this.hashes2[slot] === hash2 && this.lengths[slot] === length
        ? runs[p]! + 1
        : 0
    }
    const slot = n % MAX_PERIOD
    this.hashes1[slot] = hash1
    this.hashes2[slot] = hash2
    this.lengths[slot] = length
    const { maxRepeats, minLength } = this.limits
    let block = 0
    for (let p = 1; p <= MAX_PERIOD && p <= n; p++) {
      block += this.lengths[(n - p + 1) % MAX_PERIOD]!
      if (runs[p]! >= maxRepeats * p && block >= minLength) {
        const text = preview.replace(/\s+/g, " ").trim()
        const quoted = JSON.stringify(text.length > PREVIEW ? `${text.slice(0, PREVIEW)}…` : text)
        this.found = p === 1
          ? `the same line or sentence came ${maxRepeats + 1} times in a row: ${quoted}`
          : `the same ${p} lines or sentences came ${maxRepeats + 1} times in a row, the last: ${quoted}`
        return true
      }
    }
    return false
  }
}

// zeroOutput

const meaningful = /[\p{L}\p{N}\p{Extended_Pictographic}]/u

const isJsonStructure = (text: string): boolean => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null
  } catch {
    return false
  }
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff

/** Looks at each delta until a letter, digit or emoji shows up, then stops looking. */
export class ZeroOutputScan {
  private found = false
  private printable = false
  /** A high surrogate that ended the previous delta: its pair may start the next one. */
  private pending = ""

  feed(delta: string): void {
    if (this.found || delta.length === 0) return
    const text = this.pending + delta
    const last = text.charCodeAt(text.length - 1)
    this.pending = isHighSurrogate(last) ? text.slice(-1) : ""
    if (meaningful.test(text)) this.found = true
    else if (!this.printable) {
      for (let i = 0; i < text.length && !this.printable; i++) this.printable = !isSpace(text.charCodeAt(i))
    }
  }

  /** The verdict at completion; tool calls count as output, and so does an empty JSON object or array. */
  end(toolCallCount: number, content: () => string): string | undefined {
    if (this.found || toolCallCount > 0) return undefined
    if (!this.printable) return "the output is empty"
    return isJsonStructure(content()) ? undefined : "the output has no letters, digits or emoji, only punctuation"
  }
}
