import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { EventBus, EventLog, Guardrail, L0, L0Error, L0Event } from "effect-l0"
import { ProviderServer, TestSource } from "effect-l0/testing"
import { API_KEY, sdkClients } from "./clients.js"
import { loadFixture } from "./fixtureFiles.js"
import { advance, connectionReset, httpError, settle } from "./support.js"

type Events = ReadonlyArray<L0Event.L0Event>
type RunExit = Exit.Exit<void, L0Error.L0Error | EventLog.EventLogError>

interface Run {
  readonly events: Events
  readonly bus: ReadonlyArray<EventBus.BusEvent>
  readonly exit: RunExit
}

interface Recorded extends Run {
  readonly lines: ReadonlyArray<string>
}

const dir = mkdtempSync(join(tmpdir(), "effect-l0-eventlog-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshPath = () => join(dir, `run-${++files}.jsonl`)

/** The consumer's text, tokens appended and resets applied. */
const shown = (events: Events): string => events.reduce(L0Event.applyTo, "")

/** Runs to the end under TestClock, a second at a time, settling real work before each step. */
const toTheEnd = <E>(effect: Effect.Effect<void, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < 60 && fiber.pollUnsafe() === undefined; i++) yield* advance("1 second")
    return yield* Fiber.await(fiber)
  })

/** Collects a stream's events and the EventBus events of its run (on a bus without `stream_token`). */
const collect = <E extends L0Error.L0Error | EventLog.EventLogError>(
  stream: Stream.Stream<L0Event.L0Event, E>,
  drive: (effect: Effect.Effect<void, E>) => Effect.Effect<Exit.Exit<void, E>> = toTheEnd
) =>
  Effect.gen(function*() {
    const events: Array<L0Event.L0Event> = []
    const bus: Array<EventBus.BusEvent> = []
    const exit = yield* drive(Stream.runForEach(stream, (event) => Effect.sync(() => void events.push(event)))).pipe(
      Effect.provide(EventBus.layer((event) => bus.push(event), { tokens: false }))
    )
    return { events, bus, exit } satisfies Run
  })

const recordRun = (
  stream: Stream.Stream<L0Event.L0Event, L0Error.L0Error>,
  drive: <E>(effect: Effect.Effect<void, E>) => Effect.Effect<Exit.Exit<void, E>> = toTheEnd
) =>
  Effect.gen(function*() {
    const sink = yield* EventLog.memorySink
    const run = yield* collect(stream.pipe(EventLog.record(sink)), drive)
    return { ...run, lines: yield* sink.lines } satisfies Recorded
  })

const replayRun = (lines: ReadonlyArray<string>) =>
  Effect.flatMap(EventLog.fromLines(lines), (recording) => collect(EventLog.replay(recording)))

/** An error's own fields, without `cause`, which a log never holds. */
const fieldsOf = (error: L0Error.L0Error): Record<string, unknown> => {
  const { cause: _, ...fields } = { ...error } as Record<string, unknown>
  if (error._tag !== "ExhaustedError") return fields
  return { ...fields, attempts: error.attempts.map((attempt) => ({ ...attempt, error: fieldsOf(attempt.error) })) }
}

const errorOf = (exit: RunExit): L0Error.L0Error | EventLog.EventLogError => {
  const found = Exit.isFailure(exit) ? Cause.findError(exit.cause) : undefined
  if (found?._tag !== "Success") throw new Error("expected a typed failure")
  return found.success
}

const expectSameError = (replayed: L0Error.L0Error | EventLog.EventLogError, original: L0Error.L0Error) => {
  if (!L0Error.isL0Error(replayed)) throw new Error(`expected an L0Error, got ${replayed._tag}`)
  expect(replayed).toBeInstanceOf(original.constructor)
  expect(replayed.category).toBe(original.category)
  expect(replayed.message).toBe(original.message)
  expect(fieldsOf(replayed)).toEqual(fieldsOf(original))
  if (replayed._tag === "ExhaustedError" && original._tag === "ExhaustedError") {
    replayed.attempts.forEach((attempt, i) =>
      expect(attempt.error).toBeInstanceOf(original.attempts[i]!.error.constructor)
    )
  }
}

