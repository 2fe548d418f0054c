/**
 * The one option check: each options object is described as an Effect
 * `Schema` (which also states its defaults) and decoded here, so that every
 * invalid option fails the same way, as a `FatalError { reason: "options" }`
 * whose message reads `Invalid option "path": expected X, got Y`.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as SchemaIssue from "effect/SchemaIssue"
import { FatalError } from "../L0Error.js"

/**
 * What a value is, never what it holds: options may carry API keys, so a
 * string shows as its kind only. Numbers, booleans, `null` and `undefined`
 * show as themselves.
 *
 * @internal
 */
export const describeValue = (u: unknown): string => {
  try {
    if (u === null || u === undefined || Predicate.isNumber(u) || Predicate.isBoolean(u)) return String(u)
    if (Predicate.isString(u)) return u.length === 0 ? "an empty string" : "a string"
    if (Predicate.isFunction(u)) return "a function"
    if (Array.isArray(u)) return `an array of ${u.length}`
    if (Redacted.isRedacted(u)) return "a Redacted value"
    return typeof u === "object" ? "an object" : `a ${typeof u}`
  } catch {
    return "an unreadable value"
  }
}

/**
 * The error of an invalid option: names the option, what it expects and,
 * safely, what it got.
 *
 * @internal
 */
export const invalidOption = (path: string, expected: string, got: unknown): FatalError =>
  new FatalError({
    reason: "options",
    message: `Invalid option "${path}": expected ${expected}, got ${describeValue(got)}`
  })

const joinPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (joined, key) =>
      Predicate.isNumber(key) ? `${joined}[${key}]` : joined === "" ? String(key) : `${joined}.${String(key)}`,
    ""
  )

/** What a schema node accepts, from its `expected` annotation, else from its shape. */
const expectedOf = (ast: SchemaAST.AST): string => {
  const annotated = SchemaAST.resolve(ast)?.expected
  if (Predicate.isString(annotated)) return annotated
  if (SchemaAST.isLiteral(ast)) return JSON.stringify(ast.literal)
  if (SchemaAST.isUnion(ast)) {
    const members = ast.types.filter((member) => !SchemaAST.isUndefined(member))
    return members.every(SchemaAST.isLiteral)
      ? `one of ${members.map(expectedOf).join(", ")}`
      : members.map(expectedOf).join(" or ")
  }
  if (SchemaAST.isObjects(ast)) return "an object"
  if (SchemaAST.isArrays(ast)) return "an array"
  return `a ${ast._tag.toLowerCase()}`
}

interface Found {
  readonly path: ReadonlyArray<PropertyKey>
  readonly expected: string
  readonly got: unknown
  /** For a key no option has: what to say instead of "expected …, got …". */
  readonly unknown?: string | undefined
}

/** The schema of `key` when `parent` is a struct. */
const fieldOf = (parent: SchemaAST.AST | undefined, path: ReadonlyArray<PropertyKey>): SchemaAST.AST | undefined =>
  parent !== undefined && SchemaAST.isObjects(parent) && path.length === 1
    ? parent.propertySignatures.find((field) => field.name === path[0])?.type
    : undefined

/** Whether a union member accepted the kind of value and failed inside it (a field, an element, a check). */
const wentDeeper = (issue: SchemaIssue.Issue): boolean =>
  issue._tag === "AnyOf"
    ? issue.issues.some(wentDeeper)
    : issue._tag === "Encoding"
    ? wentDeeper(issue.issue)
    : issue._tag !== "InvalidType"

