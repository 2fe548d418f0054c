/**
 * The table of what follows an attempt, tested on the decision functions
 * themselves: every error category × retry budget × provider health ×
 * continuation, beside the public-API tests that exercise the loop carrying
 * the decisions out.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import type { CategoryError } from "../src/L0Error.js"
import { ContentError, ExhaustedError, FatalError, ModelError, NetworkError, TransientError } from "../src/L0Error.js"
import { initial } from "../src/L0State.js"
import * as Decision from "../src/internal/decision.js"

const limits: Decision.Limits = { maxAttempts: 3, maxRetries: 10, maxDelay: Duration.seconds(10) }

const errors = {
  network: new NetworkError({ message: "socket hang up", reason: "reset" }),
  transient: new TransientError({ message: "overloaded", status: 529 }),
  model: new ModelError({ message: "bad output" }),
  content: new ContentError({ message: "guardrail", rule: "json" }),
  "fatal (protocol)": new FatalError({ message: "no adapter", reason: "protocol" }),
  "fatal (status)": new FatalError({ message: "unauthorized", reason: "status", status: 401 }),
  "fatal (options)": new FatalError({ message: "invalid option", reason: "options" }),
  "fatal (guardrail)": new FatalError({ message: "fatal violation", reason: "guardrail" })
} satisfies Record<string, CategoryError>

type Kind = keyof typeof errors

const budgets = {
  fresh: { attempts: 1, retries: 0 },
  "attempts spent": { attempts: 3, retries: 2 },
  "retries spent": { attempts: 1, retries: 10 }
} satisfies Record<string, Decision.Budget>

type BudgetState = keyof typeof budgets

/** What follows an attempt that ran and failed, on a source that has another after it and a backoff that has a delay. */
const expected: Record<Kind, Record<BudgetState, "Retry (model)" | "Retry (network)" | "NextSource" | "EndRun">> = {
  network: { fresh: "Retry (network)", "attempts spent": "Retry (network)", "retries spent": "NextSource" },
  transient: { fresh: "Retry (network)", "attempts spent": "Retry (network)", "retries spent": "NextSource" },
  model: { fresh: "Retry (model)", "attempts spent": "NextSource", "retries spent": "NextSource" },
  content: { fresh: "Retry (model)", "attempts spent": "NextSource", "retries spent": "NextSource" },
  "fatal (protocol)": { fresh: "NextSource", "attempts spent": "NextSource", "retries spent": "NextSource" },
  "fatal (status)": { fresh: "NextSource", "attempts spent": "NextSource", "retries spent": "NextSource" },
  "fatal (options)": { fresh: "EndRun", "attempts spent": "EndRun", "retries spent": "EndRun" },
  "fatal (guardrail)": { fresh: "EndRun", "attempts spent": "EndRun", "retries spent": "EndRun" }
}

/** Decides, counting how often the backoff was stepped. */
const decide = (
  facts: Decision.Facts,
  delay: Option.Option<Duration.Duration>
): { readonly next: Decision.Next; readonly stepped: number } => {
  let stepped = 0
  const next = Effect.runSync(Decision.afterAttempt(facts, () =>
    Effect.sync(() => {
      stepped++
      return delay
    })))
  return { next, stepped }
}

const label = (next: Decision.Next): string => next._tag === "Retry" ? `Retry (${next.counts})` : next._tag

const kinds = Object.keys(errors) as ReadonlyArray<Kind>
const budgetStates = Object.keys(budgets) as ReadonlyArray<BudgetState>
const rows = kinds.flatMap((kind) => budgetStates.map((budget) => [kind, budget] as const))

