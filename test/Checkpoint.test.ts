import { NodeRedis, NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Stream from "effect/Stream"
import { Checkpoint, EventBus, L0, L0Event } from "effect-l0"
import type { L0Error } from "effect-l0"
import { hasRedis, useRedis } from "./fleet/redis.js"
import { advance, connectionReset, failureOf, noDelay } from "./support.js"

const ANSWER = "The quick brown fox jumps over the lazy dog."
const words = ANSWER.split(/(?<= )/)

/** One part per 100 ms (TestClock), one array each. */
const paced = (parts: ReadonlyArray<string>) =>
  Stream.fromIterable(parts).pipe(Stream.mapEffect((part) => Effect.as(Effect.sleep("100 millis"), part)))

/** A model that knows ANSWER and streams what follows the checkpoint, one word per 100 ms. */
const continuing = (calls: Array<string>): L0.SourceFactory => ({ checkpoint }) => {
  calls.push(checkpoint)
  if (!ANSWER.startsWith(checkpoint)) throw new Error("not a prefix")
  return paced(ANSWER.slice(checkpoint.length).split(/(?<= )/))
}

/** Runs `effect` while the TestClock moves on 100 ms at a time, long enough for any answer here. */
const paced100 = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < 12; i++) yield* advance("100 millis")
    return yield* Fiber.join(fiber)
  })

const textOf = (events: ReadonlyArray<L0Event.L0Event>) => events.reduce(L0Event.applyTo, "")

const busTypes = <T extends EventBus.EventType>(events: ReadonlyArray<EventBus.BusEvent>, type: T) =>
  events.filter((event): event is EventBus.BusEvent<T> => event.type === type)

