/**
 * The scanner behind `Guardrails.latex`: one pass over the characters, a
 * stack of what is open (environments and math), and the few characters of
 * a command name or `$$` that may straddle two pieces.
 */
import { isSpace as isSpaceUnit } from "./scanners.js"

// Per-character loops read local bindings: dev loaders (tsx, vitest) turn imported ones into getter calls.
const isSpace = isSpaceUnit

const TAB = 9
const LF = 10
const SPACE = 32
const DOLLAR_SIGN = 36
const PERCENT = 37
const OPEN_PAREN = 40
const CLOSE_PAREN = 41
const STAR = 42
const OPEN_BRACKET = 91
const BACKSLASH = 92
const CLOSE_BRACKET = 93
const BACKTICK = 96
const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const TILDE = 126

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122)

/** Environments whose body is verbatim text, read up to their `\end{name}`. */
const VERBATIM = new Set(["verbatim", "verbatim*", "Verbatim", "lstlisting", "minted", "comment"])

// What the scanner is reading.
const TEXT = 0
const ESCAPE = 1 // after `\`
const CONTROL_WORD = 2 // the letters of a command name
const ARGUMENT_WAIT = 3 // after `\begin` or `\end`, before `{`
const ARGUMENT = 4 // an environment name, up to `}`
const COMMENT = 5 // after `%`, up to the end of the line
const VERB_DELIMITER = 6 // after `\verb`: an optional `*`, then the delimiter
const VERB = 7 // `\verb` text, up to its delimiter or the end of the line
const RAW = 8 // a verbatim environment's body
const DOLLAR = 9 // after a `$` that may start `$$`
const FENCED = 10 // a markdown code block

// The start of a line, for markdown code fences.
const LINE_LEAD = 0
const LINE_RUN = 1
const LINE_DONE = 2

interface Open {
  /** How the opener is written: `\begin{name}`, `$`, `$$`, `\(` or `\[`. */
  readonly label: string
  readonly at: number
}

const shown = (label: string): string => {
  const flat = label.replace(/\s+/g, " ")
  return `"${flat.length > 60 ? `${flat.slice(0, 60)}…` : flat}"`
}

/**
 * Checks that LaTeX math and environments are balanced and nested: `$…$`,
 * `$$…$$`, `\(…\)`, `\[…\]` and `\begin{name}…\end{name}`. A closer that
 * closes nothing or the wrong opener is reported at once; what is still
 * open is reported at completion. Escapes (`\$`, `\\`), comments (`%` to
 * the end of the line), `\verb` and verbatim environments are skipped, and
 * so are markdown code blocks (a line starting with three backticks or
 * tildes opens or closes one), so math in a markdown answer can be checked.
 */
export class LatexScan {
  private readonly open: Array<Open> = []
  private state = TEXT
  private offset = 0
  private done = false
  /** The command being read, when it could still be `begin`, `end` or `verb`. */
  private word = ""
  private commandAt = 0
  private closing = false
  private name: Array<string> = []
  private nameFrom = -1
  private delimiter = 0
  private starred = false
  /** The `\end{name}` a verbatim environment waits for, and how much of it matched. */
  private rawEnd = ""
  private rawMatched = 0
  private dollarAt = 0
  private line = LINE_LEAD
  private runChar = 0
  private run = 0

  /** Feeds the next text; returns a violation message the first time a closer does not match. */
  feed(delta: string): string | undefined {
    if (this.done) return undefined
    const base = this.offset
    this.offset += delta.length
    this.nameFrom = this.state === ARGUMENT ? 0 : -1
    for (let i = 0; i < delta.length; i++) {
      const found = this.char(delta, i, base + i)
      if (found !== undefined) {
        this.done = true
        return found
      }
    }
    if (this.state === ARGUMENT) this.name.push(delta.slice(this.nameFrom))
    return undefined
  }

  /** The verdict at completion: what is still open. */
  end(): string | undefined {
    if (this.done) return undefined
    if (this.state === DOLLAR) this.open.push({ label: "$", at: this.dollarAt })
    if (this.state === ARGUMENT) {
      return `${shown(this.closing ? "\\end{" : "\\begin{")} at offset ${this.commandAt} never closes its name with "}"`
    }
    if (this.open.length === 0) return undefined
    const listed = this.open.slice(0, 3).map((o) => `${shown(o.label)} at offset ${o.at}`).join(", ")
    return `the output ends with ${this.open.length} unclosed: ${listed}${this.open.length > 3 ? ", …" : ""}`
  }

