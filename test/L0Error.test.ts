import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import { L0Error } from "effect-l0"

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

describe("categorize", () => {
  it("recognizes the network message patterns", () => {
    const messages = [
      "Connection reset by peer",
      "connection refused",
      "connection timeout",
      "The request timed out",
      "DNS failed for api.example.com",
      "Temporary failure in name resolution",
      "socket error",
      "SSL error: handshake failed",
      "EOF occurred in violation of protocol",
      "Broken pipe",
      "Network unreachable",
      "Host unreachable"
    ]
    for (const message of messages) {
      expect([message, L0Error.categorize(new Error(message))]).toEqual([message, "network"])
    }
  })

  it("recognizes every phrase form of the network patterns, in any case", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["Connection reset by peer", "reset"],
      ["connection was reset", "reset"],
      ["The connection has been reset", "reset"],
      ["Connection refused", "refused"],
      ["Connection timeout", "timeout"],
      ["Connection timed out", "timeout"],
      ["The operation timed out", "timeout"],
      ["Request timeout", "timeout"],
      ["Read timeout on endpoint", "timeout"],
      ["DNS lookup failed for api.example.com", "dns"],
      ["DNS failed", "dns"],
      ["Temporary failure in name resolution", "dns"],
      ["socket error", "socket"],
      ["Socket write error", "socket"],
      ["socket closed", "socket"],
      ["The socket was closed unexpectedly", "socket"],
      ["SSL error", "tls"],
      ["SSL: CERTIFICATE_VERIFY_FAILED protocol error", "tls"],
      ["SSLError: bad record mac", "tls"],
      ["SSL handshake failed", "tls"],
      ["EOF occurred in violation of protocol (_ssl.c:2427)", "eof"],
      ["Broken pipe", "reset"],
      ["Network is unreachable", "socket"],
      ["network unreachable", "socket"],
      ["Host is unreachable", "socket"],
      ["host unreachable", "socket"]
    ]
    for (const [message, reason] of cases) {
      for (const variant of [message, message.toUpperCase(), message.toLowerCase()]) {
        const error = L0Error.fromUnknown(new Error(variant))
        expect([variant, error._tag, error._tag === "NetworkError" && error.reason]).toEqual([variant, "NetworkError",
          reason])
      }
    }
  })

  it("treats every rate … limit variant as transient", () => {
    for (
      const message of [
        "Rate limit reached",
        "You are being rate-limited",
        "ratelimit exceeded",
        "RATE_LIMIT_EXCEEDED",
        "Request rate exceeds limit",
        "The rate of requests is over the limit"
      ]
    ) {
      expect([message, L0Error.categorize(new Error(message))]).toEqual([message, "transient"])
    }
    // "rate" and "limit" must be words: these are not rate limits
    expect(L0Error.categorize(new Error("moderate output; token limit"))).toBe("model")
  })

  it("missing or invalid credentials found before any request are fatal", () => {
    for (
      const message of [
        "Could not resolve authentication method. Expected either apiKey or authToken to be set.",
        "Missing credentials. Please pass an `apiKey`, or set the `OPENAI_API_KEY` environment variable.",
        "The OPENAI_API_KEY environment variable is missing or empty; either provide it, or instantiate the OpenAI client with an apiKey option"
      ]
    ) {
      expect(L0Error.fromUnknown(new Error(message))).toMatchObject({ _tag: "FatalError", reason: "credentials" })
    }
  })

  it("maps HTTP status codes", () => {
    const cases: ReadonlyArray<readonly [number, L0Error.ErrorCategory]> = [
      [429, "transient"],
      [401, "fatal"],
      [403, "fatal"],
      [400, "fatal"],
      [404, "fatal"],
      [422, "fatal"],
      [500, "transient"],
      [502, "transient"],
      [503, "transient"],
      [529, "transient"]
    ]
    for (const [status, category] of cases) {
      expect([status, L0Error.categorize({ status })]).toEqual([status, category])
    }
  })

  it("reads the status from status, statusCode, status_code and response.status", () => {
    expect(L0Error.categorize({ statusCode: 401 })).toBe("fatal")
    expect(L0Error.fromUnknown({ status_code: 429, message: "slow down" })).toMatchObject({
      _tag: "TransientError",
      status: 429
    })
    expect(L0Error.fromUnknown({ response: { status_code: 401 } })).toMatchObject({ _tag: "FatalError", status: 401 })
    expect(L0Error.categorize({ response: { status: 429 } })).toBe("transient")
    expect(L0Error.categorize({ response: { statusCode: "503" } })).toBe("transient")
  })

  it("treats \"rate limit\" and \"overloaded\" in the message as transient", () => {
    expect(L0Error.categorize(new Error("Rate limit reached for gpt-4o"))).toBe("transient")
    expect(L0Error.categorize(new Error("Overloaded"))).toBe("transient")
  })

  it("maps Node and undici error codes, also inside cause chains", () => {
    for (
      const code of ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_SOCKET"]
    ) {
      expect([code, L0Error.categorize(withCode("boom", code))]).toEqual([code, "network"])
    }
    const fetchFailed = new TypeError("fetch failed", { cause: withCode("other side closed", "UND_ERR_SOCKET") })
    expect(L0Error.categorize(fetchFailed)).toBe("network")
  })

  it("maps in-band provider error events and codes", () => {
    expect(L0Error.categorize({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })).toBe(
      "transient"
    )
    expect(L0Error.categorize({ type: "error", error: { type: "invalid_request_error", message: "bad" } })).toBe(
      "fatal"
    )
    expect(L0Error.categorize({ type: "error", error: { type: "authentication_error", message: "no" } })).toBe("fatal")
    expect(L0Error.categorize({ code: "rate_limit_exceeded", message: "slow down" })).toBe("transient")
    // a 429 that waiting does not fix
    expect(L0Error.categorize({ status: 429, error: { code: "insufficient_quota" } })).toBe("fatal")
  })

  it("treats unknown failures as model errors and keeps an L0 error's own category", () => {
    expect(L0Error.categorize(new Error("something odd"))).toBe("model")
    expect(L0Error.categorize("a string")).toBe("model")
    expect(L0Error.categorize(undefined)).toBe("model")
    expect(L0Error.categorize(new L0Error.ContentError({ message: "bad json" }))).toBe("content")
    expect(L0Error.categorize({ name: "AbortError", message: "aborted" })).toBe("fatal")
    expect(L0Error.categorize({ name: "APIConnectionTimeoutError", message: "Request timed out." })).toBe("network")
  })
})

