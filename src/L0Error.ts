/**
 * The errors of effect-l0: one tagged error per category, `ExhaustedError`
 * for runs whose sources all failed, and `categorize` / `fromUnknown`, which
 * map anything a provider, SDK or socket throws onto those categories.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import { NodeInspectSymbol } from "effect/Inspectable"
import { hasProperty } from "effect/Predicate"
import type { Violation } from "./Guardrail.js"
import type { L0State } from "./L0State.js"
import { withSafeCause } from "./internal/cause.js"
import * as internal from "./internal/classify.js"
import * as format from "./internal/format.js"
import * as redact from "./internal/redact.js"

/**
 * @category type ids
 * @since 0.1.0
 */
export const TypeId: "~effect-l0/L0Error" = "~effect-l0/L0Error"

/**
 * How an error is handled by the retry policy:
 * - `network`, `transient`: retried without consuming `maxAttempts`
 * - `model`, `content`: retried, consuming `maxAttempts`
 * - `fatal`: never retried on the same source
 *
 * @category models
 * @since 0.1.0
 */
export type ErrorCategory = "network" | "transient" | "model" | "content" | "fatal"

/**
 * Node's `util.inspect`, as Node passes it to an error's custom inspect
 * method (`[NodeInspectSymbol]`), which prints `toString()` and then the cause.
 *
 * @category models
 * @since 0.1.0
 */
export type Inspect = (value: unknown, options?: object) => string

/**
 * Fields shared by every category.
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorFields {
  readonly message: string
  readonly status?: number | undefined
  /** The provider's `Retry-After`, which overrides the computed backoff delay. */
  readonly retryAfter?: Duration.Duration | undefined
  readonly cause?: unknown
}

/**
 * Connection reset or refused, DNS, socket, TLS, EOF and timeouts.
 *
 * @category errors
 * @since 0.1.0
 */
export class NetworkError extends Data.TaggedError("NetworkError")<
  ErrorFields & { readonly reason?: "timeout" | "reset" | "refused" | "dns" | "tls" | "eof" | "socket" | undefined }
> {
  /** A `cause` that cannot be printed safely is replaced by an `Error` describing it. */
  constructor(
    fields: ErrorFields & {
      readonly reason?: "timeout" | "reset" | "refused" | "dns" | "tls" | "eof" | "socket" | undefined
    }
  ) {
    super(withSafeCause(fields))
  }
  readonly [TypeId]: typeof TypeId = TypeId
  readonly category = "network" as const
  /** `NetworkError (details): message` */
  override toString(): string {
    return format.describe(this)
  }
  /** What `util.inspect` and `console.error` print: `toString()`, then the cause. */
  override [NodeInspectSymbol](depth = Infinity, options?: object, inspect?: Inspect): string {
    return format.inspect(this, depth, options, inspect)
  }
}

/**
 * Rate limits (429), server errors (5xx), overload (529, `overloaded_error`).
 *
 * @category errors
 * @since 0.1.0
 */
export class TransientError extends Data.TaggedError("TransientError")<ErrorFields> {
  /** A `cause` that cannot be printed safely is replaced by an `Error` describing it. */
  constructor(
    fields: ErrorFields
  ) {
    super(withSafeCause(fields))
  }
  readonly [TypeId]: typeof TypeId = TypeId
  readonly category = "transient" as const
  /** `TransientError (details): message` */
  override toString(): string {
    return format.describe(this)
  }
  /** What `util.inspect` and `console.error` print: `toString()`, then the cause. */
  override [NodeInspectSymbol](depth = Infinity, options?: object, inspect?: Inspect): string {
    return format.inspect(this, depth, options, inspect)
  }
}

/**
 * Bad model output and failures that fit no other category.
 *
 * @category errors
 * @since 0.1.0
 */
export class ModelError extends Data.TaggedError("ModelError")<ErrorFields> {
  /** A `cause` that cannot be printed safely is replaced by an `Error` describing it. */
  constructor(
    fields: ErrorFields
  ) {
    super(withSafeCause(fields))
  }
  readonly [TypeId]: typeof TypeId = TypeId
  readonly category = "model" as const
  /** `ModelError (details): message` */
  override toString(): string {
    return format.describe(this)
  }
  /** What `util.inspect` and `console.error` print: `toString()`, then the cause. */
  override [NodeInspectSymbol](depth = Infinity, options?: object, inspect?: Inspect): string {
    return format.inspect(this, depth, options, inspect)
  }
}

