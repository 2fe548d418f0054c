import * as Predicate from "effect/Predicate"
import type * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type * as Adapter from "../Adapter.js"
import type { GuardrailRule } from "../Guardrail.js"
import { isGuardrailRule } from "../Guardrail.js"
import type { CategoryError, FatalError } from "../L0Error.js"
import type { BackoffName } from "../Retry.js"
import { strategies } from "./backoff.js"
import * as Timeout from "./timeout.js"
import * as Continuation from "./continuation.js"
import { isRecord } from "./decode.js"
import * as Durable from "./durable.js"
import { refusalOf } from "./guardrails/refusal.js"
import type { Renames } from "./optionSchema.js"
import {
  ClosedStruct,
  DurationInput,
  decoder,
  Fn,
  guarded,
  IntAtLeast,
  meant,
  renamedInL0,
  Secret,
  withDefault
} from "./optionSchema.js"
import * as RetryBudget from "./retry.js"
import type { SourceFactory } from "./l0Types.js"

/** Options after validation, with defaults applied. */
export interface Resolved<Factory> {
  readonly sources: ReadonlyArray<Factory>
  readonly guardrails: ReadonlyArray<GuardrailRule>
  readonly checkInterval: number
  readonly progressInterval: number
  readonly retry: RetryBudget.Settings
  readonly limits: Timeout.Limits
  readonly adapter: Adapter.Adapter | string | undefined
  readonly allowEmpty: boolean
  /** `undefined` when continuation is off. */
  readonly continuation: Continuation.Settings | undefined
  /** The secrets to remove from every error and event of the run. */
  readonly redact: ReadonlyArray<string | Redacted.Redacted<string>>
  /** A run with a `sessionId`: where and how its checkpoints are kept. */
  readonly durable: Durable.Settings | undefined
}

const isAdapter = (u: unknown): u is Adapter.Adapter =>
  isRecord(u) && Predicate.isString(u.name) && Predicate.isFunction(u.detect) && Predicate.isFunction(u.make)

const ScheduleSchema = guarded(
  (u): u is Schedule.Schedule<unknown, CategoryError> => Schedule.isSchedule(u),
  "a Schedule"
)

const BackoffName = Schema.Literals(Object.keys(strategies) as ReadonlyArray<BackoffName>)

const RetryOptions = ClosedStruct(
  {
    maxAttempts: withDefault(IntAtLeast(1), RetryBudget.defaults.maxAttempts),
    // Infinity: network and transient errors retry without end, as the L0 specification has it
    maxRetries: withDefault(
      guarded(
        (u): u is number => u === Infinity || (Number.isInteger(u) && (u as number) >= 0),
        "an integer ≥ 0 or Infinity"
      ),
      RetryBudget.defaults.maxRetries
    ),
    baseDelay: withDefault(DurationInput(false), RetryBudget.defaults.baseDelay),
    maxDelay: withDefault(DurationInput(false), RetryBudget.defaults.maxDelay),
    backoff: withDefault(
      Schema.Union([BackoffName, ScheduleSchema]).annotate({
        expected: `one of ${BackoffName.literals.map((name) => JSON.stringify(name)).join(", ")} or a Schedule`
      }),
      RetryBudget.defaults.backoff
    )
  },
  "retry options",
  {
    attempts: renamedInL0(`"maxAttempts"`),
    retryOn: renamedInL0("the category of each error decides whether it retries")
  }
)

const TimeoutOptions = ClosedStruct(
  {
    initialToken: Schema.optional(DurationInput(true)),
    interToken: Schema.optional(DurationInput(true))
  },
  "{ initialToken?, interToken? }",
  {
    firstToken: meant("initialToken"),
    firstTokenTimeout: meant("initialToken"),
    interTokenTimeout: meant("interToken"),
    total: "a whole run is bounded with Effect.timeout"
  }
)

const Deduplicate = ClosedStruct({
  minOverlap: withDefault(IntAtLeast(1), Continuation.DEFAULT_MIN_OVERLAP),
  maxOverlap: withDefault(IntAtLeast(1), Continuation.DEFAULT_MAX_OVERLAP),
  boundary: withDefault(Schema.Literals(["grapheme", "word", "line"]), Continuation.DEFAULT_BOUNDARY)
}, "{ minOverlap?, maxOverlap?, boundary? }").pipe(
  Schema.check(Schema.makeFilter(({ maxOverlap, minOverlap }) =>
    maxOverlap >= minOverlap ||
    new SchemaIssue.Pointer(
      ["maxOverlap"],
      new SchemaIssue.InvalidValue({ expected: `an integer ≥ minOverlap (${minOverlap})` }, maxOverlap, {
        reportInput: true
      })
    )
  ))
)

const ContinuationOptions = ClosedStruct({
  deduplicate: withDefault(
    Schema.Union([Schema.Boolean, Deduplicate]).annotate({
      expected: "a boolean or { minOverlap?, maxOverlap?, boundary? }"
    }),
    false
  ),
  trailingWhitespace: withDefault(Schema.Literals(["sent", "dropped"]), "sent")
}, "{ deduplicate?, trailingWhitespace? }")

