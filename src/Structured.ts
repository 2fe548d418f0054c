/**
 * Structured output: the reply (or a tool call's arguments) as a value
 * decoded by an Effect `Schema` or any Standard Schema v1 (Zod, Valibot,
 * ArkType…). Parsing, repair and decoding run inside
 * L0's attempt loop, so an invalid reply is a `ContentError` that retries,
 * falls back and reaches the next attempt as `ctx.previousError`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaParser from "effect/SchemaParser"
import type { StandardSchemaV1 } from "effect/StandardSchema"
import * as Stream from "effect/Stream"
import { describe } from "./internal/describe.js"
import * as json from "./internal/json.js"
import { isRecord } from "./internal/decode.js"
import { decoder, invalidOption, NonEmptyString, withDefault } from "./internal/optionSchema.js"
import type { Check, Completed } from "./internal/run.js"
import type * as JsonRepair from "./JsonRepair.js"
import type { L0Options, L0Result, Services, Strict } from "./internal/l0Types.js"
import type { Checked } from "./internal/l0.js"
import { runChecked, streamChecked } from "./internal/l0.js"
import { resolveWith } from "./internal/options.js"
import { describeThrown } from "./internal/classify.js"
import type { L0Error } from "./L0Error.js"
import { ContentError, FatalError } from "./L0Error.js"
import type { ToolCall } from "./L0Event.js"

/**
 * The options of a structured run: the `L0Options` of the run, plus how the
 * JSON answer is repaired and decoded.
 *
 * @category models
 * @since 0.1.0
 */
export interface StructuredOptions<R = never> extends L0Options<R> {
  /**
   * Repair the JSON before decoding (fences, prose, trailing commas,
   * quotes, truncation; see `JsonRepair`). Default `true`; `false` accepts
   * standard JSON only, so a fenced reply fails and retries.
   */
  readonly autoCorrect?: boolean | undefined
  /**
   * Decode the arguments of the first tool call with this name instead of
   * the text. A reply without that call is a `ContentError` (rule `"schema"`).
   */
  readonly toolCall?: string | undefined
  /** Bounds on the JSON text; defaults in `JsonRepair.defaults`. */
  readonly json?: JsonRepair.Options | undefined
}

/**
 * An Effect `Schema` whose decoding needs no services, or any Standard
 * Schema v1 (Zod ≥ 3.24, Valibot, ArkType, `Schema.toStandardSchemaV1`).
 * Validation runs when a reply completes, inside the attempt loop, and may
 * be asynchronous (an async Zod refinement, a validator that returns a
 * Promise, an Effect Schema with async steps): the attempt completes once it
 * settles. A validator that throws or rejects ends the run with a `FatalError`.
 *
 * @category models
 * @since 0.1.0
 */
export type StructuredSchema = Schema.ConstraintDecoder<unknown> | StandardSchemaV1

/**
 * The value a schema decodes to.
 *
 * @category models
 * @since 0.1.0
 */
export type TypeOf<S extends StructuredSchema> = S extends Schema.ConstraintDecoder<unknown> ? S["Type"]
  : S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S>
  : never

/**
 * The JSON form a schema decodes from (what partial values hold).
 *
 * @category models
 * @since 0.1.0
 */
export type EncodedOf<S extends StructuredSchema> = S extends Schema.ConstraintDecoder<unknown> ? S["Encoded"]
  : S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S>
  : never

/**
 * A JSON value with every field and element optional: what a partial value
 * may hold of the schema's encoded (JSON) form.
 *
 * @category models
 * @since 0.1.0
 */
export type DeepPartial<T> = T extends ReadonlyArray<infer E> ? ReadonlyArray<DeepPartial<E>>
  : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
  : T

/**
 * What `structuredStream` emits:
 * - `Partial`: the part of the reply parsed so far, not validated by the
 *   schema. It holds the objects and arrays opened so far and the members
 *   and elements whose value is complete: a string appears once its closing
 *   quote is followed by a delimiter, a number once a delimiter follows it,
 *   a key only with its value. A field shown once keeps its value in every later `Partial`
 *   of the same attempt; at most one `Partial` per chunk array of tokens.
 * - `Reset`: the attempt that produced the previous partials failed and a
 *   new one starts: drop them (later partials start from scratch).
 * - `Final`: the decoded value of the successful attempt, always last.
 *
 * @category models
 * @since 0.1.0
 */
