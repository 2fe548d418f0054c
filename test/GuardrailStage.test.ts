import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { Guardrail, Guardrails, L0, L0Error, L0Event, L0State } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { connectionReset, failureOf, noDelay } from "./support.js"

/** One event per array, so each array is one check opportunity. */
const events = (...list: ReadonlyArray<L0Event.L0Event>) => Stream.fromIterable(list).pipe(Stream.rechunk(1))

const complete = (content: string): L0Event.Complete => ({
  _tag: "Complete",
  state: { ...L0State.initial, content, lastGoodContent: content, completed: true }
})

/** Fails once three "!" were seen since the rule's state was created: shows whether a reset restarted it. */
const threeBangs = Guardrail.make({
  name: "bangs",
  initial: () => ({ count: 0 }),
  check: ({ delta }, state) => {
    state.count += delta.split("!").length - 1
    return state.count >= 3 ? `${state.count} bangs` : undefined
  }
})

/** Records what each check saw. */
const recorder = () => {
  const seen: Array<{ delta: string; completed: boolean; content: string }> = []
  const rule = Guardrail.make({
    name: "recorder",
    severity: "warning",
    check: ({ completed, content, delta }) => {
      seen.push({ delta, completed, content })
      return undefined
    }
  })
  return { seen, rule }
}

const forbidden = Guardrail.make({
  name: "forbidden",
  check: ({ delta }) => delta.includes("BAD") ? "BAD in output" : undefined
})

/** Runs the stream, keeping what was emitted before it ended. */
const collect = <E>(stream: Stream.Stream<L0Event.L0Event, E>) =>
  Effect.gen(function*() {
    const emitted: Array<L0Event.L0Event> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (event) => Effect.sync(() => emitted.push(event))))
    return { emitted, exit }
  })

