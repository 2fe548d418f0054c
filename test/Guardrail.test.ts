import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { pipe } from "effect/Function"
import * as Stream from "effect/Stream"
import { EventBus, Guardrail, Guardrails, L0, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset } from "./support.js"

const tags = (events: Iterable<L0Event.L0Event>) => [...events].map((event) => event._tag)

const finalText = (events: Iterable<L0Event.L0Event>) => [...events].reduce(L0Event.applyTo, "")

/** Runs `effect` with a collecting EventBus and returns its result with the events of the given types. */
const collecting = <A, E, T extends EventBus.EventType>(effect: Effect.Effect<A, E>, types: ReadonlyArray<T>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    const collected = yield* EventBus.Collected
    const wanted: ReadonlyArray<EventBus.EventType> = types
    const events = (yield* collected.events).filter((event): event is EventBus.BusEvent<T> =>
      wanted.includes(event.type)
    )
    return { exit, events }
  }).pipe(Effect.provide(EventBus.layerCollect))

/** A rule that records what each check received. */
const recorder = () => {
  const inputs: Array<Guardrail.CheckInput & { readonly text: string }> = []
  const rule = Guardrail.make({
    name: "recorder",
    check: (input) => {
      inputs.push({ ...input, text: input.content })
    }
  })
  return { rule, inputs }
}

