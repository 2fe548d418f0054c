/**
 * Document windows: split a long text into overlapping windows and run each
 * through L0 with bounded concurrency, results in window order.
 *
 * Units: `"characters"` counts UTF-16 code units; `"tokens"` is approximate,
 * 4 characters per token (English prose averages about that); `"sentences"`
 * end after `.`, `!`, `?` or `…` (and closing quotes or brackets) followed by
 * blanks; `"paragraphs"` end after a blank line. A window boundary never
 * falls inside a surrogate pair, before a combining mark, a variation
 * selector, an emoji modifier or after a zero-width joiner: it moves forward.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { groupReporter } from "./internal/contest.js"
import { ClosedStruct, decoder, Fn, guarded, IntAtLeast, withDefault } from "./internal/optionSchema.js"
import { run } from "./internal/l0.js"
import type { L0Options, L0Result, Services, Strict } from "./internal/l0Types.js"
import type { L0Error } from "./L0Error.js"
import { FatalError } from "./L0Error.js"

/**
 * What a window's `size` and `overlap` count.
 *
 * @category models
 * @since 0.1.0
 */
export type Unit = "tokens" | "characters" | "sentences" | "paragraphs"

/**
 * How `split` cuts a document: the unit, the window size and the overlap
 * between windows.
 *
 * @category models
 * @since 0.1.0
 */
export interface SplitOptions {
  /** Default `"tokens"`. */
  readonly by?: Unit | undefined
  /** Units per window: a positive integer. */
  readonly size: number
  /** Units shared with the previous window: an integer ≥ 0 and < `size`; default 0. */
  readonly overlap?: number | undefined
}

/**
 * How `process` cuts a document and how many windows run at once.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProcessOptions extends SplitOptions {
  /** Windows run at once: a positive integer; default 4. */
  readonly concurrency?: number | undefined
}

/**
 * One window: `text` is `document.slice(start, end)`, and its first
 * `overlap` characters are the end of the previous window.
 *
 * @category models
 * @since 0.1.0
 */
export interface Window {
  readonly index: number
  readonly total: number
  readonly text: string
  readonly start: number
  readonly end: number
  readonly overlap: number
}

/**
 * A window's run failed: the other windows are interrupted. `results` holds
 * the windows that had completed, in window order.
 *
 * @category errors
 * @since 0.1.0
 */
export class WindowError extends Data.TaggedError("WindowError")<{
  readonly message: string
  readonly index: number
  readonly total: number
  readonly error: L0Error
  readonly results: ReadonlyArray<{ readonly window: Window; readonly result: L0Result }>
}> {}

/** Characters per approximate token. */
const CHARS_PER_TOKEN = 4

const UNITS: ReadonlyArray<Unit> = ["tokens", "characters", "sentences", "paragraphs"]

/** A code point that belongs to the grapheme before it. */
const EXTEND = /^[\p{M}\u200D\uFE00-\uFE0F\u{1F3FB}-\u{1F3FF}\u{E0020}-\u{E007F}]/u

const isLow = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff
const isHigh = (code: number): boolean => code >= 0xd800 && code <= 0xdbff

/** Whether a boundary at `at` keeps every grapheme whole (in the approximation above). */
const isSafe = (text: string, at: number): boolean => {
  if (at <= 0 || at >= text.length) return true
  const before = text.charCodeAt(at - 1)
  if (isHigh(before) && isLow(text.charCodeAt(at))) return false
  if (before === 0x200d || (before === 13 && text.charCodeAt(at) === 10)) return false
  return !EXTEND.test(text.slice(at, at + 2))
}

/** The first safe boundary at or after `at`. */
const safe = (text: string, at: number): number => {
  let x = Math.min(at, text.length)
  while (!isSafe(text, x)) x++
  return x
}

const SENTENCE_END = /[.!?…]+["'”’)\]]*\s+/g
const PARAGRAPH_END = /(?:\r\n|\n|\r)(?:[ \t]*(?:\r\n|\n|\r))+/g

/** The ends of each unit of a text split at `pattern`, the last at the text's end; each a safe boundary. */
const unitEnds = (text: string, pattern: RegExp): Array<number> => {
  const ends: Array<number> = []
  pattern.lastIndex = 0
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const end = safe(text, match.index + match[0].length)
    if (end < text.length && (ends.length === 0 || end > ends[ends.length - 1]!)) ends.push(end)
    pattern.lastIndex = Math.max(pattern.lastIndex, end)
  }
  ends.push(text.length)
  return ends
}

const make = (text: string, ranges: ReadonlyArray<readonly [number, number]>): ReadonlyArray<Window> =>
  ranges.map(([start, end], index) => ({
    index,
    total: ranges.length,
    text: text.slice(start, end),
    start,
    end,
    overlap: index === 0 ? 0 : Math.max(0, ranges[index - 1]![1] - start)
  }))

const byLength = (text: string, size: number, overlap: number): Array<readonly [number, number]> => {
  const ranges: Array<readonly [number, number]> = []
  let start = 0
  while (start < text.length) {
    const end = safe(text, start + size)
    ranges.push([start, end])
    if (end === text.length) break
    start = safe(text, end - overlap)
  }
  return ranges
}

const byUnits = (ends: ReadonlyArray<number>, size: number, overlap: number): Array<readonly [number, number]> => {
  const ranges: Array<readonly [number, number]> = []
  for (let first = 0;; first += size - overlap) {
    const last = Math.min(first + size, ends.length) - 1
    ranges.push([first === 0 ? 0 : ends[first - 1]!, ends[last]!])
    if (last === ends.length - 1) return ranges
  }
}

