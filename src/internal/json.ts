import * as Result from "effect/Result"
import type { FatalError } from "../L0Error.js"
import { ContentError } from "../L0Error.js"
import * as Schema from "effect/Schema"
import { ClosedStruct, decoder, IntAtLeast, withDefault } from "./optionSchema.js"

/** Bounds on what the parser accepts. */
export interface Limits {
  /** Characters of input. */
  readonly maxLength: number
  /** Nested objects and arrays. */
  readonly maxDepth: number
}

export const defaultLimits: Limits = { maxLength: 8 * 1024 * 1024, maxDepth: 256 }

/** The limits, described once; each absent one takes its default. */
export const LimitsSchema = ClosedStruct({
  maxLength: withDefault(IntAtLeast(1), defaultLimits.maxLength),
  maxDepth: withDefault(IntAtLeast(1), defaultLimits.maxDepth)
}, "{ maxLength?, maxDepth? }")

const decodeLimits = decoder(Schema.UndefinedOr(LimitsSchema).annotate({ expected: "{ maxLength?, maxDepth? }" }))

/** Validates user limits, with defaults applied. */
export const resolveLimits = (options: unknown): Result.Result<Limits, FatalError> =>
  Result.map(decodeLimits(options), (limits) => limits ?? defaultLimits)

type Scalar = string | number | boolean | null

/** Receives the value as the parser completes it: containers when they open, scalars when they end. */
export interface Sink {
  readonly open: (isArray: boolean, key: string | undefined) => void
  /** `lexeme` is the number as written, when it is valid JSON. */
  readonly scalar: (value: Scalar, lexeme: string | undefined, key: string | undefined) => void
  readonly close: () => void
}

/**
 * What the tolerant parser repaired:
 * - `fence`: a Markdown fence around the value; `prose`: text before or after it.
 * - `quotes`: single or typographic quotes; `unquotedKeys`; `unquotedValues`
 *   (a bare word kept as a string); `literals` (`True`, `None`, `undefined`…);
 *   `numbers` (`+1`, `.5`, `007`); `ellipsis` (a `...` element dropped).
 * - `comments`; `trailingCommas`; `syntax`: missing, extra or wrong commas,
 *   colons, brackets or characters, and whitespace JSON does not allow.
 * - `unescapedQuotes` inside strings; `controlCharacters` (raw line breaks
 *   or tabs inside strings); `escapes` (unknown or incomplete ones).
 * - `truncated`: the text ended inside the value, which was completed.
 * - `unsafeKeys`: `__proto__` members dropped.
 *
 * @category models
 * @since 0.1.0
 */
export type RepairKind =
  | "fence"
  | "prose"
  | "quotes"
  | "unquotedKeys"
  | "unquotedValues"
  | "comments"
  | "trailingCommas"
  | "literals"
  | "numbers"
  | "unescapedQuotes"
  | "controlCharacters"
  | "escapes"
  | "syntax"
  | "truncated"
  | "ellipsis"
  | "unsafeKeys"

/** What the parser repaired, in the order of the flags below. */
const repairKinds = [
  "fence",
  "prose",
  "quotes",
  "unquotedKeys",
  "unquotedValues",
  "comments",
  "trailingCommas",
  "literals",
  "numbers",
  "unescapedQuotes",
  "controlCharacters",
  "escapes",
  "syntax",
  "truncated",
  "ellipsis",
  "unsafeKeys"
] as const satisfies ReadonlyArray<RepairKind>

// repair flags, one bit per kind
const FENCE = 1
const PROSE = 1 << 1
const QUOTES = 1 << 2
const UNQUOTED_KEYS = 1 << 3
const UNQUOTED_VALUES = 1 << 4
const COMMENTS = 1 << 5
const TRAILING_COMMAS = 1 << 6
const LITERALS_FLAG = 1 << 7
const NUMBERS = 1 << 8
const UNESCAPED_QUOTES = 1 << 9
const CONTROL = 1 << 10
const ESCAPES_FLAG = 1 << 11
const SYNTAX = 1 << 12
const TRUNCATED = 1 << 13
const ELLIPSIS_FLAG = 1 << 14
const UNSAFE = 1 << 15

/** The names of the flags set in `flags`. */
export const repairNames = (flags: number): Array<RepairKind> =>
  repairKinds.filter((_, bit) => (flags & (1 << bit)) !== 0)

/** The JSON spellings of the literals. */
const STRICT_LITERALS: ReadonlySet<string> = new Set(["true", "false", "null"])

