import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"

/** Lets promise-based sources and forked fibers run until they wait on the clock again. */
export const settle: Effect.Effect<void> = Effect.promise(async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve))
})

/** Moves the TestClock forward by `duration`, with real work settled before and after. */
export const advance = (duration: Duration.Input): Effect.Effect<void> =>
  settle.pipe(Effect.andThen(TestClock.adjust(duration)), Effect.andThen(settle))

/** An error shaped like Node's socket reset. */
export const connectionReset = (): Error => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })

/** An error shaped like an SDK's HTTP error. */
export const httpError = (status: number, headers: Record<string, string> = {}): Error =>
  Object.assign(new Error(`${status} status code`), { status, headers })