const splitFields = {
  by: withDefault(Schema.Literals(UNITS), "tokens"),
  size: IntAtLeast(1, "a positive integer"),
  overlap: withDefault(IntAtLeast(0), 0)
}

const overlapBelowSize = Schema.makeFilter(({ overlap, size }: { readonly overlap: number; readonly size: number }) =>
  overlap < size ||
  new SchemaIssue.Pointer(
    ["overlap"],
    new SchemaIssue.InvalidValue({ expected: `an integer ≥ 0 and < size (${size})` }, overlap, { reportInput: true })
  )
)

const decodeText = decoder(guarded(Predicate.isString, "a string"), "text")
const decodeSplitOptions = decoder(
  ClosedStruct(splitFields, "{ by?, size, overlap? }").pipe(Schema.check(overlapBelowSize))
)

const decodeProcessOptions = decoder(
  ClosedStruct(
    { ...splitFields, concurrency: withDefault(IntAtLeast(1, "a positive integer"), 4) },
    "{ by?, size, overlap?, concurrency? }"
  ).pipe(Schema.check(overlapBelowSize))
)

const decodeToOptions = decoder(Fn("a function from a window to L0 options"), "toOptions")

/**
 * Splits `text` into windows of `size` units, each sharing `overlap` units
 * with the previous one. Without the overlaps, the windows' texts joined
 * are `text`; an empty text has no windows, and a text shorter than a
 * window has one. Invalid options give a `FatalError` naming the option.
 *
 * **Example** (Windows of about 1,000 tokens, overlapping by 100)
 * ```ts
 * const windows = Result.getOrThrow(Window.split(report, { by: "tokens", size: 1000, overlap: 100 }))
 * ```
 * @category splitting
 * @since 0.1.0
 */
export const split = (text: string, options: SplitOptions): Result.Result<ReadonlyArray<Window>, FatalError> =>
  Result.map(Result.flatMap(decodeText(text), () => decodeSplitOptions(options)), (decoded) => windowsOf(text, decoded))

/** The windows of a checked text with checked options. */
const windowsOf = (
  text: string,
  { by, overlap, size }: { readonly by: Unit; readonly size: number; readonly overlap: number }
): ReadonlyArray<Window> => {
  if (text.length === 0) return []
  switch (by) {
    case "characters":
      return make(text, byLength(text, size, overlap))
    case "tokens":
      return make(text, byLength(text, size * CHARS_PER_TOKEN, overlap * CHARS_PER_TOKEN))
    case "sentences":
      return make(text, byUnits(unitEnds(text, SENTENCE_END), size, overlap))
    case "paragraphs":
      return make(text, byUnits(unitEnds(text, PARAGRAPH_END), size, overlap))
  }
}

/**
 * Splits `text` as `split` does and runs each window's options, built by
 * `options(window)`, with `L0.run`, at most `concurrency` at once (each
 * with its own retries, fallbacks and guardrails). The results come in
 * window order, whatever order the runs complete in. A failing window
 * fails the whole with a `WindowError` naming it and carrying the results
 * so far; the windows still running are interrupted. Each window reports
 * `window_start` and `window_complete` on the `EventBus` (`index`, `total`,
 * and on completion `outcome` and `completed`). It requires the services of
 * the sources that `toOptions` returns (see `L0.Services`).
 *
 * **Example** (Summarizing a long report, two windows at a time)
 * ```ts
 * const results = yield* Window.process(report, { by: "paragraphs", size: 20, overlap: 2, concurrency: 2 },
 *   (window) => ({ stream: ({ signal }) => summarize(window.text, signal) }))
 * const summary = results.map((result) => result.text).join("\n")
 * ```
 * @category running
 * @since 0.1.0
 */
export function process<O extends L0Options<unknown> = L0Options>(
  text: string,
  options: ProcessOptions,
  toOptions: (window: Window) => Strict<O>
): Effect.Effect<ReadonlyArray<L0Result>, WindowError | FatalError, Services<O>>
export function process<R>(
  text: string,
  options: ProcessOptions,
  toOptions: (window: Window) => L0Options<R>
): Effect.Effect<ReadonlyArray<L0Result>, WindowError | FatalError, R> {
  return Effect.gen(function*() {
    yield* Effect.fromResult(decodeText(text))
    const decoded = yield* Effect.fromResult(decodeProcessOptions(options))
    yield* Effect.fromResult(decodeToOptions(toOptions))
    const windows = windowsOf(text, decoded)
    const { concurrency } = decoded
    const emit = yield* groupReporter
    const total = windows.length
    const results: Array<L0Result | undefined> = []
    let completed = 0
    const one = (window: Window): Effect.Effect<L0Result, WindowError, R> =>
      Effect.suspend(() => {
        emit("window_start", { index: window.index, total })
        let options: L0Options<R>
        try {
          options = toOptions(window)
        } catch (cause) {
          return Effect.fail(
            new FatalError({ reason: "options", message: `The options of window ${window.index} threw`, cause })
          )
        }
        return run(options)
      }).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isSuccess(exit)) {
              results[window.index] = exit.value
              completed++
            }
            emit("window_complete", {
              index: window.index,
              total,
              outcome: Exit.isSuccess(exit) ? "success"
                : Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "failure",
              completed
            })
          })
        ),
        Effect.mapError((error) =>
          new WindowError({
            message: `Window ${window.index} of ${total} failed: ${error.message}`,
            index: window.index,
            total,
            error,
            results: windows.flatMap((w) => {
              const result = results[w.index]
              return result === undefined ? [] : [{ window: w, result }]
            })
          })
        )
      )
    return yield* Effect.forEach(windows, one, { concurrency })
  })
}
