/**
 * Consensus over several L0 runs, also available as `L0.consensus`: the
 * runs start together, their outputs are compared after normalization, and
 * a strategy picks the answer. As soon as the answer is certain (a majority
 * is reached, unanimity is lost) the runs still going are interrupted.
 *
 * Failed runs abstain: they cast no vote but count in the total of the
 * agreement ratio, so three runs where one failed and two agree give
 * `agreement: 2/3`. Only when every run fails does consensus fail with an
 * `AllFailedError`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { Violation } from "./Guardrail.js"
import { contest, decodeNonEmptyList, describeFailures } from "./internal/contest.js"
import { isRecord } from "./internal/decode.js"
import { ClosedStruct, decoder, Fn, guarded, invalidOption, renamedInL0 } from "./internal/optionSchema.js"
import { run } from "./internal/l0.js"
import type { L0Options, L0Result, Services, Strict } from "./internal/l0Types.js"
import { describeThrown } from "./internal/classify.js"
import type { L0Error } from "./L0Error.js"
import { ContentError, FatalError } from "./L0Error.js"
import type { Failure } from "./Multi.js"
import { AllFailedError } from "./Multi.js"

/**
 * - `unanimous`: every output is equal; otherwise a `ContentError`.
 * - `majority`: the output of more than half of the votes; otherwise a
 *   `ContentError`, unless `tieBreak` picks among the most voted.
 * - `weighted`: the output with the highest total weight; a tie is a
 *   `ContentError` unless `tieBreak` is given.
 * - `best`: the output with the highest `score`; without `score`, the first
 *   output to complete (the rest are then interrupted).
 *
 * @category models
 * @since 0.1.0
 */
export type Strategy = "unanimous" | "majority" | "weighted" | "best"

/**
 * The output of one run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Output<A> {
  /** Position of the run in the input. */
  readonly index: number
  /** The text, or what `decode` made of the run. */
  readonly value: A
  readonly result: L0Result
}

/**
 * Outputs that are equal after normalization, with their votes.
 *
 * @category models
 * @since 0.1.0
 */
export interface Candidate<A> {
  /** The value of the first of `outputs`. */
  readonly value: A
  /** In input order. */
  readonly outputs: ReadonlyArray<Output<A>>
  /** The number of outputs, or their total weight for `weighted`. */
  readonly votes: number
}

/**
 * How `consensus` picks one value from several runs: the `strategy`, and
 * what each strategy needs (weights, a score, a decoder).
 *
 * @category models
 * @since 0.1.0
 */
export interface ConsensusOptions<A> {
  /** Default `"majority"`. */
  readonly strategy?: Strategy | undefined
  /** For `weighted`: one positive weight per run, in input order; default 1 each. */
  readonly weights?: ReadonlyArray<number> | undefined
  /** For `best`: higher is better; equal scores go to the lower index. */
  readonly score?: ((output: Output<A>) => number) | undefined
  /**
   * The value that outputs are compared by, with Effect's structural
   * equality (`Equal.equals`: plain objects and arrays deeply). Default: for
   * text, trimmed, whitespace runs collapsed and lower-cased; for decoded
   * values, the value itself.
   */
  readonly normalize?: ((value: A) => unknown) | undefined
  /**
   * For `majority` and `weighted`: picks among the candidates with the most
   * votes when none wins outright. `"first"` takes the one holding the lowest
   * input index; a function ranks candidates, the highest wins.
   */
  readonly tieBreak?: "first" | ((candidate: Candidate<A>) => number) | undefined
  /**
   * Turns each run's result into the value to compare, for structured
   * output (for example a `Schema` decoder of `result.text`). A run whose
   * decoding fails counts as failed.
   */
  readonly decode?: ((result: L0Result) => Effect.Effect<A, L0Error>) | undefined
  /**
   * The least agreement (0 to 1, see `ConsensusResult.agreement`) the
   * chosen value needs; below it consensus fails with an `AgreementError`
   * carrying the votes. Runs still going are awaited while they could lift
   * the agreement to the threshold.
   */
  readonly minAgreement?: number | undefined
  /**
   * Settles a conflict (no unanimity, no majority, a weighted tie without
   * `tieBreak`) instead of failing: called once every run has ended, with
   * every candidate (most votes first), it returns the one to choose, or
   * `undefined` to fail with the usual `ContentError`.
   */
  readonly resolve?: ((candidates: ReadonlyArray<Candidate<A>>) => Candidate<A> | undefined) | undefined
}