/** The first leaf of an issue tree, with the path leading to it; `here` is the schema at that path, when known. */
const firstLeaf = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>, here?: SchemaAST.AST): Found => {
  switch (issue._tag) {
    case "Pointer":
      return firstLeaf(issue.issue, [...path, ...issue.path], fieldOf(here, issue.path))
    case "Composite":
      return firstLeaf(issue.issues[0], path, issue.ast)
    case "Encoding":
      return firstLeaf(issue.issue, path, issue.ast)
    case "Filter":
      return issue.issue._tag === "Pointer"
        ? firstLeaf(issue.issue, path)
        : { path, expected: issue.filter.annotations?.expected ?? "a valid value", got: issue.input }
    case "AnyOf": {
      // the one member that accepted the kind of value holds the precise issue
      const deeper = issue.issues.filter(wentDeeper)
      // a union of one member and `undefined` (an optional option with a default) fails as that member
      const optional = SchemaAST.isUnion(issue.ast) &&
        issue.ast.types.filter((member) => !SchemaAST.isUndefined(member)).length === 1
      const only = optional && issue.issues.length === 1 ? issue.issues[0] : deeper.length === 1 ? deeper[0] : undefined
      return only !== undefined
        ? firstLeaf(only, path)
        : { path, expected: expectedOf(issue.ast), got: issue.input }
    }
    case "InvalidType":
    case "OneOf":
      return { path, expected: expectedOf(issue.ast), got: issue.input }
    case "InvalidValue":
    case "Forbidden": {
      const unknown = issue.annotations?.[UNKNOWN_OPTION]
      return {
        path,
        expected: issue.annotations?.expected ?? "a valid value",
        got: issue.input,
        unknown: Predicate.isString(unknown) ? unknown : undefined
      }
    }
    case "MissingKey":
      return {
        path,
        expected: issue.annotations?.expected ?? (here === undefined ? "a value" : expectedOf(here)),
        got: undefined
      }
    case "UnexpectedKey":
      return { path, expected: "no such option", got: issue.input, unknown: "unknown option" }
  }
}

const PARSE: SchemaAST.ParseOptions = { reportInput: true }

/**
 * A decoder of one options object, named `name` when it is wrong as a whole.
 * With `nested`, the paths inside start with `name` too (`Adapters.openaiHttp.apiKey`),
 * for options that are not a run's own. Reading the input never throws: a
 * getter or proxy that throws is an invalid option too.
 *
 * @internal
 */
export const decoder = <S extends Schema.ConstraintDecoder<unknown>>(
  schema: S,
  name = "options",
  nested = false
): (input: unknown) => Result.Result<S["Type"], FatalError> => {
  const decode = Schema.decodeUnknownResult(schema)
  const prefix: ReadonlyArray<PropertyKey> = nested ? [name] : []
  return (input) => {
    try {
      return Result.mapError(decode(input, PARSE), (error) => {
        const { expected, got, path, unknown } = firstLeaf(error.issue, prefix)
        const at = path.length === 0 ? name : joinPath(path)
        return unknown === undefined ? invalidOption(at, expected, got) : unknownOption(at, unknown)
      })
    } catch {
      return Result.fail(
        new FatalError({
          reason: "options",
          message:
            `Invalid option "${name}": expected an object whose options can be read, got an object that throws when read`
        })
      )
    }
  }
}

/**
 * A value that `is` accepts, described by `expected` in errors.
 *
 * @internal
 */
export const guarded = <T>(is: (u: unknown) => u is T, expected: string): Schema.declare<T> =>
  Schema.declare(is, { expected })

/** Any function, whatever it takes and returns. */
type AnyFunction = (...args: Array<never>) => unknown

/** @internal */
export const Fn = <F extends AnyFunction = AnyFunction>(expected = "a function"): Schema.declare<F> =>
  guarded((u): u is F => Predicate.isFunction(u), expected)

/**
 * An integer ≥ `min`.
 *
 * @internal
 */
export const IntAtLeast = (min: number, expected = `an integer ≥ ${min}`): Schema.declare<number> =>
  guarded((u): u is number => Number.isInteger(u) && (u as number) >= min, expected)

/**
 * An API key or other secret: a non-empty string, plain or `Redacted`.
 *
 * @internal
 */