  private char(delta: string, i: number, at: number): string | undefined {
    const c = delta.charCodeAt(i)
    if (c === LF) this.line = LINE_LEAD
    switch (this.state) {
      case TEXT:
        return this.text(c, at)
      case FENCED: {
        if (this.line !== LINE_DONE) this.fence(c)
        return undefined
      }
      case ESCAPE: {
        if (isLetter(c)) {
          this.state = CONTROL_WORD
          this.word = String.fromCharCode(c)
          return undefined
        }
        this.state = TEXT
        if (c === OPEN_PAREN) this.open.push({ label: "\\(", at: at - 1 })
        else if (c === OPEN_BRACKET) this.open.push({ label: "\\[", at: at - 1 })
        else if (c === CLOSE_PAREN) return this.close("\\(", "\\)", at - 1)
        else if (c === CLOSE_BRACKET) return this.close("\\[", "\\]", at - 1)
        return undefined
      }
      case CONTROL_WORD: {
        if (isLetter(c)) {
          // longer names are none of `begin`, `end` and `verb`, whatever follows
          if (this.word.length < 6) this.word += String.fromCharCode(c)
          return undefined
        }
        if (this.word === "begin" || this.word === "end") {
          this.closing = this.word === "end"
          this.state = ARGUMENT_WAIT
        } else if (this.word === "verb") {
          this.state = VERB_DELIMITER
          this.starred = false
        } else {
          this.state = TEXT
        }
        return this.char(delta, i, at)
      }
      case ARGUMENT_WAIT: {
        if (c === OPEN_BRACE) {
          this.state = ARGUMENT
          this.name = []
          this.nameFrom = i + 1
          return undefined
        }
        if (isSpace(c)) {
          // blanks after a line break may still lead to a code fence
          if (c !== SPACE && c !== TAB && c !== LF) this.line = LINE_DONE
          return undefined
        }
        this.state = TEXT
        return this.char(delta, i, at)
      }
      case ARGUMENT: {
        if (c !== LF) this.line = LINE_DONE
        if (c !== CLOSE_BRACE) return undefined
        this.name.push(delta.slice(this.nameFrom, i))
        this.state = TEXT
        return this.environment(this.name.join(""))
      }
      case COMMENT: {
        if (c === LF) this.state = TEXT
        return undefined
      }
      case VERB_DELIMITER: {
        if (c === STAR && !this.starred) {
          this.starred = true
          return undefined
        }
        if (c === LF) {
          this.state = TEXT
          return undefined
        }
        this.delimiter = c
        this.state = VERB
        return undefined
      }
      case VERB: {
        if (c === this.delimiter || c === LF) this.state = TEXT
        return undefined
      }
      case RAW: {
        if (c !== LF) this.line = LINE_DONE
        const end = this.rawEnd
        if (c === end.charCodeAt(this.rawMatched)) {
          if (++this.rawMatched === end.length) {
            this.state = TEXT
            this.open.pop()
          }
        } else {
          this.rawMatched = c === BACKSLASH ? 1 : 0
        }
        return undefined
      }
      case DOLLAR: {
        this.state = TEXT
        if (c === DOLLAR_SIGN) {
          const top = this.open[this.open.length - 1]
          if (top?.label === "$$") this.open.pop()
          else this.open.push({ label: "$$", at: this.dollarAt })
          return undefined
        }
        this.open.push({ label: "$", at: this.dollarAt })
        return this.char(delta, i, at)
      }
    }
  }

  private text(c: number, at: number): string | undefined {
    if (this.line !== LINE_DONE) {
      this.fence(c)
      if (this.state === FENCED) return undefined
    }
    if (c === BACKSLASH) {
      this.state = ESCAPE
      this.commandAt = at
    } else if (c === PERCENT) {
      this.state = COMMENT
    } else if (c === DOLLAR_SIGN) {
      const top = this.open[this.open.length - 1]
      if (top?.label === "$") this.open.pop()
      else {
        this.state = DOLLAR
        this.dollarAt = at
      }
    }
    return undefined
  }

  /** Reads the start of a line: three backticks or tildes after blanks open or close a code block. */
  private fence(c: number): void {
    if (this.line === LINE_LEAD) {
      if (c === SPACE || c === TAB || c === LF) return
      if (c === BACKTICK || c === TILDE) {
        this.line = LINE_RUN
        this.runChar = c
        this.run = 1
      } else {
        this.line = LINE_DONE
      }
    } else if (c !== this.runChar) {
      this.line = LINE_DONE
    } else if (++this.run === 3) {
      this.line = LINE_DONE
      this.state = this.state === FENCED ? TEXT : FENCED
    }
  }

  private environment(name: string): string | undefined {
    const at = this.commandAt
    if (!this.closing) {
      this.open.push({ label: `\\begin{${name}}`, at })
      if (VERBATIM.has(name)) {
        this.state = RAW
        this.rawEnd = `\\end{${name}}`
        this.rawMatched = 0
      }
      return undefined
    }
    return this.close(`\\begin{${name}}`, `\\end{${name}}`, at)
  }

  /** Closes the innermost opener, which must be `opener`. */
  private close(opener: string, closer: string, at: number): string | undefined {
    const top = this.open.pop()
    if (top?.label === opener) return undefined
    return top === undefined
      ? `${shown(closer)} at offset ${at} closes nothing`
      : `${shown(closer)} at offset ${at} closes ${shown(top.label)} (offset ${top.at})`
  }
}