/** The replay shows what the run showed: the same events (as values and as JSON), text, bus events and end. */
const expectSameRun = (replayed: Run, original: Run) => {
  expect(replayed.events).toEqual(original.events)
  expect(replayed.events.map((event) => JSON.stringify(event))).toEqual(
    original.events.map((event) => JSON.stringify(event))
  )
  expect(shown(replayed.events)).toBe(shown(original.events))
  expect(replayed.bus).toEqual(original.bus)
  expect(replayed.exit._tag).toBe(original.exit._tag)
  if (Exit.isFailure(original.exit)) {
    const error = errorOf(original.exit)
    if (!L0Error.isL0Error(error)) throw new Error(`the recorded run failed with ${error._tag}`)
    expectSameError(errorOf(replayed.exit), error)
  }
}

const reasoning = L0Event.data({ type: "reasoning", text: "The user wants a greeting." })
const lookup = L0Event.toolCall("call_1", "lookup", "{\"q\":\"fox\"}")

/** Source A: a reset after text, a 503 with Retry-After, then a 401 that moves on to the fallback. */
const flakySource = () =>
  TestSource.make(
    [L0Event.token("Hel"), reasoning, L0Event.token("lo"), TestSource.sleep("500 millis"),
      TestSource.fail(connectionReset())],
    [L0Event.token("Hi"), TestSource.fail(httpError(503, { "retry-after": "2" }))],
    [TestSource.fail(httpError(401))]
  )

const retry = { maxAttempts: 1, maxRetries: 5, baseDelay: "1 second", backoff: "fixed" } as const

describe("EventLog: record and replay a TestSource run", () => {
  it.effect("retries, a reset, a fallback, a tool call, Data and a final ExhaustedError replay to the same run", () =>
    Effect.gen(function*() {
      const fallback = TestSource.make([lookup, L0Event.token("x"),
        TestSource.fail(new Error("the model wandered off"))])
      const original = yield* recordRun(
        L0.stream({ stream: flakySource().stream, fallbacks: [fallback.stream], retry })
      )
      const error = errorOf(original.exit)
      // the run is what the test means it to be
      expect(error._tag === "ExhaustedError" && error.attempts.map((a) => a.error._tag)).toEqual([
        "NetworkError",
        "TransientError",
        "FatalError",
        "ModelError"
      ])
      // the 401 attempt shows nothing, so the fallback's first event carries the second reset
      expect(original.events.filter((e) => e._tag === "Reset")).toHaveLength(2)
      expect(original.events).toContainEqual(reasoning)
      expect(original.events).toContainEqual(lookup)
      expect(original.bus.map((e) => e.type)).toEqual(
        expect.arrayContaining(["retry_attempt", "fallback_start", "error_model"])
      )

      const replayed = yield* replayRun(original.lines)
      expectSameRun(replayed, original)
      expect(fallback.calls).toHaveLength(1)
    }))

  it.effect("a successful run replays its Complete, state and tool calls", () =>
    Effect.gen(function*() {
      const fallback = TestSource.make([lookup, L0Event.data({ note: "Hi" }), L0Event.token("Done.")])
      const original = yield* recordRun(
        L0.stream({ stream: flakySource().stream, fallbacks: [fallback.stream], retry })
      )
      expect(original.exit._tag).toBe("Success")
      const complete = original.events.at(-1)
      expect(complete?._tag === "Complete" && complete.state).toMatchObject({
        content: "Done.",
        attempt: 1,
        totalAttempts: 4,
        fallbackIndex: 1,
        networkRetryCount: 2,
        toolCalls: [lookup]
      })
      const replayed = yield* replayRun(original.lines)
      expectSameRun(replayed, original)
      expect(replayed.events.at(-1)).toEqual(complete)
    }))

  it.effect("a log written before totalAttempts counts them from the retry counters", () =>
    Effect.gen(function*() {
      const fallback = TestSource.make([L0Event.token("Done.")])
      const original = yield* recordRun(
        L0.stream({ stream: flakySource().stream, fallbacks: [fallback.stream], retry })
      )
      const older = original.lines.map((line) => line.replace(/"totalAttempts":\d+,/, ""))
      expect(older.some((line) => line.includes("Complete"))).toBe(true)
      expect(older.join("\n")).not.toContain("totalAttempts")
      const replayed = yield* replayRun(older)
      const complete = replayed.events.at(-1)
      expect(complete?._tag === "Complete" && complete.state.totalAttempts).toBe(4)
    }))

  it.effect("guardrail violations and a timeout replay with their reasons, rules and violations", () =>
    Effect.gen(function*() {
      const rule = (name: string, severity: "warning" | "error" | "fatal", word: string) =>
        Guardrail.make({
          name,
          severity,
          check: ({ content }) => content.includes(word) ? `"${word}" in the output` : undefined
        })
      const guarded = (...scripts: ReadonlyArray<TestSource.Script>) =>
        L0.stream({
          stream: TestSource.make(...scripts).stream,
          guardrails: [rule("mild", "warning", "maybe"), rule("polite", "error", "darn"),
            rule("stop", "fatal", "BOOM")],
          checkInterval: 1,
          timeout: { initialToken: "5 seconds", interToken: "2 seconds" },
          retry: { maxAttempts: 2, baseDelay: "1 second", backoff: "fixed" }
        })

      const exhausted = yield* recordRun(guarded(["Hello ", "darn"], ["Hi", TestSource.stall], ["darn ", "again"]))
      const error = errorOf(exhausted.exit)
      expect(error._tag === "ExhaustedError" && error.attempts.map((a) => a.error)).toMatchObject([
        { _tag: "ContentError", rule: "polite", violations: [{ rule: "polite", severity: "error" }] },
        { _tag: "NetworkError", reason: "timeout" },
        { _tag: "ContentError", rule: "polite" }
      ])
      expectSameRun(yield* replayRun(exhausted.lines), exhausted)

      const warned = yield* recordRun(guarded(["Fine, ", "maybe"]))
      const complete = warned.events.at(-1)
      expect(complete?._tag === "Complete" && complete.state.violations).toContainEqual(
        { rule: "mild", message: "\"maybe\" in the output", severity: "warning", source: 0, attempt: 1 }
      )
      expectSameRun(yield* replayRun(warned.lines), warned)

      const fatal = yield* recordRun(guarded(["Fine ", "BOOM"]))
      expect(errorOf(fatal.exit)).toMatchObject({
        _tag: "FatalError",
        reason: "guardrail",
        violations: [{ rule: "stop" }]
      })
      expectSameRun(yield* replayRun(fatal.lines), fatal)
    }))

  it.effect("recording a replay writes the same log, only shifted in time", () =>
    Effect.gen(function*() {
      const original = yield* recordRun(L0.stream({ stream: flakySource().stream, retry }))
      const recording = yield* EventLog.fromLines(original.lines)
      const again = yield* recordRun(EventLog.replay(recording))
      const shift = (JSON.parse(again.lines[0]!).at as number) - (JSON.parse(original.lines[0]!).at as number)
      expect(shift).toBeGreaterThan(0)
      const unshifted = again.lines.map((line) => {
        const entry = JSON.parse(line)
        return JSON.stringify({ ...entry, at: entry.at - shift })
      })
      expect(unshifted).toEqual(original.lines)
    }))

  it.effect("replay calls no provider", () =>
    Effect.gen(function*() {
      const source = flakySource()
      const original = yield* recordRun(L0.stream({ stream: source.stream, retry }))
      const calls = source.calls.length
      yield* replayRun(original.lines)
      expect(source.calls).toHaveLength(calls)
    }))
})

