/**
 * Repairs the JSON that language models write: Markdown fences and prose
 * around the value, trailing commas, single and typographic quotes,
 * unquoted keys, comments, Python literals, unescaped quotes inside strings,
 * and text cut off mid-string, mid-number or mid-key. One pass, no
 * recursion, bounded length and depth; `__proto__` members are dropped so
 * that no value can reach an object's prototype.
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import * as internal from "./internal/json.js"
import type { RepairKind as Repair } from "./internal/json.js"
import type { FatalError } from "./L0Error.js"
import { ContentError } from "./L0Error.js"

/**
 * Bounds on the input. `maxLength` counts characters (UTF-16 code units);
 * `maxDepth` counts nested objects and arrays.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Default 8,388,608 (8 Mi characters). */
  readonly maxLength?: number | undefined
  /** Default 256. */
  readonly maxDepth?: number | undefined
}

/**
 * @category defaults
 * @since 0.1.0
 */
export const defaults: { readonly maxLength: number; readonly maxDepth: number } = internal.defaultLimits

const notText = (u: unknown): ContentError =>
  new ContentError({
    rule: "json",
    message: `Expected JSON text (a string), got ${u === null ? "null" : `a ${typeof u}`}`
  })

const run = <S extends internal.Sink>(
  text: string,
  options: Options | undefined,
  sink: S
): Result.Result<S, ContentError | FatalError> =>
  Result.flatMap(internal.resolveLimits(options), (bounds) => {
    if (typeof text !== "string") return Result.fail(notText(text))
    const error = internal.parseInto(sink, text, bounds)
    return error === undefined ? Result.succeed(sink) : Result.fail(error)
  })

/**
 * Parses `text` tolerantly and returns the first JSON value in it. Fails
 * with a `ContentError` (rule `"json"`) when the text holds no value or
 * exceeds the limits, and with a `FatalError` for invalid options.
 *
 * **Example** (A fenced, truncated reply)
 * ```ts
 * JsonRepair.parse('Sure!\n```json\n{"name": "Ada", "tags": ["math", "eng')
 * // Result.succeed({ name: "Ada", tags: ["math", "eng"] })
 * ```
 * @category parsing
 * @since 0.1.0
 */
export const parse = (text: string, options?: Options): Result.Result<unknown, ContentError | FatalError> =>
  Result.map(run(text, options, new internal.ValueSink()), (sink) => sink.root)

export type {
  /**
   * @category models
   * @since 0.1.0
   */
  Repair
}

/**
 * A parsed value and what was repaired to get it; `repairs` is empty when
 * the text is standard JSON, maybe with whitespace around it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Parsed {
  readonly value: unknown
  readonly repairs: ReadonlyArray<Repair>
}

/**
 * Like `parse`, and also says which repairs the text needed, in the order
 * of `Repair`'s list.
 *
 * **Example** (What a model got wrong)
 * ```ts
 * JsonRepair.parseWithRepairs("```json\n{'ok': True,}\n```")
 * // Result.succeed({ value: { ok: true }, repairs: ["fence", "quotes", "trailingCommas", "literals"] })
 * ```
 * @category parsing
 * @since 0.1.0
 */
export const parseWithRepairs = (text: string, options?: Options): Result.Result<Parsed, ContentError | FatalError> =>
  Result.flatMap(internal.resolveLimits(options), (bounds) => {
    if (typeof text !== "string") return Result.fail(notText(text))
    const sink = new internal.ValueSink()
    const { error, repairs } = internal.parseWithRepairs(sink, text, bounds)
    return error === undefined
      ? Result.succeed({ value: sink.root, repairs: internal.repairNames(repairs) })
      : Result.fail(error)
  })

/**
 * Like `parse`, but returns the repaired value as compact JSON text.
 * Numbers keep the digits they were written with.
 *
 * **Example** (Python literals and a trailing comma)
 * ```ts
 * JsonRepair.repair("{'ok': True, 'items': [1, 2,], 'next': None}")
 * // Result.succeed('{"ok":true,"items":[1,2],"next":null}')
 * ```
 * @category parsing
 * @since 0.1.0
 */
export const repair = (text: string, options?: Options): Result.Result<string, ContentError | FatalError> =>
  Result.map(run(text, options, new internal.TextSink()), (sink) => sink.text())

/**
 * Standard JSON only (no repair), with the same limits and the same
 * `__proto__` protection as `parse`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseStrict = (text: string, options?: Options): Result.Result<unknown, ContentError | FatalError> =>
  Result.flatMap(internal.resolveLimits(options), (bounds) => {
    if (typeof text !== "string") return Result.fail(notText(text))
    const parsed = internal.parseStrict(text, bounds)
    return parsed instanceof ContentError ? Result.fail(parsed) : Result.succeed(parsed)
  })

/**
 * A parser fed piece by piece, for values that arrive as a stream. `value`
 * holds what is complete so far (see `incremental`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Incremental {
  /** Feeds the next piece of text; returns whether `value` changed. */
  readonly push: (text: string) => boolean
  /**
   * A copy of the complete part of the value so far: opened objects and
   * arrays with the members and elements whose values are complete.
   * `undefined` before the value starts.
   */
  readonly value: () => unknown
  /** Ends the text: completes what it cut off and returns the whole value. */
  readonly end: () => Result.Result<unknown, ContentError>
}

/**
 * An incremental tolerant parser. Every call of `push` costs time in
 * proportion to its text, and `value()` copies only the objects and arrays
 * still open. A field that `value()` shows keeps its value in every later
 * snapshot and in the result of `end()`: strings, numbers and literals
 * appear only once the character after them shows they are complete (a
 * quote followed by `,` `}` `]`, a number followed by a delimiter), and keys
 * only with their value.
 *
 * **Example** (Previewing a streamed object)
 * ```ts
 * const parser = Result.getOrThrow(JsonRepair.incremental())
 * parser.push('{"title": "Dune", "year": 19')
 * parser.value() // { title: "Dune" }
 * parser.push('65, "tags": ["sf", "ad')
 * parser.value() // { title: "Dune", year: 1965, tags: ["sf"] }
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const incremental = (options?: Options): Result.Result<Incremental, FatalError> =>
  Result.map(internal.resolveLimits(options), (bounds) => {
    const sink = new internal.ValueSink()
    const parser = new internal.Parser(sink, bounds)
    let seen = 0
    return {
      push: (text) => {
        parser.push(text)
        const changed = sink.version !== seen
        seen = sink.version
        return changed
      },
      value: () => sink.snapshot(),
      end: () => {
        const error = parser.end()
        return error === undefined ? Result.succeed(sink.root) : Result.fail(error)
      }
    }
  })
