/**
 * The fallback combinator: one implementation behind `L0.orElse` and
 * `L0.stream`'s `fallbacks`.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as EventBus from "../EventBus.js"
import type { L0Error } from "../L0Error.js"
import { isL0Error } from "../L0Error.js"
import * as L0Event from "../L0Event.js"
import { endsRun } from "./retry.js"

/** Any event stream whose resets are `{ _tag: "Reset" }`: L0 events, structured events. */
export interface Tagged {
  readonly _tag: string
}

/** An L0 error that another source may fix: all but invalid options and fatal guardrail violations. */
export const fallsBack = <E>(error: E): error is Extract<E, L0Error> =>
  isL0Error(error) && (error._tag === "ExhaustedError" || !endsRun(error))

/** How one link of a chain talks to its owner. */
export interface Link<E> {
  /**
   * Characters of the consumer's text that `that` builds on, or `undefined`
   * when `that` resets the consumer's text itself (the attempts of
   * `L0.stream` know the text their session shows).
   */
  readonly kept: (() => number) | undefined
  /** Called once `that` is chosen, before it starts. */
  readonly started: (error: Extract<E, L0Error>) => void
}

/** A reset owed before the first events of `that`; a reset leading them already narrows it. */
const owing = (kept: number) => {
  let owed = true
  return <B extends Tagged>(events: Arr.NonEmptyReadonlyArray<B>): Arr.NonEmptyReadonlyArray<B | L0Event.Reset> => {
    if (!owed) return events
    owed = false
    const first = events[0]
    if (first._tag !== "Reset") return [L0Event.reset(kept), ...events]
    // two resets in a row keep the shorter text
    const theirs = "kept" in first && typeof first.kept === "number" ? first.kept : 0
    return [L0Event.reset(Math.min(kept, theirs)), ...events.slice(1)]
  }
}

/**
 * `self`, then `that` when `self` fails with an error another source may
 * fix. When `self` showed events, the consumer's text is reset to
 * `link.kept()` before `that`'s first event (a `that` that fails before
 * any event emits no reset), unless `that` resets it itself.
 */
export const chain = <A extends Tagged, E, R, B extends Tagged, E2, R2>(
  self: Stream.Stream<A, E, R>,
  that: (error: Extract<E, L0Error>) => Stream.Stream<B, E2, R2>,
  link: Link<E>
): Stream.Stream<A | B | L0Event.Reset, E | E2, R | R2> =>
  Stream.suspend(() => {
    let shown = false
    return self.pipe(
      Stream.mapArray((events) => {
        shown = true
        return events
      }),
      Stream.catch((error): Stream.Stream<A | B | L0Event.Reset, E | E2, R2> => {
        if (!fallsBack(error)) return Stream.fail(error)
        link.started(error)
        const next = that(error)
        return shown && link.kept !== undefined ? Stream.mapArray(next, owing(link.kept())) : next
      })
    )
  })

/**
 * The fallbacks taken so far by one chain, shared by its nested links so
 * that each reports its position (the `fallbackIndex` of the bus events).
 */
const Taken = Context.Reference<{ count: number } | undefined>("effect-l0/Fallback/Taken", {
  defaultValue: () => undefined
})

/** The body of `L0.orElse`: a chain whose links report `fallback_start` and `fallback_success` to the EventBus. */
export const orElse = <A extends Tagged, E, R, B extends Tagged, E2, R2>(
  self: Stream.Stream<A, E, R>,
  that: (error: L0Error) => Stream.Stream<B, E2, R2>
): Stream.Stream<A | B | L0Event.Reset, E | E2, R | R2> =>
  Stream.unwrap(Effect.gen(function*() {
    const bus = yield* EventBus.EventBus
    const clock = yield* Clock.Clock
    const taken = (yield* Taken) ?? { count: 0 }
    const id = globalThis.crypto.randomUUID()
    const report = (event: EventBus.BusEvent): void => {
      if (bus !== EventBus.noop) bus.emit(event)
    }
    const base = () => ({ sessionId: id, streamId: id, timestamp: clock.currentTimeMillisUnsafe() })
    let fallbackIndex = 0
    return chain(
      Stream.provideService(self, Taken, taken),
      (error) =>
        Stream.onExit(Stream.provideService(that(error), Taken, taken), (exit) =>
          Effect.sync(() => {
            if (exit._tag === "Success") report({ type: "fallback_success", ...base(), data: { fallbackIndex } })
          })),
      {
        kept: () => 0,
        started: (error) => {
          fallbackIndex = ++taken.count
          report({ type: "fallback_start", ...base(), data: { fallbackIndex, category: error.category } })
        }
      }
    )
  }))
