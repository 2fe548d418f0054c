/**
 * Pipelines: L0 runs in sequence, each step's output feeding the next
 * step's prompt. Every step is a whole `L0Options`, so it keeps its own
 * retries, fallbacks, timeouts and guardrails.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ClosedStruct, decoder, Fn, guarded } from "./internal/optionSchema.js"
import { run as runL0 } from "./internal/l0.js"
import type { L0Options, L0Result, Services, Strict } from "./internal/l0Types.js"
import type { L0Error } from "./L0Error.js"
import { FatalError } from "./L0Error.js"

/**
 * One step: `options` gets the previous step's text (the pipeline's input
 * for the first step) and the outputs so far. `R` is what its sources
 * require.
 *
 * @category models
 * @since 0.1.0
 */
export interface Step<R = never> {
  readonly name?: string | undefined
  readonly options: (previous: string, outputs: ReadonlyArray<StepOutput>) => L0Options<R>
}

/**
 * The options that a step's `options` returns.
 *
 * @category models
 * @since 0.1.0
 */
export type StepOptions<S> = S extends { readonly options: (...args: never) => infer O } ? O : never

/**
 * The outcome of one step of a pipeline, handed to the steps after it.
 *
 * @category models
 * @since 0.1.0
 */
export interface StepOutput {
  readonly index: number
  readonly name: string | undefined
  readonly text: string
  readonly result: L0Result
}

/**
 * `text` is the last step's text.
 *
 * @category models
 * @since 0.1.0
 */
export interface PipelineResult {
  readonly text: string
  readonly outputs: ReadonlyArray<StepOutput>
}

/**
 * A step failed (after its own retries and fallbacks): `index` and `name`
 * say which, `outputs` holds the steps before it.
 *
 * @category errors
 * @since 0.1.0
 */
export class PipelineError extends Data.TaggedError("PipelineError")<{
  readonly message: string
  readonly index: number
  readonly name: string | undefined
  readonly error: L0Error
  readonly outputs: ReadonlyArray<StepOutput>
}> {}

const StepSchema = ClosedStruct({
  name: Schema.optional(Schema.String),
  options: Fn("a function (previous, outputs) => L0Options")
}, "{ name?: string, options: (previous, outputs) => L0Options }")

const decodeSteps = decoder(
  Schema.Array(StepSchema).pipe(
    Schema.check(Schema.makeFilter((steps) => steps.length > 0, { expected: "a non-empty array of steps" }))
  ).annotate({ expected: "a non-empty array of steps" }),
  "steps",
  true
)

const decodeInput = decoder(guarded(Predicate.isString, "a string"), "input")

/**
 * Runs the steps in order: step 0 gets `input`, each next step the text of
 * the one before. A failing step fails the pipeline with a `PipelineError`;
 * a step whose `options` throws fails it with a `FatalError` inside. Invalid
 * steps fail with a `FatalError` naming them before any step runs. It
 * requires the services of every step's sources (see `L0.Services`).
 *
 * **Example** (Draft, then critique, then rewrite)
 * ```ts
 * const { text } = yield* Pipeline.run([
 *   { name: "draft", options: (topic) => ({ stream: ({ signal }) => ask(`Write about ${topic}`, signal) }) },
 *   { name: "critique", options: (draft) => ({ stream: ({ signal }) => ask(`Critique:\n${draft}`, signal) }) },
 *   { name: "rewrite", options: (critique, [draft]) =>
 *       ({ stream: ({ signal }) => ask(`Rewrite ${draft!.text} given ${critique}`, signal) }) }
 * ], "tide pools")
 * ```
 * @category running
 * @since 0.1.0
 */
export function run<S extends Step<unknown> = Step>(
  steps: ReadonlyArray<
    S & { readonly options: (previous: string, outputs: ReadonlyArray<StepOutput>) => Strict<StepOptions<S>> }
  >,
  input: string
): Effect.Effect<PipelineResult, PipelineError | FatalError, Services<StepOptions<S>>>
export function run<R>(
  steps: ReadonlyArray<Step<R>>,
  input: string
): Effect.Effect<PipelineResult, PipelineError | FatalError, R> {
  return Effect.gen(function*() {
    yield* Effect.fromResult(Result.flatMap(decodeSteps(steps), () => decodeInput(input)))
    const outputs: Array<StepOutput> = []
    let previous = input
    for (let index = 0; index < steps.length; index++) {
      const { name, options } = steps[index]!
      const result = yield* Effect.suspend(() => {
        try {
          return runL0(options(previous, outputs.slice()))
        } catch (cause) {
          return Effect.fail(
            new FatalError({ reason: "options", message: `The options of step ${index} threw`, cause })
          )
        }
      }).pipe(Effect.mapError((error) =>
        new PipelineError({
          message: `Step ${index}${name === undefined ? "" : ` "${name}"`} failed: ${error.message}`,
          index,
          name,
          error,
          outputs: outputs.slice()
        })
      ))
      outputs.push({ index, name, text: result.text, result })
      previous = result.text
    }
    return { text: previous, outputs }
  })
}
