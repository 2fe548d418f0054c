import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import type { ErrorCategory, FatalReason } from "../L0Error.js"
import { describe } from "./describe.js"
import { redactSecrets } from "./redact.js"
import * as RetryAfter from "./retryAfter.js"

/** @internal */
interface Classified {
  readonly category: ErrorCategory
  readonly message: string
  readonly status: number | undefined
  readonly retryAfter: Duration.Duration | undefined
  readonly networkReason: "timeout" | "reset" | "refused" | "dns" | "tls" | "eof" | "socket" | undefined
  /** For `fatal`: aborted by a signal, missing credentials, or (the default) the status or error type. */
  readonly fatalReason: Extract<FatalReason, "aborted" | "credentials" | "status">
  /** Reading the value threw somewhere: it must not be kept (and later printed) as a cause. */
  readonly unreadable: boolean
}

type NetworkReason = NonNullable<Classified["networkReason"]>

const NETWORK_CODES: ReadonlyMap<string, NetworkReason> = new Map([
  ["ECONNRESET", "reset"],
  ["ECONNABORTED", "reset"],
  ["EPIPE", "reset"],
  ["ECONNREFUSED", "refused"],
  ["ETIMEDOUT", "timeout"],
  ["ESOCKETTIMEDOUT", "timeout"],
  ["UND_ERR_CONNECT_TIMEOUT", "timeout"],
  ["UND_ERR_HEADERS_TIMEOUT", "timeout"],
  ["UND_ERR_BODY_TIMEOUT", "timeout"],
  ["ENOTFOUND", "dns"],
  ["EAI_AGAIN", "dns"],
  ["EHOSTUNREACH", "socket"],
  ["ENETUNREACH", "socket"],
  ["ENETDOWN", "socket"],
  ["UND_ERR_SOCKET", "socket"],
  ["UND_ERR_CLOSED", "socket"],
  ["ERR_STREAM_PREMATURE_CLOSE", "eof"]
])

/** A code named in a message that carries no `code` field: "read ECONNRESET", "getaddrinfo ENOTFOUND api.example.com". */
const CODE_IN_MESSAGE = new RegExp(`\\b(?:${[...NETWORK_CODES.keys()].join("|")})\\b`, "i")

/**
 * The wordings of Node, undici, browsers, Python and the SDKs, lowercased,
 * words in any order the phrases allow ("connection to host was refused",
 * "host 10.0.0.1 is unreachable"). They are read in the message before any
 * JSON body only (see `proseOf`).
 */
const NETWORK_PATTERNS: ReadonlyArray<readonly [RegExp, NetworkReason]> = [
  [
    /\bconnection\b.{0,40}?\b(?:reset|closed|aborted|lost|dropped)\b|reset by peer|socket hang up|other side closed|\bbroken\b.{0,20}?\bpipe\b|\bpipe broken|err_connection_(?:reset|closed|aborted)/,
    "reset"
  ],
  [/\bconnection\b.{0,40}?\brefused\b|err_connection_refused/, "refused"],
  [
    /\bssl(?:error|\b.{0,80}?\berror)|\bssl (?:handshake|routines)|\btls\b.{0,40}?\b(?:error|handshake|alert)|secure tls connection|certificate|err_ssl_|err_cert_/,
    "tls"
  ],
  [/\btime[ -]?out\b|\btimed out\b|deadline exceeded|err_timed_out|err_connection_timed_out/, "timeout"],
  [
    /\bdns\b.{0,40}?\bfail|name resolution|getaddrinfo|could not resolve host|name or service not known|nodename nor servname|host not found|err_name_not_resolved/,
    "dns"
  ],
  [/eof occurred|unexpected eof|premature close/, "eof"],
  [
    /\bsocket\b.{0,80}?\berror|\bsocket (?:is |was |has been )?closed|\bnetwork (?:is )?unreachable|\bhost\b.{0,60}?\bunreachable|network error|networkerror when attempting to fetch|fetch failed|failed to fetch|network request failed|^(?:typeerror: )?load failed\.?$|^connection error|err_internet_disconnected|err_network_changed/,
    "socket"
  ]
]

/**
 * The part of a lowercased message that may name a network failure: the text
 * before a JSON body. A provider echoing a request field (`{"timeout": 30}`)
 * or a model's output quoted in an error is not a network failure.
 */
