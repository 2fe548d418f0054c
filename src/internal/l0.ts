/**
 * The runtime behind `L0.stream`, `L0.run` and `L0.text`. `L0` re-exports
 * these; feature modules import them from here so that nothing the runtime
 * needs imports the modules that `L0` re-exports.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as Adapter from "../Adapter.js"
import * as EventBus from "../EventBus.js"
import type { L0Error } from "../L0Error.js"
import { FatalError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import type { Complete } from "../L0Event.js"
import { CheckpointStore } from "./checkpointStore.js"
import { exact } from "./continuation.js"
import * as Durable from "./durable.js"
import { ProviderHealth } from "./health.js"
import type { L0Options, L0Result, SourceFactory } from "./l0Types.js"
import { invalidOption, resolve } from "./options.js"
import { Session } from "./run.js"

const lookupAdapter = (
  adapter: Adapter.Adapter | string | undefined,
  registry: ReadonlyArray<Adapter.Adapter>
): Result.Result<Adapter.Adapter | undefined, FatalError> => {
  if (typeof adapter !== "string") return Result.succeed(adapter)
  const found = registry.find((candidate) => candidate.name === adapter)
  return found !== undefined ? Result.succeed(found) : Result.fail(
    new FatalError({
      reason: "options",
      message: `Invalid option "adapter": no adapter named "${adapter}" (known: ${
        registry.map((a) => a.name).join(", ")
      })`
    })
  )
}

/**
 * The body of `L0.stream`, here so that feature modules run streams without
 * importing the module that re-exports them.
 *
 * @internal
 */
export const stream = (options: L0Options): Stream.Stream<L0Event.L0Event, L0Error> =>
  Stream.unwrap(Effect.gen(function*() {
    const config = yield* Effect.fromResult(resolve<SourceFactory>(options))
    const durable = yield* Effect.fromResult(Durable.settings(options))
    const registry = yield* Adapter.Registry
    const adapter = yield* Effect.fromResult(lookupAdapter(config.adapter, registry))
    const bus = yield* EventBus.EventBus
    const clock = yield* Clock.Clock
    const session = new Session(
      // a resumed session continues the stored text, so continuation is on
      durable?.resume === true ? { ...config, continuation: config.continuation ?? exact } : config,
      bus,
      clock,
      adapter,
      registry
    )
    session.health = yield* ProviderHealth
    return durable === undefined ? session.stream() : yield* durableStream(session, durable)
  }))

/** A run with a `sessionId`: resumes its stored checkpoint, saves new ones, and removes them once complete. */
const durableStream = Effect.fnUntraced(function*(session: Session, settings: Durable.Settings) {
  const store = yield* CheckpointStore
  if (store === undefined) {
    return yield* invalidOption(
      "sessionId",
      "a CheckpointStore in the context (Checkpoint.layerFileSystem, layerRedis or layerMemory)",
      settings.sessionId
    )
  }
  const { restored, seq } = yield* Durable.open(store, settings)
  session.checkpointer = new Durable.Checkpointer(
    store,
    settings,
    session.clock,
    (checkpoint) => session.emit("checkpoint_saved", session.id, { length: checkpoint.text.length, seq: checkpoint.seq }),
    seq,
    restored
  )
  session.checkpoint = restored
  const events = session.stream()
  return restored === "" ? events : Stream.concat(
    Stream.sync(() => {
      session.emit("checkpoint_restored", session.id, { length: restored.length, seq: seq - 1 })
      return L0Event.token(restored)
    }),
    events
  )
})

/** @internal */
export const run = (options: L0Options): Effect.Effect<L0Result, L0Error> =>
  Effect.suspend(() => {
    let complete: Complete | undefined
    return Stream.runForEachArray(stream(options), (events) => {
      const last = events[events.length - 1]!
      if (last._tag === "Complete") complete = last
      return Effect.void
    }).pipe(Effect.map(() => {
      const { state, usage } = complete!
      return { text: state.content, state, usage }
    }))
  })

/** @internal */
export const text = (options: L0Options): Effect.Effect<string, L0Error> =>
  Effect.map(run(options), (result) => result.text)
