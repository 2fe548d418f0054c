import * as Duration from "effect/Duration"
import type { ErrorCategory } from "../L0Error.js"

/** @internal */
export interface Classified {
  readonly category: ErrorCategory
  readonly message: string
  readonly status: number | undefined
  readonly retryAfter: Duration.Duration | undefined
  readonly networkReason: "timeout" | "reset" | "refused" | "dns" | "tls" | "eof" | "socket" | undefined
  readonly aborted: boolean
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

const NETWORK_PATTERNS: ReadonlyArray<readonly [RegExp, NetworkReason]> = [
  [/connection (?:was )?reset|socket hang up|broken pipe/, "reset"],
  [/connection refused/, "refused"],
  [/connection timeout|connection timed out|timed out|timeout error/, "timeout"],
  [/dns failed|name resolution|getaddrinfo/, "dns"],
  [/ssl error|tls error|certificate/, "tls"],
  [/eof occurred|unexpected eof|premature close/, "eof"],
  [/socket error|network unreachable|host unreachable|network error|fetch failed|^connection error/, "socket"]
]

const TRANSIENT_PATTERN = /rate limit|overloaded|too many requests|service unavailable|server error/

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

const SECRET = /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}|\bBearer\s+[^\s"',]+|\b(?:api[-_]?key|authorization|x-api-key)(["']?\s*[:=]\s*["']?)(?:Bearer\s+)?[^\s"',}]+/gi

/**
 * Removes API keys and bearer tokens from text that may end up in an error,
 * an event or a log line.
 *
 * @internal
 */
export const redactSecrets = (text: string): string =>
  text.replace(SECRET, (match, separator: string | undefined) =>
    separator === undefined
      ? match.startsWith("Bearer") || match.startsWith("bearer") ? "Bearer <redacted>" : "<redacted>"
      : `${match.slice(0, match.indexOf(separator) + separator.length)}<redacted>`)

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const numberOf = (u: unknown): number | undefined =>
  typeof u === "number" && Number.isInteger(u)
    ? u
    : typeof u === "string" && /^\d{3}$/.test(u)
    ? Number(u)
    : undefined

const readStatus = (u: Record<string, unknown>): number | undefined =>
  numberOf(u.status) ?? numberOf(u.statusCode) ??
    (isRecord(u.response) ? numberOf(u.response.status) ?? numberOf(u.response.statusCode) : undefined)

/** Walks `cause` links (bounded, cycles are harmless) looking for a Node or undici error code. */
const findCode = (u: Record<string, unknown>): string | undefined => {
  let current: unknown = u
  for (let depth = 0; depth < 5 && isRecord(current); depth++) {
    if (typeof current.code === "string" && NETWORK_CODES.has(current.code)) return current.code
    current = current.cause
  }
  return undefined
}

const providerType = (u: Record<string, unknown>): string | undefined => {
  const nested = isRecord(u.error) ? u.error : undefined
  const candidates = [nested?.type, nested?.code, u.code, u.type === "error" ? undefined : u.type]
  for (const candidate of candidates) {
    if (typeof candidate === "string" && PROVIDER_TYPES.has(candidate)) return candidate
  }
  return undefined
}

const messageOf = (u: unknown): string => {
  if (typeof u === "string") return u
  if (!isRecord(u)) return String(u)
  const nested = isRecord(u.error) ? u.error : undefined
  const type = typeof nested?.type === "string" ? nested.type : undefined
  const message = typeof u.message === "string" && u.message.length > 0
    ? u.message
    : typeof nested?.message === "string"
    ? nested.message
    : undefined
  if (message !== undefined) {
    const typed = type !== undefined && !message.includes(type) ? `${type}: ${message}` : message
    return typed + causeDetail(u.cause, typed)
  }
  return type ?? (typeof u.name === "string" ? u.name : "Unknown error")
}

/** Undici wraps socket failures in a bare "terminated" or "fetch failed": say what the cause was. */
const causeDetail = (cause: unknown, message: string): string =>
  isRecord(cause) && typeof cause.message === "string" && cause.message.length > 0 && !message.includes(cause.message)
    ? ` (${cause.message})`
    : ""

const headerOf = (headers: unknown, name: string): string | undefined => {
  if (!isRecord(headers)) return undefined
  if (typeof headers.get === "function") {
    const value: unknown = (headers.get as (key: string) => unknown).call(headers, name)
    return typeof value === "string" ? value : undefined
  }
  for (const key in headers) {
    if (key.toLowerCase() === name) {
      const value = headers[key]
      return typeof value === "string" ? value : Array.isArray(value) && typeof value[0] === "string" ? value[0] : undefined
    }
  }
  return undefined
}

/** @internal */
export const retryAfterFromHeaders = (headers: unknown, now: number = Date.now()): Duration.Duration | undefined => {
  const millis = headerOf(headers, "retry-after-ms")
  if (millis !== undefined && /^\d+(?:\.\d+)?$/.test(millis.trim())) return Duration.millis(Number(millis))
  const value = headerOf(headers, "retry-after")?.trim()
  if (value === undefined || value.length === 0) return undefined
  if (/^\d+(?:\.\d+)?$/.test(value)) return Duration.millis(Number(value) * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - now))
}

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
const nameOf = (u: Record<string, unknown>): unknown => {
  if (u.name !== "Error") return u.name
  const constructor = (u as { constructor?: { name?: unknown } }).constructor
  return typeof constructor?.name === "string" ? constructor.name : u.name
}

const networkFromName = (name: unknown): NetworkReason | undefined =>
  name === "APIConnectionTimeoutError" || name === "TimeoutError"
    ? "timeout"
    : name === "APIConnectionError" || name === "FetchError"
    ? "socket"
    : undefined

/** @internal */
export const classify = (u: unknown, now?: number): Classified => {
  const message = redactSecrets(messageOf(u))
  const record = isRecord(u) ? u : undefined
  const status = record && readStatus(record)
  // `responseHeaders`: Vercel AI SDK's APICallError
  const retryAfter = record &&
    (retryAfterFromHeaders(record.headers, now) ??
      retryAfterFromHeaders(record.responseHeaders, now) ??
      (isRecord(record.response) ? retryAfterFromHeaders(record.response.headers, now) : undefined))
  const result = (
    category: ErrorCategory,
    extra?: { networkReason?: NetworkReason; aborted?: boolean }
  ): Classified => ({
    category,
    message,
    status,
    retryAfter,
    networkReason: extra?.networkReason,
    aborted: extra?.aborted ?? false
  })

  if (record) {
    const name = nameOf(record)
    if (name === "AbortError" || name === "APIUserAbortError") return result("fatal", { aborted: true })
    const type = providerType(record)
    if (type !== undefined) return result(PROVIDER_TYPES.get(type)!)
    const byStatus = status === undefined ? undefined : fromStatus(status)
    if (byStatus !== undefined) return result(byStatus)
    const code = findCode(record)
    if (code !== undefined) return result("network", { networkReason: NETWORK_CODES.get(code)! })
    const byName = networkFromName(name)
    if (byName !== undefined) return result("network", { networkReason: byName })
  }
  const lower = message.toLowerCase()
  for (const [pattern, reason] of NETWORK_PATTERNS) {
    if (pattern.test(lower)) return result("network", { networkReason: reason })
  }
  return TRANSIENT_PATTERN.test(lower) ? result("transient") : result("model")
}