describe("guardrail errors, fatal violations and warnings", () => {
  it.effect("an error fails the attempt with a ContentError, the retry's output is final, after a Reset", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        [`{"a": [1`, TestSource.sleep("1 second"), `}`, ` and more`],
        [`{"a": `, `[1]}`]
      )
      const fiber = yield* Effect.forkChild(
        Stream.runCollect(
          L0.stream({
            stream: source.stream,
            guardrails: [Guardrails.json],
            checkInterval: 1,
            retry: { backoff: "fixed" }
          })
        )
      )
      yield* advance("1 second")
      yield* advance("1 second")
      const events = yield* Fiber.join(fiber)
      expect(tags(events)).toEqual(["Token", "Reset", "Token", "Token", "Complete"])
      expect(events[1]).toEqual(L0Event.reset(0))
      expect(finalText(events)).toBe(`{"a": [1]}`)
      expect(source.calls).toHaveLength(2)
      const previous = source.calls[1]!.context.previousError
      expect(previous?._tag).toBe("ContentError")
      expect(previous).toMatchObject({
        rule: "json",
        message: `Guardrail json: "}" at offset 8 closes "["`,
        violations: [{ rule: "json", severity: "error", message: `"}" at offset 8 closes "["` }]
      })
      const complete = events.at(-1) as L0Event.Complete
      // the violation that ended the first attempt stays in the run's state, with that attempt
      expect(complete.state).toMatchObject({
        attempt: 2,
        modelRetryCount: 1,
        violations: [{ rule: "json", severity: "error", source: 0, attempt: 1 }]
      })
    }))

  it.effect("errors consume maxAttempts and end in ExhaustedError", () =>
    Effect.gen(function*() {
      const source = TestSource.make([""])
      const fiber = yield* Effect.forkChild(Effect.flip(
        L0.run({ stream: source.stream, guardrails: Guardrails.minimal, retry: { maxAttempts: 2, backoff: "fixed" } })
      ))
      yield* advance("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("ExhaustedError")
      expect(source.calls).toHaveLength(2)
      expect(error._tag === "ExhaustedError" && error.attempts.map((a) => a.error.message)).toEqual([
        "Guardrail zeroOutput: the output is empty",
        "Guardrail zeroOutput: the output is empty"
      ])
    }))

  it.effect("a fatal violation ends the run with a FatalError: no retry, no fallback", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["key: -----BEGIN PRIV", "ATE KEY-----"])
      const fallback = TestSource.make(["fine"])
      const secrets = pipe(
        Guardrails.pattern(["BEGIN PRIVATE KEY"], { defaults: false }),
        Guardrail.withSeverity("fatal")
      )
      const { events, exit } = yield* collecting(
        L0.run({ stream: source.stream, fallbacks: [fallback.stream], guardrails: [Guardrails.json, secrets] }),
        ["guardrail_violation", "error_fatal", "retry_attempt", "fallback_start"]
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(error).toMatchObject({
        _tag: "FatalError",
        reason: "guardrail",
        violations: [{ rule: "pattern", severity: "fatal", message: `found "BEGIN PRIVATE KEY" at offset 10` }]
      })
      expect((error as Error).message).toBe(`Guardrail pattern: found "BEGIN PRIVATE KEY" at offset 10`)
      expect(source.calls).toHaveLength(1)
      expect(fallback.calls).toHaveLength(0)
      expect(events.map((event) => event.type)).toEqual(["guardrail_violation", "error_fatal"])
    }))

  it.effect("warnings are reported on the bus and kept in Complete.state.violations", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["Unfortunately, ", "I cannot say **why."])
      const { events, exit } = yield* collecting(
        L0.run({ stream: source.stream, guardrails: Guardrails.recommended }),
        ["guardrail_check", "guardrail_violation"]
      )
      const expected = [
        { rule: "markdown", severity: "warning", message: `"**" is never closed in the paragraph at line 1` },
        { rule: "pattern", severity: "warning", message: `found "Unfortunately" at offset 0` },
        { rule: "pattern", severity: "warning", message: `found "I cannot" at offset 15` }
      ]
      expect(Exit.isSuccess(exit) && exit.value.text).toBe("Unfortunately, I cannot say **why.")
      expect(Exit.isSuccess(exit) && exit.value.state.violations).toEqual(
        expected.map((violation) => ({ ...violation, source: 0, attempt: 1 }))
      )
      expect(events.filter((e) => e.type === "guardrail_violation").map((e) => e.data)).toEqual(expected)
      expect(events.filter((e) => e.type === "guardrail_check").map((e) => e.data)).toEqual([
        { completed: true, tokenCount: 2, violations: 3 }
      ])
    }))

  it.effect("a check that throws ends the run with a FatalError instead of a defect", () =>
    Effect.gen(function*() {
      const broken = Guardrail.make({
        name: "broken",
        check: () => {
          throw new Error("kaput")
        }
      })
      const error = yield* Effect.flip(L0.run({ stream: TestSource.make(["a"]).stream, guardrails: [broken] }))
      expect(error).toMatchObject({
        _tag: "FatalError",
        reason: "guardrail",
        message: "Guardrail broken: the check threw: kaput"
      })
      const thrownString = Guardrail.make({
        name: "strings",
        check: () => {
          throw "plain"
        }
      })
      const other = yield* Effect.flip(L0.run({ stream: TestSource.make(["a"]).stream, guardrails: [thrownString] }))
      expect(other.message).toBe("Guardrail strings: the check threw: plain")
    }))

  it.effect("a rule built from invalid options fails the run with a FatalError naming the option, before any source is called", () =>
    Effect.gen(function*() {
      const rule = Guardrails.repetition({ maxRepeats: -1 })
      const source = TestSource.make(["text"])
      const error = yield* Effect.flip(L0.run({ stream: source.stream, guardrails: [rule] }))
      expect(error).toMatchObject({
        _tag: "FatalError",
        reason: "options",
        message: `Invalid option "Guardrails.repetition.maxRepeats": expected an integer ≥ 1, got -1`
      })
      expect(source.calls).toHaveLength(0)
    }))

  it.effect("a refused rule whose severity was changed still ends the run at its first check", () =>
    Effect.gen(function*() {
      const rule = Guardrail.withSeverity(Guardrails.repetition({ maxRepeats: -1 }), "warning")
      const error = yield* Effect.flip(L0.run({ stream: TestSource.make(["text"]).stream, guardrails: [rule] }))
      expect(error).toMatchObject({
        _tag: "FatalError",
        reason: "guardrail",
        message:
          `Guardrail repetition: Invalid option "Guardrails.repetition.maxRepeats": expected an integer ≥ 1, got -1`
      })
    }))
})