export type StructuredEvent<A, P> =
  | { readonly _tag: "Partial"; readonly value: P }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Final"; readonly value: A }

/**
 * What `structuredStreamWithMetadata` emits: the events of
 * `structuredStream`, whose `Final` also carries the metadata that
 * `structuredWithMetadata` returns.
 *
 * @category models
 * @since 0.1.0
 */
export type StructuredMetadataEvent<A, P> =
  | Exclude<StructuredEvent<A, P>, { readonly _tag: "Final" }>
  | { readonly _tag: "Final"; readonly value: A; readonly metadata: StructuredMetadata }

/** Partial values and resets, the same in both kinds of structured stream. */
type Progress<P = unknown> = Exclude<StructuredEvent<never, P>, { readonly _tag: "Final" }>

/** What one run needs: the options passed to `L0.stream` and the check of each completed attempt. */
interface Prepared<A> {
  readonly limits: json.Limits
  readonly toolCall: string | undefined
  readonly check: Check<Decoded<A>>
}

/** What the check of a completed attempt decoded, from which text, with which repairs (flags). */
interface Decoded<A> {
  readonly value: A
  readonly raw: string
  readonly repairs: number
}

const issueFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** `items[0].price`, `["first name"]`, or `value` for the root. */
const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  if (path.length === 0) return "value"
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else if (typeof key === "string" && IDENTIFIER.test(key)) out += out.length === 0 ? key : `.${key}`
    else out += `[${JSON.stringify(String(key))}]`
  }
  return out
}

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let node = input
  for (const key of path) {
    if (typeof node !== "object" || node === null || !Object.prototype.hasOwnProperty.call(node, key)) return undefined
    node = (node as Record<PropertyKey, unknown>)[key]
  }
  return node
}

const shown = (value: unknown): string => {
  const text = JSON.stringify(value)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}

const MAX_ISSUES = 10

/**
 * One line per issue, with its path and what was found there, for people
 * and for a model that is told what to fix.
 */
const describeIssues = (issues: ReadonlyArray<StandardSchemaV1.Issue>, input: unknown): string => {
  const lines = issues.slice(0, MAX_ISSUES).map((issue) => {
    const path = (issue.path ?? []).map((segment) => typeof segment === "object" ? segment.key : segment)
    const found = valueAt(input, path)
    const got = found !== undefined && issue.message.startsWith("Expected") && !issue.message.includes(", got ")
      ? `, got ${shown(found)}`
      : ""
    return `${formatPath(path)}: ${issue.message}${got}`
  })
  if (issues.length > MAX_ISSUES) lines.push(`… and ${issues.length - MAX_ISSUES} more`)
  if (lines.length === 0) return "The reply does not match the schema (no issue given)"
  return `The reply does not match the schema: ${lines.join("; ")}`
}

/** Decodes a parsed JSON value: the value, a `ContentError` that retries, or a `FatalError` for a schema that cannot run. */
type Decode<A> = (input: unknown) => Effect.Effect<A, ContentError | FatalError>

const isStandardSchema = (u: unknown): u is StandardSchemaV1 => {
  if ((typeof u !== "object" && typeof u !== "function") || u === null) return false
  try {
    const props: unknown = (u as StandardSchemaV1)["~standard"]
    return isRecord(props) && props.version === 1 && typeof props.validate === "function"
  } catch {
    // a getter that throws: not a schema we can use
    return false
  }
}

/** What a thrown value says, without letting a hostile one throw again. */
const reasonOf: (cause: unknown) => string = describeThrown

const cannotRun = (message: string, cause?: unknown): Effect.Effect<never, FatalError> =>
  Effect.fail(new FatalError({ reason: "options", message, cause }))