/** JSON's own whitespace: space, tab, line feed, carriage return. */
const isJsonWhitespace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9

// lexical modes
const SEEK = 0
const SEEK_ARRAY = 1
const STRUCT = 2
const STRING = 3
const ESCAPE = 4
const UNICODE = 5
const CLOSING = 6
const ATOM = 7
const SLASH = 8
const LINE_COMMENT = 9
const BLOCK_COMMENT = 10
const BLOCK_STAR = 11
const DONE = 12
const FAILED = 13
/** Inside a string that opens the text: braces in it are text, not a value. */
const LEADING_STRING = 14
const LEADING_ESCAPE = 15
/** Text followed the opening string: scan again from inside it. */
const RESCAN = 16
/** The rest of a fence opener's line at the start of the text. */
const FENCE_LINE = 17
/** After the colon that follows the opening string: a value makes that string a key. */
const LEAD_COLON = 18
/** The opening string is a key whose `{` is missing: open the object and read the key again. */
const IMPLICIT = 19
/** Right after a quote that opens a phrase of prose. */
const PHRASE_OPEN = 20
/** Inside a quoted phrase of prose: braces in it are text. */
const PHRASE = 21
/** After the quote that may close the phrase. */
const PHRASE_CLOSE = 22
/** A phrase hid the value after all: the text is read again, braces in phrases included. */
const AGAIN = 23

// what came before the first value, for a string that opens the text
const LEAD_NONE = 0
const LEAD_AFTER = 1
const LEAD_SETTLED = 2

// what a container expects next
const KEY = 0
const COLON = 1
const VALUE = 2
const AFTER = 3

// atom kinds
const NUMERIC = 0
const WORD = 1
const KEY_WORD = 2

const isWhitespace = (c: number): boolean =>
  c === 32 || c === 10 || c === 13 || c === 9 || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029

const isDigit = (c: number): boolean => c >= 48 && c <= 57

const isLetter = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36 || (c > 0x7f && !isWhitespace(c) && !isQuote(c))

/** Straight, single and typographic quotes that open a string. */
const isQuote = (c: number): boolean => c === 34 || c === 39 || (c >= 0x2018 && c <= 0x201d)

/** The character that closes a string opened with `c`: “ closes with ”, ‘ with ’. */
const closerOf = (c: number): number => c === 0x201c ? 0x201d : c === 0x2018 ? 0x2019 : c

const isNumberStart = (c: number): boolean => isDigit(c) || c === 45 || c === 43 || c === 46

const isNumericPart = (c: number): boolean => isDigit(c) || isLetter(c) || c === 45 || c === 43 || c === 46

const isKeyPart = (c: number): boolean => isDigit(c) || isLetter(c) || c === 45 || c === 46

/** Ends an unquoted word value: `,` `}` `]` `{` `[` `"` or a line break. */
const endsWord = (c: number): boolean =>
  c === 44 || c === 125 || c === 93 || c === 123 || c === 91 || c === 34 || c === 10 || c === 13

/** Characters that plausibly begin an array's first element: `[as noted]` in prose does not start JSON. */
const startsElement = (c: number): boolean => c === 93 || startsValue(c)

/** Characters that begin a value: a container, a string, a number or a literal (`true`, `None`…). */
const startsValue = (c: number): boolean =>
  c === 123 || c === 91 || isQuote(c) || isNumberStart(c) ||
  c === 116 || c === 102 || c === 110 || c === 84 || c === 70 || c === 78

const isWordPart = (c: number): boolean => isLetter(c) || isDigit(c)

/** What may come before the quote of a quoted phrase in prose: a space or `(`, not a letter (`don't`) or a digit (`5"`). */
const beginsPhrase = (c: number): boolean => isWhitespace(c) || c === 40

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/
const LOOSE_NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/
const ELLIPSIS = /^\.+$/

const LITERALS: ReadonlyMap<string, boolean | null> = new Map<string, boolean | null>([
  ["true", true],
  ["True", true],
  ["TRUE", true],
  ["false", false],
  ["False", false],
  ["FALSE", false],
  ["null", null],
  ["None", null],
  ["NULL", null],
  ["undefined", null]
])

/** A literal cut off by the end of the text: `tr` → true, `Fal` → false, `nu` / `Non` → null. */
const truncatedLiteral = (word: string): boolean | null | undefined => {
  for (const [literal, value] of LITERALS) {
    if (literal.startsWith(word)) return value
  }
  return undefined
}

const UNSAFE_KEY = "__proto__"