const proseOf = (lower: string): string => {
  const body = lower.indexOf("{")
  return body === -1 ? lower : lower.slice(0, body)
}

const TRANSIENT_PATTERN =
  /\brate[\s_-]?limit|\brate\b.{0,40}?\blimit|overloaded|too many requests|service unavailable|server error/

/** What the SDKs throw before any request when they have no usable credentials (openai, @anthropic-ai/sdk). */
const CREDENTIALS_PATTERN =
  /could not resolve authentication method|missing credentials|api_key environment variable is missing/

/** Provider error types and codes (Anthropic `error.type`, OpenAI `code`). */
const PROVIDER_TYPES: ReadonlyMap<string, ErrorCategory> = new Map([
  ["overloaded_error", "transient"],
  ["api_error", "transient"],
  ["rate_limit_error", "transient"],
  ["rate_limit_exceeded", "transient"],
  ["server_error", "transient"],
  ["service_unavailable", "transient"],
  ["invalid_request_error", "fatal"],
  ["authentication_error", "fatal"],
  ["permission_error", "fatal"],
  ["not_found_error", "fatal"],
  ["request_too_large", "fatal"],
  ["billing_error", "fatal"],
  // a 429 that waiting will not fix
  ["insufficient_quota", "fatal"],
  ["invalid_api_key", "fatal"],
  ["context_length_exceeded", "fatal"],
  ["model_not_found", "fatal"]
])

/**
 * The category of each `reason` of `effect/ai`'s `AiError`. `UnknownError`
 * is absent: its status, if any, decides like any other error's.
 */
const AI_REASONS: ReadonlyMap<unknown, ErrorCategory> = new Map<string, ErrorCategory>([
  ["RateLimitError", "transient"],
  ["InternalProviderError", "transient"],
  ["NetworkError", "network"],
  ["AuthenticationError", "fatal"],
  ["QuotaExhaustedError", "fatal"],
  ["InvalidRequestError", "fatal"],
  ["UnsupportedSchemaError", "fatal"],
  ["InvalidToolResultError", "fatal"],
  ["ToolResultEncodingError", "fatal"],
  ["ToolConfigurationError", "fatal"],
  ["ToolkitRequiredError", "fatal"],
  ["InvalidUserInputError", "fatal"],
  ["ContentPolicyError", "content"],
  ["InvalidResponseError", "model"],
  ["InvalidOutputError", "model"],
  ["StructuredOutputError", "model"],
  ["ToolNotFoundError", "model"],
  ["ToolParameterValidationError", "model"]
])

/** The brand of `effect/ai`'s `AiError`, read as a key so that another copy of `effect` is recognized too. */
const AI_ERROR = "~effect/ai/AiError"

const stringOf = (u: unknown): string | undefined => typeof u === "string" ? u : undefined

/**
 * Reads the properties of a thrown value without ever throwing: a getter
 * that throws, or a revoked Proxy, reads as `undefined` and marks the value
 * unreadable, so that it is not kept as a cause to be printed later.
 */
class Reader {
  unreadable = false

  get(u: unknown, key: PropertyKey): unknown {
    if (!Predicate.isObjectOrArray(u) && typeof u !== "function") return undefined
    try {
      return (u as Record<PropertyKey, unknown>)[key]
    } catch {
      this.unreadable = true
      return undefined
    }
  }

  /** The nested object at `key`, if there is one. */
  record(u: unknown, key: PropertyKey): object | undefined {
    const value = this.get(u, key)
    return Predicate.isObjectOrArray(value) ? value : undefined
  }

  string(u: unknown, key: PropertyKey): string | undefined {
    return stringOf(this.get(u, key))
  }

  /** `String(u)` for primitives and functions, whose `toString` may throw too. */
  text(u: unknown): string | undefined {
    try {
      return String(u)
    } catch {
      this.unreadable = true
      return undefined
    }
  }
}

/** An HTTP status as a number or as three digits. */
const statusCodeOf = (u: unknown): number | undefined =>
  typeof u === "number" && Number.isInteger(u)
    ? u
    : typeof u === "string" && /^\d{3}$/.test(u)
    ? Number(u)
    : undefined

const statusOf = (r: Reader, u: unknown): number | undefined =>
  statusCodeOf(r.get(u, "status")) ?? statusCodeOf(r.get(u, "statusCode")) ?? statusCodeOf(r.get(u, "status_code"))

