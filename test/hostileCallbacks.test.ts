import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Schema from "effect/Schema"
import type { StandardSchemaV1 } from "effect/StandardSchema"
import * as Stream from "effect/Stream"
import { execFile } from "node:child_process"
import { inspect } from "node:util"
import { vi } from "vitest"
import {
  Adapter,
  Checkpoint,
  Consensus,
  EventBus,
  EventLog,
  Guardrail,
  L0,
  L0Async,
  L0Error,
  Pipeline,
  Sse,
  Window
} from "effect-l0"
import { TestSource } from "effect-l0/testing"

const boom = (): never => {
  throw new Error("getter")
}

/** Thrown values that break code which prints them carelessly (as `test/hostile.test.ts` has them, and more). */
const hostile: ReadonlyArray<readonly [string, () => unknown]> = [
  ["a revoked Proxy", () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    return proxy
  }],
  ["an object whose getter throws", () => Object.defineProperty({}, "detail", { get: boom, enumerable: true })],
  ["an Error whose message getter throws", () => Object.defineProperty(new Error("hidden"), "message", { get: boom })],
  ["an object whose toString and toPrimitive throw", () => ({ toString: boom, [Symbol.toPrimitive]: boom })],
  ["a symbol", () => Symbol("thrown")],
  ["an object holding a cycle", () => {
    const cyclic: Record<string, unknown> = { reason: "loop" }
    cyclic.self = cyclic
    return cyclic
  }],
  ["an Error holding a cycle, with code and status", () => {
    const error = Object.assign(new Error("cyclic failure"), { code: "E_LOOP", status: 503 }) as Error & {
      self?: unknown
    }
    error.self = error
    return error
  }],
  ["a Proxy whose every trap throws",
    () => new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom })],
  ["a BigInt", () => 10n]
]

/** One attempt, no wait: every failure ends the run at once under the TestClock. */
const once = { maxAttempts: 1, maxRetries: 0 } as const

const ok = () => TestSource.make(["answer"]).stream
/** A reply that parses, so that the validator is called. */
const json = () => TestSource.make([`{"a": 1}`]).stream

/** A Standard Schema whose `validate` does `behave`. */
const standard = (validate: (value: unknown) => unknown): StandardSchemaV1 => ({
  "~standard": { version: 1, vendor: "test", validate: validate as StandardSchemaV1["~standard"]["validate"] }
})

const throwing = (value: unknown) => (): never => {
  throw value
}

/** A store whose every command fails with `value` as its cause. */
const failingStore = (value: unknown) =>
  Checkpoint.layer.pipe(Layer.provide(
    Layer.succeed(KeyValueStore.KeyValueStore)(KeyValueStore.makeStringOnly({
      get: (key) =>
        Effect.fail(new KeyValueStore.KeyValueStoreError({ method: "get", key, message: "down", cause: value })),
      set: (key) =>
        Effect.fail(new KeyValueStore.KeyValueStoreError({ method: "set", key, message: "down", cause: value })),
      remove: () => Effect.void,
      clear: Effect.void,
      size: Effect.succeed(0),
      keys: Effect.succeed([])
    }))
  ))

type Outcome = "fails" | "succeeds"