/** `\n` → newline and so on; `\'` too, for single-quoted strings. */
const ESCAPES: ReadonlyMap<number, string> = new Map([
  [110, "\n"],
  [116, "\t"],
  [114, "\r"],
  [98, "\b"],
  [102, "\f"],
  [34, "\""],
  [39, "'"],
  [47, "/"],
  [92, "\\"]
])

/**
 * A tolerant, incremental JSON parser: one pass, one character at a time,
 * with an explicit stack (no recursion), so it can take a stream in pieces
 * and never holds more than the value it builds. It skips prose and fences
 * before the first object or array, ignores what follows it, and repairs
 * what LLMs get wrong (see docs/structured-output.md). `__proto__` members are dropped.
 */
export class Parser {
  private mode = SEEK
  private readonly arrays: Array<boolean> = []
  private readonly states: Array<number> = []
  private readonly keys: Array<string | undefined> = []
  /** Depth of the `__proto__` container being skipped, 0 when none. */
  private skipFrom = 0
  private length = 0
  private started = false
  /** Text before the first container, kept for the top-level scalar fallback. */
  private readonly skipped: Array<string> = []
  /** Whether the text opened with a string (`"{"` is a string, not an object), and whether it has ended. */
  private lead = LEAD_NONE
  /** The first character inside the opening string. */
  private leadFirst = 0
  /** The last character of prose before the value, and the quote that closes the phrase being skipped. */
  private prose = 32
  private phraseCloser = 0
  /** A `{` or `[` was skipped inside a quoted phrase: if no value follows, it is the value after all. */
  private phraseBrace = false
  /** The same, inside the phrase being read. */
  private braceInPhrase = false
  /** The parser that reads the text again when a phrase hid the value; it gets the rest of the text. */
  private again: Parser | undefined = undefined
  /** A `{` or `[` inside the opening string: it counts as one in a phrase once the string is known to be prose. */
  private leadBrace = false
  // the token in progress
  private readonly parts: Array<string> = []
  private quote = 0
  private stringIsKey = false
  private whitespace = ""
  private hex = ""
  private atom = NUMERIC
  private error: ContentError | undefined = undefined
  /** The last structural character, to see a comma right before a closer. */
  private previous = 0
  /** What was repaired so far: bits of the flags above. */
  repairs = 0

  /** `phrases: false` reads braces in quoted prose as values, for the second look when no value was found. */
  constructor(
    private readonly sink: Sink,
    private readonly limits: Limits,
    private readonly scalarRoot = false,
    private readonly phrases = true
  ) {
    if (scalarRoot) this.mode = STRUCT
  }

  push(chunk: string): void {
    if (this.again !== undefined) return this.again.push(chunk)
    if (this.mode === FAILED) return
    this.length += chunk.length
    if (this.length > this.limits.maxLength) {
      return this.fail(`The JSON text is longer than maxLength (${this.limits.maxLength} characters)`)
    }
    if (!this.started) this.skipped.push(chunk)
    this.scan(chunk)
  }

  private scan(chunk: string): void {
    const n = chunk.length
    let i = 0
    while (i < n && this.mode !== DONE && this.mode !== FAILED && this.again === undefined) {
      if (this.mode === STRING) i = this.scanString(chunk, i)
      else if (this.mode === ATOM) i = this.scanAtom(chunk, i)
      else if (this.mode === RESCAN || this.mode === IMPLICIT) this.rescan(chunk, i)
      else if (this.mode === AGAIN) return this.readAgain()
      else if (this.step(chunk.charCodeAt(i))) i++
    }
    if (this.mode === DONE && i < n) this.after(chunk.slice(i))
  }

  /**
   * Scans the text from the opening string up to `chunk[i]` again: as the
   * first key of an object whose `{` is missing (`"key": "value"}`), or,
   * when the string wraps the value (`"{"a": 1}"`), from after its quote.
   */
  private rescan(chunk: string, i: number): void {
    const text = this.skipped.join("")
    const end = text.length - chunk.length + i
    const from = text.indexOf("\"")
    if (this.mode === IMPLICIT) {
      this.repairs |= SYNTAX
      this.open(false)
      return this.scan(text.slice(from, end))
    }
    this.mode = SEEK
    this.lead = LEAD_SETTLED
    this.repairs |= PROSE
    this.scan(text.slice(from + 1, end))
  }