/**
 * A distinct value with the runs that voted for it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Vote<V> {
  readonly value: V
  /** The number of runs, or their total weight. */
  readonly votes: number
  /** The runs' positions in the input, ascending. */
  readonly indices: ReadonlyArray<number>
}

/**
 * What `consensus` returns: the chosen value, how much the runs agreed on it
 * and every output, to show or log the dissent.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConsensusResult<A> {
  /** The chosen value. */
  readonly value: A
  /** The output it comes from. */
  readonly chosen: Output<A>
  /** Votes for the chosen value over all runs (weights for `weighted`), from 0 to 1. */
  readonly agreement: number
  /** Every distinct value, most votes first. */
  readonly candidates: ReadonlyArray<Candidate<A>>
  /** Every output, in input order; runs interrupted by an early decision have none. */
  readonly outputs: ReadonlyArray<Output<A>>
  /** Every failed run, in input order. */
  readonly failures: ReadonlyArray<Failure>
  /** Whether `resolve` settled a conflict to give this value. */
  readonly resolved: boolean
}

/**
 * The chosen value's agreement is below `minAgreement`. It carries the
 * votes: every candidate with its outputs, and the failed runs.
 *
 * @category errors
 * @since 0.1.0
 */
export class AgreementError extends Data.TaggedError("AgreementError")<{
  readonly message: string
  /** The agreement reached, from 0 to 1. */
  readonly agreement: number
  readonly minAgreement: number
  /** Every distinct value with its votes, most first; for `fieldwise`, the values of `field`. */
  readonly votes: ReadonlyArray<Vote<unknown>>
  readonly failures: ReadonlyArray<Failure>
  /** For `fieldwise`: the field that lacks agreement. */
  readonly field?: string | undefined
}> {}

/**
 * Every way `consensus` can fail: invalid options or a run's error, all runs
 * failing (`AllFailedError`), or too little agreement (`AgreementError`).
 *
 * @category models
 * @since 0.1.0
 */
export type ConsensusError = L0Error | AllFailedError | AgreementError

/** Applies to text only: without `decode` the values are the runs' texts. */
const normalizeText = (value: unknown): string => String(value).trim().replace(/\s+/g, " ").toLowerCase()

const Weights = Schema.Array(
  guarded((u): u is number => Predicate.isNumber(u) && Number.isFinite(u) && u > 0, "a positive number")
)

const Ratio = guarded((u): u is number => Predicate.isNumber(u) && u >= 0 && u <= 1, "a number from 0 to 1")

/** Weights, when given, come one per run. */
const weightsPerRun = (weights: ReadonlyArray<number> | undefined, size: number): Result.Result<void, FatalError> =>
  weights === undefined || weights.length === size
    ? Result.void
    : Result.fail(invalidOption("weights", `an array of ${size} positive numbers, one per run`, weights))

const firstFailure = <A>(
  first: Result.Result<A, FatalError>,
  then: (a: A) => Result.Result<unknown, FatalError>
): FatalError | undefined => {
  const outcome = Result.flatMap(first, then)
  return Result.isFailure(outcome) ? outcome.failure : undefined
}

/** A user callback threw; caught where outcomes are decided. */
class CallbackFailed {
  constructor(readonly option: string, readonly cause: unknown) {}
}

const userCall = <T>(option: string, f: () => T): T => {
  try {
    return f()
  } catch (cause) {
    throw new CallbackFailed(option, cause)
  }
}

const callbackError = (option: string, cause: unknown): FatalError =>
  new FatalError({
    reason: "options",
    message: `Option "${option}" threw: ${describeThrown(cause)}`,
    cause
  })

const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return describeThrown(value)
  }
}

const clip = (text: string): string => text.length > 80 ? `${text.slice(0, 79)}…` : text

const percent = (ratio: number): string => `${Math.round(ratio * 1000) / 10}%`

const voteOf = <A>(candidate: Candidate<A>): Vote<A> => ({
  value: candidate.value,
  votes: candidate.votes,
  indices: candidate.outputs.map((output) => output.index)
})