describe("Checkpoint: durable sessions", () => {
  it.effect("an interrupted run leaves its checkpoint; resume shows it first and continues it exactly once", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      // the consumer stops after four words, as a process that dies would
      const first = yield* paced100(Stream.runCollect(
        Stream.take(L0.stream({ stream: continuing(calls), sessionId: "s1" }), 4)
      ))
      expect(textOf(first)).toBe("The quick brown fox ")
      const events = yield* paced100(
        Stream.runCollect(L0.stream({ stream: continuing(calls), sessionId: "s1", resume: true }))
      )
      // saves at most every 250 ms: "The " at 100 ms, then the fourth word at 400 ms, before it went out
      expect(calls).toEqual(["", "The quick brown fox "])
      expect(events[0]).toEqual(L0Event.token("The quick brown fox "))
      const restored = busTypes(yield* (yield* EventBus.Collected).events, "checkpoint_restored")
      expect(restored.map((event) => event.data)).toEqual([{ length: "The quick brown fox ".length, seq: 1 }])
      expect(textOf(events)).toBe(ANSWER)
      const complete = events.at(-1) as L0Event.Complete
      expect(complete.state.content).toBe(ANSWER)
      // complete: nothing is left to resume, the next run starts afresh
      const again = yield* paced100(L0.text({ stream: continuing(calls), sessionId: "s1", resume: true }))
      expect(again).toBe(ANSWER)
      expect(calls.at(-1)).toBe("")
    }).pipe(Effect.provide(Layer.merge(Checkpoint.layerMemory, EventBus.layerCollect))))

  it.effect("a resumed run that fails mid-answer retries from all the text shown, the restored part included", () =>
    Effect.gen(function*() {
      const store = (yield* Checkpoint.CheckpointStore)!
      yield* store.save("s6", { text: "The quick ", seq: 0, savedAt: 0 })
      const calls: Array<string> = []
      const flaky: L0.SourceFactory = (context) =>
        calls.length === 0
          ? (calls.push(context.checkpoint), Stream.concat(paced(["brown ", "fox "]), Stream.fail(connectionReset())))
          : continuing(calls)(context)
      const events = yield* paced100(
        Stream.runCollect(L0.stream({ stream: flaky, sessionId: "s6", resume: true, retry: noDelay }))
      )
      expect(calls).toEqual(["The quick ", "The quick brown fox "])
      // the retry's reset keeps all 20 characters shown: the restored text and this process's own
      expect(events.filter((event) => event._tag === "Reset")).toEqual([L0Event.reset(20)])
      expect(textOf(events)).toBe(ANSWER)
      expect((events.at(-1) as L0Event.Complete).state.content).toBe(ANSWER)
    }).pipe(Effect.provide(Checkpoint.layerMemory)))

  it.effect("without resume, an older checkpoint of the same id is dropped, never continued", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      yield* paced100(Stream.runDrain(Stream.take(L0.stream({ stream: continuing(calls), sessionId: "s2" }), 5)))
      const text = yield* paced100(
        Stream.runDrain(Stream.take(L0.stream({ stream: continuing(calls), sessionId: "s2" }), 1))
      )
      expect(text).toBeUndefined()
      const resumed = yield* paced100(L0.text({ stream: continuing(calls), sessionId: "s2", resume: true }))
      expect(resumed).toBe(ANSWER)
      // the second run's checkpoint "The " (seq 0) wins over the first run's "The quick brown fox " (seq 1)
      expect(calls).toEqual(["", "", "The "])
    }).pipe(Effect.provide(Checkpoint.layerMemory)))

  it.effect("saves are bounded per second and end at word boundaries", () =>
    Effect.gen(function*() {
      const text = yield* paced100(
        L0.text({ stream: () => paced(words), sessionId: "s3", checkpoint: { writesPerSecond: 2 } })
      )
      expect(text).toBe(ANSWER)
      const saved = busTypes(yield* (yield* EventBus.Collected).events, "checkpoint_saved")
      // 9 words over 900 ms at 2 saves per second: at t = 100, 600 ms
      expect(saved.map((event) => event.timestamp)).toEqual([100, 600])
      expect(saved.map((event) => event.data.length)).toEqual(["The ".length, "The quick brown fox jumps over ".length])
    }).pipe(Effect.provide(Layer.merge(Checkpoint.layerMemory, EventBus.layerCollect))))

  it.effect("text without a boundary does not use up the interval: a stall right after the first word still leaves it saved", () =>
    Effect.gen(function*() {
      // "The" at 100 ms has no word boundary yet; "quick " follows 100 ms later, then the source stalls for good
      const stalling: L0.SourceFactory = () => Stream.concat(paced(["The", " quick "]), Stream.never)
      const fiber = yield* Effect.forkChild(
        Stream.runDrain(L0.stream({ stream: stalling, sessionId: "stall", timeout: { interToken: "1 hour" } }))
      )
      for (let i = 0; i < 3; i++) yield* advance("100 millis")
      const store = yield* Checkpoint.CheckpointStore
      expect((yield* store!.load("stall"))?.text).toBe("The quick ")
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(Checkpoint.layerMemory)))

  it.effect("boundary \"line\" saves whole lines only, \"token\" anything", () =>
    Effect.gen(function*() {
      const lines: L0.SourceFactory = () => paced(["one\ntw", "o\nthr", "ee"])
      const saved = (boundary: "line" | "token") =>
        Effect.gen(function*() {
          yield* paced100(Stream.runDrain(Stream.take(
            L0.stream({ stream: lines, sessionId: boundary, checkpoint: { boundary } }),
            1
          )))
          const store = yield* Checkpoint.CheckpointStore
          return (yield* store!.load(boundary))?.text
        })
      expect(yield* saved("line")).toBe("one\n")
      expect(yield* saved("token")).toBe("one\ntw")
    }).pipe(Effect.provide(Checkpoint.layerMemory)))

  it.effect("a corrupt checkpoint is a FatalError naming the session, before any source is called", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      yield* kv.set("s4#0", "{\"text\":\"The qu")
      yield* kv.set("s4#1", "[1]")
      const calls: Array<string> = []
      const error = failureOf(yield* Effect.exit(L0.text({ stream: continuing(calls), sessionId: "s4", resume: true })))
      expect(error).toMatchObject({ _tag: "FatalError", reason: "checkpoint" })
      expect(error.message).toBe("The checkpoint of session \"s4\" is unreadable (corrupt or truncated)")
      expect(calls).toEqual([])
      // one spoilt slot of two: the other still resumes
      yield* kv.set("s4#1", JSON.stringify({ text: "The quick ", seq: 1, savedAt: 0 }))
      expect(yield* paced100(L0.text({ stream: continuing(calls), sessionId: "s4", resume: true }))).toBe(ANSWER)
      expect(calls).toEqual(["The quick "])
    }).pipe(Effect.provide(Layer.provideMerge(Checkpoint.layer, KeyValueStore.layerMemory))))

  it.effect("a store that fails to save does not stop the answer; a store that fails to load fails the resume", () =>
    Effect.gen(function*() {
      const down = new Checkpoint.CheckpointError({ operation: "save", sessionId: "s5", message: "store down" })
      const broken: Checkpoint.Store = {
        load: (sessionId) =>
          Effect.fail(new Checkpoint.CheckpointError({ operation: "load", sessionId, message: "load failed" })),
        save: () => Effect.fail(down),
        remove: () => Effect.void
      }
      const calls: Array<string> = []
      const text = yield* paced100(L0.text({ stream: continuing(calls), sessionId: "s5" })).pipe(
        Effect.provide(Layer.succeed(Checkpoint.CheckpointStore, broken))
      )
      expect(text).toBe(ANSWER)
      const error = failureOf(
        yield* Effect.exit(
          L0.text({ stream: continuing(calls), sessionId: "s5", resume: true }).pipe(
            Effect.provide(Layer.succeed(Checkpoint.CheckpointStore, broken))
          )
        )
      )
      expect(error).toMatchObject({ _tag: "FatalError", reason: "checkpoint", message: "load failed" })
    }))

  describe("options", () => {
    const invalid = (options: Partial<L0.L0Options>, provide = true) =>
      Effect.gen(function*() {
        const run = L0.text({ stream: () => ["x"], ...options } as L0.L0Options)
        const exit = yield* Effect.exit(provide ? Effect.provide(run, Checkpoint.layerMemory) : run)
        const error: L0Error.L0Error = failureOf(exit)
        expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
        return error.message
      })

    it.effect("each bad option is named", () =>
      Effect.gen(function*() {
        expect(yield* invalid({ sessionId: "a" }, false)).toBe(
          "Invalid option \"sessionId\": expected a CheckpointStore in the context (Checkpoint.layerFileSystem, layerRedis or layerMemory), got a string"
        )
        expect(yield* invalid({ resume: true })).toBe(
          "Invalid option \"resume\": expected a sessionId to resume, got true"
        )
        expect(yield* invalid({ checkpoint: {} })).toContain("Invalid option \"checkpoint\": expected a sessionId")
        expect(yield* invalid({ sessionId: "" })).toContain(
          "Invalid option \"sessionId\": expected a string of 1 to 200"
        )
        expect(yield* invalid({ sessionId: "a", resume: "yes" as never })).toContain("Invalid option \"resume\"")
        expect(yield* invalid({ sessionId: "a", checkpoint: 3 as never })).toContain("Invalid option \"checkpoint\"")
        expect(yield* invalid({ sessionId: "a", checkpoint: { boundary: "page" as never } })).toContain(
          "Invalid option \"checkpoint.boundary\""
        )
        expect(yield* invalid({ sessionId: "a", checkpoint: { writesPerSecond: 0 } })).toContain(
          "Invalid option \"checkpoint.writesPerSecond\""
        )
        // decoded with the other options of the run: a misspelt key is named, and checked before any store is needed
        expect(yield* invalid({ sessionId: "a", checkpoint: { every: 3 } as never }, false)).toContain(
          "Invalid option \"checkpoint.every\": unknown option (known: boundary, writesPerSecond)"
        )
        expect(yield* invalid({ sessionId: "a", retry: { maxAttempts: 0 } }, false)).toContain(
          "Invalid option \"retry.maxAttempts\""
        )
      }))
  })
})