describe("EventLog: timing", () => {
  it.effect("under TestClock the replay waits the recorded gaps", () =>
    Effect.gen(function*() {
      const source = TestSource.make([TestSource.sleep("100 millis"), "a", TestSource.sleep("250 millis"), "b"])
      const sink = yield* EventLog.memorySink
      const recording = yield* Effect.forkChild(
        Stream.runDrain(L0.stream({ stream: source.stream }).pipe(EventLog.record(sink)))
      )
      yield* advance("100 millis")
      yield* advance("250 millis")
      yield* Fiber.join(recording)
      const log = yield* EventLog.fromLines(yield* sink.lines)
      const start = log.entries[0]!.at
      expect(log.entries.filter((e) => e._tag === "Event").map((e) => e.at - start)).toEqual([100, 350, 350])

      const seen: Array<string> = []
      const replay = yield* Effect.forkChild(
        Stream.runForEach(EventLog.replay(log), (event) =>
          Effect.sync(() => void seen.push(event._tag === "Token" ? event.value : event._tag)))
      )
      yield* settle
      expect(seen).toEqual([])
      yield* advance("99 millis")
      expect(seen).toEqual([])
      yield* advance("1 millis")
      expect(seen).toEqual(["a"])
      yield* advance("249 millis")
      expect(seen).toEqual(["a"])
      yield* advance("1 millis")
      expect(seen).toEqual(["a", "b", "Complete"])
      yield* Fiber.join(replay)
    }))

  it.effect("timing: false replays at once", () =>
    Effect.gen(function*() {
      const original = yield* recordRun(L0.stream({ stream: flakySource().stream, retry }))
      const recording = yield* EventLog.fromLines(original.lines)
      // no clock step at all: the retries' delays are not waited
      const replayed = yield* collect(EventLog.replay(recording, { timing: false }), Effect.exit)
      expectSameRun(replayed, original)
    }))
})

