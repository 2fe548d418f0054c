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
 * | `latex` | error | `\begin`/`\end`, `$`, `$$`, `\(…\)`, `\[…\]` balanced |
 * | `drift()` | per kind | the answer derailing: meta commentary, tone shift, format collapse, loops, entropy collapse, hedging |
 *
 * Change a severity with `Guardrail.withSeverity`.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { GuardrailRule, Severity, Violation } from "./Guardrail.js"
import { make, withSeverity } from "./Guardrail.js"
import * as guard from "./internal/guard.js"
import {
  EntropyScan,
  FORMAL_WORDS,
  FormatCollapseScan,
  HEDGE_PHRASES,
  HedgingScan,
  INFORMAL_WORDS,
  LoopScan,
  META_PHRASES,
  MetaCommentaryScan,
  Phrases,
  ToneShiftScan
} from "./internal/guardrails/drift.js"
import { LatexScan } from "./internal/guardrails/latex.js"
import { compile, DEFAULT_PHRASES, PatternScan } from "./internal/guardrails/patterns.js"
import { ClosedStruct, decoder, guarded, IntAtLeast, withDefault } from "./internal/optionSchema.js"
import { refuse } from "./internal/guardrails/refusal.js"
import { JsonScan, MarkdownScan, RepetitionScan, StrictJson, ZeroOutputScan } from "./internal/guardrails/scanners.js"
import type { ContentError, FatalError } from "./L0Error.js"
import type { L0Event } from "./L0Event.js"

/**
 * A rule built from invalid options: its first check ends the run with a
 * `FatalError` that names the option, instead of a throw at build time.
 */
const refused = (name: string, severity: Severity, messages: ReadonlyArray<string>): GuardrailRule =>
  make({ name, severity, check: () => messages.map((message) => ({ message, severity: "fatal" as const })) })

/**
 * Decodes a rule's options (absent means all defaults); errors name them
 * `Guardrails.<rule>.<option>`.
 */
const ruleOptions = <S extends Schema.ConstraintDecoder<unknown>>(rule: string, fields: S) => {
  const decode = decoder(fields, `Guardrails.${rule}`, true)
  return (options: unknown) => decode(options ?? {})
}

const Count = IntAtLeast(1)

const decodeStrictJsonOptions = ruleOptions(
  "strictJsonWith",
  ClosedStruct(
    { scalars: withDefault(Schema.Boolean, false), fences: withDefault(Schema.Boolean, true) },
    "{ scalars?, fences? }"
  )
)

const decodePatterns = decoder(guarded(Array.isArray, "an array of patterns"), "Guardrails.pattern.patterns")

const decodePatternOptions = ruleOptions(
  "pattern",
  ClosedStruct(
    { defaults: withDefault(Schema.Boolean, true), maxMatchLength: withDefault(Count, 128) },
    "{ defaults?, maxMatchLength? }"
  )
)

const decodeRepetitionOptions = ruleOptions(
  "repetition",
  ClosedStruct({ maxRepeats: withDefault(Count, 3), minLength: withDefault(Count, 10) }, "{ maxRepeats?, minLength? }")
)

/** A rule refused for its options: `L0.stream` fails with `error` before any source is called. */
const refusedFor = (name: string, severity: Severity, error: FatalError): GuardrailRule =>
  refuse(refused(name, severity, [error.message]), error)

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
  const decoded = decodeStrictJsonOptions(options)
  if (Result.isFailure(decoded)) return refusedFor("strictJson", "error", decoded.failure)
  const resolved = decoded.success
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
  const decoded = Result.flatMap(decodePatterns(patterns), () => decodePatternOptions(options))
  if (Result.isFailure(decoded)) return refusedFor("pattern", "warning", decoded.failure)
  const compiled = compile(patterns, decoded.success)
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
  const decoded = decodeRepetitionOptions(options)
  if (Result.isFailure(decoded)) return refusedFor("repetition", "error", decoded.failure)
  const limits = decoded.success
  return make({
    name: "repetition",
    severity: "error",
    initial: () => new RepetitionScan(limits),
    check: ({ completed, delta }, scan) => scan.feed(delta) ?? (completed ? scan.end() : undefined)
  })
}

