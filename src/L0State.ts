/**
 * A snapshot of a run: the final one in the `Complete` event, `L0.run` and
 * an `ExhaustedError`; a live one from `L0.start`'s handle.
 *
 * @since 0.1.0
 */
import type { Violation } from "./Guardrail.js"
import type { ToolCall } from "./L0Event.js"

/**
 * A guardrail violation of a run, with the attempt in which it was found
 * (for an `error` or `fatal` one, the attempt it ended).
 *
 * @category models
 * @since 0.1.0
 */
export interface RunViolation extends Violation {
  /** 0 for `stream`, 1 for the first fallback, … */
  readonly source: number
  /** 1-based attempt number within that source. */
  readonly attempt: number
}

/**
 * The state of a run: when it completes, in `Complete` events and
 * `L0Result.state`; when it fails, in `ExhaustedError.state`; while it runs,
 * from `L0.start`'s handle. The text, the counters of retries and
 * fallbacks, what the current attempt produced, and every violation.
 *
 * @category models
 * @since 0.1.0
 */
export interface L0State {
  /** The text emitted so far, resets applied: the final text once completed. */
  readonly content: string
  /** Tokens of the current (finally: the successful or last) attempt, after continuation de-duplication. */
  readonly tokenCount: number
  /** `Clock` time (epoch millis) of that attempt's first and last token. */
  readonly firstTokenAt: number | undefined
  readonly lastTokenAt: number | undefined
  /**
   * 1-based number of that attempt within its source: it starts again at 1
   * with each fallback. The attempts of the whole run are `totalAttempts`.
   */
  readonly attempt: number
  /**
   * The attempts of the whole run so far, over every source, the current
   * one included: 4 after three failed requests and a fallback that
   * answered. A source skipped because its circuit is open counts, as it
   * does in `ExhaustedError.attempts`; 0 before the first attempt starts.
   * Each link of an `L0.orElse` chain counts its own run.
   */
  readonly totalAttempts: number
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
  /** Every guardrail violation of the run, all severities, in the order found. */
  readonly violations: ReadonlyArray<RunViolation>
  /**
   * The text emitted up to the last safe point, with or without
   * `continuation`: where the guardrails last passed (every `checkInterval`
   * tokens and at completion; without guardrails, every received chunk).
   * After a failure, the failed attempt's last safe text.
   */
  readonly lastGoodContent: string
  /** The run ended with a `Complete`. */
  readonly completed: boolean
  /** The run was stopped by its handle's `abort` (see `L0.start`). */
  readonly aborted: boolean
}

/**
 * The state of a run before its first attempt starts: what `L0.start`'s
 * handle shows before any event, and a base for building states in tests.
 *
 * **Example** (A `Complete` event for a test source)
 * ```ts
 * const complete: L0Event.Complete = {
 *   _tag: "Complete",
 *   usage: undefined,
 *   state: { ...L0State.initial, content: "Hello", completed: true }
 * }
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const initial: L0State = {
  content: "",
  tokenCount: 0,
  firstTokenAt: undefined,
  lastTokenAt: undefined,
  attempt: 1,
  totalAttempts: 0,
  modelRetryCount: 0,
  networkRetryCount: 0,
  fallbackIndex: 0,
  checkpoint: "",
  finishReason: undefined,
  toolCalls: [],
  violations: [],
  lastGoodContent: "",
  completed: false,
  aborted: false
}
