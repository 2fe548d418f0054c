import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { L0, L0Error } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { noDelay } from "./support.js"

type Reason = NonNullable<L0Error.NetworkError["reason"]>

/**
 * Each network reason of the classifier (README, Errors and retries) with the
 * wordings real clients throw, as a message alone, without `code` or status.
 */
const wordings: ReadonlyArray<readonly [Reason, ReadonlyArray<readonly [who: string, message: string]>]> = [
  ["reset", [
    ["Node, code in the message", "read ECONNRESET"],
    ["Node, bare code", "ECONNRESET"],
    ["Node, write side", "write ECONNRESET"],
    ["Node, write to a closed socket", "write EPIPE"],
    ["Node http", "socket hang up"],
    ["undici SocketError", "other side closed"],
    ["Linux, Python", "Connection reset by peer"],
    ["Python requests", "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"],
    ["hyper (Rust)", "connection closed before message completed"],
    ["Rust std", "Broken pipe (os error 32)"],
    ["words apart", "broken write pipe"],
    ["Chromium", "net::ERR_CONNECTION_RESET"]
  ]],
  ["refused", [
    ["Node", "connect ECONNREFUSED 127.0.0.1:443"],
    ["Node, bare code", "ECONNREFUSED"],
    ["Python", "[Errno 111] Connection refused"],
    ["words apart", "Connection to host was refused"],
    ["Chromium", "net::ERR_CONNECTION_REFUSED"]
  ]],
  ["timeout", [
    ["bare", "timeout"],
    ["bare, capitalised", "Timeout"],
    ["openai and @anthropic-ai/sdk APIConnectionTimeoutError", "Request timed out."],
    ["Node", "connect ETIMEDOUT 10.0.0.1:443"],
    ["Node, bare code", "ETIMEDOUT"],
    ["request", "ESOCKETTIMEDOUT"],
    ["words apart", "Connection attempt hit a timeout"],
    ["undici ConnectTimeoutError", "Connect Timeout Error"],
    ["undici HeadersTimeoutError", "Headers Timeout Error"],
    ["undici BodyTimeoutError", "Body Timeout Error"],
    ["undici, code in the message", "UND_ERR_HEADERS_TIMEOUT"],
    ["axios", "timeout of 30000ms exceeded"],
    ["gRPC", "4 DEADLINE_EXCEEDED: Deadline exceeded"],
    ["Chromium", "net::ERR_TIMED_OUT"]
  ]],
  ["dns", [
    ["Node", "getaddrinfo ENOTFOUND api.openai.com"],
    ["Node, temporary", "getaddrinfo EAI_AGAIN api.anthropic.com"],
    ["Node, bare code", "ENOTFOUND"],
    ["Node, bare temporary code", "EAI_AGAIN"],
    ["glibc", "Temporary failure in name resolution"],
    ["glibc, unknown name", "Name or service not known"],
    ["macOS", "nodename nor servname provided, or not known"],
    ["curl", "Could not resolve host: api.openai.com"],
    ["words apart", "DNS lookup for api.openai.com failed"],
    ["Chromium", "net::ERR_NAME_NOT_RESOLVED"]
  ]],
  ["tls", [
    ["Node", "certificate has expired"],
    ["Node", "unable to verify the first certificate"],
    ["Node", "self-signed certificate in certificate chain"],
    ["Node", "Client network socket disconnected before secure TLS connection was established"],
    ["OpenSSL", "SSL routines:ssl3_get_record:wrong version number"],
    ["Python", "SSLError: bad record mac"],
    ["Go", "remote error: tls: handshake failure"],
    ["Chromium", "net::ERR_CERT_AUTHORITY_INVALID"]
  ]],
  ["eof", [
    ["Python", "EOF occurred in violation of protocol (_ssl.c:2427)"],
    ["OpenSSL", "unexpected eof while reading"],
    ["Node streams", "Premature close"],
    ["Node streams, code in the message", "ERR_STREAM_PREMATURE_CLOSE"]
  ]],
  ["socket", [
    ["words apart", "Host 10.0.0.1 is unreachable"],
    ["Node", "connect EHOSTUNREACH 10.0.0.1:443"],
    ["Node", "connect ENETUNREACH 2606:4700::1:443"],
    ["Linux", "Network is unreachable"],
    ["Chromium fetch", "Failed to fetch"],
    ["Chromium fetch, printed", "TypeError: Failed to fetch"],
    ["Firefox fetch", "NetworkError when attempting to fetch resource."],
    ["Safari fetch", "Load failed"],
    ["Safari fetch, printed", "TypeError: Load failed"],
    ["undici fetch", "fetch failed"],
    ["React Native, whatwg-fetch", "Network request failed"],
    ["axios", "Network Error"],
    ["openai and @anthropic-ai/sdk APIConnectionError", "Connection error."],
    ["undici, code in the message", "UND_ERR_SOCKET"],
    ["Chromium", "net::ERR_INTERNET_DISCONNECTED"]
  ]]
]