const readStatus = (r: Reader, u: object): number | undefined => statusOf(r, u) ?? statusOf(r, r.record(u, "response"))

/** An `AiError`'s reason, which carries its HTTP details (`http.response.status`) and `retryAfter`. */
const aiReason = (r: Reader, u: object): object | undefined => {
  try {
    if (!(AI_ERROR in u)) return undefined
  } catch {
    r.unreadable = true
    return undefined
  }
  return r.record(u, "reason")
}

/** Walks `cause` links (bounded, cycles are harmless) looking for a Node or undici error code. */
const findCode = (r: Reader, u: object): string | undefined => {
  let current: unknown = u
  for (let depth = 0; depth < 5 && Predicate.isObjectOrArray(current); depth++) {
    const code = r.string(current, "code")
    if (code !== undefined && NETWORK_CODES.has(code)) return code
    current = r.get(current, "cause")
  }
  return undefined
}

/** Whether an `AbortError` is among the `cause`s of `u` (bounded, like `findCode`). */
const abortedWithin = (r: Reader, u: object): boolean => {
  let current: unknown = r.get(u, "cause")
  for (let depth = 0; depth < 5 && Predicate.isObjectOrArray(current); depth++) {
    if (r.get(current, "name") === "AbortError") return true
    current = r.get(current, "cause")
  }
  return false
}

const providerType = (r: Reader, u: object): string | undefined => {
  const nested = r.record(u, "error")
  const type = r.get(u, "type")
  const candidates = [r.get(nested, "type"), r.get(nested, "code"), r.get(u, "code"),
    type === "error" ? undefined : type]
  for (const candidate of candidates) {
    if (typeof candidate === "string" && PROVIDER_TYPES.has(candidate)) return candidate
  }
  return undefined
}

const UNREADABLE = "a thrown value whose properties throw when read (a revoked Proxy or a throwing getter)"

/** `unknown`: what an object without message, type or name says. */
const messageOf = (r: Reader, u: unknown, unknown: () => string = () => "Unknown error"): string => {
  if (typeof u === "string") return u
  if (!Predicate.isObjectOrArray(u)) return r.text(u) ?? UNREADABLE
  const nested = r.record(u, "error")
  const type = r.string(nested, "type")
  const own = r.string(u, "message")
  const message = own !== undefined && own.length > 0 ? own : r.string(nested, "message")
  if (message !== undefined) {
    const typed = type !== undefined && !message.includes(type) ? `${type}: ${message}` : message
    return typed + causeDetail(r, r.get(u, "cause"), typed)
  }
  if (type !== undefined) return type
  const name = r.string(u, "name")
  if (r.unreadable) return name === undefined ? UNREADABLE : `${name}, ${UNREADABLE}`
  return name ?? unknown()
}

/** Undici wraps socket failures in a bare "terminated" or "fetch failed": say what the cause was. */
const causeDetail = (r: Reader, cause: unknown, message: string): string => {
  const detail = r.string(cause, "message")
  return detail !== undefined && detail.length > 0 && !message.includes(detail) ? ` (${detail})` : ""
}

const headerOf = (r: Reader, headers: unknown, name: string): string | undefined => {
  if (!Predicate.isObjectOrArray(headers)) return undefined
  const get = r.get(headers, "get")
  try {
    if (typeof get === "function") return stringOf(get.call(headers, name))
    for (const key in headers) {
      if (key.toLowerCase() === name) {
        const value = r.get(headers, key)
        return typeof value === "string" ? value : Array.isArray(value) ? stringOf(value[0]) : undefined
      }
    }
  } catch {
    r.unreadable = true
  }
  return undefined
}

const retryAfterWith = (r: Reader, headers: unknown, now: number): Duration.Duration | undefined =>
  RetryAfter.parse(headerOf(r, headers, "retry-after-ms"), headerOf(r, headers, "retry-after"), now)

/**
 * What a thrown value says, for a message: never throws, secrets removed.
 *
 * @internal
 */
export const describeThrown = (u: unknown): string => redactSecrets(messageOf(new Reader(), u, () => describe(u)))

/** @internal */
export const retryAfterFromHeaders = (headers: unknown, now: number = Date.now()): Duration.Duration | undefined =>
  retryAfterWith(new Reader(), headers, now)

