import type { Boundary } from "../Continuation.js"

export type { Boundary }

/** Deduplication after validation, with defaults applied. */
export interface Deduplication {
  readonly minOverlap: number
  readonly maxOverlap: number
  readonly boundary: Boundary
}

/** `continuation` after validation; `undefined` in `Resolved` means off. */
export interface Settings {
  readonly deduplicate: Deduplication | undefined
  readonly trailingWhitespace: "sent" | "dropped"
}

export const DEFAULT_MIN_OVERLAP = 2
export const DEFAULT_MAX_OVERLAP = 512
export const DEFAULT_BOUNDARY: Boundary = "word"

/** `continuation: true`: the next attempt is appended as is. */
export const exact: Settings = { deduplicate: undefined, trailingWhitespace: "sent" }

/**
 * JavaScript's whitespace (`trimEnd`) and the few characters that Python's
 * `str.isspace` adds, so a prefill trimmed here is never refused for them.
 */
const WHITESPACE = /[\s\x1c-\x1f\x85]/

/** Where the run of whitespace that ends `text` starts (`text.length` when there is none). */
export const trailingWhitespaceStart = (text: string): number => {
  let end = text.length
  while (end > 0 && WHITESPACE.test(text[end - 1]!)) end--
  return end
}

/** How far back from the window a whitespace character is looked for, to start segmenting there. */
const LOOKBACK = 1024

const isRegionalIndicator = (text: string, i: number): boolean => {
  // U+1F1E6..U+1F1FF: D83C DDE6..DDFF
  const low = text.charCodeAt(i + 1)
  return text.charCodeAt(i) === 0xd83c && low >= 0xdde6 && low <= 0xddff
}

/**
 * Where to start segmenting so that the boundaries from `first` on are those
 * of the whole text. Boundaries depend on the characters before them (emoji
 * sequences, pairs of flag letters, dictionary words), never across a
 * whitespace character: start at the last one before `first`. Without one
 * nearby, start outside a surrogate pair and before a run of flag letters,
 * whose pairing counts from the run's start.
 */
const segmentStart = (text: string, first: number): number => {
  const floor = Math.max(0, first - LOOKBACK)
  for (let i = first - 1; i >= floor; i--) {
    if (WHITESPACE.test(text[i]!)) return i
  }
  let start = floor
  // the second half of a flag letter: its first half may be the one that pairs
  const unit = text.charCodeAt(start)
  if (start > 0 && unit >= 0xdc00 && unit <= 0xdfff) start--
  while (start >= 2 && isRegionalIndicator(text, start - 2)) start -= 2
  return start
}

/**
 * The positions of `context` where an overlap of `settings` may start:
 * candidates for a repeated tail `context.slice(start)`, longest first.
 */
const overlapStarts = (context: string, settings: Deduplication): Array<number> => {
  const first = context.length - Math.min(settings.maxOverlap, context.length)
  const last = context.length - settings.minOverlap
  const starts: Array<number> = []
  if (last < first) return starts
  if (settings.boundary === "line") {
    for (let i = first; i <= last; i++) {
      if (i === 0 || context.charCodeAt(i - 1) === 10) starts.push(i)
    }
    return starts
  }
  const offset = segmentStart(context, first)
  const segmenter = new Intl.Segmenter("und", { granularity: settings.boundary })
  for (const segment of segmenter.segment(context.slice(offset))) {
    const start = offset + segment.index
    if (start > last) break
    if (start >= first && (settings.boundary === "grapheme" || segment.isWordLike === true)) starts.push(start)
  }
  return starts
}

const commonPrefixLength = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i
}

/**
 * Joins a new attempt to the checkpoint. It holds the head of the attempt
 * only while the decision is open (a possible repeated overlap, or
 * whitespace that may match the whitespace the request dropped), decides
 * once, and is then dropped by the caller: the steady state never sees it.
 *
 * The model continued from `context` (the checkpoint, or the checkpoint
 * without its trailing whitespace when the request dropped it), so the
 * answer is `context + head` minus a repeated overlap; the consumer holds the
 * checkpoint, and keeps `kept` characters of it.
 */
export class Joint {
  /** Characters of the checkpoint the consumer keeps; final once `decided`. */
  kept: number
  decided = false
  /** Once decided: the head of the attempt's text that was not passed on (the removed overlap, the matched whitespace). */
  taken = ""
  private head = ""
  private overlap = 0
  private alive: Array<number>
  private readonly context: string
  private readonly dropped: string

  private constructor(checkpoint: string, end: number, holding: number, private readonly starts: Array<number>) {
    this.kept = holding
    this.context = checkpoint.slice(0, end)
    this.dropped = checkpoint.slice(end, holding)
    this.alive = starts
  }

  /**
   * A joint for an attempt that continues `checkpoint`, of which the
   * consumer holds `holding` characters (all, unless a joint already took
   * whitespace back), or `undefined` when the attempt's text is appended as is.
   */
  static make(checkpoint: string, settings: Settings, holding = checkpoint.length): Joint | undefined {
    if (holding === 0) return undefined
    const end = settings.trailingWhitespace === "dropped" ? trailingWhitespaceStart(checkpoint) : holding
    const alive = settings.deduplicate === undefined ? []
      : overlapStarts(checkpoint.slice(0, end), settings.deduplicate)
    return alive.length === 0 && end === holding ? undefined : new Joint(checkpoint, end, holding, alive)
  }

  /** The text held while undecided. */
  get held(): string {
    return this.head
  }

  /** Returns the part of `text` the consumer gets now ("" while undecided). */
  feed(text: string): string {
    const before = this.head.length
    this.head += text
    if (this.alive.length > 0) {
      this.narrow(before)
      if (this.alive.length > 0) return ""
    }
    const dropped = this.dropped
    const rest = this.head.length - this.overlap
    if (rest < dropped.length && dropped.startsWith(this.head.slice(this.overlap))) return ""
    return this.decide()
  }

  /**
   * Makes `head` the held text and weighs it again, without deciding: used
   * when the source took back its own text (it is itself an L0 stream that
   * reset). What remains of an undecided head cannot decide either.
   */
  hold(head: string): void {
    this.head = head
    this.overlap = 0
    this.alive = this.starts
    this.narrow(0)
  }

  /** Keeps the overlaps the head still repeats; records those it has repeated whole. */
  private narrow(before: number): void {
    const { context, head } = this
    const piece = head.slice(before)
    const alive: Array<number> = []
    for (const start of this.alive) {
      const length = context.length - start
      const end = Math.min(length, head.length)
      if (!context.startsWith(end === head.length ? piece : head.slice(before, end), start + before)) continue
      if (end === length) this.overlap = Math.max(this.overlap, length)
      else alive.push(start)
    }
    this.alive = alive
  }

  /** Decides with what has arrived (at the latest when the attempt ends); returns the text the consumer gets. */
  decide(): string {
    this.decided = true
    this.alive = []
    const rest = this.head.slice(this.overlap)
    const same = commonPrefixLength(rest, this.dropped)
    this.taken = this.head.slice(0, this.overlap + same)
    this.head = ""
    this.kept = this.context.length + same
    return rest.slice(same)
  }
}
