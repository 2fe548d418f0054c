import { NodeRedis, NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Stream from "effect/Stream"
import { Checkpoint, EventBus, L0, L0Event } from "effect-l0"
import type { L0Error } from "effect-l0"
import { hasRedis, startRedis, useRedis } from "./fleet/redis.js"
import { advance, connectionReset, failureOf, noDelay, settle } from "./support.js"

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

/** The same model without pacing: it answers at once, for stores whose I/O the TestClock does not drive. */
const immediate = (calls: Array<string>): L0.SourceFactory => ({ checkpoint }) => {
  calls.push(checkpoint)
  if (!ANSWER.startsWith(checkpoint)) throw new Error("not a prefix")
  return Stream.fromIterable(ANSWER.slice(checkpoint.length).split(/(?<= )/))
}

/** Runs `effect` while the TestClock moves on 100 ms at a time, long enough for any answer here. */
const paced100 = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
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
      const store = yield* Checkpoint.CheckpointStore
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
      expect((yield* store.load("stall"))?.text).toBe("The quick ")
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
          return (yield* store.load(boundary))?.text
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
        for (const storeTimeout of [0, -1, Number.NaN, "soon"]) {
          expect(yield* invalid({ sessionId: "a", checkpoint: { storeTimeout: storeTimeout as never } })).toContain(
            "Invalid option \"checkpoint.storeTimeout\": expected a positive duration"
          )
        }
        // decoded with the other options of the run: a misspelt key is named, and checked before any store is needed
        expect(yield* invalid({ sessionId: "a", checkpoint: { every: 3 } as never }, false)).toContain(
          "Invalid option \"checkpoint.every\": unknown option (known: boundary, writesPerSecond, storeTimeout)"
        )
        expect(yield* invalid({ sessionId: "a", retry: { maxAttempts: 0 } }, false)).toContain(
          "Invalid option \"retry.maxAttempts\""
        )
      }))
  })
})