describe("Guardrails.stage", () => {
  it.effect("restarts the rules on a Reset of an L0 stream: the failed attempt's text no longer counts", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a!", "b!", TestSource.fail(connectionReset())], ["c!", "done"])
      const guarded = L0.stream({ stream: source.stream, retry: noDelay }).pipe(
        Guardrails.stage([threeBangs], { checkInterval: 1 })
      )
      const { emitted, exit } = yield* collect(guarded)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(emitted.filter((e) => e._tag === "Reset")).toEqual([L0Event.reset(0)])
      expect(emitted.reduce(L0Event.applyTo, "")).toBe("c!done")
    }))

  it.effect("without the reset, the same tokens break the rule", () =>
    Effect.gen(function*() {
      const { exit } = yield* collect(
        events(L0Event.token("a!"), L0Event.token("b!"), L0Event.token("c!")).pipe(
          Guardrails.stage([threeBangs], { checkInterval: 1 })
        )
      )
      expect(failureOf(exit)).toMatchObject({
        _tag: "ContentError",
        rule: "bangs",
        message: "Guardrail bangs: 3 bangs"
      })
    }))

  it.effect("a Reset that keeps text feeds the kept text to the restarted rules first", () =>
    Effect.gen(function*() {
      const { rule, seen } = recorder()
      const { exit } = yield* collect(
        events(L0Event.token("keep "), L0Event.token("drop"), L0Event.reset(5), L0Event.token("new")).pipe(
          Guardrails.stage([rule], { checkInterval: 1 })
        )
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(seen.map((s) => s.delta)).toEqual(["keep ", "drop", "keep new", ""])
      expect(seen.at(-1)).toEqual({ delta: "", completed: true, content: "keep new" })
    }))

  it.effect("a violation before a reset fails the stream before the reset passes", () =>
    Effect.gen(function*() {
      const { emitted, exit } = yield* collect(
        events(L0Event.token("BAD"), L0Event.reset(0), L0Event.token("fine")).pipe(
          Guardrails.stage([forbidden], { checkInterval: 1 })
        )
      )
      expect(failureOf(exit)).toMatchObject({ _tag: "ContentError", rule: "forbidden" })
      expect(emitted).toEqual([])
    }))

  it.effect("a violation after a reset fails the stream; the events before it passed", () =>
    Effect.gen(function*() {
      const { emitted, exit } = yield* collect(
        events(L0Event.token("fine"), L0Event.reset(0), L0Event.token("BAD")).pipe(
          Guardrails.stage([forbidden], { checkInterval: 1 })
        )
      )
      expect(failureOf(exit)).toMatchObject({ _tag: "ContentError", rule: "forbidden" })
      expect(emitted).toEqual([L0Event.token("fine"), L0Event.reset(0)])
    }))

  it.effect("checks every checkInterval tokens, each check fed only the new text, and once at the end", () =>
    Effect.gen(function*() {
      const { rule, seen } = recorder()
      const tokens = ["a", "b", "c", "d", "e"].map(L0Event.token)
      const { exit } = yield* collect(events(...tokens).pipe(Guardrails.stage([rule], { checkInterval: 3 })))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(seen).toEqual([
        { delta: "abc", completed: false, content: "abc" },
        { delta: "de", completed: true, content: "abcde" }
      ])
    }))

  it.effect("the default interval is L0.stream's: 10 tokens", () =>
    Effect.gen(function*() {
      const { rule, seen } = recorder()
      const tokens = Array.from({ length: 12 }, (_, i) => L0Event.token(String(i % 10)))
      yield* collect(events(...tokens).pipe(Guardrails.stage([rule])))
      expect(seen.map((s) => [s.delta, s.completed])).toEqual([["0123456789", false], ["01", true]])
    }))

  it.effect("the completion check runs at Complete and fails before Complete passes", () =>
    Effect.gen(function*() {
      const { emitted, exit } = yield* collect(
        events(L0Event.token("{\"a\": [1"), complete("{\"a\": [1")).pipe(
          Guardrails.stage([Guardrails.json], { checkInterval: 100 })
        )
      )
      expect(failureOf(exit)).toMatchObject({ _tag: "ContentError", rule: "json" })
      expect(emitted.map((e) => e._tag)).toEqual(["Token"])
    }))

  it.effect("a stream without Complete gets its completion check at its end, once", () =>
    Effect.gen(function*() {
      const { rule, seen } = recorder()
      const empty = yield* collect(Stream.empty.pipe(Guardrails.stage([Guardrails.zeroOutput])))
      expect(failureOf(empty.exit)).toMatchObject({ _tag: "ContentError", rule: "zeroOutput" })
      yield* collect(events(L0Event.token("x"), complete("x")).pipe(Guardrails.stage([rule])))
      expect(seen.filter((s) => s.completed)).toHaveLength(1)
    }))

  it.effect("tool calls count: a reply of tool calls alone passes zeroOutput", () =>
    Effect.gen(function*() {
      const { exit } = yield* collect(
        events(L0Event.toolCall("c1", "lookup", "{}")).pipe(Guardrails.stage([Guardrails.zeroOutput]))
      )
      expect(Exit.isSuccess(exit)).toBe(true)
    }))

  it.effect("a rule that throws fails the stream with a fatal guardrail error, not a defect", () =>
    Effect.gen(function*() {
      const throwing = Guardrail.make({
        name: "throws",
        check: () => {
          throw new Error("boom")
        }
      })
      const { exit } = yield* collect(
        events(L0Event.token("x")).pipe(Guardrails.stage([throwing], { checkInterval: 1 }))
      )
      expect(failureOf(exit)).toMatchObject({
        _tag: "FatalError",
        reason: "guardrail",
        message: "Guardrail throws: the check threw: boom"
      })
    }))

  it.effect("warnings pass; fatal violations are FatalErrors", () =>
    Effect.gen(function*() {
      const warned = yield* collect(
        events(L0Event.token("As an AI language model, I cannot")).pipe(Guardrails.stage([Guardrails.pattern()]))
      )
      expect(Exit.isSuccess(warned.exit)).toBe(true)
      expect(warned.emitted).toHaveLength(1)
      const fatal = yield* collect(
        events(L0Event.token("BAD")).pipe(Guardrails.stage([Guardrail.withSeverity(forbidden, "fatal")]))
      )
      expect(failureOf(fatal.exit)).toMatchObject({ _tag: "FatalError", reason: "guardrail" })
    }))

  it.effect("data-first and data-last calls are the same stage", () =>
    Effect.gen(function*() {
      const first = yield* collect(Guardrails.stage(events(L0Event.token("BAD")), [forbidden]))
      expect(failureOf(first.exit)).toMatchObject({ _tag: "ContentError", rule: "forbidden" })
    }))

  it.effect("invalid rules or interval fail with a FatalError naming the option", () =>
    Effect.gen(function*() {
      const notRule = [Guardrails.json, 42] as unknown as ReadonlyArray<Guardrail.GuardrailRule>
      const cases = [
        [Guardrails.stage(events(), notRule), "Invalid option \"guardrails[1]\""],
        [Guardrails.stage(events(), 7 as unknown as []), "Invalid option \"guardrails\""],
        [Guardrails.stage(events(), [], { checkInterval: 0 }), "Invalid option \"checkInterval\""],
        [Guardrails.stage(events(), [], { checkInterval: 1.5 }), "Invalid option \"checkInterval\""],
        [Guardrails.stage(events(), [], { checkIntervall: 5 } as Guardrails.StageOptions),
          "Invalid option \"checkIntervall\""],
        [
          Guardrails.stage(events(), [Guardrails.strictJsonWith({ scalars: "yes" as unknown as boolean })]),
          "Invalid option \"Guardrails.strictJsonWith.scalars\""
        ]
      ] as const
      for (const [stream, message] of cases) {
        const { exit } = yield* collect(stream)
        const error = failureOf(exit)
        expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
        expect(error.message).toContain(message)
      }
    }))

  it.effect("a guardrail in L0.stream's options retries; the same rule as a stage fails the stream", () =>
    Effect.gen(function*() {
      const retried = TestSource.make(["BAD"], ["good"])
      const text = yield* L0.text({ stream: retried.stream, guardrails: [forbidden], retry: noDelay })
      expect(text).toBe("good")
      const staged = TestSource.make(["BAD"], ["good"])
      const { exit } = yield* collect(
        L0.stream({ stream: staged.stream, retry: noDelay }).pipe(Guardrails.stage([forbidden]))
      )
      expect(failureOf(exit)).toBeInstanceOf(L0Error.ContentError)
      expect(staged.calls).toHaveLength(1)
    }))
})