  /** Text follows the string that opened the text: JSON wrapped in quotes, a key, or a quoted phrase of prose. */
  private afterLead(c: number): boolean {
    if (this.phrases && c === 58) {
      this.mode = LEAD_COLON
      return true
    }
    if (!this.phrases || this.leadFirst === 123 || this.leadFirst === 91) {
      this.mode = RESCAN
      return false
    }
    if (this.leadBrace && isWordPart(c)) {
      this.mode = AGAIN
      return false
    }
    return this.leadIsProse()
  }

  /**
   * A phrase hid the value (`"hi {"a": 1}`: the quote that seemed to close
   * it opens a key): the text so far goes to a parser that reads braces in
   * phrases as values, and so does the rest of the text.
   */
  private readAgain(): void {
    this.again = new Parser(this.sink, this.limits, false, false)
    this.again.push(this.skipped.join(""))
  }

  /** The opening string was a quoted phrase: the value, if any, comes after it. */
  private leadIsProse(): boolean {
    this.mode = SEEK
    this.lead = LEAD_SETTLED
    this.prose = 34
    this.phraseBrace ||= this.leadBrace
    this.repairs |= PROSE
    return false
  }

  /** Text after the value: a closing fence or prose. */
  private after(rest: string): void {
    const text = rest.trim()
    if (text.length === 0) return
    this.repairs |= /^(?:```|~~~)$/.test(text) ? FENCE : PROSE
  }

  /** Completes what the end of the text cut off and closes every open container. */
  end(): ContentError | undefined {
    if (this.again !== undefined) {
      const error = this.again.end()
      this.repairs = this.again.repairs | PROSE
      return error
    }
    switch (this.mode) {
      case FAILED:
        return this.error
      case STRING:
      case ESCAPE:
      case UNICODE:
        this.repairs |= TRUNCATED
        this.endString(true)
        break
      case CLOSING:
        this.endString(true)
        break
      case ATOM:
        this.endAtom(true)
        break
      case SEEK_ARRAY:
        this.open(true)
    }
    if (this.mode === FAILED) return this.error
    if (this.arrays.length > 0) this.repairs |= TRUNCATED
    while (this.arrays.length > 0) this.closeTop()
    if (this.started) return undefined
    if (this.scalarRoot) {
      this.fail("No JSON value found in the text")
      return this.error
    }
    if (this.phraseBrace) {
      // every brace was inside a quoted phrase: no value follows them, so the first one is the value
      this.readAgain()
      return this.end()
    }
    const fallback = new Parser(this.sink, this.limits, true)
    const text = this.skipped.join("")
    const body = stripFence(text)
    fallback.push(body)
    const error = fallback.end()
    this.repairs = fallback.repairs | (body === text.trim() ? 0 : FENCE)
    return error
  }

  private fail(message: string): void {
    this.mode = FAILED
    this.error = new ContentError({ rule: "json", message })
  }

  /** Handles one character outside string content; returns false to see it again in the new mode. */
  private step(c: number): boolean {
    switch (this.mode) {
      case SEEK:
        if (this.lead !== LEAD_SETTLED && !isJsonWhitespace(c)) {
          if (this.lead === LEAD_NONE && (c === 34 || c === 96 || c === 126)) {
            // a fence opener (prose, as before) does not hide the string that may follow it
            if (c !== 34) this.repairs |= PROSE
            this.mode = c === 34 ? LEADING_STRING : FENCE_LINE
            return true
          }
          // a closing fence may follow the opening string; anything else decides what the string was
          if (this.lead === LEAD_AFTER && c !== 96 && c !== 126) return this.afterLead(c)
          this.lead = LEAD_SETTLED
        }
        if (c === 123) this.open(false)
        else if (c === 91) this.mode = SEEK_ARRAY
        else if (!isJsonWhitespace(c)) {
          this.repairs |= PROSE
          if (this.phrases && isQuote(c) && beginsPhrase(this.prose)) {
            this.phraseCloser = closerOf(c)
            this.mode = PHRASE_OPEN
          }
        }
        this.prose = c
        return true
      case PHRASE_OPEN:
        // `"{"a": 1}"` is a value in quotes, not a phrase
        this.mode = c === 123 || c === 91 ? SEEK : PHRASE
        return false
      case PHRASE:
        if (c === this.phraseCloser) this.mode = PHRASE_CLOSE
        else if (c === 123 || c === 91) this.phraseBrace = this.braceInPhrase = true
        return true
      case PHRASE_CLOSE:
        // a quote right before a word opens a string of the value the phrase hid (`"hi {"a": 1}`)
        if (this.braceInPhrase && isWordPart(c)) {
          this.mode = AGAIN
          return false
        }
        this.braceInPhrase = false
        this.mode = SEEK
        this.prose = this.phraseCloser
        return false
      case LEAD_COLON:
        if (isWhitespace(c)) return true
        if (startsValue(c)) {
          this.mode = IMPLICIT
          return false
        }
        return this.leadIsProse()
      case SEEK_ARRAY:
        if (isWhitespace(c)) return true
        if (startsElement(c)) this.open(true)
        else {
          this.mode = SEEK
          this.repairs |= PROSE
        }
        return false
      case STRUCT:
        return this.structural(c)
      case LEADING_STRING:
        if (this.leadFirst === 0) this.leadFirst = c
        if (c === 92) this.mode = LEADING_ESCAPE
        else if (c === 34) {
          this.mode = SEEK
          this.lead = LEAD_AFTER
        } else if (c === 123 || c === 91) this.leadBrace = true
        return true
      case LEADING_ESCAPE:
        this.mode = LEADING_STRING
        return true
      case FENCE_LINE:
        if (c === 10) this.mode = SEEK
        return true
      case ESCAPE:
        return this.escape(c)
      case UNICODE:
        return this.unicode(c)
      case CLOSING:
        return this.closing(c)
      case SLASH:
        this.mode = c === 47 ? LINE_COMMENT : c === 42 ? BLOCK_COMMENT : STRUCT
        this.repairs |= c === 47 || c === 42 ? COMMENTS : SYNTAX
        return c === 47 || c === 42
      case LINE_COMMENT:
        if (c === 10 || c === 13) this.mode = STRUCT
        return true
      case BLOCK_COMMENT:
        if (c === 42) this.mode = BLOCK_STAR
        return true
      default:
        // BLOCK_STAR: a `*` inside a block comment
        this.mode = c === 47 ? STRUCT : c === 42 ? BLOCK_STAR : BLOCK_COMMENT
        return true
    }
  }

