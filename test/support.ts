import { TestSource } from "effect-l0/testing"

/** Re-exported so tests read `advance("1 second")`. */
export const { advance, settle } = TestSource

/** An error shaped like Node's socket reset. */
export const connectionReset = (): Error => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })

/** An error shaped like an SDK's HTTP error. */
export const httpError = (status: number, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(`${status} status code`), { status, headers })
