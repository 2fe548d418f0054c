/**
 * Plain async consumers at 100k tokens with `Guardrails.recommended`, against
 * the cheapest raw consumer: `for await (const t of gen()) s += t` over the
 * same pre-built tokens, measured in the same rounds.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Guardrails, L0, L0Async } from "effect-l0"
import type { L0Event } from "effect-l0"
import * as consumers from "./consumers.js"
import { interleave } from "./harness.js"
import type { Budget, Outcome } from "./report.js"
import * as report from "./report.js"
import { answer, replay } from "./tokens.js"

const COUNT = 100_000
const ROUNDS = { rounds: 8, warmup: 2 }
const BASELINE = "raw for await, s += t"

/** The text a plain consumer shows, with `s +=` like the baseline. */
const apply = (text: string, event: L0Event.L0Event): string =>
  event._tag === "Token" ? text + event.value : event._tag === "Reset" ? text.slice(0, event.kept) : text

/** `apply` over one array of events. */
const applyAll = (text: string, events: ReadonlyArray<L0Event.L0Event>): string => {
  for (let i = 0; i < events.length; i++) text = apply(text, events[i]!)
  return text
}

const forAwait = async (events: AsyncIterable<L0Event.L0Event>): Promise<string> => {
  let text = ""
  for await (const event of events) text = apply(text, event)
  return text
}

const forAwaitBatches = async (batches: AsyncIterable<ReadonlyArray<L0Event.L0Event>>): Promise<string> => {
  let text = ""
  for await (const events of batches) text = applyAll(text, events)
  return text
}

const eachArray = (options: L0.L0Options): Promise<string> => {
  let text = ""
  return Effect.runPromise(Stream.runForEachArray(L0.stream(options), (events) => {
    text = applyAll(text, events)
    return Effect.void
  })).then(() => text)
}

const each = (options: L0.L0Options): Promise<string> => {
  let text = ""
  return Effect.runPromise(Stream.runForEach(L0.stream(options), (event) =>
    Effect.sync(() => {
      text = apply(text, event)
    }))).then(() => text)
}

/**
 * The floor of any `for await` facade over an async-generator source, with no
 * L0 work: a pump reads each chunk into a token array (as L0's source does)
 * and a hand-written iterator hands the arrays out event by event, resuming
 * the pump on the next turn (as `L0Async.events` does). Two promise hops per
 * token instead of the baseline's one; L0's figures are read against it.
 */
const floor = (tokens: ReadonlyArray<string>): AsyncIterable<L0Event.L0Event> => ({
  [Symbol.asyncIterator]: () => {
    const source = replay(tokens)
    let filling: Array<L0Event.L0Event> = []
    let reading: ReadonlyArray<L0Event.L0Event> = []
    let index = 0
    let ended = false
    let paused: (() => void) | undefined
    let waiting: (() => void) | undefined
    const pull = (): void => void source.next().then(received)
    const received = (result: IteratorResult<string>): void => {
      if (result.done) ended = true
      else filling.push({ _tag: "Token", value: result.value })
      if (waiting !== undefined && (ended || filling.length === 1)) setImmediate(waiting)
      if (ended) return
      if (filling.length >= 1024) paused = pull
      else pull()
    }
    pull()
    const take = (resolve: (result: IteratorResult<L0Event.L0Event>) => void): void => {
      waiting = undefined
      if (filling.length === 0) {
        if (ended) resolve({ done: true, value: undefined })
        else waiting = () => take(resolve)
        return
      }
      reading = filling
      filling = []
      index = 1
      const resume = paused
      paused = undefined
      resume?.()
      resolve({ done: false, value: reading[0]! })
    }
    return {
      next: () =>
        index < reading.length
          ? Promise.resolve({ done: false, value: reading[index++]! })
          : new Promise((resolve) => setImmediate(() => take(resolve)))
    }
  }
})

const DONE: IteratorResult<L0Event.L0Event> = { done: true, value: undefined }

