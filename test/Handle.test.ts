import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { EventLog, Guardrail, L0, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset, failureOf, noDelay, settle } from "./support.js"

/** Lets the run work until its state satisfies `ready` (the source's awaits resolve outside the scheduler). */
const until = (handle: L0.Handle, ready: (state: L0.L0Result["state"]) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 50; i++) {
      const state = yield* handle.state
      if (ready(state)) return state
      yield* settle
    }
    throw new Error("the run never reached the expected state")
  })

const modelError = () => new Error("the model said nonsense")

/** Fails the text when it contains "bad". */
const noBad = Guardrail.make({
  name: "noBad",
  check: ({ content }) => content.includes("bad") ? "found bad" : undefined
})

describe("L0.start: a live run handle", () => {
  it.effect("state during a run, after 3 tokens, then the final state and the result", () =>
    Effect.scoped(Effect.gen(function*() {
      const source = TestSource.make(["a", "b", "c", TestSource.sleep("1 second"), "d"])
      const handle = yield* L0.start({ stream: source.stream })
      const during = yield* until(handle, (state) => state.tokenCount === 3)
      expect(during).toMatchObject({
        content: "abc",
        lastGoodContent: "abc",
        attempt: 1,
        fallbackIndex: 0,
        completed: false,
        aborted: false
      })
      yield* advance("1 second")
      const result = yield* handle.join
      expect(result.text).toBe("abcd")
      const after = yield* handle.state
      expect(after).toEqual(result.state)
      expect(after).toMatchObject({ content: "abcd", tokenCount: 4, completed: true, aborted: false })
      // the events were buffered although nobody read them while the run went on
      const events = yield* Stream.runCollect(handle.events)
      expect(events.map((event) => event._tag)).toEqual(["Token", "Token", "Token", "Token", "Complete"])
      expect(yield* handle.await).toEqual(Exit.succeed(result))
    })))

  it.effect("a nested reset after the state was read changes the final text (the text read earlier is not reused)", () =>
    Effect.scoped(Effect.gen(function*() {
      // the source is itself an L0 stream: it takes back all but "a", in an array of its own, then goes on
      const source = TestSource.make([
        L0Event.token("abc"),
        TestSource.sleep("1 second"),
        L0Event.reset(1),
        TestSource.sleep("1 second"),
        L0Event.token("xy")
      ])
      const handle = yield* L0.start({ stream: source.stream })
      expect((yield* until(handle, (state) => state.tokenCount === 1)).content).toBe("abc")
      yield* advance("1 second")
      expect((yield* until(handle, (state) => state.content !== "abc")).content).toBe("a")
      yield* advance("1 second")
      const result = yield* handle.join
      expect([result.text, result.state.lastGoodContent]).toEqual(["axy", "axy"])
      expect((yield* handle.state).content).toBe("axy")
    })))

  it.effect("after a failure: the state stays readable, and ExhaustedError carries the same final state", () =>
    Effect.scoped(Effect.gen(function*() {
      const source = TestSource.make(["ab", TestSource.fail(modelError())], ["xyz", TestSource.fail(modelError())])
      const handle = yield* L0.start({ stream: source.stream, retry: { ...noDelay, maxAttempts: 2 } })
      const error = failureOf(yield* handle.await)
      expect(error._tag).toBe("ExhaustedError")
      const state = yield* handle.state
      expect(state).toMatchObject({
        content: "xyz",
        lastGoodContent: "xyz",
        attempt: 2,
        modelRetryCount: 1,
        completed: false,
        aborted: false
      })
      expect(error._tag === "ExhaustedError" && error.state).toEqual(state)
      const events = yield* Effect.flip(Stream.runCollect(handle.events))
      expect(events).toBe(error)
    })))

  it.effect("the last safe point: the text that passed the last guardrail check, with the violation's attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["ok ", "fine ", TestSource.sleep("1 second"), "bad"])
      const fiber = yield* Effect.forkChild(Effect.flip(L0.text({
        stream: source.stream,
        guardrails: [noBad],
        checkInterval: 2,
        retry: { maxAttempts: 1 }
      })))
      yield* advance("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag === "ExhaustedError" && error.state).toMatchObject({
        content: "ok fine bad",
        lastGoodContent: "ok fine ",
        checkpoint: "",
        violations: [{ rule: "noBad", severity: "error", source: 0, attempt: 1 }]
      })
    }))

  it.effect("the last safe point is kept across a network retry without continuation", () =>
    Effect.scoped(Effect.gen(function*() {
      const source = TestSource.make(["Hello ", TestSource.fail(connectionReset())], [TestSource.stall])
      const handle = yield* L0.start({ stream: source.stream, retry: noDelay })
      const state = yield* until(handle, () => source.calls.length === 2)
      // the second attempt has shown nothing yet: the consumer still holds the first attempt's text
      expect(state).toMatchObject({ content: "Hello ", lastGoodContent: "Hello ", attempt: 2, networkRetryCount: 1 })
      yield* handle.abort
    })))

  it.effect("abort mid-stream: the request is aborted, state.aborted is true, events and join end typed", () =>
    Effect.scoped(Effect.gen(function*() {
      const source = TestSource.make(["a", "b", TestSource.stall])
      const handle = yield* L0.start({ stream: source.stream })
      yield* until(handle, (state) => state.tokenCount === 2)
      yield* handle.abort
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
      expect(yield* handle.state).toMatchObject({ content: "ab", tokenCount: 2, completed: false, aborted: true })
      const error = yield* Effect.flip(handle.join)
      expect(error).toMatchObject({
        _tag: "FatalError",
        reason: "aborted",
        message: "The run was aborted by its handle"
      })
      const tokens: Array<string> = []
      const ended = yield* Effect.flip(
        Stream.runForEach(
          handle.events,
          (event) => Effect.sync(() => event._tag === "Token" && tokens.push(event.value))
        )
      )
      expect([tokens, ended]).toEqual([["a", "b"], error])
      // a second abort, once the run has ended, changes nothing
      yield* handle.abort
      expect((yield* handle.state).aborted).toBe(true)
    })))

  it.effect("abort before the first token", () =>
    Effect.scoped(Effect.gen(function*() {
      const source = TestSource.make([TestSource.stall])
      const handle = yield* L0.start({ stream: source.stream })
      yield* until(handle, () => source.calls.length === 1)
      yield* handle.abort
      expect(yield* handle.state).toMatchObject({ content: "", tokenCount: 0, completed: false, aborted: true })
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
      expect(failureOf(yield* handle.await)).toMatchObject({ _tag: "FatalError", reason: "aborted" })
    })))

  it.effect("abort after the run completed does nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const handle = yield* L0.start({ stream: TestSource.make(["done"]).stream })
      const result = yield* handle.join
      yield* handle.abort
      expect(yield* handle.state).toMatchObject({ content: "done", completed: true, aborted: false })
      expect(yield* handle.join).toEqual(result)
    })))

  /**
   * A source that sends a whole answer with its finish reason and stays open
   * (no `[DONE]`): the answer completes when `interToken` passes. Closing the
   * source signals `closing` (the run delivered its `Complete`) and waits for
   * `released`.
   */
  const finishedThenOpen = Effect.gen(function*() {
    const closing = yield* Deferred.make<void>()
    const released = yield* Deferred.make<void>()
    const chunk = {
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta: { content: "Hello" }, finish_reason: "stop" }]
    }
    const options: L0.L0Options = {
      stream: () =>
        Stream.concat(Stream.make(chunk), Stream.never).pipe(
          Stream.ensuring(Effect.andThen(Deferred.succeed(closing, undefined), Deferred.await(released)))
        ),
      timeout: { initialToken: "1 minute", interToken: "1 second" }
    }
    return { options, closing, release: Deferred.succeed(released, undefined) }
  })

  it.effect("abort right after Complete went out, while the run closes its source: join succeeds, events end after Complete", () =>
    Effect.scoped(Effect.gen(function*() {
      const { closing, options, release } = yield* finishedThenOpen
      const handle = yield* L0.start(options)
      const events = yield* Effect.forkChild(Stream.runCollect(handle.events))
      // the trailer never comes: the timeout completes the answer
      yield* advance("1 second")
      yield* Deferred.await(closing)
      const aborting = yield* Effect.forkChild(handle.abort, { startImmediately: true })
      yield* release
      yield* Fiber.join(aborting)
      expect((yield* handle.join).text).toBe("Hello")
      expect(yield* handle.state).toMatchObject({ content: "Hello", completed: true, aborted: false })
      expect((yield* Fiber.join(events)).map((event) => event._tag)).toEqual(["Token", "Complete"])
    })))

  it.effect("abort just before Complete (the finish reason came, the trailer did not) ends the run aborted", () =>
    Effect.scoped(Effect.gen(function*() {
      const { options, release } = yield* finishedThenOpen
      const handle = yield* L0.start(options)
      yield* until(handle, (state) => state.tokenCount === 1)
      const aborting = yield* Effect.forkChild(handle.abort, { startImmediately: true })
      yield* release
      yield* Fiber.join(aborting)
      expect(yield* Effect.flip(handle.join)).toMatchObject({ _tag: "FatalError", reason: "aborted" })
      expect(yield* handle.state).toMatchObject({ completed: false, aborted: true })
    })))

  it.effect("closing the scope right after Complete went out leaves the answer finished", () =>
    Effect.gen(function*() {
      const { closing, options, release } = yield* finishedThenOpen
      const handle = yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* L0.start(options)
        yield* advance("1 second")
        yield* Deferred.await(closing)
        // the scope closes while the source closes: release it from outside the scope
        yield* Effect.forkDetach(Effect.andThen(settle, release))
        return handle
      }))
      expect((yield* handle.join).text).toBe("Hello")
      expect((yield* handle.state).aborted).toBe(false)
    }))

  it.effect("closing the scope ends the run", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.stall])
      const handle = yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* L0.start({ stream: source.stream })
        yield* until(handle, (state) => state.tokenCount === 1)
        return handle
      }))
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
      expect(yield* handle.state).toMatchObject({ content: "a", aborted: true, completed: false })
      const error = yield* Effect.flip(handle.join)
      expect(error).toMatchObject({ _tag: "FatalError", reason: "aborted" })
      expect(error.message).toContain("scope")
    }))

  it.effect("events have a single consumer: a second subscription fails at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const handle = yield* L0.start({ stream: TestSource.make(["one"]).stream })
      const first = yield* Stream.runCollect(handle.events)
      expect(first.map((event) => event._tag)).toEqual(["Token", "Complete"])
      const second = yield* Effect.flip(Stream.runCollect(handle.events))
      expect(second).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(second.message).toContain("single consumer")
    })))

  it.effect("invalid options: start succeeds, events and join fail with the FatalError, the state is initial", () =>
    Effect.scoped(Effect.gen(function*() {
      const handle = yield* L0.start({ stream: TestSource.make(["x"]).stream, checkInterval: 0 })
      const error = yield* Effect.flip(handle.join)
      expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(yield* Effect.flip(Stream.runCollect(handle.events))).toBe(error)
      expect(yield* handle.state).toMatchObject({ content: "", completed: false, aborted: false, attempt: 1 })
    })))
})