describe("Checkpoint: a store outage is not a service outage", () => {
  /** Warnings logged while `effect` runs. */
  const warnings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const logger = Logger.layer([Logger.make((options) => {
        const message = Array.isArray(options.message) ? options.message[0] : options.message
        if (options.logLevel === "Warn") logged.push(String(message))
      })])
      const exit = yield* Effect.exit(Effect.provide(effect, logger))
      return { exit, logged }
    })

  const down = (operation: "load" | "save" | "remove") => (sessionId: string) =>
    Effect.fail(new Checkpoint.CheckpointError({ operation, sessionId, message: `${operation} failed: store down` }))
  const broken: Checkpoint.Store = { load: down("load"), save: down("save"), remove: down("remove") }

  it.effect("every operation fails: a new session runs to its answer with one warning; only resume fails", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const { exit, logged } = yield* warnings(paced100(L0.text({ stream: continuing(calls), sessionId: "down" })))
      expect(exit).toEqual(Exit.succeed(ANSWER))
      expect(logged).toEqual(["effect-l0: remove failed: store down; the session goes on without checkpoints"])
      const saved = busTypes(yield* (yield* EventBus.Collected).events, "checkpoint_saved")
      expect(saved).toEqual([])
      const resumed = failureOf(
        yield* Effect.exit(L0.text({ stream: continuing(calls), sessionId: "down", resume: true }))
      )
      expect(resumed).toMatchObject({ _tag: "FatalError", reason: "checkpoint", message: "load failed: store down" })
      expect(calls).toEqual([""])
    }).pipe(Effect.provide(Layer.merge(Layer.succeed(Checkpoint.CheckpointStore, broken), EventBus.layerCollect))))

  /** A store over `kv` whose removals fail while `failing.remove` is set. */
  const flaky = (kv: KeyValueStore.KeyValueStore) => {
    const failing = { remove: false }
    const store = Checkpoint.make(kv)
    const wrapped: Checkpoint.Store = {
      ...store,
      remove: (sessionId) => failing.remove ? down("remove")(sessionId) : store.remove(sessionId)
    }
    return { failing, layer: Layer.succeed(Checkpoint.CheckpointStore, wrapped) }
  }

  it.effect("removals fail but saves work: the older run's checkpoint never wins a later resume", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      const { failing, layer } = flaky(kv)
      const calls: Array<string> = []
      // run A leaves "The " (seq 0, slot 0) and "The quick brown fox " (seq 1, slot 1)
      yield* paced100(Stream.runDrain(Stream.take(L0.stream({ stream: continuing(calls), sessionId: "s" }), 4)))
        .pipe(Effect.provide(layer))
      failing.remove = true
      // run B starts afresh and cannot remove them; its "The " (seq 0) overwrites slot 0 only
      yield* paced100(Stream.runDrain(Stream.take(L0.stream({ stream: continuing(calls), sessionId: "s" }), 1)))
        .pipe(Effect.provide(layer))
      expect(JSON.parse((yield* kv.get("s#1"))!)).toMatchObject({ text: "The quick brown fox ", seq: 1 })
      // A's slot has the higher seq, but B's generation is the later one
      const text = yield* paced100(L0.text({ stream: continuing(calls), sessionId: "s", resume: true })).pipe(
        Effect.provide(layer)
      )
      expect(text).toBe(ANSWER)
      expect(calls).toEqual(["", "", "The "])
    }).pipe(Effect.provide(KeyValueStore.layerMemory)))

  it.effect("a removal that failed at the start is done again before the first save", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      const { failing, layer } = flaky(kv)
      const calls: Array<string> = []
      yield* paced100(Stream.runDrain(Stream.take(L0.stream({ stream: continuing(calls), sessionId: "s" }), 4)))
        .pipe(Effect.provide(layer))
      failing.remove = true
      const fiber = yield* Effect.forkChild(
        Stream.runDrain(L0.stream({ stream: continuing(calls), sessionId: "s" })).pipe(Effect.provide(layer))
      )
      yield* settle
      failing.remove = false
      // the first word arrives at 100 ms: the older slots go, then its save
      yield* advance("100 millis")
      expect(yield* kv.get("s#1")).toBeUndefined()
      expect(JSON.parse((yield* kv.get("s#0"))!)).toMatchObject({ text: "The ", seq: 0 })
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(KeyValueStore.layerMemory)))

  it.effect("checkpoints stored before generations are resumed, and lose to any of a later generation", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      // what earlier versions stored: no epoch
      yield* kv.set("old#1", JSON.stringify({ text: "The quick ", seq: 1, savedAt: 0 }))
      const calls: Array<string> = []
      expect(yield* paced100(L0.text({ stream: continuing(calls), sessionId: "old", resume: true }))).toBe(ANSWER)
      expect(calls).toEqual(["The quick "])
      const store = yield* Checkpoint.CheckpointStore
      yield* store.save("mixed", { text: "old ", seq: 7, savedAt: 0 })
      yield* store.save("mixed", { text: "new ", seq: 0, savedAt: 0, epoch: 0 })
      expect((yield* store.load("mixed"))?.text).toBe("new ")
    }).pipe(Effect.provide(Layer.provideMerge(Checkpoint.layer, KeyValueStore.layerMemory))))

  it.effect("a store that never answers: a new session runs, a resume fails after storeTimeout", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const fiber = yield* Effect.forkChild(warnings(L0.text({ stream: immediate(calls), sessionId: "hung" })))
      // the removal at the start, then the removal of the complete answer: a second each at most
      yield* advance("1 second")
      yield* advance("1 second")
      const { exit, logged } = yield* Fiber.join(fiber)
      expect(exit).toEqual(Exit.succeed(ANSWER))
      expect(logged).toEqual([
        "effect-l0: Checkpoint remove for session \"hung\" did not answer within 1s; the session goes on without checkpoints"
      ])
      const resume = yield* Effect.forkChild(
        Effect.exit(L0.text({ stream: immediate(calls), sessionId: "hung", resume: true }))
      )
      yield* advance("1 second")
      expect(failureOf(yield* Fiber.join(resume))).toMatchObject({
        _tag: "FatalError",
        reason: "checkpoint",
        message: "Checkpoint load for session \"hung\" did not answer within 1s"
      })
      expect(calls).toEqual([""])
    }).pipe(Effect.provide(Layer.succeed(Checkpoint.CheckpointStore, {
      load: () => Effect.never,
      save: () => Effect.never,
      remove: () => Effect.never
    }))))

  it.effect("a save that never answers ends the session's saves: the answer is not slowed at every interval", () =>
    Effect.gen(function*() {
      let saves = 0
      const store: Checkpoint.Store = {
        load: () => Effect.succeed(undefined),
        save: () => Effect.suspend(() => (saves++, Effect.never)),
        remove: () => Effect.void
      }
      const fiber = yield* Effect.forkChild(
        L0.text({ stream: () => paced(words), sessionId: "slow", checkpoint: { storeTimeout: "50 millis" } }).pipe(
          Effect.provide(Layer.succeed(Checkpoint.CheckpointStore, store))
        )
      )
      for (let i = 0; i < 10; i++) yield* advance("100 millis")
      expect(yield* Fiber.join(fiber)).toBe(ANSWER)
      expect(saves).toBe(1)
    }))

  it.live("an unreadable file store (its directory is a file): new sessions run, resume fails", () =>
    Effect.gen(function*() {
      const parent = yield* Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "l0-unreadable-")))
      const dir = Path.join(parent, "store")
      yield* Effect.promise(() => Fs.writeFile(dir, "not a directory"))
      const Store = Checkpoint.layerFileSystem(dir).pipe(Layer.provide(NodeServices.layer), Layer.orDie)
      const calls: Array<string> = []
      const { exit, logged } = yield* warnings(
        L0.text({ stream: immediate(calls), sessionId: "s" }).pipe(
          Effect.provide(Store)
        )
      )
      expect(exit).toEqual(Exit.succeed(ANSWER))
      expect(logged).toHaveLength(1)
      expect(logged[0]).toContain("Checkpoint remove failed for session \"s\"")
      const resumed = failureOf(
        yield* Effect.exit(
          L0.text({ stream: immediate(calls), sessionId: "s", resume: true }).pipe(
            Effect.provide(Store)
          )
        )
      )
      expect(resumed).toMatchObject({ _tag: "FatalError", reason: "checkpoint" })
      expect(calls).toEqual([""])
      yield* Effect.promise(() => Fs.rm(parent, { recursive: true, force: true }))
    }))

  describe.skipIf(!hasRedis)("on a real Redis (skipped where redis-server is not installed)", () => {
    it.live("Redis stopped mid-test: new sessions run with one warning each, a resume fails", () =>
      Effect.gen(function*() {
        const first = yield* Effect.promise(() => startRedis())
        const port = Number(new URL(first.url).port)
        const Store = Checkpoint.layerRedis({ prefix: "outage:" }).pipe(
          Layer.provide(NodeRedis.layer({ url: first.url, disableOfflineQueue: true }))
        )
        const calls: Array<string> = []
        const again = yield* Effect.scoped(Effect.gen(function*() {
          const context = yield* Layer.build(Store)
          const run = (options: Partial<L0.L0Options>) =>
            L0.text({ stream: immediate(calls), sessionId: "r", ...options }).pipe(Effect.provideContext(context))
          expect(yield* run({})).toBe(ANSWER)
          yield* Effect.promise(() => first.stop())
          for (let i = 0; i < 2; i++) {
            const { exit, logged } = yield* warnings(run({}))
            expect(exit).toEqual(Exit.succeed(ANSWER))
            expect(logged).toHaveLength(1)
          }
          expect(failureOf(yield* Effect.exit(run({ resume: true })))).toMatchObject({
            _tag: "FatalError",
            reason: "checkpoint"
          })
          expect(calls).toEqual(["", "", ""])
          // back on the same port, so that the client reconnects and the layer closes
          return yield* Effect.promise(() => startRedis(port))
        }))
        yield* Effect.promise(() => again.stop())
      }))
  })
})