/**
 * The floor of any `for await` facade that turns chunks into events, with
 * no L0 work and no read-ahead: `next()` reads the generator and maps its
 * chunk to a token event. One promise hop more than the baseline per
 * token; checks every `checkInterval` tokens would have to run per token
 * here, where a pump runs them once per array.
 */
const direct = (tokens: ReadonlyArray<string>): AsyncIterable<L0Event.L0Event> => ({
  [Symbol.asyncIterator]: () => {
    const source = replay(tokens)
    const toEvent = (result: IteratorResult<string>): IteratorResult<L0Event.L0Event> =>
      result.done ? DONE : { done: false, value: { _tag: "Token", value: result.value } }
    return { next: () => source.next().then(toEvent) }
  }
})

const FACADE = "L0Async.events, for await"
const TEXT = "L0.text"
const ARRAYS = "L0.stream, Stream.runForEachArray"

export const run = async (): Promise<Outcome> => {
  const tokens = answer(COUNT)
  const options = (): L0.L0Options => ({ stream: () => replay(tokens), guardrails: Guardrails.recommended })
  const cases = [
    {
      name: BASELINE,
      run: async () => {
        let s = ""
        for await (const t of replay(tokens)) s += t
        return s
      }
    },
    { name: "raw for await, text joined once", run: () => consumers.raw(replay(tokens)) },
    { name: "floor: pump and for await over its arrays, no L0", run: () => forAwait(floor(tokens)) },
    { name: "floor: for await reading the generator directly, no L0", run: () => forAwait(direct(tokens)) },
    { name: FACADE, run: () => forAwait(L0Async.events(options())) },
    { name: "L0Async.batches, for await over arrays", run: () => forAwaitBatches(L0Async.batches(options())) },
    { name: "L0Async.text", run: () => L0Async.text(options()) },
    { name: TEXT, run: () => Effect.runPromise(L0.text(options())) },
    { name: ARRAYS, run: () => eachArray(options()) },
    { name: "L0.stream, Stream.runForEach", run: () => each(options()) },
    {
      name: "L0.stream, for await over Stream.toAsyncIterable",
      run: () => forAwait(Stream.toAsyncIterable(L0.stream(options())))
    }
  ].map((c) => ({ ...c, repeat: 3 }))
  const timings = await interleave(cases, ROUNDS)
  const base = timings[0]!.median
  const at = (name: string): number => timings.find((t) => t.name === name)!.median / base
  const characters = tokens.reduce((sum, t) => sum + t.length, 0) / tokens.length
  const budget = (name: string, limit: number): Budget => ({
    name: `${name} at 100k tokens with Guardrails.recommended`,
    limit: `≤ ${limit.toFixed(2)}x ${BASELINE}`,
    measured: report.ratio(at(name)),
    pass: at(name) <= limit
  })
  return {
    sections: [{
      title: "Plain async consumers",
      description: `${report.tokens(tokens.length)} tokens of the throughput workload (${
        characters.toFixed(2)
      } characters on average), replayed by an async generator; every L0 consumer runs with \`Guardrails.recommended\`. Baseline: the cheapest raw consumer, ${BASELINE}. Every L0 consumer but \`L0.text\` and \`L0Async.text\` builds its text with \`s +=\` too, resets applied. The two floor rows run no L0 code. The first is the least an event-by-event facade with read-ahead costs: a pump reads the generator into token arrays, which a \`for await\` hands out one by one. The second is the least any facade costs: \`next()\` reads the generator and maps each chunk to an event, so guardrail checks would run per token rather than once per array.`,
      rows: timings.map((t) => ({
        workload: t.name,
        size: report.tokens(tokens.length),
        measured: report.ms(t.median),
        perToken: report.ns(t.median * 1e6 / tokens.length),
        ratio: report.ratio(t.median / base)
      }))
    }],
    budgets: [budget(FACADE, 1.5), budget(TEXT, 1.5), budget(ARRAYS, 2)]
  }
}
