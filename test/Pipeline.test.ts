import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { Guardrails, type L0, type L0Error, Pipeline } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { expectTypeOf } from "vitest"
import {
  advance,
  connectionReset,
  type Farewell,
  farewelled,
  farewellLayer,
  Greeting,
  greeted,
  greetingLayer,
  httpError,
  noDelay,
  plain
} from "./support.js"

type PipelineEffect<R> = Effect.Effect<Pipeline.PipelineResult, Pipeline.PipelineError | L0Error.FatalError, R>

const noRetry = { retry: { maxAttempts: 1, maxRetries: 0 } } as const

describe("Pipeline.run", () => {
  it.effect("feeds each step's output to the next, with retries inside a step", () =>
    Effect.gen(function*() {
      const seen: Array<[string, ReadonlyArray<string>]> = []
      const flaky = TestSource.make(["par", TestSource.fail(connectionReset())], ["second"])
      const fiber = yield* Effect.forkChild(Pipeline.run([
        {
          name: "draft",
          options: (previous, outputs) => {
            seen.push([previous, outputs.map((o) => o.text)])
            return { stream: TestSource.make(["first"]).stream }
          }
        },
        {
          options: (previous, outputs) => {
            seen.push([previous, outputs.map((o) => o.text)])
            return { stream: flaky.stream }
          }
        },
        {
          name: "final",
          options: (previous, outputs) => {
            seen.push([previous, outputs.map((o) => o.text)])
            return { stream: TestSource.make([previous.toUpperCase()]).stream }
          }
        }
      ], "topic"))
      for (let i = 0; i < 3; i++) yield* advance("5 seconds")
      const result = yield* Fiber.join(fiber)
      expect(seen).toEqual([["topic", []], ["first", ["first"]], ["second", ["first", "second"]]])
      expect(result.text).toBe("SECOND")
      expect(result.outputs.map((o) => [o.index, o.name, o.text])).toEqual([
        [0, "draft", "first"],
        [1, undefined, "second"],
        [2, "final", "SECOND"]
      ])
      expect(flaky.calls.length).toBe(2)
    }))

  it.effect("requires the union of its steps' services, provided once around the pipeline", () =>
    Effect.gen(function*() {
      expectTypeOf(Pipeline.run([{ options: (previous) => ({ stream: plain(previous) }) }], "a")).toEqualTypeOf<
        PipelineEffect<never>
      >()
      const typed: ReadonlyArray<Pipeline.Step<Greeting>> = [{ options: () => ({ stream: greeted() }) }]
      expectTypeOf(Pipeline.run(typed, "a")).toEqualTypeOf<PipelineEffect<Greeting>>()
      const program = Pipeline.run([
        { name: "greet", options: (topic) => ({ stream: greeted(", ", topic) }) },
        { options: (previous) => ({ stream: () => Stream.make(`${previous}.`) }) },
        {
          name: "part",
          options: (previous, outputs) => ({
            stream: () =>
              Effect.map(Effect.service(Greeting), ({ word }) => Stream.make(`${previous} ${outputs.length} ${word}`))
          })
        },
        { options: (previous) => ({ stream: farewelled(` after "${previous}"`) }) }
      ], "tide pools")
      expectTypeOf(program).toEqualTypeOf<PipelineEffect<Greeting | Farewell>>()
      const { text } = yield* program.pipe(Effect.provide(Layer.mergeAll(greetingLayer, farewellLayer)))
      expect(text).toBe(`goodbye after "hello, tide pools. 2 hello"`)
    }))

  it("a misspelt option in a step stays a type error", () => {
    // only type-checked: the run would ignore the misspelt key
    const misspelt = () =>
      // @ts-expect-error: `retyr` is no option
      Pipeline.run([{ options: () => ({ stream: greeted(), retyr: noDelay }) }], "a")
    expectTypeOf(misspelt).toBeFunction()
  })

  it.effect("a failing step fails the pipeline with its index, name and the outputs so far", () =>
    Effect.gen(function*() {
      const never = TestSource.make(["never"])
      const error = yield* Effect.flip(Pipeline.run([
        { name: "a", options: () => ({ stream: TestSource.make(["one"]).stream }) },
        {
          name: "b",
          options: () => ({ ...noRetry, stream: TestSource.make([TestSource.fail(httpError(401))]).stream })
        },
        { name: "c", options: () => ({ stream: never.stream }) }
      ], "in"))
      expect(error._tag).toBe("PipelineError")
      if (error._tag !== "PipelineError") return
      expect([error.index, error.name]).toEqual([1, "b"])
      expect(error.message).toContain(`Step 1 "b" failed`)
      expect(error.outputs.map((o) => o.text)).toEqual(["one"])
      expect(never.calls.length).toBe(0)
    }))

  it.effect("a step's guardrails apply to that step only", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Pipeline.run([
        { options: () => ({ stream: TestSource.make(["\\begin{a} is fine here"]).stream }) },
        {
          options: () => ({
            ...noRetry,
            guardrails: [Guardrails.latex],
            stream: TestSource.make(["\\begin{a}"]).stream
          })
        }
      ], "in"))
      expect(error._tag).toBe("PipelineError")
      if (error._tag === "PipelineError") {
        expect(error.index).toBe(1)
        expect(error.outputs.map((o) => o.text)).toEqual(["\\begin{a} is fine here"])
      }
    }))

  it.effect("options that throw fail that step with a FatalError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Pipeline.run([{
        options: () => {
          throw new Error("boom")
        }
      }], "in"))
      expect(error._tag).toBe("PipelineError")
      if (error._tag === "PipelineError") expect(error.error._tag).toBe("FatalError")
    }))

  it.effect("invalid steps fail with a FatalError naming them before any step runs", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["never"])
      const ok = { options: (): L0.L0Options => ({ stream: source.stream }) }
      const empty = yield* Effect.flip(Pipeline.run([], "in"))
      expect(empty.message).toBe(`Invalid option "steps": expected a non-empty array of steps, got an array of 0`)
      const bad = yield* Effect.flip(Pipeline.run([ok, { name: 3 } as unknown as Pipeline.Step], "in"))
      expect(bad.message).toBe(`Invalid option "steps[1].name": expected a string, got 3`)
      const noOptions = yield* Effect.flip(Pipeline.run([ok, { name: "x" } as unknown as Pipeline.Step], "in"))
      expect(noOptions.message).toBe(
        `Invalid option "steps[1].options": expected a function (previous, outputs) => L0Options, got undefined`
      )
      const input = yield* Effect.flip(Pipeline.run([ok], 3 as unknown as string))
      expect(input.message).toContain(`"input"`)
      const notArray = yield* Effect.flip(Pipeline.run("steps" as unknown as ReadonlyArray<Pipeline.Step>, "in"))
      expect(notArray.message).toContain(`"steps": expected a non-empty array of steps, got a string`)
      expect(source.calls.length).toBe(0)
    }))
})
