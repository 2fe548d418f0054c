/**
 * The consumers the workloads compare: a plain `for await` loop over the
 * source, and L0's ways of reading a run. Each builds the final text, so all
 * of them do the same work with the tokens.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { L0Event } from "effect-l0"
import { L0 } from "effect-l0"

/** The baseline: iterate the provider stream and concatenate. */
export const raw = async (source: AsyncIterable<string>): Promise<string> => {
  let text = ""
  for await (const token of source) text += token
  return text
}

const fold = (text: string, event: L0Event.L0Event): string =>
  event._tag === "Token" ? text + event.value : event._tag === "Reset" ? text.slice(0, event.kept) : text

/** `L0.stream`, reading every event one chunk array at a time (`Stream.runForEachArray`). */
export const streamArrays = (options: L0.L0Options): Effect.Effect<string, unknown> =>
  Effect.suspend(() => {
    let text = ""
    return Stream.runForEachArray(L0.stream(options), (events) => {
      for (let i = 0; i < events.length; i++) text = fold(text, events[i]!)
      return Effect.void
    }).pipe(Effect.map(() => text))
  })

/** `L0.stream`, reading every event as its own effect (`Stream.runForEach`). */
export const streamEach = (options: L0.L0Options): Effect.Effect<string, unknown> =>
  Effect.suspend(() => {
    let text = ""
    return Stream.runForEach(L0.stream(options), (event) =>
      Effect.sync(() => {
        text = fold(text, event)
      })).pipe(Effect.map(() => text))
  })

/** `L0.text`. */
export const text = (options: L0.L0Options): Effect.Effect<string, unknown> => L0.text(options)
