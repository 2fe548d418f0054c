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
import type { FatalError } from "../L0Error.js"
import type { Complete, L0Event } from "../L0Event.js"
import type { L0Options, L0Result, SourceFactory } from "./l0Types.js"
import { invalidOption } from "./optionSchema.js"
import { resolve } from "./options.js"
import { Session } from "./run.js"

const lookupAdapter = (
  adapter: Adapter.Adapter | string | undefined,
  registry: ReadonlyArray<Adapter.Adapter>
): Result.Result<Adapter.Adapter | undefined, FatalError> => {
  if (typeof adapter !== "string") return Result.succeed(adapter)
  const found = registry.find((candidate) => candidate.name === adapter)
  return found !== undefined ? Result.succeed(found) : Result.fail(
    invalidOption(
      "adapter",
      `an adapter or the name of one (${registry.map((a) => JSON.stringify(a.name)).join(", ")})`,
      adapter
    )
  )
}

/**
 * The body of `L0.stream`, here so that feature modules run streams without
 * importing the module that re-exports them.
 *
 * @internal
 */
export const stream = (options: L0Options): Stream.Stream<L0Event, L0Error> =>
  Stream.unwrap(Effect.gen(function*() {
    const config = yield* Effect.fromResult(resolve<SourceFactory>(options))
    const registry = yield* Adapter.Registry
    const adapter = yield* Effect.fromResult(lookupAdapter(config.adapter, registry))
    const bus = yield* EventBus.EventBus
    const clock = yield* Clock.Clock
    return new Session(config, bus, clock, adapter, registry).stream()
  }))

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
