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
}

/** The schema of `key` when `parent` is a struct. */
const fieldOf = (parent: SchemaAST.AST | undefined, path: ReadonlyArray<PropertyKey>): SchemaAST.AST | undefined =>
  parent !== undefined && SchemaAST.isObjects(parent) && path.length === 1
    ? parent.propertySignatures.find((field) => field.name === path[0])?.type
    : undefined

/** Whether a union member accepted the kind of value and failed inside it (a field, an element, a check). */
const wentDeeper = (issue: SchemaIssue.Issue): boolean =>
  issue._tag === "AnyOf" ? issue.issues.some(wentDeeper) : issue._tag !== "InvalidType"

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
      return deeper.length === 1
        ? firstLeaf(deeper[0]!, path)
        : { path, expected: expectedOf(issue.ast), got: issue.input }
    }
    case "InvalidType":
    case "OneOf":
      return { path, expected: expectedOf(issue.ast), got: issue.input }
    case "InvalidValue":
    case "Forbidden":
      return { path, expected: issue.annotations?.expected ?? "a valid value", got: issue.input }
    case "MissingKey":
      return {
        path,
        expected: issue.annotations?.expected ?? (here === undefined ? "a value" : expectedOf(here)),
        got: undefined
      }
    case "UnexpectedKey":
      return { path, expected: "no such option", got: issue.input }
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
        const { expected, got, path } = firstLeaf(error.issue, prefix)
        return invalidOption(path.length === 0 ? name : joinPath(path), expected, got)
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

/**
 * Refuses keys outside `known`, so that a misspelt option is reported, not
 * silently ignored. The error points at the unknown key.
 *
 * @internal
 */
export const onlyKeys = (known: ReadonlyArray<string>) =>
  Schema.makeFilter<object>((o) => {
    const unknown = Object.keys(o).find((key) => !known.includes(key))
    return unknown === undefined ? undefined : new SchemaIssue.Pointer(
      [unknown],
      new SchemaIssue.InvalidValue(
        { expected: `no such option (known: ${known.join(", ")})` },
        (o as Record<string, unknown>)[unknown],
        PARSE
      )
    )
  })

/**
 * A struct whose keys are only `fields`: checked on the input, before the
 * struct drops unknown keys.
 *
 * @internal
 */
export const ClosedStruct = <const Fields extends Schema.Struct.Fields>(fields: Fields, expected: string) =>
  guarded(Predicate.isObject, expected).pipe(
    Schema.check(onlyKeys(Object.keys(fields))),
    Schema.decodeTo(Schema.Struct(fields))
  ).annotate({ expected })
