/**
 * The runtime behind `L0.stream`, `L0.run` and `L0.text`. `L0` re-exports
 * these; feature modules import them from here so that nothing the runtime
 * needs imports the modules that `L0` re-exports.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as Adapter from "../Adapter.js"
import * as EventBus from "../EventBus.js"
import type { L0Error } from "../L0Error.js"
import type { FatalError } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import type { Complete } from "../L0Event.js"
import { CheckpointStore } from "./checkpointStore.js"
import { exact } from "./continuation.js"
import * as Durable from "./durable.js"
import * as Health from "./health.js"
import type { L0Options, L0Result, SourceFactory, StreamSource } from "./l0Types.js"
import { invalidOption } from "./optionSchema.js"
import type { Resolve } from "./options.js"
import { resolve } from "./options.js"
import type { Check, Completed } from "./run.js"
import { Session } from "./run.js"
import { RunTelemetry } from "./telemetry.js"
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
    invalidOption(
      "adapter",
      `an adapter or the name of one (${registry.map((a) => JSON.stringify(a.name)).join(", ")}) or an alias (${
        Object.keys(aliases).map((alias) => JSON.stringify(alias)).join(", ")
      })`,
      adapter
    )
  )
}

/** Gives a source the services of the run, whatever fiber ends up running it. */
const provided = <R>(produced: StreamSource<R>, context: Context.Context<R>): StreamSource => {
  if (isStream(produced)) return Stream.provideContext(produced, context)
  if (!isEffect(produced)) return produced
  return Effect.provideContext(
    Effect.map(produced, (inner) => isStream(inner) ? Stream.provideContext(inner, context) : inner),
    context
  )
}

/** Gives the run's services to a factory's sources; a provider key (`ProviderHealth.keyed`) stays on it. */
const withContext = <R>(factory: SourceFactory<R>, context: Context.Context<R>): SourceFactory => {
  const wrapped: SourceFactory = (ctx) => provided(factory(ctx), context)
  const key = Health.keyOf(factory)
  return key === undefined ? wrapped : Health.keyed(key, wrapped)
}

/**
 * The body of `L0.stream`, here so that feature modules run streams without
 * importing the module that re-exports them. The services `R` of the
 * sources are read once per run and given to every attempt.
 *
 * @internal
 */
export const stream = <R = never>(options: L0Options<R>): Stream.Stream<L0Event.L0Event, L0Error, R> =>
  open(options, undefined)

/**
 * A run ready to start, with its options checked and its sources given the
 * services of `R`: its session, which `L0.start` reads the live state of,
 * and its events.
 *
 * @internal
 */
export const prepare = <A, R>(
  options: L0Options<R>,
  check: Check<A> | undefined,
  decode: Resolve = resolve
): Effect.Effect<
  { readonly session: Session<A>; readonly events: Stream.Stream<L0Event.L0Event, L0Error> },
  L0Error,
  R
> =>
  Effect.gen(function*() {
    const resolved = yield* Effect.fromResult(decode<SourceFactory<R>>(options))
    const context = yield* Effect.context<R>()
    const sources = resolved.sources.map((factory) => withContext(factory, context))
    const registry = yield* Adapter.Registry
    const adapter = yield* Effect.fromResult(lookupAdapter(resolved.adapter, registry))
    const clock = yield* Clock.Clock
    const durable = resolved.durable
    const checkpointer = durable === undefined ? undefined : yield* checkpointerOf(durable, clock)
    const stored = checkpointer === undefined ? undefined : yield* checkpointer.open()
    const session = new Session({
      // a resumed session continues the stored text, so continuation is on
      config: durable?.resume === true
        ? { ...resolved, sources, continuation: resolved.continuation ?? exact }
        : { ...resolved, sources },
      bus: yield* EventBus.EventBus,
      clock,
      telemetry: new RunTelemetry(clock),
      adapter,
      registry,
      check,
      health: yield* Health.ProviderHealth,
      checkpointer,
      restored: stored?.text ?? ""
    })
    const events = session.stream()
    return {
      session,
      events: stored === undefined || stored.text === "" ? events : Stream.concat(
        Stream.sync(() => {
          session.emit("checkpoint_restored", session.id, { length: stored.text.length, seq: stored.seq })
          return L0Event.token(stored.text)
        }),
        events
      )
    }
  })

