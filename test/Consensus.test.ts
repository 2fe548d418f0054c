import { describe, expect, it } from "@effect/vitest"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Consensus } from "effect-l0"
import { L0, L0Error } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { expectTypeOf } from "vitest"
import {
  advance,
  Farewell,
  farewelled,
  farewellLayer,
  Greeting,
  greeted,
  greetingLayer,
  httpError,
  noDelay,
  plain,
  settle
} from "./support.js"

/** An answer after `delay`. */
const answer = (text: string, delay: Duration.Input = "1 second") => TestSource.make([TestSource.sleep(delay), text])

/** A run that never answers, so only an early decision can end it. */
const stalled = () => TestSource.make([TestSource.stall])

const failed = (status = 401) => TestSource.make([TestSource.fail(httpError(status))])

const optionsOf = (sources: ReadonlyArray<TestSource.TestSource>): Array<L0.L0Options> =>
  sources.map((source) => ({ stream: source.stream, timeout: { initialToken: "1 minute" } }))

const isInterrupted = (source: TestSource.TestSource): boolean => {
  const call = source.calls[0]!
  return call.context.signal.aborted && call.returned && !call.finished
}

/** Runs a consensus over the sources until it decides, moving the clock in steps of one second. */
const decide = <A>(effect: Effect.Effect<A, Consensus.ConsensusError>, seconds = 3) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.result(effect))
    for (let i = 0; i < seconds; i++) yield* advance("1 second")
    return yield* Fiber.join(fiber)
  })

const succeeded = <A, E>(result: Result.Result<A, E>): A => {
  if (Result.isFailure(result)) throw new Error(`expected a success, got ${String(result.failure)}`)
  return result.success
}

const failedWith = <A, E>(result: Result.Result<A, E>): E => {
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure
}

describe("L0.consensus unanimous", () => {
  it.effect("agrees after normalizing whitespace and case, and carries every output", () =>
    Effect.gen(function*() {
      const sources = [answer(" Paris\n"), answer("paris", "2 seconds"), answer("PARIS  ")]
      const result = succeeded(yield* decide(L0.consensus(optionsOf(sources), { strategy: "unanimous" })))
      expect(result.value).toBe(" Paris\n")
      expect(result.chosen.index).toBe(0)
      expect(result.agreement).toBe(1)
      expect(result.outputs.map((output) => [output.index, output.value, output.result.text])).toEqual([
        [0, " Paris\n", " Paris\n"],
        [1, "paris", "paris"],
        [2, "PARIS  ", "PARIS  "]
      ])
      expect(result.candidates).toHaveLength(1)
      expect(result.candidates[0]!.votes).toBe(3)
      expect(result.failures).toEqual([])
    }))

  it.effect("fails with a ContentError listing the outputs as soon as two differ, interrupting the rest", () =>
    Effect.gen(function*() {
      const rest = stalled()
      const sources = [answer("Paris"), answer("Lyon", "2 seconds"), rest]
      const error = failedWith(yield* decide(L0.consensus(optionsOf(sources), { strategy: "unanimous" }), 2))
      expect(error._tag).toBe("ContentError")
      if (error._tag !== "ContentError") return
      expect(error.rule).toBe("consensus")
      expect(error.message).toBe(`The outputs are not unanimous: #0: "Paris"; #1: "Lyon"`)
      expect(error.violations?.map((violation) => violation.message)).toEqual([`#0: "Paris"`, `#1: "Lyon"`])
      expect(isInterrupted(rest)).toBe(true)
    }))

  it.effect("failed runs abstain: the others decide and the agreement counts every run", () =>
    Effect.gen(function*() {
      const sources = [answer("yes"), failed(), answer("Yes")]
      const result = succeeded(yield* decide(L0.consensus(optionsOf(sources), { strategy: "unanimous" })))
      expect(result.value).toBe("yes")
      expect(result.agreement).toBeCloseTo(2 / 3)
      expect(result.failures.map(({ error, index }) => [index, error._tag])).toEqual([[1, "ExhaustedError"]])
    }))

  it.effect("the ContentError also lists the failed runs", () =>
    Effect.gen(function*() {
      const sources = [answer("a"), failed(), answer("b")]
      const error = failedWith(yield* decide(L0.consensus(optionsOf(sources), { strategy: "unanimous" })))
      expect(error._tag).toBe("ContentError")
      if (error._tag !== "ContentError") return
      expect(error.violations?.map((violation) => violation.message.replace(/: .*$/, ""))).toEqual([
        "#0",
        "#2",
        "#1 failed"
      ])
    }))

  it.effect("every run failing gives an AllFailedError", () =>
    Effect.gen(function*() {
      const error = failedWith(
        yield* decide(L0.consensus(optionsOf([failed(401), failed(403)]), { strategy: "unanimous" }))
      )
      expect(error._tag).toBe("AllFailedError")
      if (error._tag !== "AllFailedError") return
      expect(error.failures.map(({ index }) => index)).toEqual([0, 1])
    }))
})