const fromStatus = (status: number): ErrorCategory | undefined =>
  status === 429 || status === 408 || status === 409 || status >= 500
    ? "transient"
    : status >= 400
    ? "fatal"
    : undefined

/**
 * The class name of an error: SDKs such as `openai` leave `name` as "Error"
 * on their subclasses, so fall back to the constructor's name.
 */
const nameOf = (r: Reader, u: object): unknown => {
  const name = r.get(u, "name")
  if (name !== "Error") return name
  return r.string(r.get(u, "constructor"), "name") ?? name
}

const networkFromName = (name: unknown): NetworkReason | undefined =>
  name === "APIConnectionTimeoutError" || name === "TimeoutError"
    ? "timeout"
    : name === "APIConnectionError" || name === "FetchError"
    ? "socket"
    : undefined

/**
 * Never throws: every property of the thrown value is read through a
 * `Reader`, so a revoked Proxy or a throwing getter only makes it unreadable.
 *
 * @internal
 */
export const classify = (u: unknown, now?: number): Classified => {
  const r = new Reader()
  const message = redactSecrets(messageOf(r, u))
  const record = Predicate.isObjectOrArray(u) ? u : undefined
  const reason = record && aiReason(r, record)
  const status = record && (readStatus(r, record) ?? statusOf(r, r.record(r.record(reason, "http"), "response")))
  const at = now ?? Date.now()
  const aiRetryAfter = r.get(reason, "retryAfter")
  // `responseHeaders`: Vercel AI SDK's APICallError
  const retryAfter = record &&
    ((Duration.isDuration(aiRetryAfter) ? RetryAfter.clamp(aiRetryAfter) : undefined) ??
      retryAfterWith(r, r.get(record, "headers"), at) ??
      retryAfterWith(r, r.get(record, "responseHeaders"), at) ??
      retryAfterWith(r, r.get(r.get(record, "response"), "headers"), at))
  const result = (
    category: ErrorCategory,
    extra?: { networkReason?: NetworkReason; fatalReason?: Classified["fatalReason"] }
  ): Classified => ({
    category,
    message,
    status,
    retryAfter,
    networkReason: extra?.networkReason,
    fatalReason: extra?.fatalReason ?? "status",
    unreadable: r.unreadable
  })

  if (reason !== undefined) {
    const tag = r.get(reason, "_tag")
    const category = AI_REASONS.get(tag)
    if (tag === "NetworkError") {
      // `EncodeError` and `InvalidUrlError` are bugs in the request, not the network
      return r.get(reason, "reason") === "TransportError"
        ? result("network", { networkReason: "socket" })
        : result("fatal")
    }
    if (tag === "AuthenticationError" && r.get(reason, "kind") === "MissingKey") {
      return result("fatal", { fatalReason: "credentials" })
    }
    if (category !== undefined) return result(category)
  }
  if (record) {
    const name = nameOf(r, record)
    if (name === "AbortError" || name === "APIUserAbortError") return result("fatal", { fatalReason: "aborted" })
    const type = providerType(r, record)
    if (type !== undefined) return result(PROVIDER_TYPES.get(type)!)
    const byStatus = status === undefined ? undefined : fromStatus(status)
    if (byStatus !== undefined) return result(byStatus)
    const code = findCode(r, record)
    if (code !== undefined) return result("network", { networkReason: NETWORK_CODES.get(code)! })
    const byName = networkFromName(name)
    if (byName !== undefined) return result("network", { networkReason: byName })
    // the AI SDK wraps a body read that its signal aborted ("Failed to process successful response", status 200)
    if (abortedWithin(r, record)) return result("fatal", { fatalReason: "aborted" })
    // the AI SDK's `APICallError` and `StreamProviderError` say whether the call may be tried again
    if (r.get(record, "isRetryable") === true) return result("transient")
  }
  const lower = message.toLowerCase()
  if (CREDENTIALS_PATTERN.test(lower)) return result("fatal", { fatalReason: "credentials" })
  const prose = proseOf(lower)
  const named = CODE_IN_MESSAGE.exec(prose)
  if (named !== null) return result("network", { networkReason: NETWORK_CODES.get(named[0].toUpperCase())! })
  for (const [pattern, reason] of NETWORK_PATTERNS) {
    if (pattern.test(prose)) return result("network", { networkReason: reason })
  }
  return TRANSIENT_PATTERN.test(lower) ? result("transient") : result("model")
}
