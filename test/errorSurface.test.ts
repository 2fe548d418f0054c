import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { pipe } from "effect/Function"
import { Guardrail, Guardrails, L0, L0Error } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { format, inspect } from "node:util"
import { connectionReset, httpError, noDelay } from "./support.js"

/** The handler of docs/errors-and-retries.md: what the caller sees for each way a run can end. */
const answer = (options: L0.L0Options) =>
  L0.text(options).pipe(
    // invalid options and fatal guardrail violations end the run at once, unwrapped
    Effect.catchTag("FatalError", (error) => Effect.succeed(`refused (${error.reason}): ${error.message}`)),
    // everything else is retried and falls back first, then arrives wrapped
    Effect.catchTag("ExhaustedError", (error) =>
      Effect.succeed(`gave up after ${error.attempts.length}: ${error.lastError?._tag}`))
  )

describe("where errors end", () => {
  it.effect("invalid options and fatal guardrail violations surface directly as FatalError", () =>
    Effect.gen(function*() {
      expect(yield* answer({ stream: TestSource.make(["a"]).stream, retry: { baseDelay: NaN } })).toMatch(
        /^refused \(options\): Invalid option "retry.baseDelay"/
      )
      const secret = pipe(
        Guardrails.pattern(["BEGIN PRIVATE KEY"], { defaults: false }),
        Guardrail.withSeverity("fatal")
      )
      expect(yield* answer({ stream: TestSource.make(["-----BEGIN PRIVATE KEY-----"]).stream, guardrails: [secret] }))
        .toMatch(/^refused \(guardrail\): Guardrail pattern/)
    }))

  it.effect("an unrecognized first chunk, a 401 and exhausted retries arrive wrapped in ExhaustedError", () =>
    Effect.gen(function*() {
      const unknownShape = { stream: TestSource.make([{ weird: true }]).stream }
      expect(yield* answer(unknownShape)).toBe("gave up after 1: FatalError")
      const last = yield* Effect.flip(L0.text(unknownShape))
      expect(last._tag === "ExhaustedError" && last.lastError).toMatchObject({ _tag: "FatalError", reason: "protocol" })
      expect(yield* answer({ stream: TestSource.make([TestSource.fail(httpError(401))]).stream })).toBe(
        "gave up after 1: FatalError"
      )
      const flaky = TestSource.make([TestSource.fail(connectionReset())])
      expect(yield* answer({ stream: flaky.stream, retry: { ...noDelay, maxRetries: 2 } })).toBe(
        "gave up after 3: NetworkError"
      )
    }))
})

const exhausted = new L0Error.ExhaustedError({
  message: "All 2 source(s) failed after 3 attempt(s); last: FatalError: OpenAI responded 401",
  attempts: [
    {
      source: 0,
      attempt: 1,
      error: new L0Error.NetworkError({ message: "read ECONNRESET", reason: "reset", cause: connectionReset() }),
      delay: Duration.millis(1234.567)
    },
    {
      source: 0,
      attempt: 2,
      error: new L0Error.TransientError({
        message: "Rate limit\nreached",
        status: 429,
        retryAfter: Duration.seconds(2)
      }),
      delay: Duration.seconds(2)
    },
    {
      source: 1,
      attempt: 1,
      error: new L0Error.FatalError({ message: "OpenAI responded 401", status: 401, reason: "status" }),
      delay: Duration.zero
    }
  ]
})

const EXHAUSTED_TEXT = [
  "ExhaustedError: All 2 source(s) failed after 3 attempt(s); last: FatalError: OpenAI responded 401",
  "  source 0, attempt 1: NetworkError (reason: reset): read ECONNRESET (then waited 1s 235ms)",
  "  source 0, attempt 2: TransientError (status: 429, retry after 2s): Rate limit reached (then waited 2s)",
  "  source 1, attempt 1: FatalError (reason: status, status: 401): OpenAI responded 401"
].join("\n")

describe("printed errors", () => {
  it("ExhaustedError's toString lists every attempt on one line: source, attempt, tag, details, message, delay", () => {
    expect(String(exhausted)).toBe(EXHAUSTED_TEXT)
  })

  it("util.inspect and console.error print the same, with no nested [Object]", () => {
    expect(inspect(exhausted)).toBe(EXHAUSTED_TEXT)
    // console.error formats its arguments with util.format
    expect(format(exhausted)).toBe(EXHAUSTED_TEXT)
    expect(inspect({ error: exhausted })).not.toContain("[Object]")
  })

  it("a category error prints its tag, details and message, and inspect adds its cause", () => {
    const error = exhausted.attempts[0]!.error
    expect(String(error)).toBe("NetworkError (reason: reset): read ECONNRESET")
    const printed = inspect(error)
    expect(printed.split("\n")[0]).toBe("NetworkError (reason: reset): read ECONNRESET")
    expect(printed).toMatch(/\n {2}\[cause\]: Error: read ECONNRESET\n {6}at /)
    expect(String(new L0Error.ModelError({ message: "odd" }))).toBe("ModelError: odd")
    expect(inspect(new L0Error.ContentError({ message: "bad json", rule: "json" }))).toBe("ContentError: bad json")
    expect(String(new L0Error.ContentError({ message: "bad json", rule: "json" }))).toBe("ContentError: bad json")
  })

  it("long and multi-line attempt messages are cut to one line of 200 characters", () => {
    const long = new L0Error.ExhaustedError({
      message: "All 1 source(s) failed\nafter 1 attempt(s)",
      attempts: [{
        source: 0,
        attempt: 1,
        error: new L0Error.ModelError({ message: "x".repeat(300) }),
        delay: Duration.zero
      }]
    })
    expect(String(long)).toBe(
      `ExhaustedError: All 1 source(s) failed after 1 attempt(s)\n  source 0, attempt 1: ModelError: ${
        "x".repeat(200)
      }…`
    )
  })

  it("inspect honours the depth limit for the cause", () => {
    const error = new L0Error.ModelError({ message: "odd", cause: { nested: { deeper: { deepest: 1 } } } })
    expect(inspect(error, { depth: 0 })).toBe("ModelError: odd\n  [cause]: [Object]")
    expect(inspect(error, { depth: 1 })).toBe("ModelError: odd\n  [cause]: { nested: [Object] }")
    expect(inspect([error], { depth: 0 })).toBe("[ [ModelError: odd] ]")
  })

  it("a real run's ExhaustedError prints each attempt", () =>
    Effect.runPromise(Effect.gen(function*() {
      const source = TestSource.make([TestSource.fail(connectionReset())], [TestSource.fail(httpError(401))])
      const error = yield* Effect.flip(L0.text({ stream: source.stream, retry: noDelay }))
      expect(String(error).split("\n").slice(1)).toEqual([
        "  source 0, attempt 1: NetworkError (reason: reset): read ECONNRESET",
        "  source 0, attempt 2: FatalError (reason: status, status: 401): 401 status code"
      ])
    })))
})