/**
 * Output that violates a guardrail or a schema.
 *
 * @category errors
 * @since 0.1.0
 */
export class ContentError extends Data.TaggedError("ContentError")<
  ErrorFields & {
    /** The guardrail rule, or `"schema"` for structured output. */
    readonly rule?: string | undefined
    readonly violations?: ReadonlyArray<Violation> | undefined
  }
> {
  /** A `cause` that cannot be printed safely is replaced by an `Error` describing it. */
  constructor(
    fields: ErrorFields & {
      readonly rule?: string | undefined
      readonly violations?: ReadonlyArray<Violation> | undefined
    }
  ) {
    super(withSafeCause(fields))
  }
  readonly [TypeId]: typeof TypeId = TypeId
  readonly category = "content" as const
  /** `ContentError (details): message` */
  override toString(): string {
    return format.describe(this)
  }
  /** What `util.inspect` and `console.error` print: `toString()`, then the cause. */
  override [NodeInspectSymbol](depth = Infinity, options?: object, inspect?: Inspect): string {
    return format.inspect(this, depth, options, inspect)
  }
}

/**
 * Why a `FatalError` happened. `options` and `guardrail` end the whole run;
 * the others only end the current source, so the next fallback is tried.
 * `credentials`: the SDK found no usable API key before sending anything.
 * `checkpoint`: a session to resume could not be read from its `CheckpointStore`
 * (it fails the run before any source is called).
 *
 * @category models
 * @since 0.1.0
 */
export type FatalReason = "options" | "guardrail" | "status" | "protocol" | "aborted" | "credentials" | "checkpoint"

/**
 * Authentication (401, 403), missing credentials, invalid requests (400,
 * 404, 422), invalid options and fatal guardrail violations.
 *
 * @category errors
 * @since 0.1.0
 */
export class FatalError extends Data.TaggedError("FatalError")<
  ErrorFields & {
    readonly reason?: FatalReason | undefined
    /** The fatal guardrail violations, for `reason: "guardrail"`. */
    readonly violations?: ReadonlyArray<Violation> | undefined
  }
> {
  /** A `cause` that cannot be printed safely is replaced by an `Error` describing it. */
  constructor(
    fields: ErrorFields & {
      readonly reason?: FatalReason | undefined
      readonly violations?: ReadonlyArray<Violation> | undefined
    }
  ) {
    super(withSafeCause(fields))
  }
  readonly [TypeId]: typeof TypeId = TypeId
  readonly category = "fatal" as const
  /** `FatalError (details): message` */
  override toString(): string {
    return format.describe(this)
  }
  /** What `util.inspect` and `console.error` print: `toString()`, then the cause. */
  override [NodeInspectSymbol](depth = Infinity, options?: object, inspect?: Inspect): string {
    return format.inspect(this, depth, options, inspect)
  }
}

/**
 * One failed attempt, as listed by `ExhaustedError`.
 *
 * @category models
 * @since 0.1.0
 */
export interface AttemptFailure {
  /** Index of the source: 0 for `stream`, 1 for the first fallback. */
  readonly source: number
  /** 1-based attempt number within that source. */
  readonly attempt: number
  readonly error: CategoryError
  /** The delay waited after this attempt, zero when L0 moved on at once. */
  readonly delay: Duration.Duration
}

/**
 * Ends a run whose sources all failed; `attempts` lists every attempt, and
 * `state` is the run's final state (the text emitted, every violation, the
 * last safe text), with the secrets of `redact` and key-shaped text removed.
 *
 * @category errors
 * @since 0.1.0
 */
export class ExhaustedError extends Data.TaggedError("ExhaustedError")<{
  readonly message: string
  readonly attempts: ReadonlyArray<AttemptFailure>
  /** Set by the runtime; absent on an error built by hand. */
  readonly state?: L0State | undefined
}> {
  readonly [TypeId]: typeof TypeId = TypeId
  /** The category of the last attempt's error. */
  get category(): ErrorCategory {
    return this.attempts.at(-1)?.error.category ?? "fatal"
  }
  /** The last attempt's error. */
  get lastError(): CategoryError | undefined {
    return this.attempts.at(-1)?.error
  }
  /** The message, then one line per attempt: source, attempt, error and the delay waited after it. */
  override toString(): string {
    return format.exhausted(this.message, this.attempts)
  }
  /** What `util.inspect` and `console.error` print: the same as `toString()`. */
  override [NodeInspectSymbol](): string {
    return this.toString()
  }
}