/** Each user callback, handed a hostile value to throw (or to fail with), and how the run must end. */
const callbacks: ReadonlyArray<readonly [string, Outcome, (value: unknown) => Effect.Effect<unknown, unknown>]> = [
  ["a stream factory that throws", "fails", (value) => L0.text({ stream: throwing(value), retry: once })],
  ["an async iterable that throws after a token", "fails", (value) =>
    L0.text({
      stream: () =>
        (async function*() {
          yield "a"
          throw value
        })(),
      retry: once
    })],
  ["a Standard Schema validator that throws", "fails",
    (value) => L0.structured(standard(throwing(value)), { stream: json(), retry: once })],
  ["a Standard Schema validator that rejects", "fails",
    (value) => L0.structured(standard(() => Promise.reject(value)), { stream: json(), retry: once })],
  ["a Standard Schema validator whose issues hold the value", "fails",
    (value) =>
      L0.structured(standard(() => ({ issues: [{ message: "bad", path: [], detail: value }] })), {
        stream: json(),
        retry: once
      })],
  ["an Effect Schema whose check throws", "fails",
    (value) =>
      L0.structured(Schema.declare((u): u is unknown => throwing(value)() || u !== undefined), {
        stream: json(),
        retry: once
      })],
  ["a guardrail check that throws", "fails", (value) =>
    L0.text({
      stream: ok(),
      retry: once,
      guardrails: [Guardrail.make({ name: "hostile", check: throwing(value) })]
    })],
  ["a guardrail initial state that throws", "fails", (value) =>
    L0.text({
      stream: ok(),
      retry: once,
      guardrails: [Guardrail.make({ name: "hostile", initial: throwing(value), check: () => undefined })]
    })],
  ["a guardrail check that returns the value as a violation's message", "fails", (value) =>
    L0.text({
      stream: ok(),
      retry: once,
      guardrails: [Guardrail.make({ name: "hostile", check: () => ({ message: value as string }) })]
    })],
  ["a consensus decode that throws", "fails",
    (value) => Consensus.consensus([{ stream: ok() }], { decode: throwing(value) })],
  ["a consensus score that throws", "fails",
    (value) => Consensus.consensus([{ stream: ok() }, { stream: ok() }], { strategy: "best", score: throwing(value) })],
  ["a consensus normalize that throws", "fails",
    (value) => Consensus.consensus([{ stream: ok() }, { stream: ok() }], { normalize: throwing(value) })],
  ["a consensus resolve that throws", "fails",
    (value) =>
      Consensus.consensus([{ stream: TestSource.make(["a"]).stream }, { stream: TestSource.make(["b"]).stream }], {
        strategy: "unanimous",
        resolve: throwing(value)
      })],
  ["a pipeline step's options that throw", "fails", (value) => Pipeline.run([{ options: throwing(value) }], "in")],
  ["a window's options that throw", "fails", (value) => Window.process("one two", { size: 1 }, throwing(value))],
  ["an EventBus handler that throws (reported, the run goes on)", "succeeds",
    (value) => L0.text({ stream: ok() }).pipe(Effect.provide(EventBus.layer(throwing(value))))],
  ["an L0Async callback that throws (reported, the run goes on)", "succeeds",
    (value) =>
      Effect.promise(() => L0Async.text({ stream: ok() }, { onToken: throwing(value), onComplete: throwing(value) }))],
  ["an L0Async signal aborted with the value as its reason", "fails", (value) =>
    Effect.tryPromise({
      try: () => {
        const controller = new AbortController()
        controller.abort(value)
        return L0Async.text({ stream: ok() }, { signal: controller.signal })
      },
      catch: (error) => error
    })],
  ["a custom adapter whose detect throws", "fails", (value) =>
    L0.text({
      stream: ok(),
      retry: once,
      adapter: Adapter.make({ name: "hostile", detect: throwing(value), make: throwing(value) })
    })],
  ["a custom adapter whose decoder throws", "fails", (value) =>
    L0.text({
      stream: ok(),
      retry: once,
      adapter: Adapter.make({
        name: "hostile",
        detect: () => true,
        make: () => ({ push: throwing(value), end: () => undefined })
      })
    })],
  ["a checkpoint store that fails to load", "fails",
    (value) =>
      L0.text({ stream: ok(), sessionId: "s", resume: true, retry: once }).pipe(Effect.provide(failingStore(value)))],
  ["a checkpoint store that fails to save (reported, the run goes on)", "succeeds", (value) =>
    L0.text({
      stream: TestSource.make(["one ", "two ", "three"]).stream,
      sessionId: "s",
      checkpoint: { boundary: "token" }
    })
      .pipe(Effect.provide(failingStore(value)))],
  ["an event log sink that throws", "fails",
    (value) => Stream.runDrain(EventLog.record(L0.stream({ stream: ok() }), { write: throwing(value) }))],
  ["an Sse complete payload that throws (the browser gets an error event)", "succeeds",
    (value) => Effect.promise(() => Sse.toResponse(L0.stream({ stream: ok() }), { complete: throwing(value) }).text())]
]

