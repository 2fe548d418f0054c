import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import type * as EventBus from "../EventBus.js"
import type { CategoryError, L0Error } from "../L0Error.js"
import { ContentError, ExhaustedError, FatalError, isL0Error, ModelError, NetworkError, TransientError } from "../L0Error.js"

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

const State = Schema.Struct({
  content: Schema.String,
  tokenCount: Schema.Number,
  firstTokenAt: orUndefined(Schema.Number),
  lastTokenAt: orUndefined(Schema.Number),
  attempt: Schema.Number,
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

/** `L0Event`: `Data` values and `usage.raw` are kept as they are and written as JSON. */
export const L0Event = Schema.Union([
  Schema.TaggedStruct("Token", { value: Schema.String }),
  Schema.TaggedStruct("Message", { role: Schema.String, content: Schema.String }),
  Schema.TaggedStruct("Data", { value: orUndefined(Schema.Unknown) }),
  ToolCall,
  Schema.TaggedStruct("Reset", { kept: Schema.Number }),
  Schema.TaggedStruct("Complete", { usage: Schema.optional(Usage), state: State })
])

const eventTypes: { readonly [K in EventBus.EventType]: null } = {
  session_start: null,
  session_end: null,
  stream_start: null,
  stream_token: null,
  stream_complete: null,
  retry_attempt: null,
  retry_exhausted: null,
  fallback_start: null,
  fallback_success: null,
  guardrail_check: null,
  guardrail_violation: null,
  timeout: null,
  reset: null,
  error_network: null,
  error_transient: null,
  error_model: null,
  error_content: null,
  error_fatal: null,
  batch_start: null,
  batch_complete: null,
  tool_call: null,
  stream_progress: null,
  window_start: null,
  window_complete: null
}

export const BusEvent = Schema.Struct({
  type: Schema.Literals(Object.keys(eventTypes) as Array<EventBus.EventType>),
  sessionId: Schema.String,
  streamId: Schema.String,
  timestamp: Schema.Number,
  data: Schema.Record(Schema.String, Schema.Unknown)
})

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

const Transient = Schema.Struct({ _tag: Schema.tag("TransientError"), category: Schema.Literal("transient"), ...common })
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
  reason: Schema.optional(Schema.Literals(["options", "guardrail", "status", "protocol", "aborted", "credentials"])),
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
  category: Schema.Literals(["network", "transient", "model", "content", "fatal"]),
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

export const L0ErrorSchema = Schema.Union([CategoryErrorSchema, Exhausted])

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