const decodeEffect = <A>(schema: Schema.ConstraintDecoder<unknown>): Decode<A> => {
  const decode = SchemaParser.decodeUnknownEffect(schema, { errors: "all" })
  return (input) =>
    Effect.suspend(() => decode(input)).pipe(
      Effect.mapError((issue) =>
        new ContentError({
          rule: "schema",
          message: describeIssues(issueFormatter(issue).issues, input),
          cause: issue
        })
      ),
      Effect.catchDefect((cause) => cannotRun(`The schema threw while decoding: ${reasonOf(cause)}`, cause)),
      Effect.map((value) => value as A)
    )
}

const decodeStandard = <A>(schema: StandardSchemaV1): Decode<A> => {
  const props = schema["~standard"]
  const name = `The ${typeof props.vendor === "string" ? props.vendor : "Standard"} schema`
  const threw = (cause: unknown) => cannotRun(`${name} threw while validating: ${reasonOf(cause)}`, cause)
  const read = (input: unknown, result: unknown): Effect.Effect<A, ContentError | FatalError> => {
    if (!isRecord(result)) {
      return cannotRun(
        `${name}'s validate returned ${result === undefined ? "undefined" : describe(result)}, not a result`
      )
    }
    const { issues, value } = result
    if (issues === undefined || issues === null || issues === false) return Effect.succeed(value as A)
    if (!Array.isArray(issues)) return cannotRun(`${name}'s validate returned issues that are not a list`)
    return Effect.fail(new ContentError({ rule: "schema", message: describeIssues(issues, input), cause: issues }))
  }
  // a result whose fields throw when read is the validator's failure too
  const readSafely = (input: unknown, result: unknown): Effect.Effect<A, ContentError | FatalError> => {
    try {
      return read(input, result)
    } catch (cause) {
      return threw(cause)
    }
  }
  return (input) =>
    Effect.suspend(() => {
      let result: unknown
      try {
        result = props.validate(input)
        if (!Predicate.isPromiseLike(result)) return readSafely(input, result)
      } catch (cause) {
        return threw(cause)
      }
      const pending = result
      return Effect.tryPromise({ try: () => Promise.resolve(pending), catch: (cause) => cause }).pipe(
        Effect.matchEffect({ onFailure: threw, onSuccess: (settled) => readSafely(input, settled) })
      )
    })
}

const describeCalls = (calls: ReadonlyArray<ToolCall>): string =>
  calls.length === 0 ? "it has none" : `it has ${calls.map((call) => JSON.stringify(call.name)).join(", ")}`

/** The JSON text to decode: the reply, or the named tool call's arguments (empty arguments are `{}`). */
const selectText = (
  content: string,
  toolCalls: ReadonlyArray<ToolCall>,
  toolCall: string | undefined
): string | ContentError => {
  if (toolCall === undefined) return content
  const call = toolCalls.find((candidate) => candidate.name === toolCall)
  if (call === undefined) {
    return new ContentError({
      rule: "schema",
      message: `The reply has no "${toolCall}" tool call (${describeCalls(toolCalls)})`
    })
  }
  return call.arguments.trim().length === 0 ? "{}" : call.arguments
}

const makeCheck = <A>(
  decode: Decode<A>,
  autoCorrect: boolean,
  limits: json.Limits,
  toolCall: string | undefined
): Check<Decoded<A>> =>
(content, toolCalls) => {
  const text = selectText(content, toolCalls, toolCall)
  if (typeof text !== "string") return Effect.fail(text)
  let repairs = 0
  let parsed: unknown
  if (autoCorrect) {
    const sink = new json.ValueSink()
    const report = json.parseWithRepairs(sink, text, limits)
    parsed = report.error ?? sink.root
    repairs = report.repairs
  } else {
    parsed = json.parseStrict(text, limits)
  }
  if (parsed instanceof ContentError) {
    return Effect.fail(
      autoCorrect ? parsed : new ContentError({
        rule: parsed.rule,
        message: `${parsed.message} (autoCorrect is off)`,
        cause: parsed.cause
      })
    )
  }
  return Effect.map(decode(parsed), (value): Decoded<A> => ({ value, raw: text, repairs }))
}

/** What structured output adds to `L0Options`, which the run itself checks. */
const StructuredOwnOptions = Schema.Struct({
  autoCorrect: withDefault(Schema.Boolean, true),
  toolCall: Schema.optional(NonEmptyString("a tool name")),
  json: withDefault(json.LimitsSchema, {})
}).annotate({ expected: "an options object" })