export const Secret = guarded(
  (u): u is string | Redacted.Redacted<string> =>
    (Predicate.isString(u) && u.length > 0) || (Redacted.isRedacted(u) && Predicate.isString(Redacted.value(u))),
  "a non-empty string or a Redacted string"
)

/** @internal */
export const NonEmptyString = (expected = "a non-empty string"): Schema.declare<string> =>
  guarded((u): u is string => Predicate.isString(u) && u.length > 0, expected)

/** `NaN` anywhere in a duration input: `Duration.fromInput` would silently read it as zero. */
const hasNaN = (u: unknown): boolean =>
  Predicate.isNumber(u)
    ? Number.isNaN(u)
    : Predicate.isObjectOrArray(u) && Object.values(u).some((part) => Predicate.isNumber(part) && Number.isNaN(part))

/**
 * The milliseconds of a duration input, `NaN` when it is not one (`NaN`
 * itself included).
 *
 * @internal
 */
export const durationMillis = (u: unknown): number => {
  if (hasNaN(u)) return NaN
  const decoded = Duration.fromInput(u as Duration.Input)
  return Option.isSome(decoded) ? Duration.toMillis(decoded.value) : NaN
}

/**
 * A `Duration.Input` (`"2 seconds"`, milliseconds, …) that is positive, or
 * ≥ 0 with `positive: false`; `NaN` is refused where `Duration` reads it as zero.
 *
 * @internal
 */
export const DurationInput = (positive: boolean) =>
  guarded(
    (u): u is Duration.Input => positive ? durationMillis(u) > 0 : durationMillis(u) >= 0,
    positive ? "a positive duration" : "a duration ≥ 0"
  )

/**
 * An optional option whose absence (or `undefined`) decodes as `value`.
 *
 * @internal
 */
export const withDefault = <S extends Schema.Constraint>(schema: S, value: S["Encoded"]) =>
  Schema.withDecodingDefault<S>(Effect.succeed(value))(schema)

/** The issue annotation that carries what to say about an unknown key. */
const UNKNOWN_OPTION = "effect-l0/unknownOption"

/**
 * Names of the original L0 library (or other common names) for an option,
 * each with the hint that points to what effect-l0 has instead (see
 * `renamedInL0` and `meant`).
 *
 * @internal
 */
export type Renames = Readonly<Record<string, string>>

/**
 * The hint for a name of the original L0 library: `what` is the effect-l0
 * option (quoted) or where the feature lives.
 *
 * @internal
 */
export const renamedInL0 = (what: string): string => `the L0 library's name: in effect-l0, ${what}`

/**
 * The hint for a common name of an option that effect-l0 calls `name`.
 *
 * @internal
 */
export const meant = (name: string): string => `did you mean "${name}"?`

/**
 * Edit distance (insertions, deletions, substitutions, swaps of neighbours),
 * ignoring case; stops counting past `limit`.
 */
const distance = (a: string, b: string, limit: number): number => {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  if (Math.abs(s.length - t.length) > limit) return limit + 1
  let before: Array<number> = []
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const current = [i]
    let best = i
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, before[j - 2]! + 1)
      current.push(d)
      best = Math.min(best, d)
    }
    if (best > limit) return limit + 1
    before = previous
    previous = current
  }
  return previous[t.length]!
}

/**
 * The known key that `key` is most likely a slip for: within an edit
 * distance of a third of its length (at least 2), or a known key that
 * starts or ends with it (`dedup` for `deduplicate`, `attempts` for `maxAttempts`).
 */