/** The shapes a message arrives in: an `Error`, the `TypeError` of fetch, a plain object, a thrown string. */
const shapes: ReadonlyArray<readonly [string, (message: string) => unknown]> = [
  ["Error", (message) => new Error(message)],
  ["TypeError", (message) => new TypeError(message)],
  ["object", (message) => ({ message })],
  ["string", (message) => message]
]

const reasonOf = (u: unknown): string | false => {
  const error = L0Error.fromUnknown(u)
  return error._tag === "NetworkError" && (error.reason ?? "none")
}

describe("network wordings of the real world", () => {
  for (const [reason, list] of wordings) {
    it(`${reason}: every wording, in every shape and case, is a NetworkError with reason "${reason}"`, () => {
      for (const [who, message] of list) {
        for (const variant of [message, message.toUpperCase(), message.toLowerCase()]) {
          for (const [shape, make] of shapes) {
            expect([who, shape, variant, reasonOf(make(variant))]).toEqual([who, shape, variant, reason])
          }
        }
      }
    })
  }

  it("undici's fetch failed takes the reason of its cause's code", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    expect(reasonOf(new TypeError("fetch failed", { cause }))).toBe("refused")
    const timeout = Object.assign(new Error("Connect Timeout Error"), { code: "UND_ERR_CONNECT_TIMEOUT" })
    expect(reasonOf(new TypeError("fetch failed", { cause: timeout }))).toBe("timeout")
  })

  it.effect("a browser's Failed to fetch retries without consuming maxAttempts", () =>
    Effect.gen(function*() {
      const failed = () => TestSource.fail(new TypeError("Failed to fetch"))
      const source = TestSource.make([failed()], [failed()], [failed()], ["ok"])
      const text = yield* L0.text({ stream: source.stream, retry: { ...noDelay, maxAttempts: 1 } })
      expect(text).toBe("ok")
      expect(source.calls).toHaveLength(4)
    }))

  it("words inside a JSON body, or parts of other words, do not make a network error", () => {
    const model = [
      `Invalid tool arguments: {"timeout": "soon", "note": "connection refused"}`,
      `The model answered {"error": "timeout"} instead of the schema`,
      `Tool set_timeout returned an invalid value`,
      `Load failed: the reply is not a valid plan`,
      "moderate output; token limit"
    ]
    for (const message of model) {
      expect([message, L0Error.categorize(new Error(message))]).toEqual([message, "model"])
    }
    // a category error keeps its own category, whatever its message says
    const content = new L0Error.ContentError({ message: "Guardrail pattern: the answer says \"timeout\"" })
    expect(L0Error.categorize(content)).toBe("content")
    // a status decides before any wording
    expect(L0Error.categorize(Object.assign(new Error("400 timeout must be an integer"), { status: 400 })))
      .toBe("fatal")
  })

  it("an AbortError of the user's own signal is fatal, not a network error; a timeout signal's is a timeout", () => {
    const aborted = new DOMException("This operation was aborted", "AbortError")
    expect(L0Error.fromUnknown(aborted)).toMatchObject({ _tag: "FatalError", reason: "aborted" })
    const timedOut = new DOMException("The operation was aborted due to timeout", "TimeoutError")
    expect(reasonOf(timedOut)).toBe("timeout")
  })
})