describe("Decision.afterAttempt: error category × retry budget × backoff × sources left", () => {
  it.each(rows)("%s, %s budget", (kind, budgetState) => {
    const error = errors[kind]
    const budget = budgets[budgetState]
    const want = expected[kind][budgetState]
    const retries = want.startsWith("Retry")
    for (const lastSource of [false, true]) {
      const moveOn = lastSource ? "Exhausted" : "NextSource"
      const failed = decide({ error, budget, limits, lastSource }, Option.some(Duration.millis(250)))
      expect(label(failed.next)).toBe(want === "NextSource" ? moveOn : want)
      // the backoff is stepped only when the budget allows a retry
      expect(failed.stepped).toBe(retries ? 1 : 0)
      if (failed.next._tag === "Retry") {
        expect(Duration.toMillis(failed.next.delay)).toBe(250)
        const consumes = kind === "model" || kind === "content"
        expect(failed.next.budget).toEqual({
          attempts: budget.attempts + (consumes ? 1 : 0),
          retries: budget.retries + 1
        })
      }
      // a spent backoff moves on where a retry was allowed
      const spent = decide({ error, budget, limits, lastSource }, Option.none())
      expect(label(spent.next)).toBe(want === "EndRun" ? "EndRun" : moveOn)
    }
  })

  it.each([
    ["under maxDelay: the Retry-After itself", Duration.seconds(3), 3_000],
    ["over maxDelay: capped at maxDelay", Duration.minutes(5), 10_000],
    ["zero: no wait", Duration.zero, 0]
  ])("a Retry-After %s replaces the backoff's delay", (_, retryAfter, waitMs) => {
    const error = new TransientError({ message: "rate limited", status: 429, retryAfter })
    const { next } = decide(
      { error, budget: budgets.fresh, limits, lastSource: false },
      Option.some(Duration.millis(250))
    )
    expect(next._tag === "Retry" && Duration.toMillis(next.delay)).toBe(waitMs)
  })

  it.each(
    [
      ["maxRetries 0: a network error never retries", errors.network, { maxRetries: 0 }, budgets.fresh, "Exhausted"],
      ["maxAttempts 1: a model error never retries", errors.model, { maxAttempts: 1 }, budgets.fresh, "Exhausted"],
      ["maxRetries Infinity: a network error always may", errors.network, { maxRetries: Infinity }, {
        attempts: 1,
        retries: 1_000_000
      }, "Retry"]
    ] as const
  )("%s", (_, error, limited, budget, want) => {
    const { next } = decide(
      { error, budget, limits: { ...limits, ...limited }, lastSource: true },
      Option.some(Duration.zero)
    )
    expect(next._tag).toBe(want)
  })
})

describe("Decision.afterSkip: provider health did not let the attempt out", () => {
  it("it is never retried, whatever the budget: the run moves on to its next source, or is exhausted", () => {
    expect(Decision.afterSkip(false)).toEqual({ _tag: "NextSource" })
    expect(Decision.afterSkip(true)).toEqual({ _tag: "Exhausted" })
  })
})

describe("Decision.continues: error category × continuation", () => {
  it.each(kinds.flatMap((kind) => [[kind, true], [kind, false]] as const))("%s, continuation %s", (kind, on) => {
    // a content error's text is what was wrong: the next attempt starts over
    expect(Decision.continues(errors[kind], on)).toBe(on && kind !== "content")
  })
})

describe("Decision.beforeSend: the shared rate limit of a keyed source", () => {
  const ms = Duration.millis
  it.each(
    [
      // backoff, limit, whenLimited, maxDelay → decision
      [0, 0, "wait", 10_000, { _tag: "Send", wait: 0, limited: false }],
      [500, 0, "wait", 10_000, { _tag: "Send", wait: 500, limited: false }],
      [500, 500, "wait", 10_000, { _tag: "Send", wait: 500, limited: false }],
      [500, 200, "fallback", 10_000, { _tag: "Send", wait: 500, limited: false }],
      [0, 3_000, "wait", 10_000, { _tag: "Send", wait: 3_000, limited: true }],
      [500, 3_000, "wait", 10_000, { _tag: "Send", wait: 3_000, limited: true }],
      [500, 10_000, "wait", 10_000, { _tag: "Send", wait: 10_000, limited: true }],
      [500, 10_001, "wait", 10_000, { _tag: "Skip" }],
      [0, 3_000, "fallback", 10_000, { _tag: "Skip" }],
      [500, 3_000, "fallback", 10_000, { _tag: "Skip" }]
    ] as const
  )("backoff %i ms, limit %i ms, %s, maxDelay %i ms", (backoff, limit, whenLimited, maxDelay, want) => {
    const send = Decision.beforeSend({ backoff: ms(backoff), limit: ms(limit), whenLimited, maxDelay: ms(maxDelay) })
    expect(send._tag === "Send" ? { ...send, wait: Duration.toMillis(send.wait) } : send).toEqual(want)
  })
})

describe("Decision.onSilence: the watchdog found the source silent past its limit", () => {
  it("an answer whose finish reason arrived completes; any other times out", () => {
    expect(Decision.onSilence(true)).toBe("Complete")
    expect(Decision.onSilence(false)).toBe("TimedOut")
  })
})

describe("Decision.fallsBack: what L0.orElse hands to the next stream", () => {
  it.each(kinds)("%s", (kind) => {
    expect(Decision.fallsBack(errors[kind])).toBe(kind !== "fatal (options)" && kind !== "fatal (guardrail)")
  })

  it("an ExhaustedError falls back; a value that is no L0 error does not", () => {
    const exhausted = new ExhaustedError({ attempts: [], state: initial, message: "all failed" })
    expect(Decision.fallsBack(exhausted)).toBe(true)
    expect(Decision.fallsBack(new Error("boom"))).toBe(false)
    expect(Decision.fallsBack({ _tag: "NetworkError", message: "look-alike", category: "network" })).toBe(false)
  })
})
