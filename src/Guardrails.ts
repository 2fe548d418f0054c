/**
 * Built-in guardrail rules and presets. Every rule keeps incremental state,
 * created fresh for each attempt, and looks at each piece of text once: a
 * whole stream costs O(length), never a rescan per check.
 *
 * | rule | default severity | checks |
 * | --- | --- | --- |
 * | `json` | error | brackets of JSON output, while it streams |
 * | `strictJson` | error | the whole output parses as JSON |
 * | `markdown` | warning | fences, emphasis and tables, at completion |
 * | `pattern()` | warning | refusal and disclaimer phrases, your patterns |
 * | `zeroOutput` | error | output with no letters, digits or emoji |
 * | `repetition()` | error | a line or sentence (or block of them) looping |
 *
 * Change a severity with `Guardrail.withSeverity`.
 *
 * @since 0.1.0
 */
import type { GuardrailRule, Severity } from "./Guardrail.js"
import { make } from "./Guardrail.js"
import { compile, DEFAULT_PHRASES, PatternScan } from "./internal/guardrails/patterns.js"
import { JsonScan, MarkdownScan, RepetitionScan, StrictJson, ZeroOutputScan } from "./internal/guardrails/scanners.js"

/**
 * A rule built from invalid options: its first check ends the run with a
 * `FatalError` that names the option, instead of a throw at build time.
 */
const refused = (name: string, severity: Severity, messages: ReadonlyArray<string>): GuardrailRule =>
  make({ name, severity, check: () => messages.map((message) => ({ message, severity: "fatal" as const })) })

const shown = (u: unknown): string => typeof u === "string" ? JSON.stringify(u) : String(u)

/** Collects what is wrong with `options`: each entry is [key, expected, accepts]. */
const invalidOptions = (
  rule: string,
  options: unknown,
  keys: ReadonlyArray<readonly [string, string, (u: unknown) => boolean]>
): Array<string> => {
  if (options === undefined) return []
  if (typeof options !== "object" || options === null) {
    return [`Guardrails.${rule} expects an options object, got ${shown(options)}`]
  }
  const record = options as Record<string, unknown>
  return keys.flatMap(([key, expected, accepts]) =>
    record[key] === undefined || accepts(record[key])
      ? []
      : [`Invalid option "${key}" of Guardrails.${rule}: expected ${expected}, got ${shown(record[key])}`]
  )
}

const isBoolean = (u: unknown): boolean => typeof u === "boolean"
const isCount = (u: unknown): boolean => typeof u === "number" && Number.isInteger(u) && u >= 1

/**
 * Checks the bracket structure of JSON output while it streams: brackets
 * balanced outside strings (escapes handled), no closer without its opener
 * or closing the wrong kind (reported at once, mid-stream), and no
 * structure left open at completion.
 *
 * It only judges output that is JSON: it activates when the output, after
 * whitespace and an optional code fence line (` ```json `), starts with `{`
 * or `[`. Prose passes untouched, so `json` is safe in a preset used for
 * every call. Once the top-level value is closed, another `{` or `[` starts
 * a further value (JSON Lines), a stray `}` or `]` is a violation, and any
 * other text ends the check: trailing prose is `strictJson`'s concern.
 *
 * **Example** (Retrying truncated JSON)
 * ```ts
 * const text = yield* L0.text({ stream, guardrails: [Guardrails.json] })
 * ```
 * @category rules
 * @since 0.1.0
 */
export const json: GuardrailRule = make({
  name: "json",
  severity: "error",
  initial: () => new JsonScan(),
  check: ({ completed, delta }, scan) => scan.feed(delta) ?? (completed ? scan.end() : undefined)
})

/**
 * Options of `strictJsonWith`.
 *
 * @category models
 * @since 0.1.0
 */
export interface StrictJsonOptions {
  /** Accept a top-level string, number, boolean or null. Default `false`: objects and arrays only. */
  readonly scalars?: boolean | undefined
  /** Accept the JSON wrapped in one code fence (` ```json … ``` `). Default `true`. */
  readonly fences?: boolean | undefined
}

/**
 * `strictJson` with options.
 *
 * **Example** (Bare JSON only, scalars allowed)
 * ```ts
 * const bare = Guardrails.strictJsonWith({ fences: false, scalars: true })
 * ```
 * @category rules
 * @since 0.1.0
 */