  private structural(c: number): boolean {
    if (isWhitespace(c)) {
      if (!isJsonWhitespace(c)) this.repairs |= SYNTAX
      return true
    }
    if (c === 47) {
      this.mode = SLASH
      return true
    }
    if (c === 35) {
      this.mode = LINE_COMMENT
      this.repairs |= COMMENTS
      return true
    }
    const previous = this.previous
    this.previous = c
    const top = this.arrays.length - 1
    if (top < 0) return this.beginValue(c)
    if (c === 125 || c === 93) {
      if (previous === 44) this.repairs |= TRAILING_COMMAS
      else if (!this.arrays[top] && this.states[top] !== KEY && this.states[top] !== AFTER) this.repairs |= SYNTAX
      this.closeWith(c === 93)
      return true
    }
    const state = this.states[top]!
    if (this.arrays[top]) {
      if (c === 44) {
        if (state !== AFTER) this.repairs |= SYNTAX
        this.states[top] = VALUE
        return true
      }
      if (c === 58 || state === AFTER) this.repairs |= SYNTAX
      return c === 58 ? true : this.beginValue(c)
    }
    switch (state) {
      case KEY:
        if (isQuote(c)) {
          this.beginString(c, true)
          return true
        }
        if (!isKeyPart(c)) {
          this.repairs |= SYNTAX
          return true
        }
        this.repairs |= UNQUOTED_KEYS
        this.beginAtom(KEY_WORD)
        return false
      case COLON:
        if (c === 58) {
          this.states[top] = VALUE
          return true
        }
        this.repairs |= SYNTAX
        if (c === 61) {
          this.states[top] = VALUE
          return true
        }
        if (c === 44) {
          this.states[top] = KEY
          return true
        }
        this.states[top] = VALUE
        return false
      case VALUE:
        if (c === 44 || c === 58) this.repairs |= SYNTAX
        if (c === 44) {
          this.states[top] = KEY
          return true
        }
        return c === 58 ? true : this.beginValue(c)
      default:
        this.states[top] = KEY
        if (c !== 44) this.repairs |= SYNTAX
        return c === 44 || c === 58
    }
  }

  /** Starts the value that `c` begins, if any. */
  private beginValue(c: number): boolean {
    if (c === 123 || c === 91) {
      this.open(c === 91)
      return true
    }
    if (isQuote(c)) {
      this.beginString(c, false)
      return true
    }
    if (isNumberStart(c)) this.beginAtom(NUMERIC)
    else if (isLetter(c)) this.beginAtom(WORD)
    else {
      this.repairs |= SYNTAX
      return true
    }
    return false
  }

