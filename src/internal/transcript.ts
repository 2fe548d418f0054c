/**
 * The text of one stream as its consumer holds it: the part of a
 * checkpoint it keeps, then the stream's own text, one string per received
 * array. It joins a continuation to the checkpoint, applies the resets of a
 * source that is itself an L0 stream, and feeds the guardrails. An attempt
 * of `L0.stream` and `Guardrails.stage` keep their text in one.
 *
 * @internal
 */
import type * as Continuation from "./continuation.js"
import { Joint } from "./continuation.js"
import type { Guard, GuardCheck } from "./guard.js"

/**
 * `head` then `parts`, concatenated rather than joined: V8 keeps the result
 * as a rope and copies nothing until something reads its characters (a
 * caller printing the text pays one copy, as with `join`; one that only
 * passes it on pays none).
 */
const concat = (head: string, parts: ReadonlyArray<string>, count: number): string => {
  let text = head
  for (let i = 0; i < count; i++) text += parts[i]!
  return text
}

export class Transcript {
  /** The text of the stream: one string per received array, joined once at the end. */
  private readonly parts: Array<string> = []
  /** Token values of the array being received, not yet joined into `parts`. */
  private readonly pending: Array<string> = []
  /** The kept checkpoint then `parts`, joined once until they change. */
  private joined: string | undefined = undefined
  /** Characters in `parts`, and how many of them had passed the guardrails at the last safe point. */
  private length = 0
  private goodLength = 0
  /** Set until the joint with the checkpoint is decided, then dropped: tokens pass through untouched. */
  private joint: Joint | undefined
  /** The head of the source's text that the decided joint did not pass on. */
  private taken = ""
  /** Characters of the checkpoint the consumer keeps under the stream's text. */
  private keptLength: number
  private tokens = 0
  private safePoint = false

  /**
   * `checkpoint` is the text the consumer holds when the stream starts,
   * continued when `continuation` is set; `guard` checks the text; `owed`
   * says that the consumer holds text to reset before the stream's first
   * event (it also becomes true when the joint keeps less of the checkpoint).
   */
  constructor(
    private readonly checkpoint: string,
    private readonly continuation: Continuation.Settings | undefined,
    readonly guard: Guard | undefined,
    private owed: boolean
  ) {
    this.joint = continuation === undefined ? undefined : Joint.make(checkpoint, continuation)
    this.keptLength = checkpoint.length
  }

  /** Characters of the checkpoint the consumer keeps under the stream's text. */
  get kept(): number {
    return this.keptLength
  }

  /** Tokens taken into the text. */
  get tokenCount(): number {
    return this.tokens
  }

  /** A safe point was reached: without guardrails, any received array; with them, a passed check. */
  get safe(): boolean {
    return this.safePoint
  }

  /** Whether the consumer holds text to reset before the stream's next event. */
  get resetOwed(): boolean {
    return this.owed
  }

  /** Whether a reset to `kept` must go before the events being delivered; it is then no longer owed. */
  takeReset(): boolean {
    const owed = this.owed
    this.owed = false
    return owed
  }

  /** Takes a token's value into the text; returns what the consumer gets of it, `undefined` while the joint holds it. */
  token(value: string): string | undefined {
    const joint = this.joint
    if (joint !== undefined) {
      value = joint.feed(value)
      if (joint.decided) this.decided(joint)
      if (value.length === 0) return undefined
    }
    this.pending.push(value)
    this.tokens++
    return value
  }

  /** Joins the pending token values into one part: one join per array rather than one huge join per stream. */
  flush(): void {
    const pending = this.pending
    if (pending.length === 0) return
    const part = pending.length === 1 ? pending[0]! : pending.join("")
    this.parts.push(part)
    this.joined = undefined
    this.length += part.length
    pending.length = 0
  }

  /** The joint is decided: from now on tokens pass through; a joint that keeps less of the checkpoint resets it. */
  private decided(joint: Joint): void {
    this.joint = undefined
    this.taken = joint.taken
    if (joint.kept === this.keptLength) return
    this.keptLength = joint.kept
    this.joined = undefined
    this.guard?.rebase(this.checkpoint.slice(0, joint.kept))
    this.owed = true
  }

  /** The stream ends undecided: the joint decides with what it holds; returns the value of the token that makes. */
  end(): string | undefined {
    const joint = this.joint
    if (joint === undefined) return undefined
    const value = joint.decide()
    this.decided(joint)
    if (value.length === 0) return undefined
    this.pending.push(value)
    this.tokens++
    return value
  }

  /**
   * The source reset its text to its first `kept` characters (it is itself
   * an L0 stream): its text is what the joint took, then the parts. Returns
   * the reset the consumer gets, or `undefined` while the joint is undecided
   * (nothing of the stream was shown).
   */
  reset(kept: number): number | undefined {
    const joint = this.joint
    if (joint !== undefined) {
      // the decision starts over with what the source keeps
      joint.hold(joint.held.slice(0, kept))
      return undefined
    }
    this.flush()
    const text = this.parts.join("")
    this.parts.length = 0
    this.joined = undefined
    this.length = 0
    this.guard?.restart()
    const own = kept - this.taken.length
    if (own >= 0) {
      const rest = text.slice(0, own)
      if (rest.length > 0) this.parts.push(rest)
      this.length = rest.length
      this.goodLength = Math.min(this.goodLength, rest.length)
      return this.keptLength + rest.length
    }
    // it took back part of what the joint removed: decide again from what it keeps
    this.goodLength = 0
    const retained = this.taken.slice(0, kept)
    this.taken = ""
    // a joint took text, so continuation is on and the checkpoint has overlaps or held whitespace to decide on
    this.joint = Joint.make(this.checkpoint, this.continuation!, this.keptLength)!
    this.joint.hold(retained)
    return this.keptLength
  }

  /** Runs the guardrails on the text so far. */
  check(toolCallCount: number, completed: boolean): GuardCheck {
    this.flush()
    return this.guard!.run(this.parts, this.tokens, toolCallCount, completed)
  }

  /** The text as it stands is safe to resume from. */
  markSafe(): void {
    this.safePoint = true
    this.goodLength = this.length
  }

  /** Parts in the text: the consumer was given the text up to some count of them. */
  get partCount(): number {
    return this.parts.length
  }

  /** The kept checkpoint and the text: completion, failure and the last safe text share one join. */
  text(): string {
    return this.joined ??= concat(this.checkpoint.slice(0, this.keptLength), this.parts, this.parts.length)
  }

  /** The kept checkpoint and the first `count` parts. */
  textUpTo(count: number): string {
    return count === this.parts.length ? this.text()
      : concat(this.checkpoint.slice(0, this.keptLength), this.parts, count)
  }

  /** The text at the last safe point. */
  goodText(): string {
    return this.text().slice(0, this.keptLength + this.goodLength)
  }

  /** The part of the checkpoint the consumer keeps. */
  keptCheckpoint(): string {
    return this.checkpoint.slice(0, this.keptLength)
  }
}