describe("L0.consensus majority", () => {
  it.effect("decides once a strict majority is certain and interrupts the rest", () =>
    Effect.gen(function*() {
      const rest = stalled()
      const sources = [answer("A"), answer("b", "2 seconds"), answer("a"), answer("a", "2 seconds"), rest]
      const fiber = yield* Effect.forkChild(L0.consensus(optionsOf(sources), { strategy: "majority" }))
      yield* advance("1 second")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* advance("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.value).toBe("A")
      expect(result.agreement).toBe(3 / 5)
      expect(result.candidates.map((candidate) => [candidate.value, candidate.votes])).toEqual([["A", 3], ["b", 1]])
      expect(isInterrupted(rest)).toBe(true)
    }))

  it.effect("a tie is a ContentError", () =>
    Effect.gen(function*() {
      const error = failedWith(
        yield* decide(L0.consensus(optionsOf([answer("a"), answer("b")]), { strategy: "majority" }))
      )
      expect(error._tag).toBe("ContentError")
      expect(error.message).toBe(`No output has a majority: #0: "a"; #1: "b"`)
    }))

  it.effect("fails early once no output can reach a majority", () =>
    Effect.gen(function*() {
      const rest = stalled()
      const sources = [answer("a"), answer("b"), answer("c"), rest]
      const error = failedWith(yield* decide(L0.consensus(optionsOf(sources), { strategy: "majority" }), 1))
      expect(error._tag).toBe("ContentError")
      expect(isInterrupted(rest)).toBe(true)
    }))

  it.effect("tieBreak picks among the most voted: \"first\" by index, a function by rank", () =>
    Effect.gen(function*() {
      const sources =
        () => [answer("short"), answer("longer", "2 seconds"), answer("short", "2 seconds"), answer("longer")]
      const first = succeeded(
        yield* decide(L0.consensus(optionsOf(sources()), { strategy: "majority", tieBreak: "first" }))
      )
      expect([first.value, first.chosen.index, first.agreement]).toEqual(["short", 0, 0.5])
      const ranked = succeeded(
        yield* decide(L0.consensus(optionsOf(sources()), {
          strategy: "majority",
          tieBreak: (candidate) => candidate.value.length
        }))
      )
      expect([ranked.value, ranked.chosen.index]).toEqual(["longer", 1])
      expect(ranked.candidates.map((candidate) => candidate.outputs.map((output) => output.index))).toEqual([[0, 2], [1,
        3]])
    }))

  it.effect("with tieBreak, a plurality wins when no majority is possible", () =>
    Effect.gen(function*() {
      const sources = [answer("a"), answer("b"), answer("a"), answer("c"), answer("d")]
      const result = succeeded(
        yield* decide(L0.consensus(optionsOf(sources), { strategy: "majority", tieBreak: "first" }))
      )
      expect([result.value, result.agreement]).toEqual(["a", 0.4])
    }))

  it.effect("failed runs abstain: a majority of the votes cast wins", () =>
    Effect.gen(function*() {
      const sources = [answer("a"), failed(), answer("a", "2 seconds"), answer("b", "2 seconds")]
      const result = succeeded(yield* decide(L0.consensus(optionsOf(sources), { strategy: "majority" })))
      expect([result.value, result.agreement]).toEqual(["a", 0.5])
    }))
})

describe("L0.consensus weighted", () => {
  it.effect("the highest total weight wins, decided early when the rest cannot catch up", () =>
    Effect.gen(function*() {
      const rest = [stalled(), stalled()]
      const sources = [answer("trusted"), ...rest]
      const result = succeeded(
        yield* decide(L0.consensus(optionsOf(sources), { strategy: "weighted", weights: [3, 1, 1] }), 1)
      )
      expect([result.value, result.agreement]).toEqual(["trusted", 0.6])
      expect(rest.every(isInterrupted)).toBe(true)
    }))

  it.effect("a heavier single output beats two lighter agreeing ones", () =>
    Effect.gen(function*() {
      const sources = [answer("x"), answer("x"), answer("y", "2 seconds")]
      const result = succeeded(
        yield* decide(L0.consensus(optionsOf(sources), { strategy: "weighted", weights: [1, 1, 2.5] }))
      )
      expect(result.value).toBe("y")
      expect(result.agreement).toBeCloseTo(2.5 / 4.5)
      expect(result.candidates.map((candidate) => candidate.votes)).toEqual([2.5, 2])
    }))

  it.effect("a tie is a ContentError unless tieBreak is given", () =>
    Effect.gen(function*() {
      const sources = () => [answer("x"), answer("y")]
      const error = failedWith(
        yield* decide(L0.consensus(optionsOf(sources()), { strategy: "weighted", weights: [2, 2] }))
      )
      expect(error.message).toMatch(/^The top outputs tie: /)
      const result = succeeded(
        yield* decide(L0.consensus(optionsOf(sources()), {
          strategy: "weighted",
          tieBreak: (candidate) => candidate.value === "y" ? 1 : 0
        }))
      )
      expect(result.value).toBe("y")
    }))
})

describe("L0.consensus best", () => {
  it.effect("without score, the first output to complete wins and the rest are interrupted", () =>
    Effect.gen(function*() {
      const rest = [answer("late", "5 seconds"), stalled()]
      const sources = [rest[0]!, failed(), answer("early"), rest[1]!]
      const result = succeeded(yield* decide(L0.consensus(optionsOf(sources), { strategy: "best" }), 1))
      expect([result.value, result.chosen.index, result.agreement]).toEqual(["early", 2, 0.25])
      expect(rest.every(isInterrupted)).toBe(true)
    }))

  it.effect("with score, the highest score wins; equal scores go to the lower index", () =>
    Effect.gen(function*() {
      const sources = () => [answer("ok"), answer("better!", "2 seconds"), answer("better?")]
      const result = succeeded(
        yield* decide(L0.consensus(optionsOf(sources()), { strategy: "best", score: (output) => output.value.length }))
      )
      expect([result.value, result.chosen.index]).toEqual(["better!", 1])
      expect(result.outputs).toHaveLength(3)
      const scored = succeeded(
        yield* decide(
          L0.consensus(optionsOf(sources()), { strategy: "best", score: (output) => output.result.state.tokenCount })
        )
      )
      expect(scored.chosen.index).toBe(0)
    }))
})

describe("L0.consensus structured outputs", () => {
  const Answer = Schema.Struct({ city: Schema.String, tags: Schema.Array(Schema.String) })
  const decodeAnswer = Schema.decodeUnknownEffect(Schema.fromJsonString(Answer))
  const decode = (result: L0.L0Result) =>
    decodeAnswer(result.text).pipe(
      Effect.mapError((error) => new L0Error.ContentError({ message: error.message, rule: "schema" }))
    )

  it.effect("decoded values are compared by deep equality", () =>
    Effect.gen(function*() {
      const sources = [
        answer(`{"city":"Paris","tags":["fr","capital"]}`, "2 seconds"),
        answer(`{ "tags": ["fr", "capital"], "city": "Paris" }`, "2 seconds"),
        answer(`{"city":"Paris","tags":["capital","fr"]}`)
      ]
      const result = succeeded(yield* decide(L0.consensus(optionsOf(sources), { strategy: "majority", decode })))
      expect(result.value).toEqual({ city: "Paris", tags: ["fr", "capital"] })
      expect(result.candidates.map((candidate) => candidate.votes)).toEqual([2, 1])
      const error = failedWith(yield* decide(L0.consensus(optionsOf(sources), { strategy: "unanimous", decode })))
      expect(error.message).toContain(`#2: {"city":"Paris","tags":["capital","fr"]}`)
    }))

  it.effect("values that are not JSON are shown as strings", () =>
    Effect.gen(function*() {
      const values: ReadonlyArray<unknown> = [10n, undefined]
      const error = failedWith(
        yield* decide(L0.consensus(optionsOf([answer("a"), answer("b")]), {
          strategy: "unanimous",
          decode: (result) => Effect.succeed(values[result.text === "a" ? 0 : 1])
        }))
      )
      expect(error.message).toBe("The outputs are not unanimous: #0: 10; #1: undefined")
    }))

  it.effect("normalize decides what must agree; an output that does not decode counts as failed", () =>
    Effect.gen(function*() {
      const sources = [
        answer(`{"city":"Paris","tags":["a"]}`),
        answer(`not json`),
        answer(`{"city":"Paris","tags":["b"]}`)
      ]
      const result = succeeded(
        yield* decide(
          L0.consensus(optionsOf(sources), { strategy: "unanimous", decode, normalize: (value) => value.city })
        )
      )
      expect(result.value.city).toBe("Paris")
      expect(result.failures.map(({ error, index }) => [index, error._tag])).toEqual([[1, "ContentError"]])
    }))
})

describe("L0.consensus options", () => {
  it.effect("invalid options fail with a FatalError naming the option", () =>
    Effect.gen(function*() {
      const options = optionsOf([answer("a"), answer("b")])
      const cases: ReadonlyArray<readonly [unknown, unknown, string]> = [
        [[], { strategy: "majority" }, `"options": expected a non-empty array`],
        ["nope", { strategy: "majority" }, `"options": expected a non-empty array of L0 options, got a string`],
        [options, "majority", `"config"`],
        [options, { strategy: "vote" },
          `"strategy": expected one of "unanimous", "majority", "weighted", "best", got a string`],
        [options, { strategy: "weighted", weights: [1] }, `"weights": expected an array of 2 positive numbers`],
        [options, { strategy: "weighted", weights: [1, -1] }, `"weights[1]": expected a positive number, got -1`],
        [options, { strategy: "best", score: 3 }, `"score": expected a function, got 3`],
        [options, { strategy: "majority", normalize: "trim" }, `"normalize"`],
        [options, { strategy: "majority", tieBreak: "last" }, `"tieBreak": expected "first" or a function`],
        [options, { strategy: "majority", decode: {} }, `"decode"`]
      ]
      for (const [list, config, message] of cases) {
        const error = yield* Effect.flip(
          L0.consensus(list as ReadonlyArray<L0.L0Options>, config as Consensus.ConsensusOptions<string>)
        )
        expect(error._tag).toBe("FatalError")
        expect(error.message).toContain(message)
      }
    }))

  it.effect("a throwing callback fails with a FatalError naming it", () =>
    Effect.gen(function*() {
      const boom = () => {
        throw new Error("boom")
      }
      const configs: ReadonlyArray<readonly [Consensus.ConsensusOptions<string>, string]> = [
        [{ strategy: "majority", normalize: boom }, "normalize"],
        [{ strategy: "best", score: boom }, "score"],
        [{ strategy: "majority", tieBreak: boom }, "tieBreak"]
      ]
      for (const [config, option] of configs) {
        const error = failedWith(yield* decide(L0.consensus(optionsOf([answer("a"), answer("b")]), config)))
        expect(error._tag).toBe("FatalError")
        expect(error.message).toBe(`Option "${option}" threw: boom`)
      }
    }))

  it.effect("a decode that throws or returns no Effect makes its run fail", () =>
    Effect.gen(function*() {
      const throwing = failedWith(
        yield* decide(L0.consensus(optionsOf([answer("a")]), {
          strategy: "best",
          decode: () => {
            throw "bad"
          }
        }))
      )
      expect(throwing._tag).toBe("AllFailedError")
      expect(throwing.message).toContain(`Option "decode" threw: bad`)
      const plain = failedWith(
        yield* decide(L0.consensus(optionsOf([answer("a")]), {
          strategy: "best",
          decode: ((result: L0.L0Result) => result.text) as unknown as (result: L0.L0Result) => Effect.Effect<string>
        }))
      )
      expect(plain.message).toContain(`"decode": expected a function returning an Effect, got a string`)
    }))

  it.effect("a defect ends the consensus and interrupts the rest", () =>
    Effect.gen(function*() {
      const rest = stalled()
      const exit = yield* Effect.exit(decide(L0.consensus(optionsOf([answer("a"), rest]), {
        strategy: "majority",
        decode: () => Effect.die("bug")
      })))
      expect(String(exit)).toContain("bug")
      expect(isInterrupted(rest)).toBe(true)
    }))

  it.effect("requires the union of its sources' services, provided once around the call", () =>
    Effect.gen(function*() {
      expectTypeOf(L0.consensus([{ stream: plain("a") }])).toEqualTypeOf<
        Effect.Effect<Consensus.ConsensusResult<string>, Consensus.ConsensusError, never>
      >()
      const decodeLength = (result: L0.L0Result) => Effect.succeed(result.text.length)
      expectTypeOf(L0.consensus([{ stream: greeted() }, { stream: plain("a") }], { decode: decodeLength }))
        .toEqualTypeOf<Effect.Effect<Consensus.ConsensusResult<number>, Consensus.ConsensusError, Greeting>>()
      const program = L0.consensus([{ stream: greeted() }, { stream: farewelled() }, { stream: greeted() }])
      expectTypeOf(program).toEqualTypeOf<
        Effect.Effect<Consensus.ConsensusResult<string>, Consensus.ConsensusError, Greeting | Farewell>
      >()
      const { agreement, outputs, value } = yield* program.pipe(
        Effect.provide(Layer.mergeAll(greetingLayer, farewellLayer))
      )
      expect(value).toBe("hello")
      expect(agreement).toBe(2 / 3)
      expect(outputs.filter((output) => output.value === "hello").map((output) => output.index)).toEqual([0, 2])
    }))

  it("a misspelt option in the list stays a type error", () => {
    // only type-checked: the runs would ignore the misspelt key
    const misspelt = () => [
      // @ts-expect-error: `retyr` is no option
      L0.consensus([{ stream: greeted(), retyr: noDelay }]),
      // @ts-expect-error: `retyr` is no option
      Consensus.fieldwise([{ stream: plain("{}"), retyr: noDelay }], { decode: () => Effect.succeed({}) })
    ]
    expectTypeOf(misspelt).toBeFunction()
  })

  it.effect("interrupting a consensus aborts every run", () =>
    Effect.gen(function*() {
      const sources = [stalled(), stalled()]
      const fiber = yield* Effect.forkChild(L0.consensus(optionsOf(sources), { strategy: "majority" }))
      yield* settle
      yield* Fiber.interrupt(fiber)
      expect(sources.every(isInterrupted)).toBe(true)
    }))
})

describe("L0.consensus minAgreement", () => {
  it.effect("below the threshold once every run has voted: an AgreementError carrying the votes", () =>
    Effect.gen(function*() {
      const sources = [answer("a"), answer("b"), answer("a", "2 seconds"), failed()]
      const error = failedWith(
        yield* decide(L0.consensus(optionsOf(sources), { strategy: "majority", minAgreement: 0.75 }))
      )
      expect(error._tag).toBe("AgreementError")
      if (error._tag !== "AgreementError") return
      expect([error.agreement, error.minAgreement]).toEqual([0.5, 0.75])
      expect(error.votes).toEqual([{ value: "a", votes: 2, indices: [0, 2] }, { value: "b", votes: 1, indices: [1] }])
      expect(error.failures.map(({ index }) => index)).toEqual([3])
      expect(error.message).toBe(`The agreement 50% is below minAgreement 75%: "a" (2); "b" (1)`)
    }))

  it.effect("waits for the runs that could still lift the agreement, then decides and interrupts the rest", () =>
    Effect.gen(function*() {
      const last = answer("b", "5 seconds")
      const sources = [answer("a"), answer("a"), answer("a"), answer("a", "2 seconds"), last]
      const fiber = yield* Effect.forkChild(
        L0.consensus(optionsOf(sources), { strategy: "majority", minAgreement: 0.8 })
      )
      yield* advance("1 second")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* advance("1 second")
      const result = yield* Fiber.join(fiber)
      expect([result.value, result.agreement]).toEqual(["a", 0.8])
      expect(isInterrupted(last)).toBe(true)
    }))

  it.effect("fails as soon as the threshold is out of reach, interrupting the rest", () =>
    Effect.gen(function*() {
      const rest = stalled()
      const sources = [failed(), failed(), answer("a"), rest]
      const error = failedWith(
        yield* decide(L0.consensus(optionsOf(sources), { strategy: "best", minAgreement: 0.75 }), 1)
      )
      expect(error._tag).toBe("AgreementError")
      expect(isInterrupted(rest)).toBe(true)
    }))

  it.effect("a threshold met keeps the result as without it", () =>
    Effect.gen(function*() {
      const sources = [answer("x"), answer("x"), answer("y")]
      const result = succeeded(
        yield* decide(L0.consensus(optionsOf(sources), { strategy: "majority", minAgreement: 2 / 3 }))
      )
      expect([result.value, result.agreement, result.resolved]).toEqual(["x", 2 / 3, false])
    }))
})

describe("L0.consensus resolve", () => {
  it.effect("settles a conflict once every run has ended, with every candidate", () =>
    Effect.gen(function*() {
      const seen: Array<ReadonlyArray<readonly [string, number]>> = []
      const sources = [answer("short"), answer("a longer answer"), answer("short", "2 seconds")]
      const result = succeeded(
        yield* decide(L0.consensus(optionsOf(sources), {
          strategy: "unanimous",
          resolve: (candidates) => {
            seen.push(candidates.map((candidate) => [candidate.value, candidate.votes] as const))
            return candidates.find((candidate) => candidate.value.length > 5)
          }
        }))
      )
      expect(seen).toEqual([[["short", 2], ["a longer answer", 1]]])
      expect([result.value, result.chosen.index, result.agreement, result.resolved]).toEqual([
        "a longer answer",
        1,
        1 / 3,
        true
      ])
      expect(result.outputs).toHaveLength(3)
    }))

  it.effect("undefined keeps the ContentError; a value that is no candidate or a throw is a FatalError", () =>
    Effect.gen(function*() {
      const sources = () => [answer("a"), answer("b")]
      const none = failedWith(
        yield* decide(L0.consensus(optionsOf(sources()), { strategy: "majority", resolve: () => undefined }))
      )
      expect(none.message).toBe(`No output has a majority: #0: "a"; #1: "b"`)
      const foreign = failedWith(
        yield* decide(L0.consensus(optionsOf(sources()), {
          strategy: "weighted",
          resolve: (candidates) => ({ ...candidates[0]! })
        }))
      )
      expect(foreign).toMatchObject({ _tag: "FatalError", reason: "options" })
      expect(foreign.message).toContain(`"resolve": expected a function returning one of the candidates or undefined`)
      const thrown = failedWith(
        yield* decide(L0.consensus(optionsOf(sources()), {
          strategy: "unanimous",
          resolve: () => {
            throw new Error("no")
          }
        }))
      )
      expect(thrown.message).toBe(`Option "resolve" threw: no`)
    }))

  it.effect("the resolved value still needs minAgreement", () =>
    Effect.gen(function*() {
      const sources = [answer("a"), answer("b"), answer("c")]
      const error = failedWith(
        yield* decide(L0.consensus(optionsOf(sources), {
          strategy: "unanimous",
          minAgreement: 0.5,
          resolve: (candidates) => candidates[2]
        }))
      )
      expect(error._tag).toBe("AgreementError")
      expect(error.message).toMatch(/^The agreement 33.3% is below minAgreement 50%/)
    }))

  it.effect("invalid minAgreement or resolve fail with a FatalError naming the option", () =>
    Effect.gen(function*() {
      const options = optionsOf([answer("a")])
      const bad = yield* Effect.flip(L0.consensus(options, { strategy: "majority", minAgreement: 1.5 }))
      expect(bad.message).toContain(`"minAgreement": expected a number from 0 to 1, got 1.5`)
      const resolve = yield* Effect.flip(
        L0.consensus(options, { strategy: "majority", resolve: "first" as unknown as () => undefined })
      )
      expect(resolve.message).toContain(`"resolve": expected a function`)
    }))
})

describe("Consensus.fieldwise", () => {
  const City = Schema.Struct({
    city: Schema.String,
    population: Schema.Number,
    country: Schema.optionalKey(Schema.String)
  })
  const decodeCity = Schema.decodeUnknownEffect(Schema.fromJsonString(City))
  const decode = (result: L0.L0Result) =>
    decodeCity(result.text).pipe(
      Effect.mapError((error) => new L0Error.ContentError({ message: error.message, rule: "schema" }))
    )
  const cities = () => [
    answer(`{"city": "Paris", "population": 2.1, "country": "FR"}`),
    answer(`{"city": "Paris", "population": 2.2, "country": "FR"}`, "2 seconds"),
    answer(`{"city": "Paris", "population": 2.1}`),
    failed()
  ]

  it.effect("decides each field by its own vote and names the fields that disagreed", () =>
    Effect.gen(function*() {
      const result = succeeded(yield* decide(Consensus.fieldwise(optionsOf(cities()), { decode })))
      expect(result.value).toStrictEqual({ city: "Paris", population: 2.1, country: "FR" })
      expect(result.disagreements).toEqual(["population", "country"])
      expect(result.fields.city).toEqual({
        value: "Paris",
        agreement: 0.75,
        votes: [{ value: "Paris", votes: 3, indices: [0, 1, 2] }]
      })
      expect(result.fields.population.votes).toEqual([
        { value: 2.1, votes: 2, indices: [0, 2] },
        { value: 2.2, votes: 1, indices: [1] }
      ])
      expect(result.fields.country.votes).toEqual([
        { value: "FR", votes: 2, indices: [0, 1] },
        { value: undefined, votes: 1, indices: [2] }
      ])
      expect(result.outputs.map((output) => output.index)).toEqual([0, 1, 2])
      expect(result.failures.map(({ index }) => index)).toEqual([3])
    }))

  it.effect("weights decide, ties go to the lowest index, a field most runs leave out is absent", () =>
    Effect.gen(function*() {
      const weighted = succeeded(
        yield* decide(Consensus.fieldwise(optionsOf(cities()), { decode, weights: [1, 3, 1, 1] }))
      )
      expect(weighted.value.population).toBe(2.2)
      expect(weighted.fields.population.agreement).toBe(0.5)
      const sources = [answer(`{"city": "Lyon", "population": 1}`),
        answer(`{"city": "Nice", "population": 1, "country": "FR"}`), answer(`{"city": "Nice", "population": 2}`)]
      const result = succeeded(yield* decide(Consensus.fieldwise(optionsOf(sources), { decode })))
      expect(result.value).toStrictEqual({ city: "Nice", population: 1 })
      expect("country" in result.value).toBe(false)
      expect(result.fields.country.value).toBeUndefined()
      const tie = succeeded(
        yield* decide(
          Consensus.fieldwise(
            optionsOf([answer(`{"city": "B", "population": 1}`), answer(`{"city": "A", "population": 1}`)]),
            { decode }
          )
        )
      )
      expect(tie.value.city).toBe("B")
    }))

  it.effect("minAgreement per field: an AgreementError names the first field below it", () =>
    Effect.gen(function*() {
      const error = failedWith(yield* decide(Consensus.fieldwise(optionsOf(cities()), { decode, minAgreement: 0.6 })))
      expect(error._tag).toBe("AgreementError")
      if (error._tag !== "AgreementError") return
      expect(error.field).toBe("population")
      expect(error.message).toBe(`Field "population": the agreement 50% is below minAgreement 60%: 2.1 (2); 2.2 (1)`)
    }))

  it.effect("normalize compares a field's values; outputs that are not objects count as failed", () =>
    Effect.gen(function*() {
      const sources = [answer(`{"city": "paris", "population": 1}`), answer(`{"city": "PARIS ", "population": 1}`),
        answer("[1]")]
      const result = succeeded(
        yield* decide(Consensus.fieldwise(optionsOf(sources), {
          decode: (result) => Effect.succeed(JSON.parse(result.text) as Record<string, unknown>),
          normalize: (field, value) => field === "city" ? String(value).trim().toLowerCase() : value
        }))
      )
      expect(result.disagreements).toEqual([])
      expect(result.value).toStrictEqual({ city: "paris", population: 1 })
      expect(result.failures[0]?.error.message).toBe("Expected the decoded output to be an object, got [1]")
      const proto = succeeded(
        yield* decide(Consensus.fieldwise(optionsOf([answer(`{"__proto__": {"polluted": true}, "a": 1}`)]), {
          decode: (result) => Effect.succeed(JSON.parse(result.text) as Record<string, unknown>)
        }))
      )
      expect(Object.getPrototypeOf(proto.value)).toBe(Object.prototype)
      expect(Object.getOwnPropertyNames(proto.value)).toEqual(["__proto__", "a"])
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      const all = failedWith(yield* decide(Consensus.fieldwise(optionsOf([failed()]), { decode })))
      expect(all._tag).toBe("AllFailedError")
    }))

  it.effect("requires the union of its sources' services, provided once around the call", () =>
    Effect.gen(function*() {
      expectTypeOf(Consensus.fieldwise(optionsOf(cities()), { decode })).toEqualTypeOf<
        Effect.Effect<Consensus.FieldwiseResult<typeof City.Type>, Consensus.ConsensusError, never>
      >()
      const cityOf = <I>(service: Context.Key<I, { readonly word: string }>) => () =>
        Effect.map(
          Effect.service(service),
          ({ word }) => Stream.make(`{"city": "${word}", "population": ${word.length}}`)
        )
      const program = Consensus.fieldwise(
        [{ stream: cityOf(Greeting) }, { stream: cityOf(Farewell) }, { stream: cityOf(Greeting) }],
        { decode }
      )
      expectTypeOf(program).toEqualTypeOf<
        Effect.Effect<Consensus.FieldwiseResult<typeof City.Type>, Consensus.ConsensusError, Greeting | Farewell>
      >()
      const { disagreements, value } = yield* program.pipe(
        Effect.provide(Layer.mergeAll(greetingLayer, farewellLayer))
      )
      expect(value).toEqual({ city: "hello", population: 5 })
      expect(disagreements).toEqual(["city", "population"])
    }))

  it.effect("invalid options and throwing callbacks fail with a FatalError naming them", () =>
    Effect.gen(function*() {
      const options = optionsOf([answer(`{"city": "a", "population": 1}`)])
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{}, `"decode": expected a function returning an Effect`],
        [{ decode, weights: [1, 2] }, `"weights": expected an array of 1 positive numbers`],
        [{ decode, minAgreement: -1 }, `"minAgreement"`],
        [{ decode, normalize: 1 }, `"normalize"`],
        ["x", `"config"`]
      ]
      for (const [config, message] of cases) {
        const error = yield* Effect.flip(Consensus.fieldwise(options, config as Consensus.FieldwiseOptions<object>))
        expect(error.message).toContain(message)
      }
      const thrown = failedWith(
        yield* decide(Consensus.fieldwise(options, {
          decode,
          normalize: () => {
            throw new Error("bad")
          }
        }))
      )
      expect(thrown.message).toBe(`Option "normalize" threw: bad`)
    }))
})