interface Group<A> {
  readonly key: unknown
  readonly outputs: Array<Output<A>>
  votes: number
}

const byIndex = (a: { readonly index: number }, b: { readonly index: number }): number => a.index - b.index

const firstOf = <A>(group: Group<A>): Output<A> => group.outputs.reduce((a, b) => (b.index < a.index ? b : a))

/** The end of a consensus, or `undefined` while the answer is not certain. */
type Decision<A> = Exit.Exit<ConsensusResult<A>, ConsensusError> | undefined

/** The outcomes so far and the strategy's decision after each. */
class Tally<A> {
  readonly outputs: Array<Output<A>> = []
  readonly failures: Array<Failure> = []
  readonly groups: Array<Group<A>> = []
  readonly totalWeight: number
  pending: number
  pendingWeight: number

  constructor(readonly config: ConsensusOptions<A>, readonly normalize: (value: A) => unknown, readonly size: number) {
    this.pending = size
    const weights = config.strategy === "weighted" ? config.weights : undefined
    this.totalWeight = this.pendingWeight = weights?.reduce((sum, weight) => sum + weight, 0) ?? size
  }

  /** A run's vote: its weight for `weighted`, else 1. */
  weight(index: number): number {
    return this.config.strategy === "weighted" ? this.config.weights?.[index] ?? 1 : 1
  }

  add(index: number, outcome: Result.Result<Output<A>, L0Error>): Decision<A> {
    this.pending--
    this.pendingWeight -= this.weight(index)
    if (outcome._tag === "Failure") {
      this.failures.push({ index, error: outcome.failure })
    } else {
      const output = outcome.success
      this.outputs.push(output)
      const key = userCall("normalize", () => this.normalize(output.value))
      const group = this.groups.find((candidate) => Equal.equals(candidate.key, key))
      const votes = this.weight(index)
      if (group === undefined) this.groups.push({ key, outputs: [output], votes })
      else {
        group.outputs.push(output)
        group.votes += votes
      }
    }
    if (this.pending === 0 && this.outputs.length === 0) {
      return Exit.fail(new AllFailedError(describeFailures(this.failures)))
    }
    return this.decide()
  }

  /** The strategy's decision: an exit once the answer is certain, else `undefined`. */
  decide(): Decision<A> {
    const done = this.pending === 0
    const ranked = this.ranked()
    const top = ranked[0]
    const runnerUp = ranked[1]?.votes ?? 0
    switch (this.config.strategy) {
      case "unanimous": {
        if (ranked.length > 1) return this.disagree("The outputs are not unanimous")
        return done ? this.choose(top!) : undefined
      }
      case "majority": {
        const cast = this.outputs.length
        const leader = top?.votes ?? 0
        if (2 * leader > cast + this.pending) return this.choose(top!)
        if (this.config.tieBreak === undefined && 2 * leader + this.pending <= cast) {
          return this.disagree("No output has a majority")
        }
        return done ? this.breakTie(ranked) : undefined
      }
      case "weighted": {
        if (top !== undefined && top.votes > runnerUp + this.pendingWeight) return this.choose(top)
        if (!done) return undefined
        return this.config.tieBreak === undefined ? this.disagree("The top outputs tie") : this.breakTie(ranked)
      }
      case "best": {
        const score = this.config.score
        if (score === undefined) {
          const first = this.outputs[0]
          return first === undefined ? undefined : this.choose(this.groupOf(first), first)
        }
        if (!done) return undefined
        const outputs = this.outputs.slice().sort(byIndex)
        let best = outputs[0]!
        let bestScore = -Infinity
        for (const output of outputs) {
          const value = userCall("score", () => score(output))
          if (value > bestScore) {
            best = output
            bestScore = value
          }
        }
        return this.choose(this.groupOf(best), best)
      }
    }
  }

  /** Groups by votes, most first, then by their lowest index. */
  ranked(): Array<Group<A>> {
    return this.groups.slice().sort((a, b) => b.votes - a.votes || firstOf(a).index - firstOf(b).index)
  }

  groupOf(output: Output<A>): Group<A> {
    return this.groups.find((group) => group.outputs.includes(output))!
  }