describe("EventLog: the EventBus", () => {
  /** The events `EventBus.layerCollect` collected while `effect` ran. */
  const busOf = <E>(effect: Effect.Effect<void, E>) =>
    Effect.gen(function*() {
      yield* effect
      return yield* (yield* EventBus.Collected).events
    }).pipe(Effect.provide(EventBus.layerCollect))

  it.effect("the recorded run's own bus still gets every event; bus: false replays none", () =>
    Effect.gen(function*() {
      const original = yield* recordRun(L0.stream({ stream: flakySource().stream, retry }))
      const recording = yield* EventLog.fromLines(original.lines)
      expect(recording.busEvents).toEqual(original.bus)
      expect(original.bus.map((e) => e.type)).toContain("session_end")
      const quiet = yield* collect(EventLog.replay(recording, { bus: false }))
      expect(quiet.bus).toEqual([])
      expect(quiet.events).toEqual(original.events)
    }))

  it.effect("stream_token events are recorded with tokens: true and replayed to buses that want them", () =>
    Effect.gen(function*() {
      const withoutTokens = yield* recordRun(L0.stream({ stream: TestSource.make(["a", "b"]).stream }))
      expect(withoutTokens.lines.join("\n")).not.toContain("stream_token")

      const sink = yield* EventLog.memorySink
      const run = yield* busOf(Stream.runDrain(
        L0.stream({ stream: TestSource.make(["a", "b"]).stream }).pipe(
          EventLog.record(sink, { tokens: true })
        )
      ))
      const tokens = (bus: ReadonlyArray<EventBus.BusEvent>) =>
        bus.filter((e) => e.type === "stream_token").map((e) => e.data.value)
      expect(tokens(run)).toEqual(["a", "b"])
      const recording = yield* EventLog.fromLines(yield* sink.lines)
      expect(tokens(recording.busEvents)).toEqual(["a", "b"])

      const wanted = yield* busOf(Stream.runDrain(EventLog.replay(recording)))
      expect(wanted).toEqual(run)
      // a bus without tokens gets none
      const unwanted = yield* collect(EventLog.replay(recording), Effect.exit)
      expect(unwanted.bus.length).toBeGreaterThan(0)
      expect(tokens(unwanted.bus)).toEqual([])
    }))
})

describe("EventLog: real SDKs against ProviderServer", () => {
  const TEXT = "The quick brown fox jumps over the lazy dog."
  const openai = sdkClients.find((c) => c.protocol === "openai-chat")!
  const anthropic = sdkClients.find((c) => c.protocol === "anthropic")!
  const live = { baseDelay: "1 millis", maxDelay: "20 millis", backoff: "fixed" } as const

  const replayLive = (lines: ReadonlyArray<string>) =>
    Effect.flatMap(EventLog.fromLines(lines), (recording) => collect(EventLog.replay(recording), Effect.exit))

  const recordLive = (client: typeof openai, script: ProviderServer.Script, options: Partial<L0.L0Options> = {}) =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start(script)
      const original = yield* recordRun(
        L0.stream({ stream: client.source(server), retry: live, ...options }),
        Effect.exit
      )
      return { server, original }
    }))

  it.live("openai: a 429 with Retry-After, a reset and a tool call replay without a request", () =>
    Effect.gen(function*() {
      const { original, server } = yield* recordLive(openai, [
        ProviderServer.httpError(429, { retryAfter: 1 }),
        ProviderServer.reply(TEXT, { fault: ProviderServer.resetAfter(3) }),
        ProviderServer.reply(TEXT, { toolCalls: [{ id: "call_fox", name: "lookup", arguments: "{\"q\":\"fox\"}" }] })
      ])
      expect(original.exit._tag).toBe("Success")
      expect(shown(original.events)).toBe(TEXT)
      expect(original.events).toContainEqual(L0Event.toolCall("call_fox", "lookup", "{\"q\":\"fox\"}"))
      expect(original.events).toContainEqual(L0Event.reset(0))
      const requests = server.requests.length
      expect(requests).toBe(3)

      // the live clock: the replay waits the recorded (real, short) gaps
      const replayed = yield* replayLive(original.lines)
      expectSameRun(replayed, original)
      expect(server.requests.length).toBe(requests)
    }))

  it.live("anthropic: reasoning Data, a reset and a 401 end in an ExhaustedError that replays, and the key is never logged", () =>
    Effect.gen(function*() {
      const thinking = loadFixture("anthropic-thinking")
      const { original } = yield* recordLive(anthropic, [
        ProviderServer.replay(thinking.bytes, { fault: ProviderServer.resetAfter(6) }),
        ProviderServer.httpError(401, { error: { message: "invalid x-api-key" } })
      ])
      const error = errorOf(original.exit)
      expect(error._tag === "ExhaustedError" && error.attempts.map((a) => [a.error._tag, a.error.status])).toEqual([
        ["NetworkError", undefined],
        ["FatalError", 401]
      ])
      expect(original.events.some((e) => e._tag === "Data")).toBe(true)
      expect(original.lines.join("\n")).not.toContain(API_KEY)
      expect(original.lines.join("\n")).not.toContain("SECRET")

      expectSameRun(yield* replayLive(original.lines), original)
    }))
})

