/**
 * The consumers the workloads compare: a plain `for await` loop over the
 * source, and L0's ways of reading a run. Each builds the final text the same
 * way, collecting the pieces and joining them once (as `L0.text` does inside):
 * `text += token` would build a rope of a million pieces whose garbage
 * collection, not the stream, would dominate the 1M-token figures.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { L0Event } from "effect-l0"
import { L0 } from "effect-l0"

/** The baseline: iterate the provider stream and concatenate. */
export const raw = async (source: AsyncIterable<string>): Promise<string> => {
  const parts: Array<string> = []
  for await (const token of source) parts.push(token)
  return parts.join("")
}

/** The text a consumer holds: tokens appended, resets applied. */
class Text {
  private readonly parts: Array<string> = []

  add(event: L0Event.L0Event): void {
    if (event._tag === "Token") {
      this.parts.push(event.value)
    } else if (event._tag === "Reset") {
      const kept = this.parts.join("").slice(0, event.kept)
      this.parts.length = 0
      this.parts.push(kept)
    }
  }

  toString(): string {
    return this.parts.join("")
  }
}

/** `L0.stream`, reading every event one chunk array at a time (`Stream.runForEachArray`). */
export const streamArrays = (options: L0.L0Options): Effect.Effect<string, unknown> =>
  Effect.suspend(() => {
    const text = new Text()
    return Stream.runForEachArray(L0.stream(options), (events) => {
      for (let i = 0; i < events.length; i++) text.add(events[i]!)
      return Effect.void
    }).pipe(Effect.map(() => text.toString()))
  })

/** `L0.stream`, reading every event as its own effect (`Stream.runForEach`). */
export const streamEach = (options: L0.L0Options): Effect.Effect<string, unknown> =>
  Effect.suspend(() => {
    const text = new Text()
    return Stream.runForEach(L0.stream(options), (event) => Effect.sync(() => text.add(event)))
      .pipe(Effect.map(() => text.toString()))
  })

/** `L0.text`. */
export const text = (options: L0.L0Options): Effect.Effect<string, unknown> => L0.text(options)
