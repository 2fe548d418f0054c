import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Adapters, Consensus, Guardrails, L0, L0Error, Pipeline, Window } from "effect-l0"
import type { Structured, Guardrail } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { checkChunks } from "./guardrailCheck.js"

/** Looks like an API key: must never appear in an error message. */
const SECRET = "sk-proj-Zx81TopSecretValue0000000000"

const FORMAT = /^Invalid option "[^"]+": expected .+, got .+$/

const never = TestSource.make(["never"])
const ok = { stream: never.stream }
const Order = Schema.Struct({ id: Schema.String })

type Case = readonly [name: string, run: Effect.Effect<unknown, unknown>, message: string]

const l0 = (options: unknown) => L0.text(options as L0.L0Options)
const firstError = (effect: Effect.Effect<unknown, unknown>) =>
  Effect.flatMap(Effect.flip(effect), (error) => Effect.succeed(error as L0Error.L0Error))

const cases: ReadonlyArray<Case> = [
  // L0.stream and its nested options
  ["options as a whole", l0("yes"), `"options": expected an options object, got a string`],
  ["stream missing", l0({}), `"stream": expected a function returning the provider stream, got undefined`],
  ["stream a secret", l0({ stream: SECRET }),
    `"stream": expected a function returning the provider stream, got a string`],
  ["fallbacks entry", l0({ ...ok, fallbacks: [never.stream, 1] }),
    `"fallbacks[1]": expected a function returning the provider stream, got 1`],
  ["guardrails entry", l0({ ...ok, guardrails: [SECRET] }),
    `"guardrails[0]": expected a guardrail rule (Guardrail.make), got a string`],
  ["checkInterval range", l0({ ...ok, checkInterval: 0 }), `"checkInterval": expected an integer ≥ 1, got 0`],
  ["progressInterval type", l0({ ...ok, progressInterval: "10" }),
    `"progressInterval": expected an integer ≥ 1, got a string`],
  ["retry type", l0({ ...ok, retry: 3 }), `"retry": expected retry options or a Schedule, got 3`],
  ["retry.maxAttempts range", l0({ ...ok, retry: { maxAttempts: 0 } }),
    `"retry.maxAttempts": expected an integer ≥ 1, got 0`],
  ["retry.maxRetries range", l0({ ...ok, retry: { maxRetries: -1 } }),
    `"retry.maxRetries": expected an integer ≥ 0 or Infinity, got -1`],
  ["retry.baseDelay", l0({ ...ok, retry: { baseDelay: -5 } }), `"retry.baseDelay": expected a duration ≥ 0, got -5`],
  [
    "retry.backoff enum, secret-looking",
    l0({ ...ok, retry: { backoff: SECRET } }),
    `"retry.backoff": expected one of "exponential", "linear", "fixed", "fixed-jitter", "full-jitter" or a Schedule, got a string`
  ],
  ["timeout type", l0({ ...ok, timeout: "5s" }), `"timeout": expected { initialToken?, interToken? }, got a string`],
  ["timeout.initialToken", l0({ ...ok, timeout: { initialToken: 0 } }),
    `"timeout.initialToken": expected a positive duration, got 0`],
  ["timeout.interToken", l0({ ...ok, timeout: { interToken: SECRET } }),
    `"timeout.interToken": expected a positive duration, got a string`],
  ["adapter type", l0({ ...ok, adapter: 3 }), `"adapter": expected an adapter or an adapter name, got 3`],
  ["continuation type", l0({ ...ok, continuation: SECRET }),
    `"continuation": expected a boolean or { deduplicate?, trailingWhitespace? }, got a string`],
  [
    "continuation.deduplicate.boundary enum",
    l0({ ...ok, continuation: { deduplicate: { boundary: "page" } } }),
    `"continuation.deduplicate.boundary": expected one of "grapheme", "word", "line", got a string`
  ],
  ["redact entry", l0({ ...ok, redact: [SECRET, 42] }),
    `"redact[1]": expected a non-empty string or a Redacted string, got 42`],
  // guardrail rule options: the run fails before any source is called
  ["Guardrails.repetition", l0({ ...ok, guardrails: [Guardrails.repetition({ minLength: 0 })] }),
    `"Guardrails.repetition.minLength": expected an integer ≥ 1, got 0`],
  ["Guardrails.pattern",
    l0({ ...ok, guardrails: [Guardrails.pattern([], { defaults: SECRET as unknown as boolean })] }),
    `"Guardrails.pattern.defaults": expected a boolean, got a string`],
  ["Guardrails.strictJsonWith",
    l0({ ...ok, guardrails: [Guardrails.strictJsonWith({ fences: 1 as unknown as boolean })] }),
    `"Guardrails.strictJsonWith.fences": expected a boolean, got 1`],
  [
    "Guardrails.drift",
    l0({ ...ok, guardrails: Guardrails.drift({ hedging: { severity: "loud" as Guardrail.Severity } }) }),
    `"Guardrails.drift.hedging.severity": expected one of "warning", "error", "fatal", got a string`
  ],
  // structured output
  ["structured autoCorrect", L0.structured(Order, { ...ok, autoCorrect: SECRET as unknown as boolean }),
    `"autoCorrect": expected a boolean, got a string`],
  ["structured json.maxLength", L0.structured(Order, { ...ok, json: { maxLength: 0.5 } }),
    `"json.maxLength": expected an integer ≥ 1, got 0.5`],
  ["structured options as a whole", L0.structured(Order, 7 as unknown as Structured.StructuredOptions),
    `"options": expected an options object, got 7`],
  // consensus
  ["consensus list", Consensus.consensus([], { strategy: "majority" }),
    `"options": expected a non-empty array of L0 options, got an array of 0`],
  [
    "consensus strategy enum",
    Consensus.consensus([ok], { strategy: SECRET as "majority" }),
    `"strategy": expected one of "unanimous", "majority", "weighted", "best", got a string`
  ],
  ["consensus minAgreement range", Consensus.consensus([ok], { strategy: "majority", minAgreement: 2 }),
    `"minAgreement": expected a number from 0 to 1, got 2`],
  ["fieldwise decode missing", Consensus.fieldwise([ok], {} as Consensus.FieldwiseOptions<object>),
    `"decode": expected a function returning an Effect, got undefined`],
  // multi-stream
  ["parallel concurrency", L0.parallel([ok], { concurrency: 0 }),
    `"concurrency": expected a positive integer or "unbounded", got 0`],
  ["parallel mode enum", L0.parallel([ok], { mode: SECRET as "settle" }),
    `"mode": expected one of "fail-fast", "settle", got a string`],
  ["race list", L0.race([]), `"options": expected a non-empty array of L0 options, got an array of 0`],
  ["batched size", L0.batched([ok], { size: 1.5 }), `"size": expected a positive integer, got 1.5`],
  ["batched config", L0.batched([ok], undefined as unknown as { size: number }),
    `"config": expected { size, mode? }, got undefined`],
  ["hedge after", Stream.runDrain(L0.hedge(ok, { after: -1 })), `"after": expected a finite duration ≥ 0, got -1`],
  // windows and pipelines
  ["Window.split size", Effect.fromResult(Window.split("text", { size: 0 })),
    `"size": expected a positive integer, got 0`],
  ["Window.split by enum", Effect.fromResult(Window.split("text", { size: 1, by: "pages" as "tokens" })),
    `"by": expected one of "tokens", "characters", "sentences", "paragraphs", got a string`],
  ["Window.process concurrency", Window.process("text", { size: 1, concurrency: 0 }, () => ok),
    `"concurrency": expected a positive integer, got 0`],
  ["Pipeline.run steps", Pipeline.run([{ options: SECRET } as unknown as Pipeline.Step], "in"),
    `"steps[0].options": expected a function (previous, outputs) => L0Options, got a string`],
  // HTTP adapters
  [
    "Adapters.openaiHttp apiKey",
    l0({ stream: Adapters.openaiHttp({ apiKey: "", body: {} }) }),
    `"Adapters.openaiHttp.apiKey": expected a non-empty string or a Redacted string, got an empty string`
  ],
  [
    "Adapters.anthropicHttp baseUrl, key given",
    l0({ stream: Adapters.anthropicHttp({ apiKey: SECRET, baseUrl: 5 as unknown as string, body: {} }) }),
    `"Adapters.anthropicHttp.baseUrl": expected a URL, got 5`
  ],
  [
    "Adapters.openaiHttp headers",
    l0({
      stream: Adapters.openaiHttp({ apiKey: SECRET, body: {}, headers: { authorization: 1 as unknown as string } })
    }),
    `"Adapters.openaiHttp.headers.authorization": expected a string, got 1`
  ]
]

