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
import type { Complete, L0Event } from "../L0Event.js"
import type { L0Options, L0Result, SourceFactory } from "./l0Types.js"
import { resolve } from "./options.js"
import type { Check, Completed } from "./run.js"
import { Session } from "./run.js"

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

/**
 * The body of `L0.stream`, here so that feature modules run streams without
 * importing the module that re-exports them.
 *
 * @internal
 */
export const stream = (options: L0Options): Stream.Stream<L0Event, L0Error> => open(options, undefined)

/**
 * A run not started yet, with its options checked: `L0.start` keeps it to
 * read its live state.
 *
 * @internal
 */
export const session = <A>(options: L0Options, check: Check<A> | undefined): Effect.Effect<Session<A>, FatalError> =>
  Effect.gen(function*() {
    const config = yield* Effect.fromResult(resolve<SourceFactory>(options))
    const registry = yield* Adapter.Registry
    const adapter = yield* Effect.fromResult(lookupAdapter(config.adapter, registry))
    const bus = yield* EventBus.EventBus
    const clock = yield* Clock.Clock
    return new Session(config, bus, clock, adapter, registry, check)
  })

const open = <A>(options: L0Options, check: Check<A> | undefined): Stream.Stream<L0Event, L0Error> =>
  Stream.unwrap(Effect.map(session(options, check), (session) => session.stream()))

/**
 * The events of a run whose successful attempt must also pass `check`
 * (structured output); the `Complete` event carries the check's value.
 *
 * @internal
 */
export type Checked<A> = Exclude<L0Event, Complete> | Completed<A>

/** @internal */
export const streamChecked = <A>(options: L0Options, check: Check<A>): Stream.Stream<Checked<A>, L0Error> =>
  // with a check, the session completes only through it: every `Complete` it emits is a `Completed<A>`
  open(options, check) as Stream.Stream<Checked<A>, L0Error>

/**
 * Runs to the end and returns the `Complete` event, with the check's value.
 *
 * @internal
 */
export const runChecked = <A>(options: L0Options, check: Check<A>): Effect.Effect<Completed<A>, L0Error> =>
  last(streamChecked(options, check))

/** @internal */
export const resultOf = ({ state, usage }: Complete): L0Result => ({ text: state.content, state, usage })

/** The `Complete` event that ends a successful run. */
const last = <E extends L0Event>(events: Stream.Stream<E, L0Error>): Effect.Effect<Extract<E, Complete>, L0Error> =>
  Effect.suspend(() => {
    let complete: Extract<E, Complete> | undefined
    return Stream.runForEachArray(events, (chunk) => {
      const event = chunk[chunk.length - 1]!
      if (event._tag === "Complete") complete = event as Extract<E, Complete>
      return Effect.void
    }).pipe(Effect.map(() => complete!))
  })

/** @internal */
export const run = (options: L0Options): Effect.Effect<L0Result, L0Error> => Effect.map(last(stream(options)), resultOf)

/** @internal */
export const text = (options: L0Options): Effect.Effect<string, L0Error> =>
  Effect.map(run(options), (result) => result.text)