/** Collects what the loggers print: the simple and JSON formats, and the default logger (on a silenced console). */
const printedLogs: Array<unknown> = []
const loggers = Logger.layer([
  Logger.map(Logger.formatSimple, (line) => void printedLogs.push(line)),
  Logger.map(Logger.formatJson, (line) => void printedLogs.push(line)),
  Logger.defaultLogger
])

beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => {})
  vi.spyOn(console, "error").mockImplementation(() => {})
  vi.spyOn(console, "warn").mockImplementation(() => {})
})
afterAll(() => void vi.restoreAllMocks())

/** Every way a user prints an error: none may throw. */
const printsSafely = (error: unknown, cause: Cause.Cause<unknown>) => {
  expect(() => JSON.stringify(error)).not.toThrow()
  expect(() => String(error)).not.toThrow()
  expect(() => inspect(error, { depth: Infinity })).not.toThrow()
  expect(() => Cause.pretty(cause)).not.toThrow()
  expect(() => Effect.runSync(Effect.logError(cause).pipe(Effect.provide(loggers)))).not.toThrow()
  expect(() => Effect.runSync(Effect.logError("failed", error).pipe(Effect.provide(loggers)))).not.toThrow()
}

/** A typed error of the library, or the `AbortError` of L0Async. */
const isTyped = (error: unknown): boolean =>
  L0Error.isL0Error(error) || error instanceof L0Async.AbortError ||
  ["AllFailedError", "AgreementError", "PipelineError", "WindowError", "EventLogError"].includes(
    (error as { _tag?: unknown })._tag as string
  )

describe("no hostile value survives as a cause", () => {
  for (const [callback, outcome, run] of callbacks) {
    it.effect(`${callback}: each hostile value ${outcome === "fails" ? "ends in a typed error" : "lets the run go on"}, and every printed form works`, () =>
      Effect.gen(function*() {
        for (const [what, make] of hostile) {
          const exit = yield* Effect.exit(run(make()).pipe(Effect.provide(loggers)))
          if (outcome === "succeeds") {
            expect([what, exit._tag]).toEqual([what, "Success"])
            continue
          }
          expect([what, exit._tag]).toEqual([what, "Failure"])
          if (Exit.isSuccess(exit)) continue
          const reason = exit.cause.reasons[0]
          expect([what, reason?._tag]).toEqual([what, "Fail"])
          const error = reason?._tag === "Fail" ? reason.error : undefined
          expect([what, isTyped(error)]).toEqual([what, true])
          printsSafely(error, exit.cause)
          const last = (error as L0Error.L0Error)._tag === "ExhaustedError"
            ? (error as L0Error.ExhaustedError).lastError
            : undefined
          if (last !== undefined) printsSafely(last, Cause.fail(last))
        }
      }))
  }

  it("a cause that cannot be printed is described: message, name, stack, code and status are kept", () => {
    const thrown = Object.assign(new TypeError("fetch failed"), { code: "E_LOOP", status: 503 }) as TypeError & {
      self?: unknown
    }
    thrown.self = thrown
    const error = new L0Error.ModelError({ message: "failed", cause: thrown })
    const cause = error.cause as Error & { code?: unknown; status?: unknown }
    expect(cause).not.toBe(thrown)
    expect(cause).toBeInstanceOf(Error)
    expect(cause).toMatchObject({ message: "fetch failed", name: "TypeError", code: "E_LOOP", status: 503 })
    expect(cause.stack).toBe(thrown.stack)
    expect(JSON.parse(JSON.stringify(error)).message).toBe("failed")
    // a cause that prints safely is kept as it is
    const plain = Object.assign(new Error("plain"), { status: 500 })
    expect(new L0Error.ModelError({ message: "failed", cause: plain }).cause).toBe(plain)
    expect(L0Error.fromUnknown(plain)).toMatchObject({ cause: plain })
  })

  it("NodeRuntime.runMain prints the error of a validator that throws a revoked Proxy, and exits 1", async () => {
    const { code, stderr, stdout } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          ["--import", "tsx", "test/fleet/hostileMain.ts"],
          { timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : (error as { code?: number | null }).code ?? null, stdout, stderr })
        )
      }
    )
    expect(code).toBe(1)
    const printed = stdout + stderr
    expect(printed).toContain("FatalError")
    expect(printed).toContain("The test schema threw while validating")
  })
})
