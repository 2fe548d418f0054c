import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { EventBus, Guardrail, Guardrails, L0, L0Error, L0Event } from "effect-l0"
import { ProviderServer, TestSource } from "effect-l0/testing"
import { sdkClients } from "./clients.js"
import { ampleTimeout, connectionReset, failureOf, httpError, noDelay } from "./support.js"

const unauthorized = () => TestSource.fail(httpError(401))
const badOutput = () => TestSource.fail(new Error("the model produced garbage"))

const run = (source: TestSource.TestSource, retry: L0.L0Options["retry"] = noDelay) =>
  L0.stream({ stream: source.stream, retry })

/** Runs the stream, keeping what was emitted before it ended. */
const collect = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function*() {
    const emitted: Array<A> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (event) => Effect.sync(() => emitted.push(event))))
    return { emitted, exit }
  })

const textOf = (events: ReadonlyArray<L0Event.L0Event>) => events.reduce(L0Event.applyTo, "")
const tags = (events: ReadonlyArray<{ readonly _tag: string }>) => events.map((event) => event._tag)

describe("L0.orElse", () => {
  it.effect("a self that failed after showing text is reset before the first event of that", () =>
    Effect.gen(function*() {
      const primary = TestSource.make(["abc", unauthorized()])
      const secondary = TestSource.make(["xyz"])
      const { emitted, exit } = yield* collect(run(primary).pipe(L0.orElse(() => run(secondary))))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(emitted.slice(0, 3)).toEqual([L0Event.token("abc"), L0Event.reset(0), L0Event.token("xyz")])
      expect(tags(emitted)).toEqual(["Token", "Reset", "Token", "Complete"])
      expect(textOf(emitted)).toBe("xyz")
      const chained = L0.fallback(run(TestSource.make(["abc", unauthorized()])), () => run(TestSource.make(["xyz"])))
      expect(textOf(Array.from(yield* Stream.runCollect(chained)))).toBe("xyz")
    }))

  it.effect("a self that fails before any event leaves no reset", () =>
    Effect.gen(function*() {
      const primary = TestSource.make([unauthorized()])
      const secondary = TestSource.make(["xyz"])
      const events = yield* Stream.runCollect(run(primary).pipe(L0.orElse(() => run(secondary))))
      expect(tags(events)).toEqual(["Token", "Complete"])
    }))

  it.effect("self's own retries and resets, then the fallback: the chain folds to the text that succeeded", () =>
    Effect.gen(function*() {
      const primary = TestSource.make(["ab", TestSource.fail(connectionReset())], ["cd", badOutput()])
      const secondary = TestSource.make(["wx", badOutput()], ["yz"])
      const events = yield* Stream.runCollect(
        run(primary, { ...noDelay, maxAttempts: 1, maxRetries: 1 }).pipe(L0.orElse(() => run(secondary)))
      )
      expect(events.filter((e) => e._tag !== "Complete")).toEqual([
        L0Event.token("ab"),
        L0Event.reset(0),
        L0Event.token("cd"),
        L0Event.reset(0),
        L0Event.token("wx"),
        L0Event.reset(0),
        L0Event.token("yz")
      ])
      expect(textOf(events)).toBe("yz")
      expect(primary.calls).toHaveLength(2)
      expect(secondary.calls).toHaveLength(2)
    }))

  it.effect("each side keeps its own retry budget, and that gets the error that ended self", () =>
    Effect.gen(function*() {
      const primary = TestSource.make([badOutput()])
      const secondary = TestSource.make([badOutput()], [badOutput()], ["ok"])
      const received: Array<L0Error.L0Error> = []
      const text = yield* Stream.runCollect(
        run(primary, { ...noDelay, maxAttempts: 2 }).pipe(
          L0.orElse((error) => {
            received.push(error)
            return run(secondary, { ...noDelay, maxAttempts: 3 })
          })
        )
      ).pipe(Effect.map((events) => textOf(Array.from(events))))
      expect(text).toBe("ok")
      expect(primary.calls).toHaveLength(2)
      expect(secondary.calls).toHaveLength(3)
      expect(received.map((e) => e._tag)).toEqual(["ExhaustedError"])
    }))

  it.effect("a three-way chain: one reset before the source that succeeds, even past one that showed nothing", () =>
    Effect.gen(function*() {
      const first = TestSource.make(["one", unauthorized()])
      const second = TestSource.make([unauthorized()])
      const third = TestSource.make(["three"])
      const events = yield* Stream.runCollect(
        run(first).pipe(L0.orElse(() => run(second)), L0.orElse(() => run(third)))
      )
      expect(tags(events)).toEqual(["Token", "Reset", "Token", "Complete"])
      expect(textOf(events)).toBe("three")
    }))

  it.effect("a three-way chain where every failed source showed text", () =>
    Effect.gen(function*() {
      const first = TestSource.make(["one", unauthorized()])
      const second = TestSource.make(["two", unauthorized()])
      const third = TestSource.make(["three"])
      const events = yield* Stream.runCollect(
        run(first).pipe(L0.orElse(() => run(second)), L0.orElse(() => run(third)))
      )
      expect(events.filter((e) => e._tag !== "Complete")).toEqual([
        L0Event.token("one"),
        L0Event.reset(0),
        L0Event.token("two"),
        L0Event.reset(0),
        L0Event.token("three")
      ])
    }))

  it.effect("the last error of a chain that fails throughout is that of its last stream", () =>
    Effect.gen(function*() {
      const { exit } = yield* collect(
        run(TestSource.make(["a", unauthorized()])).pipe(
          L0.orElse(() => run(TestSource.make([TestSource.fail(httpError(403))])))
        )
      )
      const error = failureOf(exit)
      expect(error).toBeInstanceOf(L0Error.ExhaustedError)
      expect((error as L0Error.ExhaustedError).attempts.map((a) => a.error.status)).toEqual([403])
    }))

  it.effect("a that whose first event is a reset gets one reset, the shorter", () =>
    Effect.gen(function*() {
      const that = Stream.make(L0Event.reset(2), L0Event.token("zz"))
      const shorter = yield* Stream.runCollect(
        run(TestSource.make(["abc", unauthorized()])).pipe(L0.orElse(() => that))
      )
      expect(shorter).toEqual([L0Event.token("abc"), L0Event.reset(0), L0Event.token("zz")])
      const partial = Stream.make({ _tag: "Reset" as const }, { _tag: "Partial" as const, value: 1 })
      const structured = yield* Stream.runCollect(
        run(TestSource.make(["abc", unauthorized()])).pipe(L0.orElse(() => partial))
      )
      expect(structured).toEqual([L0Event.token("abc"), L0Event.reset(0), { _tag: "Partial", value: 1 }])
    }))

  it.effect("invalid options and fatal guardrail violations do not fall back; nor do errors that are not L0 errors", () =>
    Effect.gen(function*() {
      const secondary = TestSource.make(["never"])
      const invalid = yield* collect(
        L0.stream({ stream: TestSource.make(["x"]).stream, retry: { maxAttempts: 0 } }).pipe(
          L0.orElse(() => run(secondary))
        )
      )
      expect(failureOf(invalid.exit)).toMatchObject({ _tag: "FatalError", reason: "options" })
      const fatal = Guardrail.make({ name: "stop", severity: "fatal", check: () => "no" })
      const guarded = yield* collect(
        L0.stream({ stream: TestSource.make(["x"]).stream, guardrails: [fatal] }).pipe(L0.orElse(() => run(secondary)))
      )
      expect(failureOf(guarded.exit)).toMatchObject({ _tag: "FatalError", reason: "guardrail" })
      const foreign = yield* Effect.flip(
        Stream.runDrain(Stream.fail("not an L0 error").pipe(L0.orElse(() => run(secondary))))
      )
      expect(foreign).toBe("not an L0 error")
      expect(secondary.calls).toHaveLength(0)
    }))

  it.effect("a guarded stream: an error violation of a stage falls back, a fatal one ends the chain", () =>
    Effect.gen(function*() {
      const forbidden = Guardrail.make({
        name: "forbidden",
        check: ({ delta }) => delta.includes("BAD") ? "BAD in output" : undefined
      })
      const secondary = TestSource.make(["fine"])
      const events = yield* Stream.runCollect(
        run(TestSource.make(["ok ", "BAD"])).pipe(
          Guardrails.stage([forbidden], { checkInterval: 1 }),
          L0.orElse(() => run(secondary))
        )
      )
      expect(textOf(events)).toBe("fine")
      const stopped = yield* collect(
        run(TestSource.make(["BAD"])).pipe(
          Guardrails.stage([Guardrail.withSeverity(forbidden, "fatal")]),
          L0.orElse(() => run(TestSource.make(["unused"])))
        )
      )
      expect(failureOf(stopped.exit)).toMatchObject({ _tag: "FatalError", reason: "guardrail" })
    }))

  it.effect("structured streams: partials of the failed stream are dropped by a Reset before that's", () =>
    Effect.gen(function*() {
      const Price = Schema.Struct({ amount: Schema.Number })
      const broken = TestSource.make([`{"amount": `, TestSource.sleep("1 millis"), unauthorized()])
      const good = TestSource.make([`{"amount": 3}`])
      const fiber = yield* Effect.forkChild(Stream.runCollect(
        L0.structuredStream(Price, { stream: broken.stream, retry: noDelay }).pipe(
          L0.orElse(() => L0.structuredStream(Price, { stream: good.stream }))
        )
      ))
      yield* TestSource.advance("1 millis")
      const events = yield* Fiber.join(fiber)
      expect(tags(events)).toEqual(["Partial", "Reset", "Partial", "Final"])
      expect(events[0]).toEqual({ _tag: "Partial", value: {} })
      const final = events.at(-1)
      expect(final?._tag === "Final" && final.value).toEqual({ amount: 3 })
    }))

  it.effect("interrupting the chain while that runs closes that's source and restarts nothing", () =>
    Effect.gen(function*() {
      const primary = TestSource.make(["a", unauthorized()])
      const secondary = TestSource.make(["b", TestSource.stall])
      const emitted: Array<L0Event.L0Event> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(
          run(primary).pipe(L0.orElse(() => run(secondary))),
          (event) => Effect.sync(() => emitted.push(event))
        )
      )
      yield* TestSource.settle
      expect(emitted).toEqual([L0Event.token("a"), L0Event.reset(0), L0Event.token("b")])
      yield* Fiber.interrupt(fiber)
      yield* TestSource.settle
      expect(secondary.calls).toHaveLength(1)
      expect(secondary.calls[0]!.returned).toBe(true)
      expect(primary.calls).toHaveLength(1)
    }))

  it.effect("the EventBus gets fallback_start with the error's category, then fallback_success", () =>
    Effect.gen(function*() {
      yield* Stream.runDrain(
        run(TestSource.make(["abc", unauthorized()])).pipe(L0.orElse(() => run(TestSource.make(["xyz"]))))
      )
      const events = yield* (yield* EventBus.Collected).events
      const fallbacks = events.filter((e) => e.type === "fallback_start" || e.type === "fallback_success")
      expect(fallbacks.map((e) => [e.type, e.data])).toEqual([
        ["fallback_start", { fallbackIndex: 1, category: "fatal" }],
        ["fallback_success", { fallbackIndex: 1 }]
      ])
      expect(events.map((e) => e.type)).toContain("session_end")
    }).pipe(Effect.provide(EventBus.layerCollect)))

  it.effect("the links of one chain number their fallbacks in order, nested either way", () =>
    Effect.gen(function*() {
      const failing = () => run(TestSource.make(["x", unauthorized()]))
      const ok = () => run(TestSource.make(["ok"]))
      yield* Stream.runDrain(failing().pipe(L0.orElse(failing), L0.orElse(ok)))
      yield* Stream.runDrain(failing().pipe(L0.orElse(() => failing().pipe(L0.orElse(ok)))))
      const events = yield* (yield* EventBus.Collected).events
      const starts = events.flatMap((e) => e.type === "fallback_start" ? [e.data.fallbackIndex] : [])
      const successes = events.flatMap((e) => e.type === "fallback_success" ? [e.data.fallbackIndex] : [])
      expect(starts).toEqual([1, 2, 1, 2])
      expect(successes).toEqual([2, 2, 1])
    }).pipe(Effect.provide(EventBus.layerCollect)))
})

