import * as Duration from "effect/Duration"
import type { Inspect } from "../L0Error.js"

/** What the printed forms of an L0 error read. */
interface Printable {
  readonly _tag: string
  readonly message: string
  readonly status?: number | undefined
  readonly retryAfter?: Duration.Duration | undefined
  readonly reason?: string | undefined
  readonly cause?: unknown
}

interface Attempt {
  readonly source: number
  readonly attempt: number
  readonly error: Printable
  readonly delay: Duration.Duration
}

/** Attempt lines stay on one line and short, whatever the provider wrote. */
const MESSAGE_LIMIT = 200

const oneLine = (message: string): string => {
  const flat = message.replace(/\s*\n\s*/g, " ")
  return flat.length > MESSAGE_LIMIT ? `${flat.slice(0, MESSAGE_LIMIT)}…` : flat
}

/** Whole milliseconds: jittered delays would otherwise print down to the nanosecond. */
const shortDuration = (duration: Duration.Duration): string => {
  const millis = Math.round(Duration.toMillis(duration))
  return millis === 0 ? "0ms" : Duration.format(Duration.millis(millis))
}

/**
 * `Tag (reason: …, status: …, retry after …): message`
 *
 * @internal
 */
export const describe = (error: Printable, message: string = error.message): string => {
  const details: Array<string> = []
  if (error.reason !== undefined) details.push(`reason: ${error.reason}`)
  if (error.status !== undefined) details.push(`status: ${error.status}`)
  if (error.retryAfter !== undefined) details.push(`retry after ${shortDuration(error.retryAfter)}`)
  return `${error._tag}${details.length > 0 ? ` (${details.join(", ")})` : ""}: ${message}`
}

/**
 * A category error for `util.inspect` and `console.error`: its description
 * and, below it, the inspected cause (which holds the useful stack trace).
 * `depth` is what is left of the inspect depth, negative when the error
 * itself is too deep to be shown in full.
 *
 * @internal
 */
export const inspect = (
  error: Printable,
  depth: number,
  options: object | undefined,
  inspect: Inspect | undefined
): string => {
  const head = describe(error)
  if (depth < 0) return `[${head}]`
  if (error.cause === undefined || inspect === undefined) return head
  const cause = inspect(error.cause, { ...options, depth: depth - 1 })
  return `${head}\n  [cause]: ${cause.split("\n").join("\n  ")}`
}

/**
 * An `ExhaustedError`: its message, then one line per attempt with the
 * source, attempt number, error and the delay waited after it.
 *
 * @internal
 */
export const exhausted = (message: string, attempts: ReadonlyArray<Attempt>): string => {
  const lines = [`ExhaustedError: ${oneLine(message)}`]
  for (const { attempt, delay, error, source } of attempts) {
    lines.push(
      `  source ${source}, attempt ${attempt}: ${describe(error, oneLine(error.message))}${
        Duration.isZero(delay) ? "" : ` (then waited ${shortDuration(delay)})`
      }`
    )
  }
  return lines.join("\n")
}