describe("Checkpoint stores", () => {
  /** Saves two checkpoints, reads the newest, then removes the session. */
  const roundTrip = Effect.gen(function*() {
    const store = yield* Checkpoint.CheckpointStore
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

  describe("the file store takes every session id the options accept", () => {
    /** A fresh store directory inside a fresh parent, to see that nothing is written outside it. */
    const directories = Effect.acquireRelease(
      Effect.promise(async () => {
        const parent = await Fs.mkdtemp(Path.join(Os.tmpdir(), "l0-names-"))
        return { parent, dir: Path.join(parent, "store") }
      }),
      ({ parent }) => Effect.promise(() => Fs.rm(parent, { recursive: true, force: true }))
    )
    const fileStore = (dir: string) => Checkpoint.layerFileSystem(dir).pipe(Layer.provide(NodeServices.layer))
    const MAX = 200
    const ids = [
      "😀".repeat(MAX / 2),
      "chat:user@example.com;".repeat(10).slice(0, MAX),
      "é".repeat(150),
      "é".repeat(MAX),
      "\u0000".repeat(MAX),
      "%".repeat(MAX),
      "../".repeat(66),
      "\ud800".repeat(MAX),
      "\ud800",
      ".",
      "..",
      "../escape",
      "a/b\u0000c"
    ]

    it.effect("an interrupted run leaves its checkpoint under each id, and resume continues it", () =>
      Effect.scoped(Effect.gen(function*() {
        const { dir, parent } = yield* directories
        const Store = fileStore(dir)
        for (const id of ids) {
          const calls: Array<string> = []
          yield* Stream.runDrain(Stream.take(L0.stream({ stream: immediate(calls), sessionId: id }), 1)).pipe(
            Effect.provide(Store)
          )
          const stored = yield* Effect.flatMap(Checkpoint.CheckpointStore, (store) => store.load(id)).pipe(
            Effect.provide(Store)
          )
          expect(stored?.text.length).toBeGreaterThan(0)
          const text = yield* L0.text({ stream: immediate(calls), sessionId: id, resume: true }).pipe(
            Effect.provide(Store)
          )
          expect([id.length, text, calls]).toEqual([id.length, ANSWER, ["", stored!.text]])
        }
        // every answer completed and removed its files; nothing was written beside the directory
        expect(yield* Effect.promise(() => Fs.readdir(dir))).toEqual([])
        expect(yield* Effect.promise(() => Fs.readdir(parent))).toEqual(["store"])
      })))

    it.effect("names fit in 255 bytes and never collide, though ids share a prefix or their readable part", () =>
      Effect.scoped(Effect.gen(function*() {
        const { dir } = yield* directories
        const similar = [...new Set([
          "é".repeat(MAX),
          "ü".repeat(MAX),
          "é".repeat(MAX - 1) + "ü",
          "\ud800".repeat(MAX),
          "\ufffd".repeat(MAX),
          "\ud800",
          "\ufffd",
          ...ids
        ])]
        yield* Effect.gen(function*() {
          const store = yield* Checkpoint.CheckpointStore
          for (const [seq, id] of similar.entries()) {
            yield* store.save(id, { text: `text ${seq}`, seq: 0, savedAt: 0 })
            yield* store.save(id, { text: `text ${seq}`, seq: 1, savedAt: 0 })
          }
          for (const [seq, id] of similar.entries()) {
            expect([seq, (yield* store.load(id))?.text]).toEqual([seq, `text ${seq}`])
          }
        }).pipe(Effect.provide(fileStore(dir)))
        const names = yield* Effect.promise(() => Fs.readdir(dir))
        expect(names).toHaveLength(similar.length * 2)
        for (const name of names) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255)
      })))

    it.effect("a checkpoint written under the old naming is still resumed", () =>
      Effect.scoped(Effect.gen(function*() {
        const { dir } = yield* directories
        yield* Effect.promise(async () => {
          await Fs.mkdir(dir, { recursive: true })
          // what earlier versions wrote: the URI-encoded slot key as the file name
          await Fs.writeFile(
            Path.join(dir, encodeURIComponent("order/42 é#1")),
            JSON.stringify({ text: "The quick ", seq: 1, savedAt: 0 })
          )
        })
        const calls: Array<string> = []
        const text = yield* L0.text({ stream: immediate(calls), sessionId: "order/42 é", resume: true }).pipe(
          Effect.provide(fileStore(dir))
        )
        expect(text).toBe(ANSWER)
        expect(calls).toEqual(["The quick "])
      })))
  })

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
            const store = yield* Checkpoint.CheckpointStore
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
