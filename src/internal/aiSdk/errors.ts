/**
 * The error of `AiSdk.middleware` when a retry would take back streamed text.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type { CategoryError } from "../../L0Error.js"

/**
 * What a `streamText` call through `AiSdk.middleware` fails with when a
 * retry would take back text already streamed (a guardrail or content
 * violation after text went out, or any retry with `continuation: false`):
 * AI SDK stream parts cannot take text back, and showing it twice would be
 * worse. `cause` is the failure of the attempt the retry follows.
 *
 * @category errors
 * @since 0.1.0
 */
export class TakeBackError extends Data.TaggedError("TakeBackError")<{
  /** Characters of text the call had streamed. */
  readonly shown: number
  /** Characters the retry keeps: fewer than `shown`. */
  readonly kept: number
  /** The failure of the attempt that the retry follows (a guardrail violation, a content error, …). */
  readonly cause?: CategoryError | undefined
}> {
  override get message(): string {
    return `A retry would take back ${this.shown - this.kept} of the ${this.shown} characters already streamed, ` +
      `which the AI SDK's stream parts cannot express${
        this.cause === undefined ? "" : ` (after ${this.cause._tag}: ${this.cause.message})`
      }`
  }
}