describe("Guardrails.check", () => {
  it("returns the violations of every severity in a finished text", () => {
    const violations = Guardrails.check("As an AI language model, {\"a\": [", [
      Guardrails.pattern(),
      Guardrails.strictJson,
      Guardrail.withSeverity(forbidden, "fatal")
    ])
    expect(violations.map((v) => [v.rule, v.severity])).toEqual([
      ["pattern", "warning"],
      ["strictJson", "error"]
    ])
    expect(Guardrails.check("{\"a\": 1}", Guardrails.jsonOnly)).toEqual([])
  })

  it("sees the text as complete, and an empty text as empty output", () => {
    expect(Guardrails.check("", [Guardrails.zeroOutput]).map((v) => v.rule)).toEqual(["zeroOutput"])
    expect(Guardrails.check("[1, 2", [Guardrails.json]).map((v) => v.rule)).toEqual(["json"])
  })

  it("a rule that throws gives a fatal violation", () => {
    const throwing = Guardrail.make({
      name: "throws",
      check: () => {
        throw new Error("boom")
      }
    })
    expect(Guardrails.check("x", [throwing])).toEqual([
      { rule: "throws", severity: "fatal", message: "the check threw: boom" }
    ])
  })

  it("invalid rules or text give a fatal violation that names the input, not a throw", () => {
    const notRules = 7 as unknown as ReadonlyArray<Guardrail.GuardrailRule>
    expect(Guardrails.check("x", notRules)).toEqual([
      {
        rule: "guardrails",
        severity: "fatal",
        message: "Invalid option \"guardrails\": expected an array of guardrail rules, got 7"
      }
    ])
    expect(Guardrails.check(42 as unknown as string, [Guardrails.json])).toEqual([
      { rule: "guardrails", severity: "fatal", message: "Invalid option \"text\": expected a string, got 42" }
    ])
  })
})
