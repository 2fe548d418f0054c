import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import type * as EventBus from "../EventBus.js"
import type { CategoryError, L0Error } from "../L0Error.js"
import {
  ContentError,
  ExhaustedError,
  FatalError,
  isL0Error,
  ModelError,
  NetworkError,
  TransientError
} from "../L0Error.js"

/** The format version written in every log's first line. */
export const VERSION = 1

/** A field whose value may be `undefined`: JSON drops the key, and decoding puts `undefined` back. */
const orUndefined = <S extends Schema.Top>(schema: S) =>
  Schema.UndefinedOr(schema).pipe(Schema.withDecodingDefaultKey(Effect.undefined))

const Violation = Schema.Struct({
  rule: Schema.String,
  message: Schema.String,
  severity: Schema.Literals(["warning", "error", "fatal"])
})

/** A field added to the format after logs were written: a log without it decodes to `value`. */
const since = <S extends Schema.Top>(schema: S, value: S["Type"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const RunViolation = Schema.Struct({
  ...Violation.fields,
  source: since(Schema.Number, 0),
  attempt: since(Schema.Number, 1)
})

const ToolCall = Schema.TaggedStruct("ToolCall", { id: Schema.String, name: Schema.String, arguments: Schema.String })

const Usage = Schema.Struct({
  inputTokens: Schema.optional(Schema.Number),
  outputTokens: Schema.optional(Schema.Number),
  totalTokens: Schema.optional(Schema.Number),
  raw: Schema.optional(Schema.Unknown)
})

/** The fields of `L0State`, in its order, so that a replayed state has the same `JSON.stringify` as the original. */
const stateFields = <T extends Schema.Top>(totalAttempts: T) => ({
  content: Schema.String,
  tokenCount: Schema.Number,
  firstTokenAt: orUndefined(Schema.Number),
  lastTokenAt: orUndefined(Schema.Number),
  attempt: Schema.Number,
  totalAttempts,
  modelRetryCount: Schema.Number,
  networkRetryCount: Schema.Number,
  fallbackIndex: Schema.Number,
  checkpoint: Schema.String,
  finishReason: orUndefined(Schema.String),
  toolCalls: Schema.Array(ToolCall),
  violations: Schema.Array(RunViolation),
  // a log written before these fields held only the states of completed runs
  lastGoodContent: since(Schema.String, ""),
  completed: since(Schema.Boolean, true),
  aborted: since(Schema.Boolean, false)
})

/**
 * A log written before `totalAttempts` counts the attempts from the retry
 * counters: every attempt but the last was retried or fell back.
 */
const State = Schema.Struct(stateFields(Schema.optionalKey(Schema.Number))).pipe(
  Schema.decodeTo(Schema.toType(Schema.Struct(stateFields(Schema.Number))), {
    decode: SchemaGetter.transform((state) => ({
      ...state,
      totalAttempts: state.totalAttempts ?? state.modelRetryCount + state.networkRetryCount + state.fallbackIndex + 1
    })),
    encode: SchemaGetter.transform((state) => state)
  })
)

/** `L0Event`: `Data` values and `usage.raw` are kept as they are and written as JSON. */
export const L0Event = Schema.Union([
  Schema.TaggedStruct("Token", { value: Schema.String }),
  Schema.TaggedStruct("Data", { value: orUndefined(Schema.Unknown) }),
  ToolCall,
  Schema.TaggedStruct("Reset", { kept: Schema.Number }),
  Schema.TaggedStruct("Complete", { usage: Schema.optional(Usage), state: State })
])

const Category = Schema.Literals(["network", "transient", "model", "content", "fatal"])

const GroupOutcome = Schema.Literals(["success", "failure", "interrupted"])

const ErrorData = Schema.Struct({
  source: Schema.Number,
  attempt: Schema.Number,
  tag: Schema.String,
  message: Schema.String,
  status: orUndefined(Schema.Number)
})

/** One bus event type with the fields of its `data`. */
const busEvent = <K extends EventBus.EventType, Data extends Schema.Top>(type: K, data: Data) =>
  Schema.Struct({
    type: Schema.Literal(type),
    sessionId: Schema.String,
    streamId: Schema.String,
    timestamp: Schema.Number,
    data
  })

/**
 * Every bus event type: the log must decode to `EventBus.BusEvent` and encode
 * from it (see `eventLog.ts`), so the compiler keeps this list and the
 * public one in step.
 */
export const BusEvent = Schema.Union([
  busEvent("session_start", Schema.Struct({ sources: Schema.Number })),
  busEvent("session_end", Schema.Struct({ outcome: GroupOutcome, attempts: Schema.Number })),
  busEvent("stream_start", Schema.Struct({ source: Schema.Number, attempt: Schema.Number })),
  busEvent("stream_token", Schema.Struct({ value: Schema.String, index: Schema.Number })),
  busEvent(
    "stream_complete",
    Schema.Struct({
      source: Schema.Number,
      attempt: Schema.Number,
      tokenCount: Schema.Number,
      adapter: orUndefined(Schema.String)
    })
  ),
  busEvent(
    "stream_progress",
    Schema.Struct({
      source: Schema.Number,
      attempt: Schema.Number,
      tokenCount: Schema.Number,
      elapsedMs: Schema.Number,
      tokensPerSecond: orUndefined(Schema.Number)
    })
  ),
  busEvent(
    "retry_attempt",
    Schema.Struct({ source: Schema.Number, attempt: Schema.Number, category: Category, delayMs: Schema.Number })
  ),
  busEvent("retry_exhausted", Schema.Struct({ source: Schema.Number, attempts: Schema.Number, category: Category })),
  busEvent("fallback_start", Schema.Struct({ fallbackIndex: Schema.Number, category: Category })),
  busEvent("fallback_success", Schema.Struct({ fallbackIndex: Schema.Number })),
  busEvent(
    "guardrail_check",
    Schema.Struct({ completed: Schema.Boolean, tokenCount: Schema.Number, violations: Schema.Number })
  ),
  busEvent("guardrail_violation", Violation),
  busEvent("timeout", Schema.Struct({ phase: Schema.Literals(["initial", "inter"]), limitMs: Schema.Number })),
  busEvent("reset", Schema.Struct({ kept: Schema.Number })),
  busEvent("error_network", ErrorData),
  busEvent("error_transient", ErrorData),
  busEvent("error_model", ErrorData),
  busEvent("error_content", ErrorData),
  busEvent("error_fatal", ErrorData),
  busEvent("batch_start", Schema.Struct({ batch: Schema.Number, batches: Schema.Number, size: Schema.Number })),
  busEvent(
    "batch_complete",
    Schema.Struct({
      batch: Schema.Number,
      batches: Schema.Number,
      size: Schema.Number,
      outcome: GroupOutcome,
      succeeded: Schema.Number,
      failed: Schema.Number,
      completed: Schema.Number,
      total: Schema.Number
    })
  ),
  busEvent("tool_call", Schema.Struct({ id: Schema.String, name: Schema.String, arguments: Schema.String })),
  busEvent("window_start", Schema.Struct({ index: Schema.Number, total: Schema.Number })),
  busEvent(
    "window_complete",
    Schema.Struct({ index: Schema.Number, total: Schema.Number, outcome: GroupOutcome, completed: Schema.Number })
  ),
  busEvent("checkpoint_saved", Schema.Struct({ length: Schema.Number, seq: Schema.Number })),
  busEvent("checkpoint_restored", Schema.Struct({ length: Schema.Number, seq: Schema.Number })),
  busEvent("circuit_open", Schema.Struct({ source: Schema.Number, key: Schema.String, retryAfterMs: Schema.Number })),
  busEvent(
    "rate_limited",
    Schema.Struct({
      source: Schema.Number,
      key: Schema.String,
      retryAfterMs: Schema.Number,
      action: Schema.Literals(["wait", "fallback"])
    })
  )
])

const common = {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  retryAfter: Schema.optional(Schema.DurationFromMillis)
}

/** Recognizes an error class by its brand and tag, so that copies of the package agree. */
const errorOf = <E extends L0Error>(tag: E["_tag"]) => Schema.declare((u): u is E => isL0Error(u) && u._tag === tag)

/** The fields every category shares; `cause` is never written, as it may hold a request or a key. */
const base = (error: CategoryError) => ({ message: error.message, status: error.status, retryAfter: error.retryAfter })

const Network = Schema.Struct({
  _tag: Schema.tag("NetworkError"),
  category: Schema.Literal("network"),
  ...common,
  reason: Schema.optional(Schema.Literals(["timeout", "reset", "refused", "dns", "tls", "eof", "socket"]))
}).pipe(Schema.decodeTo(errorOf<NetworkError>("NetworkError"), {
  decode: SchemaGetter.transform(({ _tag, category, ...fields }) => new NetworkError(fields)),
  encode: SchemaGetter.transform((e) => ({ _tag: e._tag, category: e.category, ...base(e), reason: e.reason }))
}))

const Transient = Schema.Struct({
  _tag: Schema.tag("TransientError"),
  category: Schema.Literal("transient"),
  ...common
})
  .pipe(Schema.decodeTo(errorOf<TransientError>("TransientError"), {
    decode: SchemaGetter.transform(({ _tag, category, ...fields }) => new TransientError(fields)),
    encode: SchemaGetter.transform((e) => ({ _tag: e._tag, category: e.category, ...base(e) }))
  }))

const Model = Schema.Struct({ _tag: Schema.tag("ModelError"), category: Schema.Literal("model"), ...common })
  .pipe(Schema.decodeTo(errorOf<ModelError>("ModelError"), {
    decode: SchemaGetter.transform(({ _tag, category, ...fields }) => new ModelError(fields)),
    encode: SchemaGetter.transform((e) => ({ _tag: e._tag, category: e.category, ...base(e) }))
  }))

const Content = Schema.Struct({
  _tag: Schema.tag("ContentError"),
  category: Schema.Literal("content"),
  ...common,
  rule: Schema.optional(Schema.String),
  violations: Schema.optional(Schema.Array(Violation))
}).pipe(Schema.decodeTo(errorOf<ContentError>("ContentError"), {
  decode: SchemaGetter.transform(({ _tag, category, ...fields }) => new ContentError(fields)),
  encode: SchemaGetter.transform((e) => ({
    _tag: e._tag,
    category: e.category,
    ...base(e),
    rule: e.rule,
    violations: e.violations
  }))
}))

const Fatal = Schema.Struct({
  _tag: Schema.tag("FatalError"),
  category: Schema.Literal("fatal"),
  ...common,
  reason: Schema.optional(
    Schema.Literals(["options", "guardrail", "status", "protocol", "aborted", "credentials", "checkpoint"])
  ),
  violations: Schema.optional(Schema.Array(Violation))
}).pipe(Schema.decodeTo(errorOf<FatalError>("FatalError"), {
  decode: SchemaGetter.transform(({ _tag, category, ...fields }) => new FatalError(fields)),
  encode: SchemaGetter.transform((e) => ({
    _tag: e._tag,
    category: e.category,
    ...base(e),
    reason: e.reason,
    violations: e.violations
  }))
}))

const CategoryErrorSchema = Schema.Union([Network, Transient, Model, Content, Fatal])

const Attempt = Schema.Struct({
  source: Schema.Number,
  attempt: Schema.Number,
  error: CategoryErrorSchema,
  delay: Schema.DurationFromMillis
})

const Exhausted = Schema.Struct({
  _tag: Schema.tag("ExhaustedError"),
  category: Category,
  message: Schema.String,
  attempts: Schema.Array(Attempt),
  state: Schema.optional(State)
}).pipe(
  Schema.decodeTo(errorOf<ExhaustedError>("ExhaustedError"), {
    // the category is derived from the last attempt: it is written for readers, not read back
    decode: SchemaGetter.transform(({ attempts, message, state }) => new ExhaustedError({ message, attempts, state })),
    encode: SchemaGetter.transform((e) => ({
      _tag: e._tag,
      category: e.category,
      message: e.message,
      attempts: e.attempts,
      state: e.state
    }))
  })
)

const L0ErrorSchema = Schema.Union([CategoryErrorSchema, Exhausted])

const Outcome = Schema.Union([
  Schema.TaggedStruct("Success", {}),
  Schema.TaggedStruct("Failure", { error: L0ErrorSchema }),
  Schema.TaggedStruct("Interrupted", {}),
  Schema.TaggedStruct("Defect", {})
])

/** One line of a log. */
export const Entry = Schema.Union([
  Schema.TaggedStruct("Start", { at: Schema.Number, version: Schema.Literal(VERSION) }),
  Schema.TaggedStruct("Event", { at: Schema.Number, event: L0Event }),
  Schema.TaggedStruct("Bus", { at: Schema.Number, event: BusEvent }),
  Schema.TaggedStruct("End", { at: Schema.Number, outcome: Outcome })
])

export type Entry = typeof Entry.Type