/**
 * Checks that LaTeX math and environments are balanced and properly
 * nested: `$…$`, `$$…$$`, `\(…\)`, `\[…\]` and `\begin{name}…\end{name}`.
 * A closer without its opener, or closing another one (`\end{b}` inside
 * `\begin{a}`, `\)` inside `$…$`), is reported at once, mid-stream; what is
 * still open is reported at completion.
 *
 * It reads LaTeX as TeX does: an unescaped `$` always opens or closes math
 * (`\$` is a dollar sign, `\\` a line break), `%` starts a comment, and
 * the bodies of `\verb|…|` and of the verbatim environments (`verbatim`,
 * `Verbatim`, `lstlisting`, `minted`, `comment`) are not read. Markdown
 * code blocks are skipped too (a line starting with three backticks or
 * tildes opens or closes one), so the rule also checks the math of a
 * markdown answer; a `$` in prose or in inline code still counts as math.
 *
 * **Example** (Retrying LaTeX that would not compile)
 * ```ts
 * const text = yield* L0.text({ stream, guardrails: Guardrails.latexOnly })
 * ```
 * @category rules
 * @since 0.1.0
 */
export const latex: GuardrailRule = make({
  name: "latex",
  severity: "error",
  initial: () => new LatexScan(),
  check: ({ completed, delta }, scan) => scan.feed(delta) ?? (completed ? scan.end() : undefined)
})

/**
 * What every drift kind accepts besides its own limits.
 *
 * @category models
 * @since 0.1.0
 */
export interface DriftKindOptions {
  /** Overrides the kind's default severity. */
  readonly severity?: Severity | undefined
}

/**
 * Options of the `toneShift` drift kind.
 *
 * @category models
 * @since 0.1.0
 */
export interface ToneShiftOptions extends DriftKindOptions {
  /** Words in each of the two windows compared. Default 50. */
  readonly window?: number | undefined
  /** The difference of the windows' scores, per word, that counts as a shift. Default 0.1. */
  readonly threshold?: number | undefined
}

/**
 * Options of the `formatCollapse` drift kind.
 *
 * @category models
 * @since 0.1.0
 */
export interface FormatCollapseOptions extends DriftKindOptions {
  /** Structured lines (headings, list items, table rows, quotes, fences) that make the answer structured. Default 3. */
  readonly minStructure?: number | undefined
  /** The longest line, in characters, that a structured answer may hold later. Default 1000. */
  readonly maxLineLength?: number | undefined
}

/**
 * Options of the `repetition` drift kind.
 *
 * @category models
 * @since 0.1.0
 */
export interface LoopOptions extends DriftKindOptions {
  /** How many times in a row a word or block of words may come. Default 4: the fifth is a loop. */
  readonly maxRepeats?: number | undefined
  /** The characters the repetitions must span (each word counts its length plus one). Default 50. */
  readonly minLength?: number | undefined
}

/**
 * Options of the `entropyCollapse` drift kind.
 *
 * @category models
 * @since 0.1.0
 */
export interface EntropyCollapseOptions extends DriftKindOptions {
  /** Non-whitespace characters (UTF-16 code units) in the sliding window, from 2 to 65,536. Default 128. */
  readonly window?: number | undefined
  /** The entropy, in bits per character, below which the window has collapsed. Default 1. */
  readonly threshold?: number | undefined
}

/**
 * Options of the `hedging` drift kind.
 *
 * @category models
 * @since 0.1.0
 */
export interface HedgingOptions extends DriftKindOptions {
  /** Words in the sliding window. Default 50. */
  readonly window?: number | undefined
  /** How many hedges the window may hold. Default 4. */
  readonly maxHedges?: number | undefined
}

/**
 * Options of `drift`: each kind is on by default (`true`); `false` turns
 * it off, an object sets its severity and limits.
 *
 * @category models
 * @since 0.1.0
 */
export interface DriftOptions {
  readonly metaCommentary?: boolean | DriftKindOptions | undefined
  readonly toneShift?: boolean | ToneShiftOptions | undefined
  readonly formatCollapse?: boolean | FormatCollapseOptions | undefined
  readonly repetition?: boolean | LoopOptions | undefined
  readonly entropyCollapse?: boolean | EntropyCollapseOptions | undefined
  readonly hedging?: boolean | HedgingOptions | undefined
}

const IntegerIn = (min: number, max: number) =>
  guarded(
    (u): u is number => Number.isInteger(u) && (u as number) >= min && (u as number) <= max,
    `an integer from ${min} to ${max}`
  )

const Positive = guarded((u): u is number => Predicate.isNumber(u) && Number.isFinite(u) && u > 0, "a number > 0")

/** Each kind's options, checked when the kind is given an options object. */
const DRIFT_KEYS = {
  metaCommentary: {},
  toneShift: { window: IntegerIn(1, 10_000), threshold: Positive },
  formatCollapse: { minStructure: Count, maxLineLength: Count },
  repetition: { maxRepeats: Count, minLength: Count },
  entropyCollapse: { window: IntegerIn(2, 65_536), threshold: Positive },
  hedging: { window: IntegerIn(1, 10_000), maxHedges: IntAtLeast(0) }
} satisfies Record<keyof DriftOptions, Schema.Struct.Fields>