describe("EventLog: JSONL files", () => {
  it.effect("a file round trip replays the run; each line is written before its event goes on", () =>
    Effect.gen(function*() {
      const path = freshPath()
      const fallback = TestSource.make([lookup, L0Event.token("x"),
        TestSource.fail(new Error("the model wandered off"))])
      const written: Array<boolean> = []
      let seen = 0
      const original = yield* Effect.scoped(Effect.gen(function*() {
        const sink = yield* EventLog.fileSink(path)
        return yield* collect(
          L0.stream({ stream: flakySource().stream, fallbacks: [fallback.stream], retry }).pipe(
            EventLog.record(sink),
            Stream.tap((event) =>
              Effect.sync(() => {
                // the consumer sees an event only once its line is in the file
                const inFile = readFileSync(path, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l))
                  .filter((entry) => entry._tag === "Event")
                written.push(JSON.stringify(inFile[seen++]?.event) === JSON.stringify(event))
              })
            )
          )
        )
      }))
      expect(written.length).toBe(original.events.length)
      expect(written.every(Boolean)).toBe(true)

      const text = readFileSync(path, "utf8")
      expect(text.endsWith("}\n")).toBe(true)
      // the file is read on Node's thread pool: no TestClock step may be needed for it, however busy the machine
      const replayed = yield* collect(EventLog.replayFile(path, { timing: false }), Effect.exit)
      expectSameRun(replayed, original)
      const recording = yield* EventLog.readFile(path)
      expect(recording.outcome?._tag).toBe("Failure")
      expect(recording.events).toEqual(original.events)
    }))

  it.effect("a file sink never overwrites a log, and reports files it cannot create or read", () =>
    Effect.gen(function*() {
      const path = freshPath()
      writeFileSync(path, "")
      const exists = yield* Effect.flip(Effect.scoped(EventLog.fileSink(path)))
      expect(exists).toMatchObject({ _tag: "EventLogError", reason: "Open" })
      expect(exists.message).toContain(path)
      const missingDir = yield* Effect.flip(Effect.scoped(EventLog.fileSink(join(dir, "no", "such", "dir.jsonl"))))
      expect(missingDir.reason).toBe("Open")
      const unreadable = yield* Effect.flip(EventLog.readFile(join(dir, "missing.jsonl")))
      expect(unreadable).toMatchObject({ reason: "Read" })
    }))

  it.effect("without Node's file system (a browser), file sinks and reads fail with a clear error", () =>
    Effect.gen(function*() {
      const getBuiltinModule = process.getBuiltinModule
      yield* Effect.acquireRelease(
        Effect.sync(() => Reflect.set(process, "getBuiltinModule", undefined)),
        () => Effect.sync(() => Reflect.set(process, "getBuiltinModule", getBuiltinModule))
      )
      const open = yield* Effect.flip(EventLog.fileSink(freshPath()))
      expect(open).toMatchObject({ reason: "Open" })
      expect(open.message).toContain("no Node file system")
      const read = yield* Effect.flip(EventLog.readFile(freshPath()))
      expect(read).toMatchObject({ reason: "Read" })
      expect(read.message).toContain("no Node file system")
    }).pipe(Effect.scoped))

  it.effect("writing to a file sink after its scope closed fails the stream with a Write error", () =>
    Effect.gen(function*() {
      const sink = yield* Effect.scoped(EventLog.fileSink(freshPath()))
      const error = yield* Effect.flip(
        Stream.runDrain(L0.stream({ stream: TestSource.make(["a"]).stream }).pipe(EventLog.record(sink)))
      )
      expect(error).toMatchObject({ _tag: "EventLogError", reason: "Write" })
    }))
})