describe("checkInterval", () => {
  const checks = (tokens: number, checkInterval: number | undefined) =>
    Effect.gen(function*() {
      const source = TestSource.make(TestSource.paced(Array.from({ length: tokens }, (_, i) => `t${i} `), "10 millis"))
      const fiber = yield* Effect.forkChild(collecting(
        L0.run({ stream: source.stream, guardrails: [Guardrails.json], checkInterval }),
        ["guardrail_check"]
      ))
      for (let i = 0; i < tokens; i++) yield* advance("10 millis")
      const { events } = yield* Fiber.join(fiber)
      return events.map((event) => event.data)
    })

  it.effect("checks every checkInterval tokens and once more at completion", () =>
    Effect.gen(function*() {
      expect(yield* checks(25, 10)).toEqual([
        { completed: false, tokenCount: 10, violations: 0 },
        { completed: false, tokenCount: 20, violations: 0 },
        { completed: true, tokenCount: 25, violations: 0 }
      ])
      expect(yield* checks(7, 3)).toEqual([
        { completed: false, tokenCount: 3, violations: 0 },
        { completed: false, tokenCount: 6, violations: 0 },
        { completed: true, tokenCount: 7, violations: 0 }
      ])
      expect((yield* checks(12, undefined)).map((data) => data.tokenCount)).toEqual([10, 12])
      expect(yield* checks(4, 100)).toEqual([{ completed: true, tokenCount: 4, violations: 0 }])
    }))

  it.effect("checks a batch of tokens that arrived together once, with all of its text", () =>
    Effect.gen(function*() {
      const { inputs, rule } = recorder()
      yield* L0.run({ stream: TestSource.make(["a", "b", "c", "d", "e"]).stream, guardrails: [rule], checkInterval: 2 })
      expect(inputs.map(({ completed, delta, tokenCount }) => ({ completed, delta, tokenCount }))).toEqual([
        { completed: false, delta: "abcde", tokenCount: 5 },
        { completed: true, delta: "", tokenCount: 5 }
      ])
    }))

  it.effect("is validated: an integer ≥ 1, or a FatalError naming it before any source is called", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a"])
      for (const checkInterval of [0, -1, 2.5, "10", Number.NaN]) {
        const error = yield* Effect.flip(
          L0.run({ stream: source.stream, guardrails: [Guardrails.json], checkInterval: checkInterval as number })
        )
        expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
        expect(error.message).toMatch(/^Invalid option "checkInterval": expected an integer ≥ 1, got /)
      }
      const notRule = yield* Effect.flip(
        L0.run({ stream: source.stream, guardrails: [{ name: "x" } as unknown as Guardrail.GuardrailRule] })
      )
      expect(notRule.message).toBe(
        `Invalid option "guardrails[0]": expected a guardrail rule (Guardrail.make), got an object`
      )
      expect(source.calls).toHaveLength(0)
    }))
})

