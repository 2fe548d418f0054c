/**
 * Durable sessions: the options `sessionId`, `resume` and `checkpoint`, the
 * stored checkpoint a run resumes from, and the throttled saves of the text
 * its consumer holds.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Checkpoint from "./checkpointStore.js"
import { FatalError } from "../L0Error.js"
import { bounded } from "./bounded.js"
import { ClosedStruct, DurationInput, guarded, invalidOption, withDefault } from "./optionSchema.js"

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
  /**
   * How long a store operation may take (default 1 second). A save or a
   * removal that takes longer counts as failed; a load that takes longer
   * fails the resume.
   */
  readonly storeTimeout?: Duration.Input | undefined
}

export interface Settings {
  readonly sessionId: string
  readonly resume: boolean
  readonly boundary: Boundary
  readonly intervalMs: number
  readonly storeTimeout: Duration.Duration
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
    ),
    storeTimeout: withDefault(DurationInput(true), "1 second")
  }, "{ boundary?, writesPerSecond?, storeTimeout? }"))
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
  const { boundary, storeTimeout, writesPerSecond } = checkpoint ??
    { boundary: "word", writesPerSecond: 4, storeTimeout: "1 second" }
  return Result.succeed({
    sessionId,
    resume,
    boundary,
    intervalMs: 1000 / writesPerSecond,
    storeTimeout: Duration.fromInputUnsafe(storeTimeout)
  })
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

/**
 * A store operation of the session, bounded by `storeTimeout`: one that
 * takes longer fails like a store that is down.
 */
const timed = <A>(
  settings: Settings,
  operation: Checkpoint.CheckpointError["operation"],
  effect: Effect.Effect<A, Checkpoint.CheckpointError>,
  onTimeout: () => void = () => {}
): Effect.Effect<A, Checkpoint.CheckpointError> =>
  Effect.flatMap(bounded(effect, settings.storeTimeout), (answered) => {
    if (answered._tag === "Some") return Effect.succeed(answered.value)
    onTimeout()
    return Effect.fail(
      new Checkpoint.CheckpointError({
        operation,
        sessionId: settings.sessionId,
        message: `Checkpoint ${operation} for session ${JSON.stringify(settings.sessionId)} did not answer within ${
          Duration.format(settings.storeTimeout)
        }`
      })
    )
  })

const storeError = (error: Checkpoint.CheckpointError): FatalError =>
  new FatalError({ reason: "checkpoint", message: error.message, cause: error })

/**
 * Saves a session's text at safe boundaries, at most once per interval.
 *
 * The store failing never stops the answer: the first failure is logged
 * once as a warning. A save that fails is tried again at the next interval
 * (the store may be back); one that does not answer within `storeTimeout`
 * ends the session's saves, since waiting for it at every interval would
 * slow the answer down.
 */
export class Checkpointer {
  private lastAt = -Infinity
  private lastText = ""
  private seq = 0
  private epoch: number | undefined = undefined
  private warned = false
  private hung = false
  /**
   * An older checkpoint of the id may still be stored: its removal failed.
   * Its generation is older, so it never wins a resume over this session's
   * own; removing it again before each save until that works also covers a
   * first save cut in the middle of its write.
   */
  private stale = false

  constructor(
    readonly store: Checkpoint.Store,
    readonly settings: Settings,
    readonly clock: Clock.Clock
  ) {}

  /**
   * Opens the session: the stored checkpoint to continue when resuming (a
   * store that fails fails the resume), else a clean slate, so that an
   * older run's checkpoint can never win over this one's. Only a resume
   * needs the store: a new session whose older checkpoint cannot be removed
   * (store down) starts anyway.
   */
  open(): Effect.Effect<Checkpoint.Checkpoint | undefined, FatalError> {
    const { sessionId } = this.settings
    if (this.settings.resume) {
      return timed(this.settings, "load", this.store.load(sessionId)).pipe(
        Effect.mapError(storeError),
        Effect.tap((stored) =>
          Effect.sync(() => {
            if (stored === undefined) {
              this.epoch = this.clock.currentTimeMillisUnsafe()
              return
            }
            this.lastText = stored.text
            this.seq = stored.seq + 1
            this.epoch = stored.epoch
          })
        )
      )
    }
    this.epoch = this.clock.currentTimeMillisUnsafe()
    return timed(this.settings, "remove", this.store.remove(sessionId), this.hang).pipe(
      Effect.catch((error) => {
        this.stale = true
        return this.failed(error)
      }),
      Effect.as(undefined)
    )
  }

  /**
   * Called once per received array: the save that is due, if any, which
   * gives the checkpoint it saved (`undefined` when the store failed).
   * `text` is only read when the interval has passed, so a long answer is
   * not joined once per array.
   */
  due(text: () => string): Effect.Effect<Checkpoint.Checkpoint | undefined> | undefined {
    if (this.hung) return undefined
    const now = this.clock.currentTimeMillisUnsafe()
    if (now - this.lastAt < this.settings.intervalMs) return undefined
    const cut = safePrefix(text(), this.settings.boundary)
    // only a save uses up the interval: text without a boundary yet is saved by the next array that has one
    if (cut.length === 0 || cut === this.lastText) return undefined
    this.lastAt = now
    this.lastText = cut
    const checkpoint = { text: cut, seq: this.seq, savedAt: now, epoch: this.epoch }
    // a failed save leaves `seq`: the next one rewrites the same slot, and the other keeps the last good one
    const save = Effect.andThen(
      timed(this.settings, "save", this.store.save(this.settings.sessionId, checkpoint), this.hang),
      Effect.sync(() => {
        this.seq++
        return checkpoint
      })
    )
    const saved = Effect.catch(save, (error) => Effect.as(this.failed(error), undefined))
    return this.stale
      ? Effect.andThen(this.removeStale(), Effect.suspend(() => this.hung ? Effect.succeed(undefined) : saved))
      : saved
  }

  /** Tries again to remove the older checkpoint; its generation is older than this session's either way. */
  private removeStale(): Effect.Effect<void> {
    return timed(this.settings, "remove", this.store.remove(this.settings.sessionId), this.hang).pipe(
      Effect.andThen(Effect.sync(() => {
        this.stale = false
      })),
      Effect.catch((error) => this.failed(error))
    )
  }

  private readonly hang = (): void => {
    this.hung = true
  }

  /** A store operation failed: warn once, keep streaming. */
  private failed(error: Checkpoint.CheckpointError): Effect.Effect<void> {
    if (this.warned) return Effect.void
    this.warned = true
    const message = `effect-l0: ${error.message}; the session goes on without checkpoints`
    return error.cause === undefined ? Effect.logWarning(message) : Effect.logWarning(message, error.cause)
  }

  /** The session ended with its answer: nothing is left to resume. */
  finish(): Effect.Effect<void> {
    return Effect.ignore(timed(this.settings, "remove", this.store.remove(this.settings.sessionId)))
  }
}