describe("ExhaustedError.state", () => {
  const secret = "gw-3f9a1c2b7d4e5f60"
  const echoing = () =>
    TestSource.make([`your key ${secret} and sk-abcdefghijklmnop1234 `, TestSource.fail(modelError())])

  it.effect("never holds a secret of redact or a key-shaped text", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(L0.text({
        stream: echoing().stream,
        retry: { ...noDelay, maxAttempts: 1 },
        redact: [secret]
      }))
      expect(error._tag).toBe("ExhaustedError")
      const state = error._tag === "ExhaustedError" ? error.state : undefined
      expect(state?.content).toBe("your key <redacted> and <redacted> ")
      const printed = [JSON.stringify(error), String(error)].join("\n")
      expect(printed).not.toContain(secret)
      expect(printed).not.toContain("sk-abcdefghijklmnop1234")
    }))

  it.effect("is written to and read back from an EventLog", () =>
    Effect.gen(function*() {
      const sink = yield* EventLog.memorySink
      const source = TestSource.make(["abc", TestSource.fail(modelError())])
      const original = yield* Effect.flip(Stream.runDrain(
        L0.stream({ stream: source.stream, retry: { ...noDelay, maxAttempts: 1 } }).pipe(EventLog.record(sink))
      ))
      const recording = yield* EventLog.fromLines(yield* sink.lines)
      const replayed = yield* Effect.flip(Stream.runDrain(EventLog.replay(recording)))
      expect(replayed._tag === "ExhaustedError" && replayed.state).toEqual(
        original._tag === "ExhaustedError" && original.state
      )
      expect(replayed._tag === "ExhaustedError" && replayed.state?.content).toBe("abc")
    }))
})

describe("L0State on Complete", () => {
  it.effect("is completed and not aborted", () =>
    Effect.gen(function*() {
      const { state } = yield* L0.run({ stream: TestSource.make(["hi"]).stream })
      expect([state.completed, state.aborted, state.lastGoodContent]).toEqual([true, false, "hi"])
      expect(L0Event.applyTo("", L0Event.token("hi"))).toBe(state.content)
    }))
})