describe("rule state", () => {
  it.effect("is fresh for every attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make([`{"a": [1`], [`{"b": 2}`])
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: source.stream, guardrails: [Guardrails.json], retry: { backoff: "fixed" } })
      )
      yield* advance("1 second")
      expect(yield* Fiber.join(fiber)).toBe(`{"b": 2}`)
      expect(source.calls).toHaveLength(2)
    }))

  it.effect("is not shared by concurrent runs of the same rule value", () =>
    Effect.gen(function*() {
      const run = (chunks: ReadonlyArray<string>) =>
        Effect.exit(L0.text({
          stream: TestSource.make(TestSource.paced(chunks, "10 millis")).stream,
          guardrails: Guardrails.jsonOnly,
          checkInterval: 1,
          retry: { maxAttempts: 1 }
        }))
      const fiber = yield* Effect.forkChild(
        Effect.all([run([`{"a": [`, `1, 2`, `]}`]), run([`[`, `[`, `]`])], { concurrency: 2 })
      )
      for (let i = 0; i < 3; i++) yield* advance("10 millis")
      const [good, bad] = yield* Fiber.join(fiber)
      expect(Exit.isSuccess(good) && good.value).toBe(`{"a": [1, 2]}`)
      expect(Exit.isFailure(bad)).toBe(true)
    }))

  it.effect("with continuation, the rules see the checkpoint first", () =>
    Effect.gen(function*() {
      const { inputs, rule } = recorder()
      const source = TestSource.make(
        ["Hello", TestSource.sleep("1 second"), " wor", TestSource.fail(connectionReset())],
        ["world", "!"]
      )
      const fiber = yield* Effect.forkChild(L0.text({
        stream: source.stream,
        guardrails: [rule, Guardrails.zeroOutput],
        // the retry restates "wor", removed by deduplication before the rules see it
        continuation: { deduplicate: true },
        checkInterval: 1,
        retry: { backoff: "fixed" }
      }))
      yield* advance("1 second")
      yield* advance("1 second")
      expect(yield* Fiber.join(fiber)).toBe("Hello world!")
      const second = inputs.slice(inputs.findIndex((input) => input.delta.startsWith("Hello wor")))
      expect(second.map(({ delta, text }) => [delta, text])).toEqual([
        ["Hello world!", "Hello world!"],
        ["", "Hello world!"]
      ])
    }))

  it.effect("starts over when a nested L0 source resets its text", () =>
    Effect.gen(function*() {
      const { inputs, rule } = recorder()
      const nested = [L0Event.token(`{"a": [`), L0Event.reset(0), L0Event.token(`{"b": 1}`)]
      const fiber = yield* Effect.forkChild(L0.text({
        stream: TestSource.make(TestSource.paced(nested, "10 millis")).stream,
        guardrails: [Guardrails.json, rule],
        checkInterval: 1
      }))
      for (let i = 0; i < 3; i++) yield* advance("10 millis")
      expect(yield* Fiber.join(fiber)).toBe(`{"b": 1}`)
      expect(inputs.map(({ delta }) => delta)).toEqual([`{"a": [`, `{"b": 1}`, ""])
    }))

  it.effect("sees tool calls: a reply of tool calls only passes zeroOutput", () =>
    Effect.gen(function*() {
      const { inputs, rule } = recorder()
      const call = L0Event.toolCall("call_1", "lookup", `{"q": "x"}`)
      const result = yield* L0.run({
        stream: TestSource.make([call]).stream,
        guardrails: [...Guardrails.minimal, rule]
      })
      expect(result.text).toBe("")
      expect(result.state.toolCalls).toEqual([call])
      expect(inputs.at(-1)).toMatchObject({ completed: true, toolCallCount: 1 })
    }))
})

describe("Guardrail", () => {
  it("withSeverity works data-first and in a pipe, and keeps the check", () => {
    const first = Guardrail.withSeverity(Guardrails.zeroOutput, "warning")
    const piped = pipe(Guardrails.zeroOutput, Guardrail.withSeverity("fatal"))
    expect([first.severity, piped.severity, Guardrails.zeroOutput.severity]).toEqual(["warning", "fatal", "error"])
    const input = { delta: "", content: "", tokenCount: 0, toolCallCount: 0, completed: true }
    expect(Guardrail.normalize(piped, piped.start()(input))).toEqual([
      { rule: "zeroOutput", severity: "fatal", message: "the output is empty" }
    ])
  })

  it("make defaults to severity error; normalize fills in what a check leaves out", () => {
    const rule = Guardrail.make({ name: "custom", check: () => undefined })
    expect(rule.severity).toBe("error")
    expect(Guardrail.normalize(rule, undefined)).toEqual([])
    expect(Guardrail.normalize(rule, [])).toEqual([])
    expect(Guardrail.normalize(rule, "bad")).toEqual([{ rule: "custom", severity: "error", message: "bad" }])
    expect(Guardrail.normalize(rule, { message: "worse", severity: "fatal" })).toEqual([
      { rule: "custom", severity: "fatal", message: "worse" }
    ])
    expect(Guardrail.normalize(rule, ["a", { rule: "sub", message: "b" }])).toEqual([
      { rule: "custom", severity: "error", message: "a" },
      { rule: "sub", severity: "error", message: "b" }
    ])
    expect(Guardrail.isGuardrailRule(rule)).toBe(true)
    expect(Guardrail.isGuardrailRule({ name: "x", start: 1 })).toBe(false)
    expect(Guardrail.isGuardrailRule(null)).toBe(false)
  })
})