  breakTie(ranked: ReadonlyArray<Group<A>>): Decision<A> {
    const tieBreak = this.config.tieBreak
    const tied = ranked.filter((group) => group.votes === ranked[0]!.votes)
    if (tieBreak === "first" || tieBreak === undefined) return this.choose(tied[0]!)
    let chosen = tied[0]!
    let chosenRank = -Infinity
    for (const group of tied) {
      const rank = userCall("tieBreak", () => tieBreak(this.candidate(group)))
      if (rank > chosenRank) {
        chosen = group
        chosenRank = rank
      }
    }
    return this.choose(chosen)
  }

  candidate(group: Group<A>): Candidate<A> {
    const outputs = group.outputs.slice().sort(byIndex)
    return { value: outputs[0]!.value, outputs, votes: group.votes }
  }

  /** The result for `group`, once its agreement meets `minAgreement` or can no longer reach it. */
  choose(group: Group<A>, output: Output<A> = firstOf(group), resolved = false): Decision<A> {
    const agreement = group.votes / this.totalWeight
    const minAgreement = this.config.minAgreement ?? 0
    const candidates = this.ranked().map((candidate) => this.candidate(candidate))
    const failures = this.failures.slice().sort(byIndex)
    if (agreement < minAgreement) {
      if (this.pending > 0 && (group.votes + this.pendingWeight) / this.totalWeight >= minAgreement) return undefined
      return Exit.fail(
        new AgreementError({
          message: `The agreement ${percent(agreement)} is below minAgreement ${percent(minAgreement)}: ${
            candidates.map((candidate) => `${clip(show(candidate.value))} (${candidate.votes})`).join("; ")
          }`,
          agreement,
          minAgreement,
          votes: candidates.map(voteOf),
          failures
        })
      )
    }
    return Exit.succeed({
      value: output.value,
      chosen: output,
      agreement,
      candidates,
      outputs: this.outputs.slice().sort(byIndex),
      failures,
      resolved
    })
  }

  /** A conflict: settled by `resolve` once every run has ended, else a `ContentError`. */
  disagree(reason: string): Decision<A> {
    const resolve = this.config.resolve
    if (resolve === undefined) return this.conflict(reason)
    if (this.pending > 0) return undefined
    const ranked = this.ranked()
    const candidates = ranked.map((group) => this.candidate(group))
    const picked = userCall("resolve", () => resolve(candidates))
    if (picked === undefined) return this.conflict(reason)
    const index = candidates.indexOf(picked)
    if (index < 0) {
      return Exit.fail(invalidOption("resolve", "a function returning one of the candidates or undefined", picked))
    }
    return this.choose(ranked[index]!, undefined, true)
  }

  conflict(reason: string): Exit.Exit<ConsensusResult<A>, ConsensusError> {
    const violations: Array<Violation> = []
    for (const output of this.outputs.slice().sort(byIndex)) {
      violations.push({ rule: "consensus", severity: "error", message: `#${output.index}: ${show(output.value)}` })
    }
    for (const { error, index } of this.failures.slice().sort(byIndex)) {
      const message = `#${index} failed: ${error._tag}: ${error.message}`
      violations.push({ rule: "consensus", severity: "error", message })
    }
    return Exit.fail(
      new ContentError({
        rule: "consensus",
        violations,
        message: `${reason}: ${violations.map((violation) => clip(violation.message)).join("; ")}`
      })
    )
  }
}

const outputOf = <A, R>(
  options: L0Options<R>,
  index: number,
  decode: ((result: L0Result) => Effect.Effect<A, L0Error>) | undefined
): Effect.Effect<Output<A>, L0Error, R> =>
  Effect.flatMap(run(options), (result) => {
    if (decode === undefined) return Effect.succeed({ index, value: result.text as A, result })
    let decoded: unknown
    try {
      decoded = decode(result)
    } catch (cause) {
      return Effect.fail(callbackError("decode", cause))
    }
    return Effect.isEffect(decoded)
      ? Effect.map(decoded as Effect.Effect<A, L0Error>, (value) => ({ index, value, result }))
      : Effect.fail(invalidOption("decode", "a function returning an Effect", decoded))
  })

