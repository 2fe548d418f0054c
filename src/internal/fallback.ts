/**
 * The fallback combinator behind `L0.orElse`. (`L0.stream`'s `fallbacks`
 * are sources of one run: its attempt loop moves to the next one.)
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
import * as L0Event from "../L0Event.js"
import { fallsBack } from "./decision.js"

/** Any event stream whose resets are `{ _tag: "Reset" }`: L0 events, structured events. */
export interface Tagged {
  readonly _tag: string
}

/** The reset owed before the first events of `that`; a reset leading them already says so, and nothing is kept. */
const owing = () => {
  let owed = true
  return <B extends Tagged>(events: Arr.NonEmptyReadonlyArray<B>): Arr.NonEmptyReadonlyArray<B | L0Event.Reset> => {
    if (!owed) return events
    owed = false
    return events[0]._tag === "Reset" ? [L0Event.reset(0), ...events.slice(1)] : [L0Event.reset(0), ...events]
  }
}

/**
 * `self`, then `that` when `self` fails with an error another source may
 * fix. When `self` showed events, the consumer's text is reset before
 * `that`'s first event (a `that` that fails before any event emits no
 * reset). `started` is called once `that` is chosen, before it starts.
 */
const chain = <A extends Tagged, E, R, B extends Tagged, E2, R2>(
  self: Stream.Stream<A, E, R>,
  that: (error: Extract<E, L0Error>) => Stream.Stream<B, E2, R2>,
  started: (error: Extract<E, L0Error>) => void
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
        started(error)
        const next = that(error)
        return shown ? Stream.mapArray(next, owing()) : next
      })
    )
  })

/**
 * The positions of the fallbacks of one chain, however its links nest: the
 * outermost link makes it, the nested ones find it in their context, and
 * each link takes the next position when it starts (the `fallbackIndex` of
 * its bus events).
 */
class Positions {
  private taken = 0

  next(): number {
    return ++this.taken
  }
}

const ChainPositions = Context.Reference<Positions | undefined>("effect-l0/Fallback/ChainPositions", {
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
    const positions = (yield* ChainPositions) ?? new Positions()
    const id = globalThis.crypto.randomUUID()
    const report = (event: EventBus.BusEvent): void => {
      if (bus !== EventBus.noop) bus.emit(event)
    }
    const base = () => ({ sessionId: id, streamId: id, timestamp: clock.currentTimeMillisUnsafe() })
    let fallbackIndex = 0
    return chain(
      Stream.provideService(self, ChainPositions, positions),
      (error) =>
        Stream.onExit(Stream.provideService(that(error), ChainPositions, positions), (exit) =>
          Effect.sync(() => {
            if (exit._tag === "Success") report({ type: "fallback_success", ...base(), data: { fallbackIndex } })
          })),
      (error) => {
        fallbackIndex = positions.next()
        report({ type: "fallback_start", ...base(), data: { fallbackIndex, category: error.category } })
      }
    )
  }))