const driftKind = (fields: Schema.Struct.Fields) =>
  Schema.optional(
    Schema.Union([
      Schema.Boolean,
      ClosedStruct({
        severity: Schema.optional(Schema.Literals(["warning", "error", "fatal"])),
        ...Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, Schema.optional(field)]))
      }, "an options object")
    ]).annotate({ expected: "a boolean or an options object" })
  )

const decodeDriftOptions = ruleOptions(
  "drift",
  ClosedStruct(
    Object.fromEntries(Object.entries(DRIFT_KEYS).map(([kind, fields]) => [kind, driftKind(fields)])),
    "an options object"
  )
)

/** A kind's options: `undefined` when it is off, `{}` for its defaults. */
const enabled = <O extends DriftKindOptions>(value: boolean | O | undefined): Partial<O> | undefined =>
  value === false ? undefined : typeof value === "object" ? value : {}

/** A drift kind's rule: `scan` feeds each delta, `end` (if any) gives the verdict at completion. */
const driftRule = <S extends { feed(delta: string): string | undefined }>(
  kind: string,
  severity: Severity,
  initial: () => S,
  end?: (scan: S) => string | undefined
): GuardrailRule =>
  make({
    name: `drift.${kind}`,
    severity,
    initial,
    check: ({ completed, delta }, scan) => scan.feed(delta) ?? (completed && end !== undefined ? end(scan) : undefined)
  })

/**
 * Drift detection: the answer derailing while it streams. One rule per
 * kind, named `drift.<kind>`, each with its own severity; each reports its
 * first finding, with its offset.
 *
 * | kind | default severity | finds |
 * | --- | --- | --- |
 * | `metaCommentary` | warning | the model talking about itself or its progress: "as an AI", "as a language model", "my training data", "I'll now", "now let me", "in this response"… |
 * | `toneShift` | warning | the register changing: the last `window` (50) words score, per word, `threshold` (0.1) away from the first 50; informal words ("lol", "gonna", "yeah", "awesome"…), each `!` before a blank and each emoji score +1, formal connectives ("therefore", "furthermore", "hence"…) -1 |
 * | `formatCollapse` | warning | markdown structure lost: after `minStructure` (3) structured lines, a line longer than `maxLineLength` (1000) or a `##` heading marker in the middle of a line, outside code blocks |
 * | `repetition` | error | a word or block of up to 16 words coming more than `maxRepeats` (4) times in a row over at least `minLength` (50) characters, case folded; words of digits only never repeat |
 * | `entropyCollapse` | error | the last `window` (128) non-whitespace characters carrying less than `threshold` (1) bit of entropy per character ("aaaa", "!!!!", "abab" is exactly 1), or `window` whitespace characters in a row |
 * | `hedging` | warning | more than `maxHedges` (4) hedges ("perhaps", "might", "I think", "it seems", "not sure"…) within the last `window` (50) words |
 *
 * Phrases match whole words, case-insensitively, across blanks only (not
 * across punctuation). Output that starts with `{` or `[` is JSON and only
 * `repetition` and `entropyCollapse` judge it. Every kind keeps a bounded
 * window (words as hashes, a ring of characters), so the whole stream
 * costs O(length) in constant memory. The lists are heuristics: tune the
 * severities to what a false positive costs you.
 *
 * **Example** (Retrying loops, reporting the rest, no tone check)
 * ```ts
 * const guardrails = [
 *   ...Guardrails.recommended,
 *   ...Guardrails.drift({ toneShift: false, hedging: { maxHedges: 6 } })
 * ]
 * ```
 * @category rules
 * @since 0.1.0
 */
