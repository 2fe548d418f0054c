/**
 * A scripted in-process source for tests: emit these chunks with these
 * delays, then fail, stall or end. Delays use the Effect `Clock` of the
 * program that runs `L0.stream`, so `TestClock` drives them.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/testing/TestClock"
import type { L0 } from "effect-l0"

type AttemptContext = L0.AttemptContext

const StepTypeId = "~effect-l0/TestSource/Step"

/**
 * A script instruction. Any other value in a script is a chunk to emit.
 *
 * @category models
 * @since 0.1.0
 */
export type Step =
  | { readonly [StepTypeId]: "Sleep"; readonly duration: Duration.Duration }
  | { readonly [StepTypeId]: "Fail"; readonly error: unknown }
  | { readonly [StepTypeId]: "Stall" }

/**
 * What one call of a test source produces: chunks to emit in order, and
 * steps (waits, failures, stalls) between them.
 *
 * @category models
 * @since 0.1.0
 */
export type Script = ReadonlyArray<unknown>

/**
 * Waits `duration` on the Effect clock before the next chunk.
 *
 * @category steps
 * @since 0.1.0
 */
export const sleep = (duration: Duration.Input): Step => ({
  [StepTypeId]: "Sleep",
  duration: Duration.fromInputUnsafe(duration)
})

/**
 * Makes the source throw `error` (as a real SDK stream would).
 *
 * @category steps
 * @since 0.1.0
 */
export const fail = (error: unknown): Step => ({ [StepTypeId]: "Fail", error })

/**
 * Never produces another chunk; ends only when the attempt is aborted.
 *
 * @category steps
 * @since 0.1.0
 */
export const stall: Step = { [StepTypeId]: "Stall" }

/**
 * `chunks` with `delay` before each.
 *
 * @category steps
 * @since 0.1.0
 */
export const paced = (chunks: Iterable<unknown>, delay: Duration.Input): Script => {
  const step = sleep(delay)
  const script: Array<unknown> = []
  for (const chunk of chunks) script.push(step, chunk)
  return script
}

const isStep = (u: unknown): u is Step => typeof u === "object" && u !== null && StepTypeId in u

/**
 * What happened to one call of the factory.
 *
 * @category models
 * @since 0.1.0
 */
export interface Call {
  readonly context: AttemptContext
  /** Chunks handed to L0 so far. */
  readonly emitted: number
  /** The script ran to its end. */
  readonly finished: boolean
  /** L0 called the iterator's `return()`. */
  readonly returned: boolean
}

/**
 * A scripted source for tests: pass `stream` to L0, then read `calls` to
 * check what L0 asked for.
 *
 * @category models
 * @since 0.1.0
 */
export interface TestSource {
  /** The factory to pass as `stream` or as a fallback. */
  readonly stream: L0.SourceFactory
  /** Every call so far, in order. */
  readonly calls: ReadonlyArray<Call>
}

const abortError = (): Error => Object.assign(new Error("The operation was aborted"), { name: "AbortError" })

/**
 * A source whose n-th call plays the n-th script (the last one repeats).
 *
 * **Example** (A reset after three tokens, then a clean answer)
 * ```ts
 * const source = TestSource.make(
 *   ["a", "b", "c", TestSource.fail(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))],
 *   ["x", "y"]
 * )
 * const text = yield* L0.text({ stream: source.stream })  // "xy"
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (...scripts: ReadonlyArray<Script>): TestSource => {
  const calls: Array<Call> = []
  const stream: L0.SourceFactory = (context) =>
    Effect.map(Effect.context<never>(), (services) => {
      const script = scripts[Math.min(calls.length, scripts.length - 1)] ?? []
      const call = { context, emitted: 0, finished: false, returned: false }
      calls.push(call)
      const { signal } = context
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(abortError())
        if (signal.aborted) onAbort()
        else signal.addEventListener("abort", onAbort, { once: true })
      })
      aborted.catch(() => {})
      let index = 0
      const iterator: AsyncIterator<unknown> = {
        next: async () => {
          while (index < script.length && !call.returned) {
            const item = script[index++]
            if (!isStep(item)) {
              call.emitted++
              return { value: item, done: false }
            }
            switch (item[StepTypeId]) {
              case "Sleep": {
                await Promise.race([
                  Effect.runPromiseWith(services)(Effect.sleep(item.duration), { signal }),
                  aborted
                ])
                break
              }
              case "Fail":
                throw item.error
              case "Stall":
                await aborted
            }
          }
          call.finished = !call.returned
          return { value: undefined, done: true }
        },
        return: async () => {
          call.returned = true
          return { value: undefined, done: true }
        }
      }
      return { [Symbol.asyncIterator]: () => iterator }
    })
  return { stream, calls }
}

/**
 * Lets promise-based sources and forked fibers run until they wait on the
 * clock again: a source's `await`s resolve outside Effect's scheduler.
 *
 * @category time
 * @since 0.1.0
 */
export const settle: Effect.Effect<void> = Effect.promise(async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve))
})

/**
 * Moves the `TestClock` forward by `duration`, settling real work before and
 * after, so that sleeps registered by the source and by L0 are all seen.
 *
 * **Example** (Waiting out a retry delay)
 * ```ts
 * const fiber = yield* Effect.forkChild(L0.text({ stream: source.stream }))
 * yield* TestSource.advance("1 second")
 * const text = yield* Fiber.join(fiber)
 * ```
 * @category time
 * @since 0.1.0
 */
export const advance = (duration: Duration.Input): Effect.Effect<void> =>
  settle.pipe(Effect.andThen(TestClock.adjust(duration)), Effect.andThen(settle))