  private beginString(quote: number, isKey: boolean): void {
    if (quote !== 34) this.repairs |= QUOTES
    this.mode = STRING
    this.quote = closerOf(quote)
    this.stringIsKey = isKey
    this.parts.length = 0
  }

  private beginAtom(kind: number): void {
    this.mode = ATOM
    this.atom = kind
    this.parts.length = 0
  }

  /** Copies string content up to the next quote or backslash in one slice. */
  private scanString(chunk: string, from: number): number {
    const quote = this.quote
    let i = from
    const n = chunk.length
    while (i < n) {
      const c = chunk.charCodeAt(i)
      if (c === quote || c === 92) break
      if (c < 32) this.repairs |= CONTROL
      i++
    }
    if (i > from) this.parts.push(chunk.slice(from, i))
    if (i === n) return n
    if (chunk.charCodeAt(i) === 92) {
      this.mode = ESCAPE
    } else {
      this.mode = CLOSING
      this.whitespace = ""
    }
    return i + 1
  }

  private escape(c: number): boolean {
    this.mode = STRING
    if (c === 117) {
      this.mode = UNICODE
      this.hex = ""
      return true
    }
    const escaped = ESCAPES.get(c)
    if (escaped === undefined || c === 39) this.repairs |= ESCAPES_FLAG
    // an unknown escape such as `\d` in a regex: keep the backslash, as the model meant it
    this.parts.push(escaped ?? `\\${String.fromCharCode(c)}`)
    return true
  }

  private unicode(c: number): boolean {
    const isHex = isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
    if (!isHex) {
      this.repairs |= ESCAPES_FLAG
      this.parts.push("\\u", this.hex)
      this.mode = STRING
      return false
    }
    this.hex += String.fromCharCode(c)
    if (this.hex.length === 4) {
      this.parts.push(String.fromCharCode(parseInt(this.hex, 16)))
      this.mode = STRING
    }
    return true
  }

  /**
   * After a possible closing quote: the quote ends the string only if what
   * follows fits (after a key, anything but a word character right after the
   * quote; after a value, `,` `}` `]` `/` or a new line with a quote).
   * Otherwise it was an unescaped quote inside the text.
   */
  private closing(c: number): boolean {
    if (isWhitespace(c)) {
      this.whitespace += String.fromCharCode(c)
      return true
    }
    const ends = this.arrays.length === 0 ||
      c === 44 || c === 125 || c === 93 || c === 47 ||
      (this.stringIsKey
        ? this.whitespace.length > 0 || !isKeyPart(c)
        : this.whitespace.includes("\n") && isQuote(c))
    if (ends) {
      this.endString(false)
    } else {
      this.repairs |= UNESCAPED_QUOTES
      this.parts.push(String.fromCharCode(this.quote), this.whitespace)
      this.mode = STRING
    }
    return false
  }

  private endString(atEnd: boolean): void {
    let text = this.parts.join("")
    if (atEnd) {
      // a surrogate pair cut in half by the end of the text
      const last = text.charCodeAt(text.length - 1)
      if (last >= 0xd800 && last <= 0xdbff) {
        text = text.slice(0, -1)
        this.repairs |= TRUNCATED
      }
    }
    this.mode = STRUCT
    if (!this.stringIsKey) return this.scalar(text, undefined)
    if (!atEnd) this.key(text)
  }

  /** Records the key of the member being read (a key cut off by the end of the text is not recorded). */
  private key(text: string): void {
    const top = this.arrays.length - 1
    this.keys[top] = text
    this.states[top] = COLON
  }

  /** Copies the run of characters that continue the atom in one slice; ends the atom at the first that does not. */
  private scanAtom(chunk: string, from: number): number {
    const kind = this.atom
    let i = from
    const n = chunk.length
    while (i < n) {
      const c = chunk.charCodeAt(i)
      if (kind === NUMERIC ? !isNumericPart(c) : kind === KEY_WORD ? !isKeyPart(c) : endsWord(c)) break
      i++
    }
    if (i > from) this.parts.push(chunk.slice(from, i))
    if (i < n) this.endAtom(false)
    return i
  }

