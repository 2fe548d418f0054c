/**
 * The runtime behind `L0.stream`, `L0.run` and `L0.text`. `L0` re-exports
 * these; feature modules import them from here so that nothing the runtime
 * needs imports the modules that `L0` re-exports.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as Adapter from "../Adapter.js"
import * as EventBus from "../EventBus.js"
import type { L0Error } from "../L0Error.js"
import { FatalError } from "../L0Error.js"
import type { Complete, L0Event } from "../L0Event.js"
import type { L0Options, L0Result, SourceFactory } from "./l0Types.js"
import { resolve } from "./options.js"
import { Session } from "./run.js"
import type { Produced } from "./source.js"
import { isEffect, isStream } from "./source.js"

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

/** Gives a source the services of the run, whatever fiber ends up running it. */
const provided = <R>(produced: Produced<R>, context: Context.Context<R>): Produced => {
  if (isStream(produced)) return Stream.provideContext(produced, context)
  if (!isEffect(produced)) return produced
  return Effect.provideContext(
    Effect.map(produced, (inner) => isStream(inner) ? Stream.provideContext(inner, context) : inner),
    context
  )
}

const withContext = <R>(factory: SourceFactory<R>, context: Context.Context<R>): SourceFactory => (ctx) =>
  provided(factory(ctx), context)

/**
 * The body of `L0.stream`, here so that feature modules run streams without
 * importing the module that re-exports them. The services `R` of the
 * sources are read once per run and given to every attempt.
 *
 * @internal
 */
export const stream = <R = never>(options: L0Options<R>): Stream.Stream<L0Event, L0Error, R> =>
  Stream.unwrap(Effect.gen(function*() {
    const resolved = yield* Effect.fromResult(resolve<SourceFactory<R>>(options))
    const context = yield* Effect.context<R>()
    const config = { ...resolved, sources: resolved.sources.map((factory) => withContext(factory, context)) }
    const registry = yield* Adapter.Registry
    const adapter = yield* Effect.fromResult(lookupAdapter(config.adapter, registry))
    const bus = yield* EventBus.EventBus
    const clock = yield* Clock.Clock
    return new Session(config, bus, clock, adapter, registry).stream()
  }))

/** @internal */
export const run = <R = never>(options: L0Options<R>): Effect.Effect<L0Result, L0Error, R> =>
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
export const text = <R = never>(options: L0Options<R>): Effect.Effect<string, L0Error, R> =>
  Effect.map(run(options), (result) => result.text)
