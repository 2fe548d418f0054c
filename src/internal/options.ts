import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Adapter from "../Adapter.js"
import type { GuardrailRule } from "../Guardrail.js"
import { isGuardrailRule } from "../Guardrail.js"
import { FatalError } from "../L0Error.js"
import * as Retry from "../Retry.js"
import * as Timeout from "./timeout.js"
import * as Continuation from "./continuation.js"
import { isRecord } from "./decode.js"
import * as RetryBudget from "./retry.js"

/** Options after validation, with defaults applied. */
export interface Resolved<Factory> {
  readonly sources: ReadonlyArray<Factory>
  readonly guardrails: ReadonlyArray<GuardrailRule>
  readonly checkInterval: number
  readonly progressInterval: number
  readonly retry: RetryBudget.Settings
  readonly limits: Timeout.Limits
  readonly adapter: Adapter.Adapter | string | undefined
  /** `undefined` when continuation is off. */
  readonly continuation: Continuation.Settings | undefined
  /** The secrets to remove from every error and event of the run. */
  readonly redact: ReadonlyArray<string | Redacted.Redacted<string>>
}

class Invalid {
  constructor(readonly option: string, readonly expected: string, readonly got: unknown) {}
}

/** What an option holding secrets got, described without its content. */
class Hidden {
  constructor(readonly shape: string) {}
}

const kindOf = (u: unknown): string =>
  u === ""
    ? "an empty string"
    : Array.isArray(u)
    ? "an array"
    : u === null
    ? "null"
    : typeof u === "object" || typeof u === "undefined"
    ? `an ${typeof u}`
    : `a ${typeof u}`

const secretsShape = (u: unknown): string => {
  if (!Array.isArray(u)) return kindOf(u)
  const bad = u.findIndex((entry) => !isSecret(entry))
  return `an array whose entry ${bad} is ${kindOf(u[bad])}`
}

const shown = (u: unknown): string =>
  u instanceof Hidden
    ? u.shape
    : typeof u === "string"
    ? JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u)
    : typeof u === "number" || typeof u === "boolean" || u === undefined || u === null
    ? String(u)
    : typeof u === "function"
    ? "a function"
    : Array.isArray(u)
    ? "an array"
    : `a ${typeof u}`

/** @internal */
export { isRecord }

const check = (ok: boolean, option: string, expected: string, got: unknown): void => {
  if (!ok) throw new Invalid(option, expected, got)
}

const integer = (u: unknown, option: string, min: number, fallback: number): number => {
  if (u === undefined) return fallback
  check(typeof u === "number" && Number.isInteger(u) && u >= min, option, `an integer ≥ ${min}`, u)
  return u as number
}

/** `NaN` anywhere in a duration input: `Duration.fromInput` would silently read it as zero. */
const hasNaN = (u: unknown): boolean =>
  typeof u === "number"
    ? Number.isNaN(u)
    : Array.isArray(u) || isRecord(u)
    ? Object.values(u).some((part) => typeof part === "number" && Number.isNaN(part))
    : false

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

const duration = (u: unknown, option: string, positive: boolean): void => {
  if (u === undefined) return
  const millis = durationMillis(u)
  check(
    positive ? millis > 0 : millis >= 0,
    option,
    positive ? "a positive duration" : "a duration ≥ 0",
    u
  )
}

const isSecret = (u: unknown): boolean =>
  (typeof u === "string" && u.length > 0) || (Redacted.isRedacted(u) && typeof Redacted.value(u) === "string")

const isAdapter = (u: unknown): u is Adapter.Adapter =>
  isRecord(u) && typeof u.name === "string" && typeof u.detect === "function" && typeof u.make === "function"

const retryOptions = (u: unknown): Retry.RetryInput => {
  if (u === undefined || Schedule.isSchedule(u)) return (u ?? {}) as Retry.RetryInput
  check(isRecord(u), "retry", "retry options or a Schedule", u)
  const options = u as Record<string, unknown>
  integer(options.maxAttempts, "retry.maxAttempts", 1, 0)
  check(
    options.maxRetries === undefined || options.maxRetries === Infinity ||
      typeof options.maxRetries === "number" && Number.isInteger(options.maxRetries) && options.maxRetries >= 0,
    "retry.maxRetries",
    "an integer ≥ 0 or Infinity",
    options.maxRetries
  )
  duration(options.baseDelay, "retry.baseDelay", false)
  duration(options.maxDelay, "retry.maxDelay", false)
  check(
    options.backoff === undefined || Retry.isBackoffName(options.backoff) || Schedule.isSchedule(options.backoff),
    "retry.backoff",
    `one of ${Object.keys(Retry.strategies).map((name) => `"${name}"`).join(", ")} or a Schedule`,
    options.backoff
  )
  return options as Retry.RetryOptions
}

/** Rejects keys outside `known`, so a misspelt option is not silently ignored. */
const onlyKeys = (o: Record<string, unknown>, option: string, known: ReadonlyArray<string>): void => {
  for (const key of Object.keys(o)) {
    check(known.includes(key), option, `only the keys ${known.join(", ")}`, key)
  }
}

const BOUNDARIES: ReadonlyArray<unknown> = ["grapheme", "word", "line"]