describe("fromUnknown", () => {
  it("builds the tagged error with status, Retry-After and cause", () => {
    const cause = Object.assign(new Error("429 Too Many Requests"), { status: 429, headers: { "retry-after": "7" } })
    const error = L0Error.fromUnknown(cause)
    expect(error).toBeInstanceOf(L0Error.TransientError)
    expect(error).toMatchObject({ status: 429, message: "429 Too Many Requests", cause })
    expect(Duration.toMillis((error as L0Error.TransientError).retryAfter!)).toBe(7000)
    expect(L0Error.isL0Error(error)).toBe(true)
    expect(L0Error.fromUnknown(error)).toBe(error)
  })

  it("gives each category its class and details", () => {
    expect(L0Error.fromUnknown(withCode("read ECONNRESET", "ECONNRESET"))).toMatchObject({
      _tag: "NetworkError",
      reason: "reset"
    })
    expect(L0Error.fromUnknown(withCode("getaddrinfo ENOTFOUND", "ENOTFOUND"))).toMatchObject({ reason: "dns" })
    expect(L0Error.fromUnknown({ status: 401, message: "Unauthorized" })).toMatchObject({
      _tag: "FatalError",
      reason: "status"
    })
    expect(L0Error.fromUnknown({ name: "APIUserAbortError", message: "Request was aborted." })).toMatchObject({
      _tag: "FatalError",
      reason: "aborted"
    })
    expect(L0Error.fromUnknown(new Error("???"))._tag).toBe("ModelError")
    const inBand = L0Error.fromUnknown({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })
    expect(inBand).toMatchObject({ _tag: "TransientError", message: "overloaded_error: Overloaded" })
  })

  it("names the cause of a bare undici failure", () => {
    const terminated = new TypeError("terminated", { cause: withCode("other side closed", "UND_ERR_SOCKET") })
    expect(L0Error.fromUnknown(terminated)).toMatchObject({
      _tag: "NetworkError",
      reason: "socket",
      message: "terminated (other side closed)"
    })
    const same = new Error("socket hang up", { cause: new Error("socket hang up") })
    expect(L0Error.fromUnknown(same).message).toBe("socket hang up")
  })

  it("keeps API keys and bearer tokens out of messages", () => {
    const error = L0Error.fromUnknown(
      new Error("401 Incorrect API key provided: sk-proj-abcdefghijklmnop. Authorization: Bearer sk-live-1234567890")
    )
    expect(error.message).not.toContain("abcdefghijklmnop")
    expect(error.message).not.toContain("1234567890")
    expect(error.message).toContain("<redacted>")
    const header = L0Error.fromUnknown(new Error("request failed with x-api-key: sk-ant-api03-secretsecret"))
    expect(header.message).not.toContain("secretsecret")
  })

  it("ExhaustedError takes the category of its last attempt", () => {
    const last = new L0Error.NetworkError({ message: "reset" })
    const exhausted = new L0Error.ExhaustedError({
      message: "all failed",
      attempts: [{ source: 0, attempt: 1, error: last, delay: Duration.zero }]
    })
    expect(exhausted.category).toBe("network")
    expect(exhausted.lastError).toBe(last)
    expect(L0Error.categorize(exhausted)).toBe("network")
    expect(new L0Error.ExhaustedError({ message: "none", attempts: [] }).category).toBe("fatal")
  })
})

