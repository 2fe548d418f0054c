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
import type { Check, Completed } from "./run.js"
import { Session } from "./run.js"
import type { Produced } from "./source.js"
import { isEffect, isStream } from "./source.js"

/** Names people use for the built-in adapters: the specification's, and the SDKs' own. */
const aliases: Readonly<Record<string, string>> = {
  "openai": "openai-chat",
  "ai-sdk": "vercel-ai",
  "vercel": "vercel-ai"
}

const lookupAdapter = (
  adapter: Adapter.Adapter | string | undefined,
  registry: ReadonlyArray<Adapter.Adapter>
): Result.Result<Adapter.Adapter | undefined, FatalError> => {
  if (typeof adapter !== "string") return Result.succeed(adapter)
  const name = Object.prototype.hasOwnProperty.call(aliases, adapter) ? aliases[adapter]! : adapter
  // a registered adapter that bears the alias itself wins over the built-in it stands for
  const found = registry.find((candidate) => candidate.name === adapter) ??
    registry.find((candidate) => candidate.name === name)
  return found !== undefined ? Result.succeed(found) : Result.fail(
    new FatalError({
      reason: "options",
      message: `Invalid option "adapter": no adapter named "${adapter}" (known: ${
        registry.map((a) => a.name).join(", ")
      }; aliases: ${Object.keys(aliases).join(", ")})`
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
export const stream = <R = never>(options: L0Options<R>): Stream.Stream<L0Event, L0Error, R> => open(options, undefined)

/**
 * A run not started yet, with its options checked and its sources given
 * the services of `R`: `L0.start` keeps it to read its live state.
 *
 * @internal
 */
export const session = <A, R>(
  options: L0Options<R>,
  check: Check<A> | undefined
): Effect.Effect<Session<A>, FatalError, R> =>
  Effect.gen(function*() {
    const resolved = yield* Effect.fromResult(resolve<SourceFactory<R>>(options))
    const context = yield* Effect.context<R>()
    const config = { ...resolved, sources: resolved.sources.map((factory) => withContext(factory, context)) }
    const registry = yield* Adapter.Registry
    const adapter = yield* Effect.fromResult(lookupAdapter(config.adapter, registry))
    const bus = yield* EventBus.EventBus
    const clock = yield* Clock.Clock
    return new Session(config, bus, clock, adapter, registry, check)
  })

const open = <A, R>(options: L0Options<R>, check: Check<A> | undefined): Stream.Stream<L0Event, L0Error, R> =>
  Stream.unwrap(Effect.map(session(options, check), (session) => session.stream()))

/**
 * The events of a run whose successful attempt must also pass `check`
 * (structured output); the `Complete` event carries the check's value.
 *
 * @internal
 */
export type Checked<A> = Exclude<L0Event, Complete> | Completed<A>

/** @internal */
export const streamChecked = <A, R = never>(
  options: L0Options<R>,
  check: Check<A>
): Stream.Stream<Checked<A>, L0Error, R> =>
  // with a check, the session completes only through it: every `Complete` it emits is a `Completed<A>`
  open(options, check) as Stream.Stream<Checked<A>, L0Error, R>

/**
 * Runs to the end and returns the `Complete` event, with the check's value.
 *
 * @internal
 */
export const runChecked = <A, R = never>(
  options: L0Options<R>,
  check: Check<A>
): Effect.Effect<Completed<A>, L0Error, R> =>
  last(streamChecked(options, check))

/** @internal */
export const resultOf = ({ state, usage }: Complete): L0Result => ({ text: state.content, state, usage })

/** The `Complete` event that ends a successful run. */
const last = <E extends L0Event, R>(
  events: Stream.Stream<E, L0Error, R>
): Effect.Effect<Extract<E, Complete>, L0Error, R> =>
  Effect.suspend(() => {
    let complete: Extract<E, Complete> | undefined
    return Stream.runForEachArray(events, (chunk) => {
      const event = chunk[chunk.length - 1]!
      if (event._tag === "Complete") complete = event as Extract<E, Complete>
      return Effect.void
    }).pipe(Effect.map(() => complete!))
  })

/** @internal */
export const run = <R = never>(options: L0Options<R>): Effect.Effect<L0Result, L0Error, R> =>
  Effect.map(last(stream(options)), resultOf)

/** @internal */
export const text = <R = never>(options: L0Options<R>): Effect.Effect<string, L0Error, R> =>
  Effect.map(run(options), (result) => result.text)