/**
 * The error of one failed attempt, one class per category: the category
 * decides whether and how L0 retries.
 *
 * @category models
 * @since 0.1.0
 */
export type CategoryError = NetworkError | TransientError | ModelError | ContentError | FatalError

/**
 * What an L0 run fails with: the error of the attempt that ended the run, or
 * an `ExhaustedError` listing every failed attempt once retries and
 * fallbacks are spent. Match on `_tag` or read `category`.
 *
 * @category models
 * @since 0.1.0
 */
export type L0Error = CategoryError | ExhaustedError

/**
 * @category guards
 * @since 0.1.0
 */
export const isL0Error = (u: unknown): u is L0Error => {
  try {
    return hasProperty(u, TypeId)
  } catch {
    // a revoked Proxy throws even on `in`
    return false
  }
}

const CATEGORIES: ReadonlySet<unknown> = new Set(["network", "transient", "model", "content", "fatal"])

/** An L0 error whose fields read as they should: a hostile look-alike is classified like any thrown value. */
const isIntact = (u: L0Error): boolean => {
  try {
    return typeof u._tag === "string" && typeof u.message === "string" && CATEGORIES.has(u.category)
  } catch {
    return false
  }
}

/**
 * Maps any thrown value to its category: L0 errors keep theirs; HTTP status,
 * Node and undici error codes, provider error types (in SDK errors and
 * in-band error events) and well-known message patterns decide the rest;
 * anything unknown is a `model` error.
 *
 * **Example** (Classifying SDK and socket errors)
 * ```ts
 * L0Error.categorize({ status: 529 }) // "transient"
 * L0Error.categorize(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })) // "network"
 * L0Error.categorize({ status: 401 }) // "fatal"
 * ```
 * @category classification
 * @since 0.1.0
 */
export const categorize = (u: unknown): ErrorCategory =>
  isL0Error(u) && isIntact(u) ? u.category : internal.classify(u).category

/**
 * Converts any thrown value to the tagged error of its category, keeping
 * status and `Retry-After` and the original value as `cause`. `now` (epoch
 * millis) resolves a `Retry-After` given as an HTTP date.
 *
 * Never throws: a value whose properties throw when read (a revoked `Proxy`,
 * throwing getters) becomes a `ModelError` with a safe message and no
 * `cause`. API keys and bearer tokens are removed from the message and the
 * cause (the cause is then a copy of the original, of the same class).
 *
 * @category classification
 * @since 0.1.0
 */
export const fromUnknown = (u: unknown, now?: number): L0Error => {
  if (isL0Error(u) && isIntact(u)) return u
  const found = internal.classify(u, now)
  const fields = {
    message: found.message,
    status: found.status,
    retryAfter: found.retryAfter,
    cause: found.unreadable ? undefined : redact.value(u, redact.redactSecrets)
  }
  switch (found.category) {
    case "network":
      return new NetworkError({ ...fields, reason: found.networkReason })
    case "transient":
      return new TransientError(fields)
    case "content":
      return new ContentError(fields)
    case "fatal":
      return new FatalError({ ...fields, reason: found.fatalReason })
    case "model":
      return new ModelError(fields)
  }
}

/**
 * Reads `Retry-After` (or `retry-after-ms`) from a `Headers` object or a
 * plain record, relative to `now` (epoch millis). Only the forms of RFC 9110
 * are read: delta-seconds (a non-negative integer) and the HTTP-date forms
 * (IMF-fixdate, RFC 850, asctime); `retry-after-ms` is a non-negative number.
 * Anything else (`-5`, `1.5`, `Retry later 2`) is `undefined`, so the
 * computed backoff applies. Every wait is clamped to five minutes.
 *
 * @category classification
 * @since 0.1.0
 */
export const parseRetryAfter: (headers: unknown, now?: number) => Duration.Duration | undefined =
  internal.retryAfterFromHeaders