const ConsensusConfig = ClosedStruct(
  {
    strategy: Schema.optional(Schema.Literals(["unanimous", "majority", "weighted", "best"])),
    weights: Schema.optional(Weights),
    score: Schema.optional(Fn()),
    normalize: Schema.optional(Fn()),
    tieBreak: Schema.optional(
      Schema.Union([Schema.Literal("first"), Fn()]).annotate({ expected: `"first" or a function` })
    ),
    decode: Schema.optional(Fn("a function returning an Effect")),
    minAgreement: Schema.optional(Ratio),
    resolve: Schema.optional(Fn())
  },
  "{ strategy?, weights?, score?, normalize?, tieBreak?, decode?, minAgreement?, resolve? }",
  {
    minimumAgreement: renamedInL0(`"minAgreement"`),
    streams: renamedInL0("the runs' options are the first argument")
  }
)

const decodeConsensusConfig = decoder(ConsensusConfig, "config")

/**
 * The strategy of `consensus` when none is given.
 *
 * @category defaults
 * @since 0.1.0
 */
export const defaultStrategy: Strategy = "majority"

const validate = (options: unknown, config: unknown): FatalError | undefined =>
  firstFailure(
    decodeNonEmptyList(options),
    (list) => Result.flatMap(decodeConsensusConfig(config), (c) => weightsPerRun(c.weights, list.length))
  )

/**
 * Runs every entry at once and decides on one answer with `strategy`
 * (default `"majority"`). The
 * result carries the chosen value, the agreement ratio, every candidate and
 * every output. Runs still going once the answer is certain are interrupted
 * and their requests aborted. With `decode`, outputs are structured values
 * compared by deep equality. It requires the services of every entry's
 * sources (see `L0.Services`).
 *
 * **Example** (Three models must agree)
 * ```ts
 * const { value, agreement } = yield* L0.consensus([gpt, claude, gemini], { strategy: "majority" })
 * ```
 *
 * **Example** (Structured outputs, decoded with a Schema)
 * ```ts
 * const Answer = Schema.Struct({ city: Schema.String, population: Schema.Number })
 * const decodeAnswer = Schema.decodeUnknownEffect(Schema.fromJsonString(Answer))
 * const { value } = yield* L0.consensus([gpt, claude, gemini], {
 *   strategy: "unanimous",
 *   decode: (result) => decodeAnswer(result.text).pipe(
 *     Effect.mapError((error) => new L0Error.ContentError({ message: error.message, rule: "schema" }))
 *   )
 * })
 * ```
 * @category running
 * @since 0.1.0
 */
export function consensus<A, O extends L0Options<unknown> = L0Options>(
  options: ReadonlyArray<Strict<O>>,
  config: ConsensusOptions<A> & { readonly decode: (result: L0Result) => Effect.Effect<A, L0Error> }
): Effect.Effect<ConsensusResult<A>, ConsensusError, Services<O>>
export function consensus<O extends L0Options<unknown> = L0Options>(
  options: ReadonlyArray<Strict<O>>,
  config?: ConsensusOptions<string>
): Effect.Effect<ConsensusResult<string>, ConsensusError, Services<O>>
export function consensus<A, R>(
  options: ReadonlyArray<L0Options<R>>,
  given: ConsensusOptions<A> = {}
): Effect.Effect<ConsensusResult<A>, ConsensusError, R> {
  return Effect.suspend((): Effect.Effect<ConsensusResult<A>, ConsensusError, R> => {
    const invalid = validate(options, given)
    if (invalid !== undefined) return Effect.fail(invalid)
    const config: ConsensusOptions<A> = { ...given, strategy: given.strategy ?? defaultStrategy }
    const normalize = config.normalize ?? (config.decode === undefined ? normalizeText : (value: A) => value)
    const tally = new Tally(config, normalize, options.length)
    return contest(options.map((item, index) => outputOf(item, index, config.decode)), (index, outcome) => {
      try {
        return tally.add(index, outcome)
      } catch (error) {
        // only user callbacks throw in the tally, wrapped by userCall
        const { cause, option } = error as CallbackFailed
        return Exit.fail(callbackError(option, cause))
      }
    })
  })
}

/**
 * How `fieldwise` decodes each run's output into an object and how much
 * agreement each field needs.
 *
 * @category models
 * @since 0.1.0
 */