export const strictJsonWith = (options?: StrictJsonOptions): GuardrailRule => {
  const invalid = invalidOptions("strictJsonWith", options, [
    ["scalars", "a boolean", isBoolean],
    ["fences", "a boolean", isBoolean]
  ])
  if (invalid.length > 0) return refused("strictJson", "error", invalid)
  const resolved = { scalars: options?.scalars ?? false, fences: options?.fences ?? true }
  return make({
    name: "strictJson",
    severity: "error",
    initial: () => new StrictJson(resolved),
    check: (input, scan) => scan.feed(input.delta) ?? (input.completed ? scan.end(input.content) : undefined)
  })
}

/**
 * The whole output must be one JSON object or array. Surrounding
 * whitespace and one code fence (` ```json … ``` `) are tolerated, because
 * models add fences even when told not to; text before or after is not.
 * It fails as soon as the first significant character cannot start an
 * object or array, and otherwise parses the output once, at completion.
 * Use `strictJsonWith` to refuse fences or accept scalars.
 *
 * @category rules
 * @since 0.1.0
 */
export const strictJson: GuardrailRule = strictJsonWith()

/**
 * Reports, at completion, what renders wrongly: a code fence (` ``` ` or
 * `~~~`) never closed; `*`, `**` or `__` emphasis left open at the end of
 * its paragraph; a table whose delimiter row or body rows have a different
 * number of cells than its header.
 *
 * Emphasis follows CommonMark's flanking rules, so list bullets (`* item`),
 * arithmetic (`2*3`, `2 * 3`, `x**2`), `snake_case` and anything inside
 * code spans or fences never count; single `_` is not checked at all.
 * Output that starts with `{` or `[` is taken as JSON and not checked.
 *
 * @category rules
 * @since 0.1.0
 */
export const markdown: GuardrailRule = make({
  name: "markdown",
  severity: "warning",
  initial: () => new MarkdownScan(),
  check: ({ completed, delta }, scan) => {
    scan.feed(delta)
    return completed ? scan.end() : undefined
  }
})

/**
 * Reports, at completion, output without a letter, digit or emoji: empty,
 * whitespace only, or only punctuation and symbols. A reply made of tool
 * calls passes, and so does JSON such as `[]` or `{}` (an empty result is
 * an answer).
 *
 * @category rules
 * @since 0.1.0
 */
export const zeroOutput: GuardrailRule = make({
  name: "zeroOutput",
  severity: "error",
  initial: () => new ZeroOutputScan(),
  check: (input, scan) => {
    scan.feed(input.delta)
    return input.completed ? scan.end(input.toolCallCount, () => input.content) : undefined
  }
})

/**
 * The phrases `pattern` looks for by default: "as an ai", "i cannot",
 * "i don't have", "unfortunately", "i apologize".
 *
 * @category rules
 * @since 0.1.0
 */
export const defaultPhrases: ReadonlyArray<string> = DEFAULT_PHRASES

/**
 * Options of `pattern`.
 *
 * @category models
 * @since 0.1.0
 */
export interface PatternOptions {
  /** Include `defaultPhrases`. Default `true`. */
  readonly defaults?: boolean | undefined
  /**
   * The longest match of a RegExp that is sure to be found across chunk
   * boundaries (each RegExp sees the new text plus this many characters
   * before it). Default 128.
   */
  readonly maxMatchLength?: number | undefined
}

/**
 * Reports each occurrence, once, of `defaultPhrases` and of `patterns`.
 * Strings are phrases: case-insensitive, whole words at their ends, `'`
 * matching `’` too. RegExps keep their own flags. Matches split across
 * chunks are found: each pattern sees the new text plus a window of the
 * text before it, never the whole output again.
 *
 * The default severity is `warning`: "unfortunately" and "I cannot" also
 * appear in good answers, and a retry that reproduces them would only burn
 * attempts. Raise it with `Guardrail.withSeverity` where a match means the
 * answer is useless.
 *
 * Patterns are compiled once, here. A RegExp that repeats a repeated
 * group (`/(a+)+b/`) can backtrack exponentially and is refused: the rule
 * then ends the run with a `FatalError` at its first check. Every other
 * RegExp sees at most `maxMatchLength` + 513 characters at a time, which
 * bounds polynomial backtracking; overlapping alternatives inside a
 * repetition (`/(a|aa)+$/`) are not detected and stay your responsibility.
 * Anchors refer to the whole output (`^` its start, `$` its end);
 * lookaheads see at least one following character; empty matches are not
 * reported, and matches longer than `maxMatchLength` may be missed.
 *
 * **Example** (Ending the run on a leaked key, reporting refusals)
 * ```ts
 * const guardrails = [
 *   Guardrails.pattern(),
 *   Guardrail.withSeverity(Guardrails.pattern([/sk-[A-Za-z0-9]{20,}/], { defaults: false }), "fatal")
 * ]
 * ```
 * @category rules
 * @since 0.1.0
 */