  private endAtom(atEnd: boolean): void {
    const text = this.parts.join("").trim()
    this.mode = STRUCT
    if (this.atom === KEY_WORD) {
      if (!atEnd) this.key(text)
      return
    }
    if (ELLIPSIS.test(text)) {
      this.repairs |= ELLIPSIS_FLAG
      return
    }
    if (this.atom === NUMERIC) {
      if (JSON_NUMBER.test(text)) return this.scalar(Number(text), text)
      const trimmed = atEnd ? text.replace(/(?:[eE][-+]?|\.)$/, "") : text
      this.repairs |= trimmed === text ? NUMBERS : TRUNCATED
      if (LOOSE_NUMBER.test(trimmed)) return this.scalar(Number(trimmed), undefined)
      if (atEnd && /^[-+.]*$/.test(text)) return
    } else {
      const known = LITERALS.has(text)
      const literal = known ? LITERALS.get(text)! : atEnd ? truncatedLiteral(text) : undefined
      if (literal !== undefined) {
        if (!known) this.repairs |= TRUNCATED
        else if (!STRICT_LITERALS.has(text)) this.repairs |= LITERALS_FLAG
        return this.scalar(literal, undefined)
      }
    }
    if (this.arrays.length === 0) return this.fail("No JSON value found in the text")
    this.repairs |= UNQUOTED_VALUES
    this.scalar(text, undefined)
  }

  private get muted(): boolean {
    return this.skipFrom > 0
  }

  /** The key of the member that begins now; consumes it. */
  private takeKey(): string | undefined {
    const top = this.arrays.length - 1
    if (top < 0) return undefined
    this.states[top] = AFTER
    if (this.arrays[top]) return undefined
    const key = this.keys[top] ?? ""
    this.keys[top] = undefined
    return key
  }

  private scalar(value: Scalar, lexeme: string | undefined): void {
    this.started = true
    const key = this.takeKey()
    if (key === UNSAFE_KEY) this.repairs |= UNSAFE
    if (!this.muted && key !== UNSAFE_KEY) this.sink.scalar(value, lexeme, key)
    if (this.arrays.length === 0) this.mode = DONE
  }

  private open(isArray: boolean): void {
    if (this.arrays.length >= this.limits.maxDepth) {
      return this.fail(
        `The JSON value is nested deeper than maxDepth (${this.limits.maxDepth}) at character ${this.length}`
      )
    }
    this.started = true
    this.skipped.length = 0
    const key = this.takeKey()
    if (key === UNSAFE_KEY) this.repairs |= UNSAFE
    if (!this.muted) {
      if (key === UNSAFE_KEY) this.skipFrom = this.arrays.length + 1
      else this.sink.open(isArray, key)
    }
    this.arrays.push(isArray)
    this.states.push(isArray ? VALUE : KEY)
    this.keys.push(undefined)
    this.mode = STRUCT
  }

  private closeTop(): void {
    const depth = this.arrays.length
    if (!this.muted) this.sink.close()
    if (this.skipFrom === depth) this.skipFrom = 0
    this.arrays.pop()
    this.states.pop()
    this.keys.pop()
    this.mode = depth === 1 ? DONE : STRUCT
  }

  /** Closes up to the nearest container of the kind `]` or `}` closes; a closer with no match is ignored. */
  private closeWith(isArray: boolean): void {
    const match = this.arrays.lastIndexOf(isArray)
    if (match !== this.arrays.length - 1) this.repairs |= SYNTAX
    if (match < 0) return
    while (this.arrays.length > match) this.closeTop()
  }
}

/** Parses a whole text into `sink`; returns the error, if any. */
export const parseInto = (sink: Sink, text: string, limits: Limits): ContentError | undefined =>
  parseWithRepairs(sink, text, limits).error

/** Parses a whole text into `sink`; returns the error, if any, and what was repaired (flags). */
export const parseWithRepairs = (
  sink: Sink,
  text: string,
  limits: Limits
): { readonly error: ContentError | undefined; readonly repairs: number } => {
  const parser = new Parser(sink, limits)
  const start = fencedStart(text)
  parser.push(start)
  const error = parser.end()
  return { error, repairs: parser.repairs | (start.length === text.length ? 0 : prefixRepair(text, start)) }
}

