import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { EventBus, Guardrail, L0, L0Error, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset, failureOf, noDelay } from "./support.js"


/** A custom rule through the public constructor: flags a word, seen across deltas. */
const forbid = (word: string, severity: Guardrail.Severity) =>
  Guardrail.make({
    name: `forbid-${word}`,
    severity,
    initial: () => ({ tail: "" }),
    check: ({ delta }, state) => {
      const window = state.tail + delta
      state.tail = window.slice(-(word.length - 1))
      return window.includes(word) ? `found "${word}"` : undefined
    }
  })


describe("guardrail stage", () => {
  it.effect("an error violation fails the attempt as ContentError and the retry's output is final, after a Reset", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["this is ", TestSource.sleep("1 second"), "bad", " output"], ["fine output"])
      const fiber = yield* Effect.forkChild(Stream.runCollect(
        L0.stream({ stream: source.stream, guardrails: [forbid("bad", "error")], checkInterval: 1, retry: noDelay })
      ))
      yield* advance("1 second")
      const events = yield* Fiber.join(fiber)
      const shown = events.map((e) => e._tag === "Token" ? e.value : e._tag)
      expect(shown).toEqual(["this is ", "Reset", "fine output", "Complete"])
      expect(source.calls[1]!.context.previousError).toMatchObject({ _tag: "ContentError", rule: "forbid-bad" })
      const complete = events.at(-1) as L0Event.Complete
      expect(complete.state).toMatchObject({ content: "fine output", modelRetryCount: 1 })
    }))

  it.effect("content errors consume maxAttempts", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["bad"])
      const error = failureOf(yield* Effect.exit(L0.text({
        stream: source.stream,
        guardrails: [forbid("bad", "error")],
        retry: { ...noDelay, maxAttempts: 2 }
      })))
      expect(source.calls).toHaveLength(2)
      expect((error as L0Error.ExhaustedError).lastError).toMatchObject({
        _tag: "ContentError",
        violations: [{ rule: "forbid-bad", severity: "error", message: "found \"bad\"" }]
      })
    }))

  it.effect("a fatal violation ends the run with FatalError, no retry and no fallback", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["leaking the secret now"])
      const fallback = TestSource.make(["never"])
      const error = failureOf(yield* Effect.exit(L0.text({
        stream: source.stream,
        fallbacks: [fallback.stream],
        guardrails: [forbid("secret", "fatal")]
      })))
      expect(error).toMatchObject({ _tag: "FatalError", reason: "guardrail" })
      expect((error as L0Error.FatalError).violations).toHaveLength(1)
      expect(source.calls).toHaveLength(1)
      expect(fallback.calls).toHaveLength(0)
    }))

  it.effect("warnings are reported on the bus and in the state, and do not fail", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const result = yield* L0.run({ stream: TestSource.make(["a ", "meh", " b"]).stream, guardrails: [forbid("meh", "warning")] })
        const events = yield* (yield* EventBus.Collected).events
        return { result, events }
      })
      const { result, events } = yield* program.pipe(Effect.provide(EventBus.layerCollect))
      expect(result.text).toBe("a meh b")
      expect(result.state.violations).toEqual([{ rule: "forbid-meh", message: "found \"meh\"", severity: "warning" }])
      expect(events.filter((e) => e.type === "guardrail_violation").map((e) => e.data)).toEqual([
        { rule: "forbid-meh", message: "found \"meh\"", severity: "warning" }
      ])
    }))

  it.effect("checks run every checkInterval tokens and once at completion, on the text since the last check", () =>
    Effect.gen(function*() {
      const deltas: Array<[string, boolean, number]> = []
      const spy = Guardrail.make({
        name: "spy",
        check: ({ delta, completed, tokenCount }) => void deltas.push([delta, completed, tokenCount])
      })
      const source = TestSource.make(Array.from({ length: 25 }, (_, i) => String.fromCharCode(97 + i)))
      const program = Effect.gen(function*() {
        yield* L0.text({ stream: source.stream, guardrails: [spy], checkInterval: 10 })
        return yield* (yield* EventBus.Collected).events
      })
      const events = yield* program.pipe(Effect.provide(EventBus.layerCollect))
      // chunks reach the stage in arrays, so a check covers at least 10 tokens
      const totals = deltas.map(([delta]) => delta).join("")
      expect(totals).toBe("abcdefghijklmnopqrstuvwxy")
      expect(deltas.at(-1)![1]).toBe(true)
      expect(deltas.at(-1)![2]).toBe(25)
      expect(deltas.slice(0, -1).every(([delta, completed]) => !completed && delta.length >= 10)).toBe(true)
      expect(events.filter((e) => e.type === "guardrail_check")).toHaveLength(deltas.length)
    }))

  it.effect("rules get fresh state on every attempt, and content is the whole attempt's text", () =>
    Effect.gen(function*() {
      let starts = 0
      const contents: Array<string> = []
      const rule = Guardrail.make({
        name: "fresh",
        initial: () => ++starts,
        check: ({ content, completed }) => {
          if (completed) contents.push(content)
        }
      })
      const source = TestSource.make(["ab", TestSource.fail(connectionReset())], ["cd", "ef"])
      expect(yield* L0.text({ stream: source.stream, guardrails: [rule], retry: noDelay })).toBe("cdef")
      expect(starts).toBe(2)
      expect(contents).toEqual(["cdef"])
    }))

  it.effect("with continuation, rules see the checkpoint first", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const rule = Guardrail.make({ name: "seen", check: ({ delta }) => void seen.push(delta) })
      const source = TestSource.make(["Hello ", TestSource.fail(connectionReset())], ["world"])
      const text = yield* L0.text({
        stream: source.stream,
        guardrails: [rule],
        checkInterval: 1,
        continuation: true,
        retry: noDelay
      })
      expect(text).toBe("Hello world")
      expect(seen.slice(-2)).toEqual(["Hello world", ""])
    }))

  it("normalize gives checks' results the rule's name and severity", () => {
    const rule = Guardrail.make({ name: "r", severity: "warning", check: () => undefined })
    expect(Guardrail.normalize(rule, undefined)).toEqual([])
    expect(Guardrail.normalize(rule, "m")).toEqual([{ rule: "r", message: "m", severity: "warning" }])
    expect(Guardrail.normalize(rule, { message: "x", severity: "fatal" })).toEqual([
      { rule: "r", message: "x", severity: "fatal" }
    ])
    expect(Guardrail.normalize(rule, ["a", { rule: "other", message: "b" }])).toEqual([
      { rule: "r", message: "a", severity: "warning" },
      { rule: "other", message: "b", severity: "warning" }
    ])
    expect(Guardrail.withSeverity(rule, "fatal").severity).toBe("fatal")
    expect(Guardrail.isGuardrailRule(rule)).toBe(true)
    expect(Guardrail.isGuardrailRule({ name: "x" })).toBe(false)
  })
})