describe("EventLog: broken logs are clear errors", () => {
  const goodLines = Effect.suspend(() =>
    Effect.map(recordRun(L0.stream({ stream: flakySource().stream, retry })), (run) => run.lines)
  )

  it.effect("a corrupt line is an error naming it", () =>
    Effect.gen(function*() {
      const lines = [...yield* goodLines]
      const broken = (index: number, line: string) => EventLog.fromLines(lines.map((l, i) => i === index ? line : l))
      const notJson = yield* Effect.flip(broken(3, "{\"_tag\":\"Event\",\"at\":"))
      expect(notJson).toMatchObject({ _tag: "EventLogError", reason: "Corrupt", line: 4 })
      expect(notJson.message).toContain("Line 4")
      const notEntry = yield* Effect.flip(broken(4, "{\"_tag\":\"Event\",\"at\":1,\"event\":{\"_tag\":\"Token\"}}"))
      expect(notEntry).toMatchObject({ reason: "Corrupt", line: 5 })
      expect(notEntry.message).toContain("value")
      const unknownError = yield* Effect.flip(
        broken(
          lines.length - 1,
          "{\"_tag\":\"End\",\"at\":1,\"outcome\":{\"_tag\":\"Failure\",\"error\":{\"_tag\":\"OtherError\"}}}"
        )
      )
      expect(unknownError).toMatchObject({ reason: "Corrupt", line: lines.length })
      const blank = yield* Effect.flip(broken(2, ""))
      expect(blank).toMatchObject({ reason: "Corrupt", line: 3 })
    }))

  it.effect("in a long log, the error names the first bad line, whatever is wrong with it", () =>
    Effect.gen(function*() {
      const tokens = Array.from({ length: 3000 }, (_, i) => `t${i} `)
      const { lines } = yield* recordRun(L0.stream({ stream: TestSource.make(tokens).stream }))
      expect(lines.length).toBeGreaterThan(3000)
      expect((yield* EventLog.fromLines(lines)).events.filter(L0Event.isToken)).toHaveLength(3000)
      const notJson = "{"
      const notEntry = "{\"_tag\":\"Event\",\"at\":1,\"event\":{\"_tag\":\"Nope\"}}"
      const firstBad = (bad: Record<number, string>) =>
        Effect.map(
          Effect.flip(EventLog.fromLines(lines.map((line, i) => bad[i + 1] ?? line))),
          (error) => [error.reason, error._tag === "EventLogError" ? error.line : undefined]
        )
      expect(yield* firstBad({ 2500: notEntry })).toEqual(["Corrupt", 2500])
      expect(yield* firstBad({ 1400: notEntry, 1500: notJson })).toEqual(["Corrupt", 1400])
      expect(yield* firstBad({ 1300: notJson, 1400: notEntry })).toEqual(["Corrupt", 1300])
      expect(yield* firstBad({ 1100: lines[0]!, 1200: notEntry })).toEqual(["Corrupt", 1100])
      expect(yield* firstBad({ 1024: notJson, 1025: notEntry })).toEqual(["Corrupt", 1024])
    }))

  it.effect("entries out of place are errors naming the line", () =>
    Effect.gen(function*() {
      const lines = yield* goodLines
      const noStart = yield* Effect.flip(EventLog.fromLines(lines.slice(1)))
      expect(noStart).toMatchObject({ reason: "Corrupt", line: 1 })
      const twoRuns = yield* Effect.flip(EventLog.fromLines([...lines, ...lines]))
      expect(twoRuns).toMatchObject({ reason: "Corrupt", line: lines.length + 1 })
      expect(twoRuns.message).toContain("follows the end")
      const secondStart = yield* Effect.flip(EventLog.fromLines([...lines.slice(0, 3), lines[0]!, ...lines.slice(3)]))
      expect(secondStart).toMatchObject({ reason: "Corrupt", line: 4 })
      expect(secondStart.message).toContain("second run")
    }))

  it.effect("a torn last line (a crash mid-write) is a Truncated error, or dropped with allowIncomplete", () =>
    Effect.gen(function*() {
      const lines = yield* goodLines
      // cut in the middle of the line after the first event
      const kept = lines.findIndex((line) => line.includes("\"Token\"")) + 1
      const text = lines.slice(0, kept).join("\n") + "\n" + lines[kept]!.slice(0, 20)
      const torn = yield* Effect.flip(EventLog.fromText(text))
      expect(torn).toMatchObject({ _tag: "EventLogError", reason: "Truncated", line: kept + 1 })
      expect(torn.message).toContain(`Line ${kept + 1}`)

      const recording = yield* EventLog.fromText(text, { allowIncomplete: true })
      expect(recording.outcome).toBeUndefined()
      expect(recording.entries).toHaveLength(kept)
      const partial = yield* collect(EventLog.replay(recording))
      expect(partial.exit._tag).toBe("Success")
      expect(partial.events).toEqual(recording.events)
      expect(partial.events.length).toBeGreaterThan(0)

      // the same bytes through a file
      const path = freshPath()
      writeFileSync(path, text)
      expect(yield* Effect.flip(EventLog.readFile(path))).toMatchObject({ reason: "Truncated", line: kept + 1 })
      const fromFile = yield* collect(EventLog.replayFile(path, { allowIncomplete: true, timing: false }), Effect.exit)
      expect(fromFile.events).toEqual(recording.events)
    }))

  it.effect("a log without its end is Incomplete unless allowed; an empty log is Incomplete", () =>
    Effect.gen(function*() {
      const lines = yield* goodLines
      const cut = yield* Effect.flip(EventLog.fromText(lines.slice(0, 6).join("\n") + "\n"))
      expect(cut).toMatchObject({ reason: "Incomplete", line: 6 })
      expect((yield* EventLog.fromLines(lines.slice(0, 6), { allowIncomplete: true })).outcome).toBeUndefined()
      expect(yield* Effect.flip(EventLog.fromText(""))).toMatchObject({ reason: "Incomplete" })
      expect(yield* Effect.flip(EventLog.fromLines([]))).toMatchObject({ reason: "Incomplete" })
    }))
})