const closest = (key: string, known: ReadonlyArray<string>): string | undefined => {
  const limit = Math.max(2, Math.floor(key.length / 3))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of known) {
    const lower = candidate.toLowerCase()
    const part = key.length >= 4 && (lower.endsWith(key.toLowerCase()) || lower.startsWith(key.toLowerCase()))
    const d = part ? Math.min(limit, distance(key, candidate, limit)) : distance(key, candidate, limit)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * What to say about a key no option has: the effect-l0 name of an original
 * L0 option, else the known key it is closest to, then the known keys.
 *
 * @internal
 */
export const unknownKey = (key: string, known: ReadonlyArray<string>, renames: Renames = {}): string => {
  const renamed = Object.prototype.hasOwnProperty.call(renames, key) ? renames[key] : undefined
  const near = renamed === undefined ? closest(key, known) : undefined
  const hint = renamed ?? (near === undefined ? undefined : meant(near))
  return `unknown option${hint === undefined ? "" : `; ${hint}`} (known: ${known.join(", ")})`
}

/**
 * The error of a key no option has, at `path`.
 *
 * @internal
 */
export const unknownOption = (path: string, detail: string): FatalError =>
  new FatalError({ reason: "options", message: `Invalid option "${path}": ${detail}` })

/** The first own enumerable key of `o` outside `known`; reading the keys never throws here (the caller catches). */
const firstUnknown = (o: object, known: ReadonlySet<string>): string | undefined => {
  const keys = Object.keys(o)
  for (let i = 0; i < keys.length; i++) {
    if (!known.has(keys[i]!)) return keys[i]
  }
  return undefined
}

/**
 * Refuses keys outside `known`, so that a misspelt option is reported, not
 * silently ignored. The error points at the unknown key and suggests the
 * known one it is closest to, or the effect-l0 name of an original L0 option.
 *
 * @internal
 */
export const onlyKeys = (known: ReadonlyArray<string>, renames: Renames = {}, expected?: string) => {
  const set = new Set(known)
  return Schema.makeFilter<object>((o) => {
    const key = firstUnknown(o, set)
    return key === undefined ? undefined : new SchemaIssue.Pointer(
      [key],
      new SchemaIssue.InvalidValue({ [UNKNOWN_OPTION]: unknownKey(key, known, renames) }, undefined, PARSE)
    )
  }, expected === undefined ? undefined : { expected })
}

/**
 * A struct whose keys are only `fields`: checked on the input, before the
 * struct drops unknown keys. `renames` names the original L0 options that
 * effect-l0 spells differently.
 *
 * @internal
 */
export const ClosedStruct = <const Fields extends Schema.Struct.Fields>(
  fields: Fields,
  expected: string,
  renames?: Renames
) =>
  guarded(Predicate.isObject, expected).pipe(
    // the check's annotations are the ones a wrong kind of value reports, so it says what the struct expects
    Schema.check(onlyKeys(Object.keys(fields), renames, expected)),
    Schema.decodeTo(Schema.Struct(fields))
  ).annotate({ expected })

/** The keys an options object may have: `true` for a plain option, a nested shape for an options object inside. */
export interface KeyShape {
  readonly [key: string]: true | KeyShape
}

/**
 * The first key of `options` (or of the options objects nested in it, per
 * `shape`) that no option has, as the `FatalError` that names its path, for
 * options checked without a schema. `undefined` when every key is known or
 * `options` is no object. Never throws: unreadable options are an error too.
 *
 * @internal
 */
export const checkKeys = (
  options: unknown,
  shape: KeyShape,
  path = "",
  renames: Renames = {}
): FatalError | undefined => {
  if (typeof options !== "object" || options === null) return undefined
  try {
    if (Array.isArray(options)) return undefined
    const known = Object.keys(shape)
    const key = firstUnknown(options, new Set(known))
    if (key !== undefined) return unknownOption(path === "" ? key : `${path}.${key}`, unknownKey(key, known, renames))
    for (const name of known) {
      const nested = shape[name]!
      if (nested === true) continue
      const error = checkKeys(
        (options as Record<string, unknown>)[name],
        nested,
        path === "" ? name : `${path}.${name}`
      )
      if (error !== undefined) return error
    }
    return undefined
  } catch {
    return new FatalError({
      reason: "options",
      message: `Invalid option "${
        path === "" ? "options" : path
      }": expected an object whose options can be read, got an object that throws when read`
    })
  }
}