export const pattern = (
  patterns: ReadonlyArray<string | RegExp> = [],
  options?: PatternOptions
): GuardrailRule => {
  const invalid = invalidOptions("pattern", options, [
    ["defaults", "a boolean", isBoolean],
    ["maxMatchLength", "an integer ≥ 1", isCount]
  ])
  if (!Array.isArray(patterns)) invalid.push(`Guardrails.pattern expects an array of patterns, got ${shown(patterns)}`)
  if (invalid.length > 0) return refused("pattern", "warning", invalid)
  const compiled = compile(patterns, {
    defaults: options?.defaults ?? true,
    maxMatchLength: options?.maxMatchLength ?? 128
  })
  if (compiled.refused.length > 0) return refused("pattern", "warning", compiled.refused)
  return make({
    name: "pattern",
    severity: "warning",
    initial: () => new PatternScan(compiled.matchers),
    check: ({ completed, delta }, scan) => scan.feed(delta, completed)
  })
}

/**
 * Options of `repetition`.
 *
 * @category models
 * @since 0.1.0
 */
export interface RepetitionOptions {
  /** How many times in a row a line, sentence or block may come. Default 3: the fourth is a violation. */
  readonly maxRepeats?: number | undefined
  /** A line, sentence or block shorter than this (after normalizing) may repeat freely. Default 10. */
  readonly minLength?: number | undefined
}

/**
 * Reports a model looping: the same line or sentence, or the same block of
 * up to 16 of them, coming more than `maxRepeats` times in a row. Lines and
 * sentences (ended by `.`, `!` or `?` before whitespace, or by `。！？`)
 * are compared with whitespace collapsed and case folded. A repeated unit
 * shorter than `minLength` characters does not count, so a few `}` lines or
 * "Yes." do not. Only runs in a row count: a field line that recurs in
 * every item of a JSON array does not, a whole item repeated does. Memory
 * stays constant: segments are kept as hashes, at most 16 of them.
 *
 * **Example** (Stricter: the third repetition fails)
 * ```ts
 * const looping = Guardrails.repetition({ maxRepeats: 2, minLength: 20 })
 * ```
 * @category rules
 * @since 0.1.0
 */
export const repetition = (options?: RepetitionOptions): GuardrailRule => {
  const invalid = invalidOptions("repetition", options, [
    ["maxRepeats", "an integer ≥ 1", isCount],
    ["minLength", "an integer ≥ 1", isCount]
  ])
  if (invalid.length > 0) return refused("repetition", "error", invalid)
  const limits = { maxRepeats: options?.maxRepeats ?? 3, minLength: options?.minLength ?? 10 }
  return make({
    name: "repetition",
    severity: "error",
    initial: () => new RepetitionScan(limits),
    check: ({ completed, delta }, scan) => scan.feed(delta) ?? (completed ? scan.end() : undefined)
  })
}

/**
 * `json` and `zeroOutput`: retries empty answers and broken JSON, nothing
 * else.
 *
 * @category presets
 * @since 0.1.0
 */
export const minimal: ReadonlyArray<GuardrailRule> = [json, zeroOutput]

/**
 * `json`, `markdown`, `pattern()` and `zeroOutput`: retries empty answers
 * and broken JSON, reports markdown problems and refusal phrases as
 * warnings. Safe for prose and JSON alike.
 *
 * **Example** (Guarding every call)
 * ```ts
 * const result = yield* L0.run({ stream, guardrails: Guardrails.recommended })
 * for (const warning of result.state.violations) console.warn(warning.rule, warning.message)
 * ```
 * @category presets
 * @since 0.1.0
 */
export const recommended: ReadonlyArray<GuardrailRule> = [json, markdown, pattern(), zeroOutput]

/**
 * `recommended` plus `strictJson` and `repetition()`: for calls whose
 * answer must be JSON (prose fails `strictJson`).
 *
 * @category presets
 * @since 0.1.0
 */
export const strict: ReadonlyArray<GuardrailRule> = [...recommended, strictJson, repetition()]

/**
 * `json`, `strictJson` and `zeroOutput`: the answer is JSON and nothing else.
 *
 * @category presets
 * @since 0.1.0
 */
export const jsonOnly: ReadonlyArray<GuardrailRule> = [json, strictJson, zeroOutput]
