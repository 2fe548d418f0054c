import type { Adapter } from "../Adapter.js"
import { stateless, unexpectedChunk } from "../internal/decode.js"
import * as L0Event from "../L0Event.js"

/**
 * Plain strings: each chunk is a `Token`.
 *
 * @category adapters
 * @since 0.1.0
 */
export const text: Adapter = {
  name: "text",
  detect: (chunk) => typeof chunk === "string",
  make: () =>
    stateless((chunk, out) => {
      if (typeof chunk !== "string") throw unexpectedChunk("text", chunk)
      if (chunk.length === 0) return false
      out.push(L0Event.token(chunk))
      return true
    })
}

/**
 * `L0Event`s pass through, so a source can be another L0 stream, and
 * strings among them are tokens. A nested `Complete` is dropped: the outer
 * run reports its own.
 *
 * @category adapters
 * @since 0.1.0
 */
export const events: Adapter = {
  name: "events",
  detect: L0Event.isL0Event,
  make: () =>
    stateless((chunk, out) => {
      if (typeof chunk === "string") {
        if (chunk.length === 0) return false
        out.push(L0Event.token(chunk))
        return true
      }
      if (!L0Event.isL0Event(chunk)) throw unexpectedChunk("events", chunk)
      if (chunk._tag === "Complete") return false
      out.push(chunk)
      return chunk._tag !== "Reset"
    })
}