/** Options of the original L0 library that effect-l0 has under another name, or elsewhere. */
const L0_RENAMES: Renames = {
  fallbackStreams: renamedInL0(`"fallbacks"`),
  retries: meant("retry"),
  checkIntervals: renamedInL0(`"checkInterval"`),
  continueFromLastKnownGoodToken: renamedInL0(`"continuation"`),
  deduplicateContinuation: renamedInL0(`"continuation: { deduplicate: true }"`),
  detectDrift: renamedInL0(`"guardrails: Guardrails.drift()"`),
  detectZeroTokens: renamedInL0(`empty answers retry by default ("allowEmpty" accepts them)`),
  signal: renamedInL0("L0Async takes { signal } as its second argument; an Effect is interrupted"),
  onEvent: renamedInL0("EventBus.layer(handler)"),
  ...Object.fromEntries(
    ["onToken", "onRetry", "onFallback", "onReset", "onViolation", "onComplete", "onError"].map((name) => [
      name,
      renamedInL0(`L0Async takes { ${name} } as its second argument, or L0Async.layer({ ${name} })`)
    ])
  )
}

/**
 * `L0Options`, described once: what each option accepts and its default.
 * `stream` is the only required one.
 */
const l0Fields = {
  stream: Fn<SourceFactory>("a function returning the provider stream"),
  fallbacks: withDefault(Schema.Array(Fn<SourceFactory>("a function returning the provider stream")), []),
  guardrails: withDefault(Schema.Array(guarded(isGuardrailRule, "a guardrail rule (Guardrail.make)")), []),
  checkInterval: withDefault(IntAtLeast(1), 10),
  progressInterval: withDefault(IntAtLeast(1), 100),
  retry: Schema.optional(
    Schema.Union([ScheduleSchema, RetryOptions]).annotate({ expected: "retry options or a Schedule" })
  ),
  timeout: Schema.optional(TimeoutOptions),
  adapter: Schema.optional(
    Schema.Union([Schema.String, guarded(isAdapter, "an adapter")]).annotate({
      expected: "an adapter or an adapter name"
    })
  ),
  allowEmpty: withDefault(Schema.Boolean, false),
  continuation: withDefault(
    Schema.Union([Schema.Boolean, ContinuationOptions]).annotate({
      expected: "a boolean or { deduplicate?, trailingWhitespace? }"
    }),
    false
  ),
  redact: withDefault(Schema.Array(Secret), []),
  ...Durable.fields
}

/** The options of a run, closed: `extra` are the keys of the function that runs it (`autoCorrect`…), checked there. */
const l0Options = <const Extra extends ReadonlyArray<string>>(extra: Extra) =>
  ClosedStruct(
    {
      ...l0Fields,
      ...Object.fromEntries(extra.map((key) => [key, Schema.optional(Schema.Unknown)])) as {
        readonly [K in Extra[number]]: Schema.optional<Schema.Unknown>
      }
    },
    "an options object",
    L0_RENAMES
  )

const L0OptionsSchema = l0Options([])

/**
 * The names of the options of a run, for wrappers that take them beside
 * their own and must refuse a misspelt one.
 *
 * @internal
 */
export const optionNames: ReadonlyArray<string> = Object.keys(l0Fields)

const continuationSettings = (
  decoded: typeof L0OptionsSchema.Type["continuation"]
): Continuation.Settings | undefined => {
  if (decoded === false) return undefined
  if (decoded === true) return Continuation.exact
  const { deduplicate, trailingWhitespace } = decoded
  return deduplicate === false && trailingWhitespace === "sent"
    ? Continuation.exact
    : {
      deduplicate: deduplicate === false ? undefined : deduplicate === true ? defaultDeduplication : deduplicate,
      trailingWhitespace
    }
}

const defaultDeduplication: Continuation.Deduplication = {
  minOverlap: Continuation.DEFAULT_MIN_OVERLAP,
  maxOverlap: Continuation.DEFAULT_MAX_OVERLAP,
  boundary: Continuation.DEFAULT_BOUNDARY
}

/** Schedules and limits are immutable descriptions: the defaults are built once, not per run. */
const defaultRetry = RetryBudget.settings({})
const defaultLimits = Timeout.limits(undefined)

const resolved = <Factory>(
  o: typeof L0OptionsSchema.Type,
  durable: Durable.Settings | undefined
): Resolved<Factory> => ({
  sources: [o.stream as Factory, ...(o.fallbacks as ReadonlyArray<Factory>)],
  guardrails: o.guardrails,
  checkInterval: o.checkInterval,
  progressInterval: o.progressInterval,
  retry: o.retry === undefined ? defaultRetry : RetryBudget.settings(o.retry),
  limits: o.timeout === undefined ? defaultLimits : Timeout.limits(o.timeout),
  adapter: o.adapter,
  allowEmpty: o.allowEmpty,
  continuation: continuationSettings(o.continuation),
  redact: o.redact,
  durable
})

/**
 * Validates user options once per run, before any source is called. Nothing
 * throws: a bad option, or a key no option has, becomes a `FatalError` that
 * names it.
 *
 * @internal
 */
export type Resolve = <Factory>(options: unknown) => Result.Result<Resolved<Factory>, FatalError>

/**
 * The `Resolve` of a function whose options are a run's and its own `extra`
 * keys (decoded by that function).
 *
 * @internal
 */
export const resolveWith = (extra: ReadonlyArray<string>): Resolve => {
  // the extra keys decode as `unknown` and are dropped here: the run reads its own options only
  const decode = decoder(extra.length === 0 ? L0OptionsSchema : l0Options(extra) as unknown as typeof L0OptionsSchema)
  return <Factory>(options: unknown) =>
    Result.flatMap(decode(options), (o) => {
      const refused = o.guardrails.map(refusalOf).find((error) => error !== undefined)
      if (refused !== undefined) return Result.fail(refused)
      return Result.map(Durable.settings(o), (durable) => resolved<Factory>(o, durable))
    })
}

/** @internal */
export const resolve: Resolve = resolveWith([])