describe("parseRetryAfter", () => {
  const NOW = Date.UTC(2026, 0, 1, 12, 0, 0)
  const millisOf = (headers: unknown, now = NOW) => {
    const wait = L0Error.parseRetryAfter(headers, now)
    return wait === undefined ? undefined : Duration.toMillis(wait)
  }

  it("reads seconds, milliseconds and HTTP dates from records and Headers", () => {
    expect(millisOf({ "Retry-After": "2" })).toBe(2000)
    expect(millisOf(new Headers({ "retry-after-ms": "120" }))).toBe(120)
    expect(millisOf({ "retry-after": ["3"] })).toBe(3000)
    expect(millisOf({ "retry-after": new Date(NOW + 30_000).toUTCString() })).toBe(30_000)
    expect(millisOf({ "retry-after": new Date(NOW - 5000).toUTCString() })).toBe(0)
  })

  it("reads only the forms of RFC 9110: delta-seconds and the three HTTP-date forms", () => {
    // Thu, 01 Jan 2026 12:00:30 GMT, in each form, and its delta-seconds
    const valid: ReadonlyArray<readonly [string, number]> = [
      ["30", 30_000],
      ["0", 0],
      [" 30 ", 30_000],
      ["Thu, 01 Jan 2026 12:00:30 GMT", 30_000],
      ["Thursday, 01-Jan-26 12:00:30 GMT", 30_000],
      ["Thu Jan  1 12:00:30 2026", 30_000],
      ["Thu Jan 01 12:00:30 2026", 30_000],
      // a two-digit year more than 50 years ahead is the past one: 1994, long gone
      ["Sunday, 06-Nov-94 08:49:37 GMT", 0]
    ]
    for (const [value, millis] of valid) expect([value, millisOf({ "retry-after": value })]).toEqual([value, millis])
    // late in a century, a two-digit year close ahead is in the next one: 2105, not 2005
    expect(millisOf({ "retry-after": "Monday, 01-Jan-05 00:00:00 GMT" }, Date.UTC(2090, 0, 1))).toBe(5 * 60_000)
    const invalid = [
      "-5",
      "-1",
      "+5",
      "1.5",
      "1e3",
      "0x10",
      "Retry later 2",
      "2 seconds",
      "soon",
      "2026-01-01T12:00:30Z",
      "Thu, 01 Jan 2026 12:00:30",
      "Thu, 01 Jan 2026 12:00:30 UTC",
      "Thu, 1 Jan 2026 12:00:30 GMT",
      "thu, 01 jan 2026 12:00:30 gmt",
      "Thu, 31 Feb 2026 12:00:30 GMT",
      "Thu, 01 Jan 2026 24:00:30 GMT",
      "Thu, 01 Jan 2026 12:60:30 GMT",
      "Thursday, 01-Jan-2026 12:00:30 GMT",
      "Thu Jan 1 12:00:30 2026",
      "",
      "   "
    ]
    for (const value of invalid) expect([value, millisOf({ "retry-after": value })]).toEqual([value, undefined])
    // retry-after-ms: a non-negative number of milliseconds, else Retry-After decides
    expect(millisOf({ "retry-after-ms": "250.5" })).toBe(250.5)
    for (const value of ["-5", "1e3", "soon", "Thu, 01 Jan 2026 12:00:30 GMT"]) {
      expect([value, millisOf({ "retry-after-ms": value })]).toEqual([value, undefined])
      expect([value, millisOf({ "retry-after-ms": value, "retry-after": "7" })]).toEqual([value, 7000])
    }
  })

  it("clamps every wait to five minutes", () => {
    const fiveMinutes = 5 * 60_000
    expect(millisOf({ "retry-after": "300" })).toBe(fiveMinutes)
    expect(millisOf({ "retry-after": "3600" })).toBe(fiveMinutes)
    expect(millisOf({ "retry-after": "999999999" })).toBe(fiveMinutes)
    expect(millisOf({ "retry-after": "9".repeat(400) })).toBe(fiveMinutes)
    expect(millisOf({ "retry-after-ms": "86400000" })).toBe(fiveMinutes)
    expect(millisOf({ "retry-after": "Fri, 01 Jan 2100 00:00:00 GMT" })).toBe(fiveMinutes)
    // an error built from an SDK's error keeps the clamped wait
    const error = L0Error.fromUnknown(
      Object.assign(new Error("429"), { status: 429, headers: { "retry-after": "3600" } })
    )
    expect(error._tag === "TransientError" && Duration.toMillis(error.retryAfter!)).toBe(fiveMinutes)
  })

  it("ignores missing or unreadable values", () => {
    expect(L0Error.parseRetryAfter(undefined)).toBeUndefined()
    expect(L0Error.parseRetryAfter({})).toBeUndefined()
    expect(L0Error.parseRetryAfter({ "retry-after": "soon" })).toBeUndefined()
    expect(L0Error.parseRetryAfter({ "retry-after": "" })).toBeUndefined()
    expect(L0Error.parseRetryAfter({ "retry-after": 5 })).toBeUndefined()
  })
})