export interface FieldwiseOptions<A> {
  /** Turns each run's result into an object (for example a `Schema` decoder of `result.text`). */
  readonly decode: (result: L0Result) => Effect.Effect<A, L0Error>
  /** One positive weight per run, in input order; default 1 each. */
  readonly weights?: ReadonlyArray<number> | undefined
  /** The least agreement each field needs; below it consensus fails with an `AgreementError` naming the field. */
  readonly minAgreement?: number | undefined
  /** The value a field's values are compared by (`Equal.equals`); default the value itself. */
  readonly normalize?: ((field: string, value: unknown) => unknown) | undefined
}

/**
 * How one field was decided.
 *
 * @category models
 * @since 0.1.0
 */
export interface FieldDecision<V> {
  /** The value with the most votes; `undefined` when most runs left the field out. */
  readonly value: V
  /** Its votes over all runs, from 0 to 1. */
  readonly agreement: number
  /** Every distinct value of the field, most votes first (a run without the field votes `undefined`). */
  readonly votes: ReadonlyArray<Vote<V | undefined>>
}

/**
 * What `fieldwise` returns: an object made of each field's winning value,
 * the vote on every field and the fields the runs disagreed on.
 *
 * @category models
 * @since 0.1.0
 */
export interface FieldwiseResult<A> {
  /** A plain object of each field's winning value (not a class instance); a field most runs left out is absent. */
  readonly value: A
  readonly fields: { readonly [K in keyof A]-?: FieldDecision<A[K]> }
  /** The fields whose outputs did not all agree, in the order first seen. */
  readonly disagreements: ReadonlyArray<keyof A & string>
  /** Every output, in input order. */
  readonly outputs: ReadonlyArray<Output<A>>
  /** Every failed run, in input order. */
  readonly failures: ReadonlyArray<Failure>
}

const notAnObject = (value: unknown): ContentError =>
  new ContentError({
    rule: "consensus",
    message: `Expected the decoded output to be an object, got ${clip(show(value))}`
  })

/** One field's vote over every output: values grouped by `normalize`, most votes first, ties to the lower index. */
const voteField = <A>(
  field: string,
  outputs: ReadonlyArray<Output<A>>,
  weight: (index: number) => number,
  normalize: (field: string, value: unknown) => unknown
): Array<Vote<unknown>> => {
  const groups: Array<{ key: unknown; value: unknown; votes: number; indices: Array<number> }> = []
  for (const output of outputs) {
    const record = output.value as Readonly<Record<string, unknown>>
    const value = Object.prototype.hasOwnProperty.call(record, field) ? record[field] : undefined
    const key = value === undefined ? undefined : userCall("normalize", () => normalize(field, value))
    const group = groups.find((candidate) => Equal.equals(candidate.key, key))
    if (group === undefined) groups.push({ key, value, votes: weight(output.index), indices: [output.index] })
    else {
      group.votes += weight(output.index)
      group.indices.push(output.index)
    }
  }
  return groups
    .sort((a, b) => b.votes - a.votes || a.indices[0]! - b.indices[0]!)
    .map(({ indices, value, votes }) => ({ value, votes, indices }))
}