describe("EventLog: what gets written", () => {
  it.effect("an API key in an error's cause or fields never reaches the log; the message does", () =>
    Effect.gen(function*() {
      const leaky = Object.assign(new Error("401 Unauthorized"), {
        status: 401,
        headers: { authorization: `Bearer ${API_KEY}` },
        request: { apiKey: API_KEY }
      })
      const direct = new L0Error.ModelError({ message: "bad output", cause: { apiKey: API_KEY } })
      const original = yield* recordRun(L0.stream({ stream: TestSource.make([TestSource.fail(leaky)]).stream }))
      const other = yield* recordRun(Stream.fail(direct))
      const written = [...original.lines, ...other.lines].join("\n")
      expect(written).toContain("401 Unauthorized")
      expect(written).toContain("bad output")
      expect(written).not.toContain(API_KEY)
      expect(written).not.toContain("SECRET")
      expectSameError(errorOf((yield* replayRun(other.lines)).exit), direct)
    }))

  it.effect("Data values are written as JSON: they replay as their JSON form; a BigInt or a cycle fails the run", () =>
    Effect.gen(function*() {
      const odd = L0Event.data({ at: new Date(0), missing: undefined, list: [1, undefined] })
      const original = yield* recordRun(Stream.make(odd, L0Event.data(undefined)))
      const replayed = yield* replayRun(original.lines)
      expect(replayed.events.map((e) => JSON.stringify(e))).toEqual(original.events.map((e) => JSON.stringify(e)))
      expect(replayed.events[0]).toEqual(L0Event.data({ at: "1970-01-01T00:00:00.000Z", list: [1, null] }))
      expect(replayed.events[1]).toStrictEqual(L0Event.data(undefined))

      const cycle: Record<string, unknown> = {}
      cycle.self = cycle
      for (const value of [10n, cycle]) {
        const seen: Array<L0Event.L0Event> = []
        const sink = yield* EventLog.memorySink
        const error = yield* Stream.make(L0Event.token("a"), L0Event.data(value)).pipe(
          EventLog.record(sink),
          Stream.runForEach((event) => Effect.sync(() => void seen.push(event))),
          Effect.flip
        )
        expect(error).toMatchObject({ _tag: "EventLogError", reason: "Encode" })
        // the event that could not be written was not passed on
        expect(seen).toEqual([])
      }
    }))

  it.effect("a sink that throws fails the stream; when the run failed too, its error comes first", () =>
    Effect.gen(function*() {
      let writes = 0
      const full: EventLog.Sink = {
        write: () => {
          if (++writes > 2) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" })
        }
      }
      const error = yield* Stream.runDrain(
        L0.stream({ stream: TestSource.make(["a", "b"]).stream }).pipe(EventLog.record(full))
      )
        .pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "EventLogError", reason: "Write" })
      expect(error.message).toContain("ENOSPC")

      const failing = Stream.fail(new L0Error.FatalError({ message: "denied", status: 403 }))
      const endless: EventLog.Sink = {
        write: (lines) => {
          if (lines.some((line) => line.includes("\"End\""))) throw new Error("disk gone")
        }
      }
      const exit = yield* Stream.runDrain(failing.pipe(EventLog.record(endless))).pipe(Effect.exit)
      const errors = Exit.isFailure(exit) ? exit.cause.reasons.flatMap((r) => r._tag === "Fail" ? [r.error._tag] : [])
        : []
      expect(errors).toEqual(["FatalError", "EventLogError"])

      const startless: EventLog.Sink = {
        write: () => {
          throw "read-only"
        }
      }
      const refused = yield* Effect.flip(
        Stream.runDrain(Stream.make(L0Event.token("a")).pipe(EventLog.record(startless)))
      )
      expect(refused).toMatchObject({ reason: "Write" })
      expect(refused.message).toContain("read-only")
    }))

  it.effect("a malformed event from a JavaScript source fails the run with an Encode error", () =>
    Effect.gen(function*() {
      const sink = yield* EventLog.memorySink
      const error = yield* Stream.runDrain(
        L0.stream({
          stream: TestSource.make([L0Event.token("a"), { _tag: "ToolCall", id: "call_1", name: "lookup" }]).stream
        }).pipe(
          EventLog.record(sink)
        )
      ).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "EventLogError", reason: "Encode" })
      expect(error.message).toContain("arguments")
    }))

  it.effect("a sink holds one run", () =>
    Effect.gen(function*() {
      const sink = yield* EventLog.memorySink
      const recorded = L0.stream({ stream: TestSource.make(["a"]).stream }).pipe(EventLog.record(sink))
      yield* Stream.runDrain(recorded)
      const again = yield* Effect.flip(Stream.runDrain(recorded))
      expect(again).toMatchObject({ _tag: "EventLogError", reason: "InUse" })
      expect((yield* EventLog.fromLines(yield* sink.lines)).outcome).toEqual({ _tag: "Success" })
    }))

  it.effect("a consumer that stops early is recorded as Interrupted, and the replay stops there too", () =>
    Effect.gen(function*() {
      const sink = yield* EventLog.memorySink
      const taken = yield* Stream.runCollect(
        L0.stream({
          stream: TestSource.make([L0Event.token("a"), L0Event.token("b"), L0Event.token("c")]).stream,
          adapter: "events"
        }).pipe(
          EventLog.record(sink),
          Stream.take(1)
        )
      )
      const recording = yield* EventLog.fromLines(yield* sink.lines)
      expect(recording.outcome).toEqual({ _tag: "Interrupted" })
      const replayed = yield* Stream.runCollect(EventLog.replay(recording))
      expect(replayed).toEqual(recording.events)
      expect(recording.events.slice(0, 1)).toEqual(taken)
    }))

  it.effect("a run that dies is recorded as a Defect without its value, and the replay dies", () =>
    Effect.gen(function*() {
      const sink = yield* EventLog.memorySink
      const dying = Stream.concat(Stream.make(L0Event.token("a")), Stream.die(new Error(`boom ${API_KEY}`)))
      yield* Stream.runDrain(dying.pipe(EventLog.record(sink))).pipe(Effect.exit)
      const lines = yield* sink.lines
      expect(lines.join("\n")).not.toContain(API_KEY)
      const recording = yield* EventLog.fromLines(lines)
      expect(recording.outcome).toEqual({ _tag: "Defect" })
      const exit = yield* Stream.runCollect(EventLog.replay(recording)).pipe(Effect.exit)
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
    }))
})