describe("Checkpoint stores", () => {
  /** Saves two checkpoints, reads the newest, then removes the session. */
  const roundTrip = Effect.gen(function*() {
    const store = (yield* Checkpoint.CheckpointStore)!
    expect(yield* store.load("order/42 é")).toBeUndefined()
    yield* store.save("order/42 é", { text: "The ", seq: 0, savedAt: 1 })
    yield* store.save("order/42 é", { text: "The quick ", seq: 1, savedAt: 2 })
    expect(yield* store.load("order/42 é")).toEqual({ text: "The quick ", seq: 1, savedAt: 2 })
    yield* store.remove("order/42 é")
    expect(yield* store.load("order/42 é")).toBeUndefined()
  })

  it.live("the file store keeps a session in files of its directory, any id as a file name", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "l0-store-")))
      yield* roundTrip.pipe(Effect.provide(Checkpoint.layerFileSystem(dir).pipe(Layer.provide(NodeServices.layer))))
      expect(yield* Effect.promise(() => Fs.readdir(dir))).toEqual([])
      yield* Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    }))

  describe.skipIf(!hasRedis)("on Redis (skipped where redis-server is not installed)", () => {
    const redis = useRedis()

    it.live("the Redis store keeps a session under its prefix", () =>
      Effect.gen(function*() {
        const Store = Checkpoint.layerRedis({ prefix: "test:" }).pipe(
          Layer.provide(NodeRedis.layer({ url: redis.url }))
        )
        yield* roundTrip.pipe(Effect.provide(Store))
        yield* Effect.provide(
          Effect.gen(function*() {
            const store = (yield* Checkpoint.CheckpointStore)!
            yield* store.save("s", { text: "kept", seq: 0, savedAt: 0 })
          }),
          Store
        )
        const raw = yield* Effect.promise(() =>
          new Promise<string>((resolve, reject) =>
            execFile(
              "redis-cli",
              ["-u", redis.url, "get", "test:s#0"],
              (error, stdout) => error ? reject(error) : resolve(stdout)
            )
          )
        )
        expect(JSON.parse(raw)).toEqual({ text: "kept", seq: 0, savedAt: 0 })
      }))
  })
})