const deduplication = (u: unknown): Continuation.Deduplication | undefined => {
  if (u === undefined || u === false) return undefined
  const option = "continuation.deduplicate"
  check(u === true || isRecord(u), option, "a boolean or { minOverlap?, maxOverlap?, boundary? }", u)
  const o = (u === true ? {} : u) as Record<string, unknown>
  onlyKeys(o, option, ["minOverlap", "maxOverlap", "boundary"])
  const minOverlap = integer(o.minOverlap, `${option}.minOverlap`, 1, Continuation.DEFAULT_MIN_OVERLAP)
  const maxOverlap = integer(o.maxOverlap, `${option}.maxOverlap`, minOverlap, Continuation.DEFAULT_MAX_OVERLAP)
  check(
    o.boundary === undefined || BOUNDARIES.includes(o.boundary),
    `${option}.boundary`,
    `one of ${BOUNDARIES.map((b) => `"${b}"`).join(", ")}`,
    o.boundary
  )
  return { minOverlap, maxOverlap, boundary: (o.boundary ?? Continuation.DEFAULT_BOUNDARY) as Continuation.Boundary }
}

const continuation = (u: unknown): Continuation.Settings | undefined => {
  if (u === undefined || u === false) return undefined
  if (u === true) return Continuation.exact
  check(isRecord(u), "continuation", "a boolean or { deduplicate?, trailingWhitespace? }", u)
  const o = u as Record<string, unknown>
  onlyKeys(o, "continuation", ["deduplicate", "trailingWhitespace"])
  check(
    o.trailingWhitespace === undefined || o.trailingWhitespace === "sent" || o.trailingWhitespace === "dropped",
    "continuation.trailingWhitespace",
    "\"sent\" or \"dropped\"",
    o.trailingWhitespace
  )
  const deduplicate = deduplication(o.deduplicate)
  const trailingWhitespace = o.trailingWhitespace === "dropped" ? "dropped" : "sent"
  return deduplicate === undefined && trailingWhitespace === "sent"
    ? Continuation.exact
    : { deduplicate, trailingWhitespace }
}

/** Schedules and limits are immutable descriptions: the defaults are built once, not per run. */
const defaultRetry = RetryBudget.settings({}, Retry.strategies)
const defaultLimits = Timeout.limits(undefined)

const resolveUnsafe = <Factory>(options: unknown): Resolved<Factory> => {
  check(isRecord(options), "options", "an options object", options)
  const o = options as Record<string, unknown>
  check(typeof o.stream === "function", "stream", "a function returning the provider stream", o.stream)
  const fallbacks = o.fallbacks ?? []
  check(Array.isArray(fallbacks), "fallbacks", "an array of functions", fallbacks)
  ;(fallbacks as Array<unknown>).forEach((fallback, i) =>
    check(typeof fallback === "function", `fallbacks[${i}]`, "a function returning the provider stream", fallback)
  )
  const guardrails = o.guardrails ?? []
  check(Array.isArray(guardrails), "guardrails", "an array of guardrail rules", guardrails)
  ;(guardrails as Array<unknown>).forEach((rule, i) =>
    check(isGuardrailRule(rule), `guardrails[${i}]`, "a guardrail rule (Guardrail.make)", rule)
  )
  const checkInterval = integer(o.checkInterval, "checkInterval", 1, 10)
  const progressInterval = integer(o.progressInterval, "progressInterval", 1, 100)
  const retry = retryOptions(o.retry)
  check(o.timeout === undefined || isRecord(o.timeout), "timeout", "{ initialToken?, interToken? }", o.timeout)
  const timeout = o.timeout as Timeout.TimeoutOptions | undefined
  duration(timeout?.initialToken, "timeout.initialToken", true)
  duration(timeout?.interToken, "timeout.interToken", true)
  check(
    o.adapter === undefined || typeof o.adapter === "string" || isAdapter(o.adapter),
    "adapter",
    "an adapter or an adapter name",
    o.adapter
  )
  const continued = continuation(o.continuation)
  const redact = o.redact ?? []
  if (!(Array.isArray(redact) && redact.every(isSecret))) {
    throw new Invalid("redact", "an array of secrets (non-empty strings or Redacted strings)", new Hidden(secretsShape(redact)))
  }
  return {
    sources: [o.stream as Factory, ...(fallbacks as Array<Factory>)],
    guardrails: guardrails as Array<GuardrailRule>,
    checkInterval,
    progressInterval,
    retry: o.retry === undefined ? defaultRetry : RetryBudget.settings(retry, Retry.strategies),
    limits: timeout === undefined ? defaultLimits : Timeout.limits(timeout),
    adapter: o.adapter as Adapter.Adapter | string | undefined,
    continuation: continued,
    redact: redact as ReadonlyArray<string | Redacted.Redacted<string>>
  }
}

/**
 * Validates user options. Nothing throws: a bad option becomes a
 * `FatalError` that names it.
 *
 * @internal
 */
export const resolve = <Factory>(options: unknown): Result.Result<Resolved<Factory>, FatalError> => {
  try {
    return Result.succeed(resolveUnsafe<Factory>(options))
  } catch (error) {
    if (!(error instanceof Invalid)) throw error
    return Result.fail(invalidOption(error.option, error.expected, error.got))
  }
}

/**
 * The error of an invalid option: names the option, what it expects and what it got.
 *
 * @internal
 */
export const invalidOption = (option: string, expected: string, got: unknown): FatalError =>
  new FatalError({ reason: "options", message: `Invalid option "${option}": expected ${expected}, got ${shown(got)}` })
