/**
 * The `CheckpointStore` reference and its models, apart from the layers, so
 * that the runtime reads it without loading the stores.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import { withSafeCause } from "./cause.js"

/**
 * What a session stored: the text its consumer held at a safe boundary.
 * `seq` grows with each save of the session, across processes.
 *
 * @category models
 * @since 0.1.0
 */
export interface Checkpoint {
  readonly text: string
  readonly seq: number
  /** `Clock` milliseconds of the save. */
  readonly savedAt: number
  /**
   * The generation of the session: the `Clock` milliseconds at which a run
   * without `resume` started it (a resumed run keeps it). A checkpoint of a
   * later generation is newer whatever its `seq`, so an older run's slot
   * that could not be removed never wins a resume. Absent on checkpoints
   * stored before generations existed, which are older than any.
   */
  readonly epoch?: number | undefined
}

/**
 * A store failed, or holds a checkpoint that cannot be read. The message
 * names the session and the operation, never the stored text.
 *
 * @category errors
 * @since 0.1.0
 */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly operation: "load" | "save" | "remove"
  readonly sessionId: string
  readonly message: string
  readonly cause?: unknown
}> {
  /** A `cause` that cannot be printed safely (a store's hostile failure) is replaced by an `Error` describing it. */
  constructor(fields: {
    readonly operation: "load" | "save" | "remove"
    readonly sessionId: string
    readonly message: string
    readonly cause?: unknown
  }) {
    super(withSafeCause(fields))
  }
}

/**
 * The service behind checkpoints.
 *
 * @category models
 * @since 0.1.0
 */
export interface Store {
  /** The newest readable checkpoint of the session, by `epoch` then `seq`; `undefined` if none. */
  readonly load: (sessionId: string) => Effect.Effect<Checkpoint | undefined, CheckpointError>
  readonly save: (sessionId: string, checkpoint: Checkpoint) => Effect.Effect<void, CheckpointError>
  readonly remove: (sessionId: string) => Effect.Effect<void, CheckpointError>
}

/**
 * The store of the checkpoints: a run with a `sessionId` requires it, and
 * its options written out in the call put it among the run's requirements.
 * Options the compiler cannot read (typed `L0Options`, parsed from JSON)
 * find a missing store at run time: the run fails with a `FatalError` that
 * names `sessionId`, before any source is called.
 *
 * @category services
 * @since 0.1.0
 */
export class CheckpointStore extends Context.Service<CheckpointStore, Store>()("effect-l0/CheckpointStore") {}
