/**
 * A snapshot of a run, carried by the `Complete` event and `L0.run`.
 *
 * @since 0.1.0
 */
import type { Violation } from "./Guardrail.js"
import type { ToolCall } from "./L0Event.js"

/**
 * The state of a run when it completes, in `Complete` events and
 * `L0Result.state`: the final text, the counters of retries and fallbacks,
 * and what the successful attempt produced.
 *
 * @category models
 * @since 0.1.0
 */
export interface L0State {
  /** The final text, resets applied. */
  readonly content: string
  /** Tokens of the successful attempt (after continuation de-duplication). */
  readonly tokenCount: number
  /** `Clock` time (epoch millis) of the successful attempt's first and last token. */
  readonly firstTokenAt: number | undefined
  readonly lastTokenAt: number | undefined
  /** 1-based attempt number of the successful attempt within its source. */
  readonly attempt: number
  /** Retries after model or content errors, over the whole run. */
  readonly modelRetryCount: number
  /** Retries after network or transient errors, over the whole run. */
  readonly networkRetryCount: number
  /** 0 for `stream`, 1 for the first fallback, … */
  readonly fallbackIndex: number
  /** Text kept from failed attempts when `continuation` is on (the part the consumer keeps under this attempt), else `""`. */
  readonly checkpoint: string
  /** The provider's finish reason, when its adapter reports one. */
  readonly finishReason: string | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
  /** Guardrail warnings reported by the successful attempt. */
  readonly violations: ReadonlyArray<Violation>
}