const decodeOwnOptions = decoder(StructuredOwnOptions)

/** The run's options: its own, and these, which `decodeOwnOptions` checks. */
const resolveOptions = resolveWith(Object.keys(StructuredOwnOptions.fields))

const prepare = <S extends StructuredSchema, R>(
  schema: S,
  options: StructuredOptions<R>
): Result.Result<Prepared<TypeOf<S>>, FatalError> => {
  const decode: Decode<TypeOf<S>> | undefined = Schema.isSchema(schema)
    ? decodeEffect(schema as Schema.ConstraintDecoder<unknown>)
    : isStandardSchema(schema)
    ? decodeStandard(schema)
    : undefined
  if (decode === undefined) {
    return Result.fail(invalidOption("schema", "an Effect Schema or a Standard Schema v1", schema))
  }
  return Result.map(decodeOwnOptions(options), ({ autoCorrect, json: limits, toolCall }) => ({
    limits,
    toolCall,
    check: makeCheck(decode, autoCorrect, limits, toolCall)
  }))
}

/**
 * Runs `options` like `L0.text` and decodes the reply with `schema`. The
 * JSON value is taken from the text (or from the arguments of the tool call
 * named by `toolCall`), repaired unless `autoCorrect: false`, and decoded.
 * A reply that does not parse or decode fails its attempt with a
 * `ContentError` (rule `"json"` or `"schema"`, the message names each path)
 * that retries like any content error (it consumes `maxAttempts`), then
 * falls back; the next attempt sees it as `ctx.previousError`.
 *
 * **Example** (A typed record, telling the model what was wrong on a retry)
 * ```ts
 * const Person = Schema.Struct({ name: Schema.String, born: Schema.Number })
 * const person = yield* L0.structured(Person, {
 *   stream: ({ signal, previousError }) =>
 *     client.chat.completions.create({
 *       model,
 *       stream: true,
 *       messages: [
 *         { role: "user", content: "Who wrote Dune? Answer as JSON {name, born}." },
 *         ...(previousError ? [{ role: "user" as const, content: `Fix this: ${previousError.message}` }] : [])
 *       ]
 *     }, { signal })
 * })
 * ```
 * @category structured output
 * @since 0.1.0
 */
export function structured<S extends StructuredSchema, O extends StructuredOptions<unknown>>(
  schema: S,
  options: Strict<O, StructuredOptions<unknown>>
): Effect.Effect<TypeOf<S>, L0Error, Services<O>>
export function structured<S extends StructuredSchema, R = never>(
  schema: S,
  options: StructuredOptions<R>
): Effect.Effect<TypeOf<S>, L0Error, R>
export function structured<S extends StructuredSchema, R>(
  schema: S,
  options: StructuredOptions<R>
): Effect.Effect<TypeOf<S>, L0Error, R> {
  return Effect.suspend(() => {
    const prepared = prepare(schema, options)
    if (Result.isFailure(prepared)) return Effect.fail(prepared.failure)
    return Effect.map(runChecked(options, prepared.success.check, resolveOptions), (complete) => complete.value.value)
  })
}

/**
 * How a decoded value was obtained.
 *
 * @category models
 * @since 0.1.0
 */
export interface StructuredMetadata {
  /** The JSON text that was decoded: the reply, or the tool call's arguments. */
  readonly raw: string
  /** Whether `raw` needed repair: `false` when it is standard JSON (whitespace around it aside). */
  readonly repaired: boolean
  /** What was repaired, in the order of `JsonRepair.Repair`'s list; empty when `repaired` is `false`. */
  readonly repairs: ReadonlyArray<JsonRepair.Repair>
  /** Attempts made over every source, the successful one included, network retries too. */
  readonly attempts: number
  /** The run's result: final text, state (fallback index, retry counts, tool calls) and usage. */
  readonly result: L0Result
}

/**
 * A decoded value with how it was obtained.
 *
 * @category models
 * @since 0.1.0
 */