export const drift = (options?: DriftOptions): ReadonlyArray<GuardrailRule> => {
  const decoded = decodeDriftOptions(options)
  if (Result.isFailure(decoded)) return [refusedFor("drift", "warning", decoded.failure)]
  const rules: Array<GuardrailRule> = []
  const meta = enabled(options?.metaCommentary)
  if (meta !== undefined) {
    const phrases = new Phrases(META_PHRASES)
    rules.push(
      driftRule("metaCommentary", meta.severity ?? "warning", () => new MetaCommentaryScan(phrases), (s) => s.end())
    )
  }
  const tone = enabled(options?.toneShift)
  if (tone !== undefined) {
    const phrases = new Phrases([...INFORMAL_WORDS, ...FORMAL_WORDS])
    const values = [...INFORMAL_WORDS.map(() => 1), ...FORMAL_WORDS.map(() => -1)]
    const limits = { window: tone.window ?? 50, threshold: tone.threshold ?? 0.1 }
    const scan = () => new ToneShiftScan(phrases, values, limits)
    rules.push(driftRule("toneShift", tone.severity ?? "warning", scan, (s) => s.end()))
  }
  const format = enabled(options?.formatCollapse)
  if (format !== undefined) {
    const limits = { minStructure: format.minStructure ?? 3, maxLineLength: format.maxLineLength ?? 1000 }
    rules.push(driftRule("formatCollapse", format.severity ?? "warning", () => new FormatCollapseScan(limits)))
  }
  const loop = enabled(options?.repetition)
  if (loop !== undefined) {
    const limits = { maxRepeats: loop.maxRepeats ?? 4, minLength: loop.minLength ?? 50 }
    rules.push(driftRule("repetition", loop.severity ?? "error", () => new LoopScan(limits), (s) => s.end()))
  }
  const entropy = enabled(options?.entropyCollapse)
  if (entropy !== undefined) {
    const limits = { window: entropy.window ?? 128, threshold: entropy.threshold ?? 1 }
    rules.push(driftRule("entropyCollapse", entropy.severity ?? "error", () => new EntropyScan(limits)))
  }
  const hedging = enabled(options?.hedging)
  if (hedging !== undefined) {
    const phrases = new Phrases(HEDGE_PHRASES)
    const limits = { window: hedging.window ?? 50, maxHedges: hedging.maxHedges ?? 4 }
    rules.push(
      driftRule("hedging", hedging.severity ?? "warning", () => new HedgingScan(phrases, limits), (s) => s.end())
    )
  }
  return rules
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

/**
 * `markdown` at severity `error`, and `zeroOutput`: the answer is markdown,
 * and an unclosed code fence, emphasis left open or a broken table retries.
 *
 * @category presets
 * @since 0.1.0
 */
export const markdownOnly: ReadonlyArray<GuardrailRule> = [withSeverity(markdown, "error"), zeroOutput]

/**
 * `latex` and `zeroOutput`: the answer is LaTeX, and unbalanced math or
 * environments retry.
 *
 * @category presets
 * @since 0.1.0
 */
export const latexOnly: ReadonlyArray<GuardrailRule> = [latex, zeroOutput]

/**
 * Options of `stage`.
 *
 * @category models
 * @since 0.1.0
 */
export interface StageOptions {
  /** Tokens between two checks while the text streams. Default 10, as in `L0.stream`. */
  readonly checkInterval?: number | undefined
}

/**
 * Applies `rules` to any stream of L0 events, with the engine `L0.stream`
 * runs on each attempt: every `checkInterval` tokens the rules see the text
 * that arrived since their last check, and once more at completion (at the
 * `Complete` event, or at the end of a stream that has none). An `error`
 * violation fails the stream with a `ContentError`, a `fatal` one (or a rule
 * that throws) with a `FatalError`; warnings pass. A `Reset` restarts the
 * rules on the text the consumer keeps.
 *
 * Rules in `L0.stream`'s `guardrails` option retry the attempt that broke
 * them; a stage only fails the stream, so put it after the retries it must
 * not trigger, or before an `L0.orElse` that should take over.
 *
 * **Example** (Guarding a fallback chain as a whole)
 * ```ts
 * const events = L0.stream(gpt).pipe(
 *   L0.orElse(() => L0.stream(claude)),
 *   Guardrails.stage([Guardrails.zeroOutput, Guardrails.repetition()], { checkInterval: 20 })
 * )
 * ```
 * @category stages
 * @since 0.1.0
 */
export const stage: {
  (
    rules: ReadonlyArray<GuardrailRule>,
    options?: StageOptions
  ): <E, R>(self: Stream.Stream<L0Event, E, R>) => Stream.Stream<L0Event, E | ContentError | FatalError, R>
  <E, R>(
    self: Stream.Stream<L0Event, E, R>,
    rules: ReadonlyArray<GuardrailRule>,
    options?: StageOptions
  ): Stream.Stream<L0Event, E | ContentError | FatalError, R>
} = dual((args) => Stream.isStream(args[0]), guard.stage)

/**
 * Every violation of `rules` in a finished text, of every severity, from one
 * completed check (a rule that throws gives a `fatal` violation). For text
 * that did not come from a stream: a stored answer, user input.
 *
 * **Example** (Checking a stored answer)
 * ```ts
 * const violations = Guardrails.check(report, Guardrails.recommended)
 * const blocking = violations.filter((v) => v.severity !== "warning")
 * ```
 * @category stages
 * @since 0.1.0
 */
export const check: (text: string, rules: ReadonlyArray<GuardrailRule>) => ReadonlyArray<Violation> = guard.check
