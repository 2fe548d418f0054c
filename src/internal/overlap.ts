/** The longest repeated tail of the checkpoint that a continuation may begin with. */
export const MAX_OVERLAP = 512

/** Shorter matches are too likely to be chance (a space, a letter). */
export const MIN_OVERLAP = 2

/**
 * Removes the overlap between a checkpoint's tail and the start of the text
 * that continues it. The head of the new text is held back only while it
 * could still be a repetition of the tail, so at most `MAX_OVERLAP`
 * characters wait.
 */
export class Overlap {
  private head = ""
  private resolved = false
  private readonly tail: string

  constructor(checkpoint: string) {
    this.tail = checkpoint.slice(-MAX_OVERLAP)
  }

  /** Returns the part of `text` that can be emitted now ("" while undecided). */
  feed(text: string): string {
    if (this.resolved) return text
    this.head += text
    // still a possible repetition of the tail: wait for more
    if (this.head.length < this.tail.length && this.tail.includes(this.head)) return ""
    return this.flush()
  }

  /** Decides with what has arrived, at the latest when the stream ends. */
  flush(): string {
    if (this.resolved) return ""
    this.resolved = true
    const head = this.head
    this.head = ""
    for (let k = Math.min(head.length, this.tail.length); k >= MIN_OVERLAP; k--) {
      if (this.tail.endsWith(head.slice(0, k))) return head.slice(k)
    }
    return head
  }
}