describe("L0.stream fallbacks", () => {
  it.effect("are the same chain: the text is the succeeding source's, the failures all listed", () =>
    Effect.gen(function*() {
      const primary = TestSource.make(["abc", unauthorized()])
      const secondary = TestSource.make(["de", badOutput()])
      const third = TestSource.make(["xyz"])
      const options = { stream: primary.stream, fallbacks: [secondary.stream, third.stream], retry: noDelay }
      const events = yield* Stream.runCollect(L0.stream({ ...options, retry: { ...noDelay, maxAttempts: 1 } }))
      expect(tags(events)).toEqual(["Token", "Reset", "Token", "Reset", "Token", "Complete"])
      expect(textOf(events)).toBe("xyz")
      const failing = TestSource.make([unauthorized()])
      const error = yield* Effect.flip(L0.text({ stream: failing.stream, fallbacks: [failing.stream], retry: noDelay }))
      expect(error).toBeInstanceOf(L0Error.ExhaustedError)
      expect((error as L0Error.ExhaustedError).attempts.map((a) => a.source)).toEqual([0, 1])
    }))
})

describe("L0.orElse with real SDK clients", () => {
  it.live("an OpenAI stream cut after text, then an Anthropic stream: the text is Anthropic's alone", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start([
        ProviderServer.reply(["Hello ", "wor", "ld"], { fault: ProviderServer.resetAfter(2) }),
        ProviderServer.reply(["Bonjour ", "le monde"])
      ])
      const [openai, , anthropic] = sdkClients
      const events = yield* Stream.runCollect(
        L0.stream({ stream: openai!.source(server), retry: { maxRetries: 0 }, timeout: ampleTimeout }).pipe(
          L0.orElse(() => L0.stream({ stream: anthropic!.source(server), timeout: ampleTimeout }))
        )
      )
      expect(events.filter((e) => e._tag === "Reset")).toEqual([L0Event.reset(0)])
      expect(textOf(events)).toBe("Bonjour le monde")
      expect(server.requests.map((r) => r.protocol)).toEqual(["openai-chat", "anthropic"])
    })))
})