/** What the text skipped before a fenced value held: a fence, and prose if anything else. */
const prefixRepair = (text: string, start: string): number => {
  const prefix = text.slice(0, text.length - start.length)
  const rest = prefix.replace(/(?:```|~~~)[\w+-]*/g, "")
  return FENCE | (rest.trim().length > 0 ? PROSE : 0)
}

/** A fence opener at the start of a line (```json, ```, ~~~ …), maybe several in a row, then the `{`, `[` or string it holds. */
const FENCED_VALUE = /(?:^|\n)[ \t]{0,3}(?:```|~~~)[\w+-]*[ \t]*\r?\n(?:\s*(?:```|~~~)[\w+-]*[ \t]*\r?\n)*\s*(?=[{["])/

/**
 * With the whole text at hand, a fenced object or array wins over brackets
 * in the prose before it ("see [1]:" then a ```json block): the text from
 * that value on, else the text as it is.
 */
const fencedStart = (text: string): string => {
  const match = FENCED_VALUE.exec(text)
  return match === null ? text : text.slice(match.index + match[0].length)
}

/** Drops a Markdown fence around a top-level scalar: "```json\n42\n```" → "42". */
const stripFence = (text: string): string => {
  let body = text.trim()
  if (body.startsWith("```")) {
    const newline = body.indexOf("\n")
    body = newline < 0 ? "" : body.slice(newline + 1)
  }
  const close = body.lastIndexOf("```")
  return (close < 0 ? body : body.slice(0, close)).trim()
}

/** Builds the value, attaching each container to its parent when it opens. */
export class ValueSink implements Sink {
  root: unknown = undefined
  /** Changes with every member or element added: a snapshot is due when it moved. */
  version = 0
  private readonly stack: Array<Record<string, unknown> | Array<unknown>> = []
  private readonly stackKeys: Array<string | undefined> = []

  open = (isArray: boolean, key: string | undefined): void => {
    const container = isArray ? [] : {}
    this.attach(container, key)
    this.stack.push(container)
    this.stackKeys.push(key)
  }

  scalar = (value: Scalar, _lexeme: string | undefined, key: string | undefined): void => this.attach(value, key)

  close = (): void => {
    this.stack.pop()
    this.stackKeys.pop()
  }

  private attach(value: unknown, key: string | undefined): void {
    this.version++
    const top = this.stack[this.stack.length - 1]
    if (top === undefined) this.root = value
    else if (Array.isArray(top)) top.push(value)
    else top[key!] = value
  }

  /**
   * A copy that later input cannot change. Closed containers never change
   * again, so only the open ones (the path from the root) are copied.
   */
  snapshot(): unknown {
    const stack = this.stack
    let child: unknown = undefined
    for (let i = stack.length - 1; i >= 0; i--) {
      const container = stack[i]!
      const copy: Record<string, unknown> | Array<unknown> = Array.isArray(container)
        ? container.slice()
        : { ...container }
      if (i < stack.length - 1) {
        if (Array.isArray(copy)) copy[copy.length - 1] = child
        else copy[this.stackKeys[i + 1]!] = child
      }
      child = copy
    }
    return stack.length === 0 ? this.root : child
  }
}

/** Writes compact JSON text; numbers keep their digits. */
export class TextSink implements Sink {
  private readonly parts: Array<string> = []
  private readonly counts: Array<number> = []
  private readonly closers: Array<string> = []

  private member(key: string | undefined): void {
    const top = this.counts.length - 1
    if (top < 0) return
    if (this.counts[top]!++ > 0) this.parts.push(",")
    if (key !== undefined) this.parts.push(JSON.stringify(key), ":")
  }

  open = (isArray: boolean, key: string | undefined): void => {
    this.member(key)
    this.parts.push(isArray ? "[" : "{")
    this.counts.push(0)
    this.closers.push(isArray ? "]" : "}")
  }

  scalar = (value: Scalar, lexeme: string | undefined, key: string | undefined): void => {
    this.member(key)
    this.parts.push(lexeme ?? JSON.stringify(value))
  }

  close = (): void => {
    this.counts.pop()
    this.parts.push(this.closers.pop()!)
  }

  text(): string {
    return this.parts.join("")
  }
}

/**
 * Standard JSON only (`JSON.parse`), with the same safety as the tolerant
 * parser: bounded length and depth, `__proto__` members removed.
 */
export const parseStrict = (text: string, limits: Limits): unknown | ContentError => {
  if (text.length > limits.maxLength) {
    return new ContentError({
      rule: "json",
      message: `The JSON text is longer than maxLength (${limits.maxLength} characters)`
    })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return new ContentError({ rule: "json", message: `Invalid JSON: ${(error as Error).message}`, cause: error })
  }
  const pending: Array<[unknown, number]> = [[value, 1]]
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!
    if (typeof node !== "object" || node === null) continue
    if (depth > limits.maxDepth) {
      return new ContentError({
        rule: "json",
        message: `The JSON value is nested deeper than maxDepth (${limits.maxDepth})`
      })
    }
    if (Object.prototype.hasOwnProperty.call(node, UNSAFE_KEY)) delete (node as Record<string, unknown>)[UNSAFE_KEY]
    for (const child of Object.values(node)) pending.push([child, depth + 1])
  }
  return value
}
