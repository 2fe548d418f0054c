/**
 * Durable sessions: the options `sessionId`, `resume` and `checkpoint`, the
 * stored checkpoint a run resumes from, and the throttled saves of the text
 * its consumer holds.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Checkpoint from "./checkpointStore.js"
import { FatalError } from "../L0Error.js"
import { ClosedStruct, guarded, invalidOption, withDefault } from "./optionSchema.js"

/** Where a saved checkpoint may end. */
export type Boundary = "token" | "word" | "line"

/** The checkpoint options of `L0Options`. */
export interface CheckpointOptions {
  /**
   * Where a saved checkpoint ends: `"word"` (default) after the last
   * whitespace, `"line"` after the last newline, `"token"` anywhere.
   */
  readonly boundary?: Boundary | undefined
  /** At most this many saves per second and session (default 4). */
  readonly writesPerSecond?: number | undefined
}

export interface Settings {
  readonly sessionId: string
  readonly resume: boolean
  readonly boundary: Boundary
  readonly intervalMs: number
}

const BOUNDARIES: ReadonlyArray<unknown> = ["token", "word", "line"]
const MAX_SESSION_ID = 200

/**
 * The durable-session options of `L0Options`, as fields of its Schema:
 * decoded with the run's other options, in one place.
 */
export const fields = {
  sessionId: Schema.optional(
    guarded(
      (u): u is string => Predicate.isString(u) && u.length > 0 && u.length <= MAX_SESSION_ID,
      `a string of 1 to ${MAX_SESSION_ID} characters`
    )
  ),
  resume: withDefault(Schema.Boolean, false),
  checkpoint: Schema.optional(ClosedStruct({
    boundary: withDefault(
      guarded((u): u is Boundary => BOUNDARIES.includes(u), "one of \"token\", \"word\", \"line\""),
      "word"
    ),
    writesPerSecond: withDefault(
      guarded((u): u is number => Predicate.isNumber(u) && u > 0 && u <= 1000, "a number > 0 and ≤ 1000"),
      4
    )
  }, "{ boundary?, writesPerSecond? }"))
}

type Decoded = Schema.Struct.Type<typeof fields>

/** The settings of a run with a `sessionId`; `resume` and `checkpoint` need one. */
export const settings = (
  { checkpoint, resume, sessionId }: Decoded
): Result.Result<Settings | undefined, FatalError> => {
  if (sessionId === undefined) {
    if (resume) return Result.fail(invalidOption("resume", "a sessionId to resume", resume))
    return checkpoint === undefined
      ? Result.succeed(undefined)
      : Result.fail(invalidOption("checkpoint", "a sessionId to save checkpoints under", checkpoint))
  }
  const { boundary, writesPerSecond } = checkpoint ?? { boundary: "word", writesPerSecond: 4 }
  return Result.succeed({ sessionId, resume, boundary, intervalMs: 1000 / writesPerSecond })
}

const safePrefix = (text: string, boundary: Boundary): string => {
  if (boundary === "token") return text
  const end = boundary === "line" ? text.lastIndexOf("\n") : Math.max(
    text.lastIndexOf(" "),
    text.lastIndexOf("\n"),
    text.lastIndexOf("\t")
  )
  return text.slice(0, end + 1)
}

const storeError = (error: Checkpoint.CheckpointError): FatalError =>
  new FatalError({ reason: "checkpoint", message: error.message, cause: error })

/** Saves a session's text at safe boundaries, at most once per interval. */
export class Checkpointer {
  private lastAt = -Infinity
  private lastText: string
  private warned = false

  constructor(
    readonly store: Checkpoint.Store,
    readonly settings: Settings,
    readonly clock: Clock.Clock,
    readonly onSaved: (checkpoint: Checkpoint.Checkpoint) => void,
    private seq: number,
    restored: string
  ) {
    this.lastText = restored
  }

  /**
   * Called once per received array: the save that is due, if any. `text` is
   * only read when the interval has passed, so a long answer is not joined
   * once per array.
   */
  due(text: () => string): Effect.Effect<void> | undefined {
    const now = this.clock.currentTimeMillisUnsafe()
    if (now - this.lastAt < this.settings.intervalMs) return undefined
    const cut = safePrefix(text(), this.settings.boundary)
    // only a save uses up the interval: text without a boundary yet is saved by the next array that has one
    if (cut.length === 0 || cut === this.lastText) return undefined
    this.lastAt = now
    this.lastText = cut
    const checkpoint = { text: cut, seq: this.seq++, savedAt: now }
    return this.store.save(this.settings.sessionId, checkpoint).pipe(
      Effect.matchEffect({
        onSuccess: () => Effect.sync(() => this.onSaved(checkpoint)),
        // a store that is down must not stop the answer: warn once, keep streaming
        onFailure: (error) =>
          this.warned ? Effect.void : Effect.andThen(
            Effect.sync(() => {
              this.warned = true
            }),
            Effect.logWarning(`effect-l0: ${error.message}; the session goes on without checkpoints`, error.cause)
          )
      })
    )
  }

  /** The session ended with its answer: nothing is left to resume. */
  finish(): Effect.Effect<void> {
    return Effect.ignore(this.store.remove(this.settings.sessionId))
  }
}

/**
 * Opens a durable session: the stored text to continue from when resuming
 * (`""` when there is none), else a clean slate so that an older run's
 * checkpoint can never win over this one's.
 */
export const open = (
  store: Checkpoint.Store,
  settings: Settings
): Effect.Effect<{ readonly restored: string; readonly seq: number }, FatalError> =>
  settings.resume
    ? Effect.map(
      Effect.mapError(store.load(settings.sessionId), storeError),
      (stored) => stored === undefined ? { restored: "", seq: 0 } : { restored: stored.text, seq: stored.seq + 1 }
    )
    : Effect.as(Effect.mapError(store.remove(settings.sessionId), storeError), { restored: "", seq: 0 })