const open = <A, R>(
  options: L0Options<R>,
  check: Check<A> | undefined,
  decode?: Resolve
): Stream.Stream<L0Event.L0Event, L0Error, R> =>
  Stream.unwrap(Effect.map(prepare(options, check, decode), ({ events }) => events))

/** The checkpointer of a run with a `sessionId`, on the `CheckpointStore` of the context. */
const checkpointerOf = (
  settings: Durable.Settings,
  clock: Clock.Clock
): Effect.Effect<Durable.Checkpointer, FatalError> =>
  Effect.flatMap(Effect.serviceOption(CheckpointStore), (store) =>
    store._tag === "None"
      ? Effect.fail(invalidOption(
        "sessionId",
        "a CheckpointStore in the context (Checkpoint.layerFileSystem, layerRedis or layerMemory)",
        settings.sessionId
      ))
      : Effect.succeed(new Durable.Checkpointer(store.value, settings, clock)))

/**
 * The events of a run whose successful attempt must also pass `check`
 * (structured output); the `Complete` event carries the check's value.
 *
 * @internal
 */
export type Checked<A> = Exclude<L0Event.L0Event, Complete> | Completed<A>

/**
 * `decode` reads the options, with the keys of the function that checks
 * (`autoCorrect`…) among the known ones.
 *
 * @internal
 */
export const streamChecked = <A, R = never>(
  options: L0Options<R>,
  check: Check<A>,
  decode?: Resolve
): Stream.Stream<Checked<A>, L0Error, R> =>
  // with a check, the session completes only through it: every `Complete` it emits is a `Completed<A>`
  open(options, check, decode) as Stream.Stream<Checked<A>, L0Error, R>

/**
 * Runs to the end and returns the `Complete` event, with the check's value.
 *
 * @internal
 */
export const runChecked = <A, R = never>(
  options: L0Options<R>,
  check: Check<A>,
  decode?: Resolve
): Effect.Effect<Completed<A>, L0Error, R> => last(streamChecked(options, check, decode))

/** @internal */
export const resultOf = ({ state, usage }: Complete): L0Result => ({ text: state.content, state, usage })

/**
 * Called once `L0.run`, `L0.text` or a structured run has read the run's
 * `Complete`: the answer is known from then on, so `L0Async` lets the
 * run's end (closing its source) finish rather than abort it.
 *
 * @internal
 */
export const OnComplete = Context.Reference<(() => void) | undefined>("effect-l0/internal/OnComplete", {
  defaultValue: () => undefined
})

/** The `Complete` event that ends a successful run. */
const last = <E extends L0Event.L0Event, R>(
  events: Stream.Stream<E, L0Error, R>
): Effect.Effect<Extract<E, Complete>, L0Error, R> =>
  Effect.flatMap(OnComplete, (onComplete) => {
    let complete: Extract<E, Complete> | undefined
    return Stream.runForEachArray(events, (chunk) => {
      const event = chunk[chunk.length - 1]!
      if (event._tag === "Complete") {
        complete = event as Extract<E, Complete>
        onComplete?.()
      }
      return Effect.void
    }).pipe(Effect.map(() => complete!))
  })

/** @internal */
export const run = <R = never>(options: L0Options<R>): Effect.Effect<L0Result, L0Error, R> =>
  Effect.map(last(stream(options)), resultOf)

/** @internal */
export const text = <R = never>(options: L0Options<R>): Effect.Effect<string, L0Error, R> =>
  Effect.map(run(options), (result) => result.text)
