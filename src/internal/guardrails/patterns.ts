/** The `pattern` guardrail: regular expressions over new text plus a bounded window of the text before it. */

/** A compiled pattern: a global RegExp and the longest match it is sure to find across chunk boundaries. */
interface Matcher {
  readonly regex: RegExp
  readonly bound: number
}

/** Patterns compiled once, when the rule is built; `refused` lists the ones that could not be used. */
interface Compiled {
  readonly matchers: ReadonlyArray<Matcher>
  readonly refused: ReadonlyArray<string>
}

export const DEFAULT_PHRASES: ReadonlyArray<string> = [
  "as an ai",
  "i cannot",
  "i don't have",
  "unfortunately",
  "i apologize"
]

const isWordChar = (c: string | undefined): boolean => c !== undefined && /\w/.test(c)

/** A phrase as a regex: case-insensitive, whole words at its ends, any one whitespace for a space, either apostrophe. */
const phraseSource = (phrase: string): string => {
  const body = phrase.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&").replace(/\s/g, "\\s").replace(/['’]/g, "['’]")
  return `${isWordChar(phrase[0]) ? "\\b" : ""}${body}${isWordChar(phrase[phrase.length - 1]) ? "\\b" : ""}`
}

/** Skips a character class `[...]` starting at `i`; returns the index of its `]`. */
const endOfClass = (source: string, i: number): number => {
  let j = i + 1
  while (j < source.length && source[j] !== "]") j += source[j] === "\\" ? 2 : 1
  return j
}

/** Whether a quantifier at `i` lets its atom repeat (`*`, `+`, `{2}`, `{1,3}`, `{1,}`), and its length. */
const repeatAt = (source: string, i: number): number => {
  const c = source[i]
  if (c === "*" || c === "+") return 1
  if (c !== "{") return 0
  const braces = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i, i + 32))
  if (braces === null) return 0
  const [text, min, comma, max] = braces
  return Number(min) > 1 || (comma !== undefined && (max === "" || Number(max) > 1)) ? text.length : 0
}

/**
 * Whether a repeated group holds a repetition, as in `(a+)+` or
 * `(\w+\s?)*`: such patterns can backtrack exponentially, which no window
 * bounds. The check is conservative: some safe patterns are refused too.
 */
const nestsRepetition = (source: string): boolean => {
  const outer: Array<boolean> = []
  let repeats = false
  let groupRepeats = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    const quantifier = repeatAt(source, i)
    if (quantifier > 0) {
      if (groupRepeats) return true
      repeats = true
      i += quantifier - 1
    } else if (c === "\\") {
      i++
    } else if (c === "[") {
      i = endOfClass(source, i)
    } else if (c === "(") {
      outer.push(repeats)
      repeats = false
    } else if (c === ")") {
      const inner: boolean = repeats
      repeats = outer.pop()! || inner
      groupRepeats = inner
      continue
    }
    groupRepeats = false
  }
  return false
}

/** Compiles the default phrases (unless `defaults` is off), user strings and user RegExps. */
export const compile = (
  patterns: ReadonlyArray<unknown>,
  options: { readonly defaults: boolean; readonly maxMatchLength: number }
): Compiled => {
  const refused: Array<string> = []
  const phrases = options.defaults ? [...DEFAULT_PHRASES] : []
  const matchers: Array<Matcher> = []
  patterns.forEach((pattern, i) => {
    if (typeof pattern === "string") {
      if (pattern.length > 0) phrases.push(pattern)
    } else if (pattern instanceof RegExp) {
      if (nestsRepetition(pattern.source)) {
        refused.push(
          `pattern ${pattern} repeats a group that itself repeats, which can take exponential time; rewrite it without nested quantifiers`
        )
      } else {
        const flags = pattern.flags.replace(/[gy]/g, "")
        matchers.push({ regex: new RegExp(pattern.source, `${flags}g`), bound: options.maxMatchLength })
      }
    } else {
      refused.push(`patterns[${i}] is neither a string nor a RegExp`)
    }
  })
  if (phrases.length > 0) {
    matchers.unshift({
      regex: new RegExp(phrases.map(phraseSource).join("|"), "gi"),
      bound: Math.max(...phrases.map((phrase) => phrase.length))
    })
  }
  return { matchers, refused }
}

/** Long deltas are scanned in pieces, so that a regex never sees more than a piece plus its window. */
const PIECE = 512

const shown = (text: string): string => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)

/**
 * Finds each match once, however the text is split. Every matcher keeps the
 * last `bound + 1` characters it saw: a match of up to `bound` characters
 * that ends in new text starts inside that window, and the character before
 * it gives `\b` and lookbehinds their context. A match that touches the end
 * of the text so far waits for the next text (it may grow, or a `\b` after
 * it may fail), except at completion.
 */
export class PatternScan {
  private readonly tails: Array<string>
  private readonly reportedEnd: Array<number>
  private consumed = 0

  constructor(private readonly matchers: ReadonlyArray<Matcher>) {
    this.tails = matchers.map(() => "")
    this.reportedEnd = matchers.map(() => 0)
  }

  feed(delta: string, completed: boolean): Array<string> {
    const found: Array<string> = []
    for (let start = 0; start === 0 || start < delta.length; start += PIECE) {
      const last = start + PIECE >= delta.length
      this.scan(delta.slice(start, start + PIECE), completed && last, found)
    }
    return found
  }

  private scan(piece: string, atEnd: boolean, found: Array<string>): void {
    const previousEnd = this.consumed
    const end = previousEnd + piece.length
    this.consumed = end
    for (let m = 0; m < this.matchers.length; m++) {
      const { bound, regex } = this.matchers[m]!
      const text = this.tails[m]! + piece
      const base = end - text.length
      // past the output's start, the window's first character is only context for `\b` and lookbehinds
      regex.lastIndex = base > 0 ? 1 : 0
      let match: RegExpExecArray | null
      while ((match = regex.exec(text)) !== null) {
        const length = match[0].length
        if (length === 0) {
          regex.lastIndex++
          continue
        }
        const matchStart = base + match.index
        const matchEnd = matchStart + length
        if (matchEnd >= previousEnd && (matchEnd < end || atEnd) && matchStart >= this.reportedEnd[m]!) {
          this.reportedEnd[m] = matchEnd
          found.push(`found ${shown(match[0])} at offset ${matchStart}`)
        }
      }
      this.tails[m] = text.length > bound + 1 ? text.slice(text.length - bound - 1) : text
    }
  }
}