/** Sets an own property, even `__proto__`, without touching the prototype. */
const define = (target: object, key: string, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

const decideFields = <A>(
  config: FieldwiseOptions<A>,
  size: number,
  outputs: Array<Output<A>>,
  failures: Array<Failure>
): Exit.Exit<FieldwiseResult<A>, ConsensusError> => {
  outputs.sort(byIndex)
  failures.sort(byIndex)
  if (outputs.length === 0) return Exit.fail(new AllFailedError(describeFailures(failures)))
  const weight = (index: number): number => config.weights?.[index] ?? 1
  const total = config.weights?.reduce((sum, w) => sum + w, 0) ?? size
  const normalize = config.normalize ?? ((_: string, value: unknown) => value)
  const minAgreement = config.minAgreement ?? 0
  const names: Array<string> = []
  for (const output of outputs) {
    for (const field of Object.keys(output.value as object)) if (!names.includes(field)) names.push(field)
  }
  const value: Record<string, unknown> = {}
  const fields: Record<string, FieldDecision<unknown>> = {}
  const disagreements: Array<string> = []
  for (const field of names) {
    const votes = voteField(field, outputs, weight, normalize)
    const top = votes[0]!
    const agreement = top.votes / total
    if (agreement < minAgreement) {
      return Exit.fail(
        new AgreementError({
          message: `Field "${field}": the agreement ${percent(agreement)} is below minAgreement ${
            percent(minAgreement)
          }: ${votes.map((vote) => `${clip(show(vote.value))} (${vote.votes})`).join("; ")}`,
          agreement,
          minAgreement,
          votes,
          failures,
          field
        })
      )
    }
    if (votes.length > 1) disagreements.push(field)
    if (top.value !== undefined) define(value, field, top.value)
    define(fields, field, { value: top.value, agreement, votes })
  }
  return Exit.succeed({
    value: value as A,
    fields: fields as FieldwiseResult<A>["fields"],
    disagreements: disagreements as Array<keyof A & string>,
    outputs,
    failures
  })
}

const FieldwiseConfig = ClosedStruct(
  {
    decode: Fn("a function returning an Effect"),
    weights: Schema.optional(Weights),
    minAgreement: Schema.optional(Ratio),
    normalize: Schema.optional(Fn())
  },
  "{ decode, weights?, minAgreement?, normalize? }",
  { minimumAgreement: renamedInL0(`"minAgreement"`) }
)

const decodeFieldwiseConfig = decoder(FieldwiseConfig, "config")

const validateFieldwise = (options: unknown, config: unknown): FatalError | undefined =>
  firstFailure(
    decodeNonEmptyList(options),
    (list) => Result.flatMap(decodeFieldwiseConfig(config), (c) => weightsPerRun(c.weights, list.length))
  )

/**
 * Field-wise consensus over structured outputs: every run is awaited, each
 * decoded to an object, and each top-level field is decided by its own vote
 * (the most votes, weighted by `weights`; a tie goes to the value of the
 * lowest input index). The result is assembled from the winners and says
 * which fields disagreed. Failed runs abstain but count in each field's
 * agreement; a run without a field votes for leaving it out. It requires the
 * services of every entry's sources (see `L0.Services`).
 *
 * **Example** (Three extractions, merged field by field)
 * ```ts
 * const Invoice = Schema.Struct({ number: Schema.String, total: Schema.Number, currency: Schema.String })
 * const decodeInvoice = Schema.decodeUnknownEffect(Schema.fromJsonString(Invoice))
 * const { value, disagreements } = yield* Consensus.fieldwise([gpt, claude, gemini], {
 *   decode: (result) => decodeInvoice(result.text).pipe(
 *     Effect.mapError((error) => new L0Error.ContentError({ message: error.message, rule: "schema" }))
 *   ),
 *   minAgreement: 0.5
 * })
 * // disagreements: ["total"] when one model read a different total
 * ```
 * @category running
 * @since 0.1.0
 */
export function fieldwise<A extends object, O extends L0Options<unknown> = L0Options>(
  options: ReadonlyArray<Strict<O>>,
  config: FieldwiseOptions<A>
): Effect.Effect<FieldwiseResult<A>, ConsensusError, Services<O>>
export function fieldwise<A extends object, R>(
  options: ReadonlyArray<L0Options<R>>,
  config: FieldwiseOptions<A>
): Effect.Effect<FieldwiseResult<A>, ConsensusError, R> {
  return Effect.suspend((): Effect.Effect<FieldwiseResult<A>, ConsensusError, R> => {
    const invalid = validateFieldwise(options, config)
    if (invalid !== undefined) return Effect.fail(invalid)
    const outputs: Array<Output<A>> = []
    const failures: Array<Failure> = []
    const runs = options.map((item, index) =>
      Effect.flatMap(
        outputOf(item, index, config.decode),
        (output) => isRecord(output.value) ? Effect.succeed(output) : Effect.fail(notAnObject(output.value))
      )
    )
    return contest(runs, (index, outcome) => {
      if (outcome._tag === "Success") outputs.push(outcome.success)
      else failures.push({ index, error: outcome.failure })
      if (outputs.length + failures.length < options.length) return undefined
      try {
        return decideFields(config, options.length, outputs, failures)
      } catch (error) {
        const { cause, option } = error as CallbackFailed
        return Exit.fail(callbackError(option, cause))
      }
    })
  })
}