describe("option checks", () => {
  it.effect("every options object fails with one message format, naming the path, never showing a secret", () =>
    Effect.gen(function*() {
      for (const [name, run, message] of cases) {
        const error = yield* firstError(run)
        expect(error, name).toBeInstanceOf(L0Error.FatalError)
        expect((error as L0Error.FatalError).reason, name).toBe("options")
        expect(error.message, name).toBe(`Invalid option ${message}`)
        expect(error.message, name).toMatch(FORMAT)
        expect(error.message, name).not.toContain(SECRET)
      }
      expect(never.calls).toHaveLength(0)
    }))

  it.effect("a getter or proxy that throws while options are read gives the same typed error, not a crash", () =>
    Effect.gen(function*() {
      const getter = {
        get stream(): never {
          throw new Error(SECRET)
        }
      }
      const { proxy, revoke } = Proxy.revocable({ stream: never.stream }, {})
      revoke()
      const nested = {
        ...ok,
        retry: {
          get maxAttempts(): never {
            throw new Error(SECRET)
          }
        }
      }
      for (const options of [getter, proxy, nested]) {
        const error = yield* firstError(l0(options))
        expect(error).toBeInstanceOf(L0Error.FatalError)
        expect((error as L0Error.FatalError).reason).toBe("options")
        expect(error.message).toBe(
          `Invalid option "options": expected an object whose options can be read, got an object that throws when read`
        )
      }
      const consensus = yield* firstError(Consensus.consensus([ok], {
        get strategy(): never {
          throw new Error(SECRET)
        }
      }))
      expect(consensus.message).toMatch(/^Invalid option "config": expected an object whose options can be read/)
      expect(never.calls).toHaveLength(0)
    }))

  it("a rule refused for its options still reports the same message at its first check", () => {
    const rule = Guardrails.repetition({ maxRepeats: 0 })
    expect(checkChunks(rule, ["x"]).map((violation) => violation.message)).toEqual([
      `Invalid option "Guardrails.repetition.maxRepeats": expected an integer ≥ 1, got 0`
    ])
  })

  it.effect("valid options decode with their defaults and run", () =>
    Effect.gen(function*() {
      const text = yield* L0.text({
        stream: TestSource.make(["a", "b"]).stream,
        retry: { backoff: "fixed" },
        continuation: { deduplicate: true },
        redact: [SECRET]
      })
      expect(text).toBe("ab")
      expect(Result.isSuccess(Window.split("one two", { size: 1 }))).toBe(true)
    }))
})