export interface StructuredResult<A> extends StructuredMetadata {
  readonly value: A
}

/** The value of the successful attempt with its metadata. */
const withMetadata = <A>(complete: Completed<Decoded<A>>): StructuredResult<A> => {
  const { state, usage, value: decoded } = complete
  const repairs = json.repairNames(decoded.repairs)
  return {
    value: decoded.value,
    raw: decoded.raw,
    repaired: repairs.length > 0,
    repairs,
    attempts: state.totalAttempts,
    result: { text: state.content, state, usage }
  }
}

/**
 * Like `structured`, but returns the value with its metadata: the JSON text
 * it was decoded from, whether and how that text was repaired, the attempts
 * it took and the run's result.
 *
 * **Example** (Logging how much help the model needed)
 * ```ts
 * const { value, repairs, attempts } = yield* L0.structuredWithMetadata(Person, { stream })
 * if (repairs.length > 0 || attempts > 1) yield* Effect.logInfo("structured output repaired", { repairs, attempts })
 * ```
 * @category structured output
 * @since 0.1.0
 */
export function structuredWithMetadata<S extends StructuredSchema, O extends StructuredOptions<unknown>>(
  schema: S,
  options: Strict<O, StructuredOptions<unknown>>
): Effect.Effect<StructuredResult<TypeOf<S>>, L0Error, Services<O>>
export function structuredWithMetadata<S extends StructuredSchema, R = never>(
  schema: S,
  options: StructuredOptions<R>
): Effect.Effect<StructuredResult<TypeOf<S>>, L0Error, R>
export function structuredWithMetadata<S extends StructuredSchema, R>(
  schema: S,
  options: StructuredOptions<R>
): Effect.Effect<StructuredResult<TypeOf<S>>, L0Error, R> {
  return Effect.suspend(() => {
    const prepared = prepare(schema, options)
    if (Result.isFailure(prepared)) return Effect.fail(prepared.failure)
    return Effect.map(runChecked(options, prepared.success.check, resolveOptions), withMetadata)
  })
}

/** Turns the events of one run into partial values, resets and the final event that `final` builds. */
class Preview<A, F> {
  private parser: json.Parser
  private sink: json.ValueSink
  private seen = 0
  private shown = false
  private readonly texts: Array<string> = []

  constructor(private readonly prepared: Prepared<A>, private readonly final: (complete: Completed<Decoded<A>>) => F) {
    this.sink = new json.ValueSink()
    this.parser = new json.Parser(this.sink, prepared.limits)
  }

  receive(events: ReadonlyArray<Checked<Decoded<A>>>): ReadonlyArray<Progress | F> {
    const out: Array<Progress | F> = []
    const tokens = this.prepared.toolCall === undefined
    for (const event of events) {
      if (event._tag === "Token" && tokens) {
        this.texts.push(event.value)
        this.parser.push(event.value)
      } else if (event._tag === "Reset") {
        this.restart(event.kept, out)
      } else if (event._tag === "Complete") {
        this.partial(out)
        out.push(this.final(event))
      }
    }
    this.partial(out)
    return out
  }

  private partial(out: Array<Progress | F>): void {
    if (this.sink.version === this.seen) return
    this.seen = this.sink.version
    this.shown = true
    out.push({ _tag: "Partial", value: this.sink.snapshot() })
  }

  /** A retry: parse again from the text the consumer keeps (`kept` characters; none without continuation). */
  private restart(kept: number, out: Array<Progress | F>): void {
    if (this.shown) out.push({ _tag: "Reset" })
    this.shown = false
    const text = this.texts.join("").slice(0, kept)
    this.texts.length = 0
    this.sink = new json.ValueSink()
    this.parser = new json.Parser(this.sink, this.prepared.limits)
    this.seen = 0
    if (text.length > 0) {
      this.texts.push(text)
      this.parser.push(text)
    }
  }
}

