/**
 * The error of `EventLog`, in a module of its own so that the log's
 * runtime and its public module both name it without importing each other.
 *
 * @internal
 */
import * as Data from "effect/Data"
import { withSafeCause } from "./cause.js"

/**
 * Why a log could not be written or read:
 * - `Open`: the log file could not be created (it exists, or this runtime has no file system)
 * - `InUse`: the sink already holds a run
 * - `Encode`: an event cannot be written as JSON (a `BigInt` or a cycle in a `Data` value)
 * - `Write`: the sink threw, for example on a full disk
 * - `Read`: the log file could not be read
 * - `Corrupt`: a line is not JSON, not a log entry, or out of place; `line` names it
 * - `Truncated`: the last line was cut before its newline; `line` names it
 * - `Incomplete`: the log is empty, or ends before the end of its run
 *
 * @category errors
 * @since 0.1.0
 */
export class EventLogError extends Data.TaggedError("EventLogError")<{
  readonly reason: "Open" | "InUse" | "Encode" | "Write" | "Read" | "Corrupt" | "Truncated" | "Incomplete"
  readonly message: string
  /** The 1-based line of the log that could not be read. */
  readonly line?: number | undefined
  readonly cause?: unknown
}> {
  /** A `cause` that cannot be printed safely (a sink's hostile failure) is replaced by an `Error` describing it. */
  constructor(fields: {
    readonly reason: "Open" | "InUse" | "Encode" | "Write" | "Read" | "Corrupt" | "Truncated" | "Incomplete"
    readonly message: string
    readonly line?: number | undefined
    readonly cause?: unknown
  }) {
    super(withSafeCause(fields))
  }
}