/**
 * Like `structured`, but streams `Partial` values while tokens arrive,
 * then the `Final` decoded value (see `StructuredEvent` for the rules).
 * Partial values come from an incremental parser fed each token once: no
 * re-parse per token. Partials come from the tolerant parser even with
 * `autoCorrect: false`. With `toolCall`, only `Final` is emitted (tool call
 * arguments arrive whole).
 *
 * **Example** (Rendering a list while it is written)
 * ```ts
 * const Todo = Schema.Struct({ items: Schema.Array(Schema.String) })
 * yield* L0.structuredStream(Todo, { stream: () => client.chat.completions.create(request) }).pipe(
 *   Stream.runForEach((event) =>
 *     event._tag === "Partial" ? Console.log(`${event.value.items?.length ?? 0} items so far`)
 *     : event._tag === "Final" ? Console.log(event.value.items)
 *     : Console.log("retrying…"))
 * )
 * ```
 * @category structured output
 * @since 0.1.0
 */
export function structuredStream<S extends StructuredSchema, O extends StructuredOptions<unknown>>(
  schema: S,
  options: Strict<O, StructuredOptions<unknown>>
): Stream.Stream<StructuredEvent<TypeOf<S>, DeepPartial<EncodedOf<S>>>, L0Error, Services<O>>
export function structuredStream<S extends StructuredSchema, R = never>(
  schema: S,
  options: StructuredOptions<R>
): Stream.Stream<StructuredEvent<TypeOf<S>, DeepPartial<EncodedOf<S>>>, L0Error, R>
export function structuredStream<S extends StructuredSchema, R>(
  schema: S,
  options: StructuredOptions<R>
): Stream.Stream<StructuredEvent<TypeOf<S>, DeepPartial<EncodedOf<S>>>, L0Error, R> {
  return preview(schema, options, (complete) => ({ _tag: "Final", value: complete.value.value }))
}

/**
 * Like `structuredStream`, but the `Final` event also carries the metadata
 * that `structuredWithMetadata` returns: the JSON text, whether and how it
 * was repaired, the attempts and the run's result.
 *
 * **Example** (Showing partials, then noting a repaired reply)
 * ```ts
 * yield* L0.structuredStreamWithMetadata(Todo, { stream }).pipe(
 *   Stream.runForEach((event) =>
 *     event._tag === "Final" && event.metadata.repaired
 *       ? Effect.logInfo("repaired", event.metadata.repairs)
 *       : Effect.void)
 * )
 * ```
 * @category structured output
 * @since 0.1.0
 */
export function structuredStreamWithMetadata<S extends StructuredSchema, O extends StructuredOptions<unknown>>(
  schema: S,
  options: Strict<O, StructuredOptions<unknown>>
): Stream.Stream<StructuredMetadataEvent<TypeOf<S>, DeepPartial<EncodedOf<S>>>, L0Error, Services<O>>
export function structuredStreamWithMetadata<S extends StructuredSchema, R = never>(
  schema: S,
  options: StructuredOptions<R>
): Stream.Stream<StructuredMetadataEvent<TypeOf<S>, DeepPartial<EncodedOf<S>>>, L0Error, R>
export function structuredStreamWithMetadata<S extends StructuredSchema, R>(
  schema: S,
  options: StructuredOptions<R>
): Stream.Stream<StructuredMetadataEvent<TypeOf<S>, DeepPartial<EncodedOf<S>>>, L0Error, R> {
  return preview(schema, options, (complete) => {
    const { value, ...metadata } = withMetadata(complete)
    return { _tag: "Final", value, metadata }
  })
}

const preview = <S extends StructuredSchema, F, R>(
  schema: S,
  options: StructuredOptions<R>,
  final: (complete: Completed<Decoded<TypeOf<S>>>) => F
): Stream.Stream<Progress<DeepPartial<EncodedOf<S>>> | F, L0Error, R> =>
  Stream.suspend(() => {
    const prepared = prepare(schema, options)
    if (Result.isFailure(prepared)) return Stream.fail(prepared.failure)
    const state = new Preview(prepared.success, final)
    return streamChecked(options, prepared.success.check, resolveOptions).pipe(
      Stream.mapAccumArray(() => state, (preview, events) => [
        preview,
        // partial values are parsed JSON, not validated: they hold what the schema's encoded form may hold
        preview.receive(events) as ReadonlyArray<Progress<DeepPartial<EncodedOf<S>>> | F>
      ])
    )
  })
