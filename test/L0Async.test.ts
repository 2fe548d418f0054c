import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Guardrail, L0Async, L0Error } from "effect-l0"
import type { L0, L0Event } from "effect-l0"
import { ProviderServer, TestSource } from "effect-l0/testing"
import OpenAI from "openai"
import { afterEach, describe, expect, it } from "vitest"
import { API_KEY } from "./clients.js"
import { ampleTimeout, connectionReset, httpError, noDelay } from "./support.js"

/** Waits (in real time) until `condition` holds. */
const until = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2))
}

const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

const expectAbortError = (error: unknown, reason?: unknown) => {
  expect(error).toBeInstanceOf(L0Async.AbortError)
  expect((error as Error).name).toBe("AbortError")
  if (reason !== undefined) expect((error as Error).cause).toBe(reason)
}

const collectBatches = async (iterable: AsyncIterable<ReadonlyArray<L0Event.L0Event>>) => {
  const batches: Array<ReadonlyArray<L0Event.L0Event>> = []
  for await (const batch of iterable) batches.push(batch)
  return batches
}

const collect = async (iterable: AsyncIterable<L0Event.L0Event>) => {
  const events: Array<L0Event.L0Event> = []
  for await (const event of iterable) events.push(event)
  return events
}

describe("L0Async.text and run", () => {
  it("resolve with the final text after a retry, resets applied", async () => {
    const source = TestSource.make(["a", "b", TestSource.fail(connectionReset())], ["x", "y"])
    expect(await L0Async.text({ stream: source.stream, retry: noDelay })).toBe("xy")
    const result = await L0Async.run({ stream: TestSource.make(["he", "llo"]).stream })
    expect(result.text).toBe("hello")
    expect(result.state.tokenCount).toBe(2)
  })

  it("reject with the typed L0Error itself", async () => {
    const exhausted = await rejectionOf(L0Async.text({ stream: () => Promise.reject(httpError(401)) }))
    expect(exhausted).toBeInstanceOf(L0Error.ExhaustedError)
    expect((exhausted as L0Error.ExhaustedError).lastError).toBeInstanceOf(L0Error.FatalError)
    const invalid = await rejectionOf(L0Async.run({ stream: TestSource.make(["a"]).stream, adapter: "nope" }))
    expect(invalid).toBeInstanceOf(L0Error.FatalError)
    expect((invalid as L0Error.FatalError).reason).toBe("options")
  })

  it("an abort mid-stream aborts the request and rejects with an AbortError", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const controller = new AbortController()
    const pending = L0Async.text({ stream: source.stream }, { signal: controller.signal })
    await until(() => source.calls[0]?.emitted === 1)
    const reason = new Error("user left")
    controller.abort(reason)
    expectAbortError(await rejectionOf(pending), reason)
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
    expect(source.calls).toHaveLength(1)
  })

  it("an already aborted signal rejects without calling the source", async () => {
    const source = TestSource.make(["a"])
    const signal = AbortSignal.abort()
    expectAbortError(await rejectionOf(L0Async.text({ stream: source.stream }, { signal })), signal.reason)
    expectAbortError(await rejectionOf(collect(L0Async.events({ stream: source.stream }, { signal }))))
    expect(source.calls).toHaveLength(0)
  })

  it("a signal that never aborts changes nothing", async () => {
    const { signal } = new AbortController()
    expect(await L0Async.text({ stream: TestSource.make(["o", "k"]).stream }, { signal })).toBe("ok")
  })
})

describe("L0Async callbacks", () => {
  it("report tokens, errors, retries, resets and completion of one run", async () => {
    const source = TestSource.make(["a", "b", TestSource.fail(connectionReset())], ["x", "y"])
    const seen: Array<string> = []
    const text = await L0Async.text({ stream: source.stream, retry: noDelay }, {
      onToken: (value) => seen.push(`token ${value}`),
      onError: (info) => seen.push(`error ${info.category} ${info.tag} attempt ${info.attempt}`),
      onRetry: (info) => seen.push(`retry ${info.category} attempt ${info.attempt}`),
      onReset: (kept) => seen.push(`reset ${kept}`),
      onComplete: (info, event) => seen.push(`complete ${info.tokenCount} ${event.type}`)
    })
    expect(text).toBe("xy")
    expect(seen).toEqual([
      "token a",
      "token b",
      "error network NetworkError attempt 1",
      "retry network attempt 2",
      "reset 0",
      "token x",
      "token y",
      "complete 2 stream_complete"
    ])
  })

  it("report fallbacks and guardrail violations", async () => {
    const fallbacks: Array<L0Async.FallbackInfo> = []
    const violations: Array<string> = []
    const shouting = Guardrail.make({
      name: "shouting",
      severity: "warning",
      check: ({ delta }) =>
        delta.includes("!") ? [{ rule: "shouting", message: "an exclamation", severity: "warning" }] : []
    })
    const result = await L0Async.run({
      stream: () => Promise.reject(httpError(401)),
      fallbacks: [TestSource.make(["Hi", "!"]).stream],
      guardrails: [shouting]
    }, {
      onFallback: (info) => fallbacks.push(info),
      onViolation: (violation) => violations.push(`${violation.rule} ${violation.severity}`)
    })
    expect(result.text).toBe("Hi!")
    expect(fallbacks).toEqual([{ fallbackIndex: 1, category: "fatal" }])
    expect(violations).toEqual(["shouting warning"])
  })

  it("a callback that throws does not break the run", async () => {
    const tokens: Array<string> = []
    const text = await L0Async.text({ stream: TestSource.make(["a", "b", "c"]).stream }, {
      onToken: (value) => {
        tokens.push(value)
        throw new Error("broken handler")
      }
    })
    expect(text).toBe("abc")
    expect(tokens).toEqual(["a", "b", "c"])
  })

  it("work from events too", async () => {
    const tokens: Array<string> = []
    const events = await collect(
      L0Async.events({ stream: TestSource.make(["a", "b"]).stream }, { onToken: (value) => tokens.push(value) })
    )
    expect(events.map((e) => e._tag)).toEqual(["Token", "Token", "Complete"])
    expect(tokens).toEqual(["a", "b"])
  })
})

describe("L0Async.events", () => {
  it("yields every event, resets included, then ends", async () => {
    const source = TestSource.make(["a", "b", TestSource.fail(connectionReset())], ["x", "y"])
    const events = await collect(L0Async.events({ stream: source.stream, retry: noDelay }))
    expect(events.map((e) => e._tag === "Token" ? e.value : e._tag)).toEqual(["a", "b", "Reset", "x", "y", "Complete"])
  })

  it("each for await starts its own run", async () => {
    const source = TestSource.make(["a"])
    const iterable = L0Async.events({ stream: source.stream })
    expect((await collect(iterable)).length).toBe(2)
    expect((await collect(iterable)).length).toBe(2)
    expect(source.calls).toHaveLength(2)
  })

  it("leaving the loop early aborts the request", async () => {
    const source = TestSource.make(["a", "b", TestSource.stall])
    const seen: Array<string> = []
    for await (const event of L0Async.events({ stream: source.stream })) {
      if (event._tag === "Token") seen.push(event.value)
      if (seen.length === 1) break
    }
    expect(seen).toEqual(["a"])
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })

  it("a throw in the loop body aborts the request", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const thrown = await rejectionOf((async () => {
      for await (const _ of L0Async.events({ stream: source.stream })) throw new Error("consumer failed")
    })())
    expect((thrown as Error).message).toBe("consumer failed")
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })

  it("an abort while waiting for events throws an AbortError and aborts the request", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const controller = new AbortController()
    const seen: Array<string> = []
    const loop = (async () => {
      for await (const event of L0Async.events({ stream: source.stream }, { signal: controller.signal })) {
        if (event._tag === "Token") seen.push(event.value)
      }
    })()
    await until(() => seen.length === 1)
    controller.abort()
    expectAbortError(await rejectionOf(loop))
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })

  it("an abort between two reads aborts the request at once and the next read throws", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const controller = new AbortController()
    const iterator = L0Async.events({ stream: source.stream }, { signal: controller.signal })[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: { _tag: "Token", value: "a" } })
    await until(() => source.calls[0]?.emitted === 1)
    controller.abort()
    await until(() => source.calls[0]!.context.signal.aborted)
    expectAbortError(await rejectionOf(iterator.next()))
  })

  it("after an abort, events already received are not handed out", async () => {
    // one array of three tokens, then nothing until the end of time
    const stream = () => Stream.concat(Stream.make("a", "b", "c"), Stream.never)
    const controller = new AbortController()
    const iterator = L0Async.events({ stream }, { signal: controller.signal })[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: { _tag: "Token", value: "a" } })
    controller.abort()
    expectAbortError(await rejectionOf(iterator.next()))
  })

  it("an abort after the last events arrived, while the loop still reads, throws rather than ending quietly", async () => {
    const controller = new AbortController()
    const iterator = L0Async.events({ stream: TestSource.make(["a", "b"]).stream }, { signal: controller.signal })[
      Symbol.asyncIterator
    ]()
    expect(await iterator.next()).toEqual({ done: false, value: { _tag: "Token", value: "a" } })
    await new Promise((resolve) => setTimeout(resolve, 20))
    controller.abort()
    expectAbortError(await rejectionOf(iterator.next()))
  })

  it("return() before the first read starts no run", async () => {
    const source = TestSource.make(["a"])
    const iterator = L0Async.events({ stream: source.stream })[Symbol.asyncIterator]()
    expect(await iterator.return!()).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    expect(source.calls).toHaveLength(0)
  })

  it("after return() mid-run, next() is done", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const iterator = L0Async.events({ stream: source.stream })[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: { _tag: "Token", value: "a" } })
    await iterator.return!()
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it("return() while a read waits for the next array ends that read done, not with an interruption", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const iterator = L0Async.events({ stream: source.stream })[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: { _tag: "Token", value: "a" } })
    const waiting = iterator.next()
    expect(await iterator.return!()).toEqual({ done: true, value: undefined })
    expect(await waiting).toEqual({ done: true, value: undefined })
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })

  it("a loop that reads slower than the source still gets every event, in order, exactly once", async () => {
    const tokens = Array.from({ length: 5000 }, (_, i) => `${i} `)
    let text = ""
    let count = 0
    for await (const event of L0Async.events({ stream: TestSource.make(tokens).stream })) {
      if (event._tag === "Token") {
        text += event.value
        count++
        // a pause every few events lets the source run ahead into the next array
        if (count % 7 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
    }
    expect(text).toBe(tokens.join(""))
    expect(count).toBe(tokens.length)
  })

  it("reads asked for together each get the next event, in order, then done", async () => {
    // the tokens arrive one event-loop turn apart, so the reads outnumber the events of each array
    const source = TestSource.make(["a", "b", "c"])
    const iterator = L0Async.events({ stream: source.stream })[Symbol.asyncIterator]()
    const results = await Promise.all(Array.from({ length: 6 }, () => iterator.next()))
    expect(results.map((r) => r.done ? "done" : r.value._tag === "Token" ? r.value.value : r.value._tag)).toEqual([
      "a",
      "b",
      "c",
      "Complete",
      "done",
      "done"
    ])
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it("when a run fails, the first of the waiting reads throws its error and the others are done", async () => {
    const iterator = L0Async.events({ stream: () => Promise.reject(httpError(401)) })[Symbol.asyncIterator]()
    const [first, second] = [iterator.next(), iterator.next()]
    expect(await rejectionOf(first)).toBeInstanceOf(L0Error.ExhaustedError)
    expect(await second).toEqual({ done: true, value: undefined })
  })

  it("a read asked for while return() is closing the run is done, not an interruption", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const iterator = L0Async.events({ stream: source.stream })[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: { _tag: "Token", value: "a" } })
    const closing = iterator.return!()
    const read = iterator.next()
    expect(await closing).toEqual({ done: true, value: undefined })
    expect(await read).toEqual({ done: true, value: undefined })
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })

  it("return() ends every waiting read done", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    const iterator = L0Async.events({ stream: source.stream })[Symbol.asyncIterator]()
    const reads = [iterator.next(), iterator.next(), iterator.next()]
    await until(() => source.calls[0]?.emitted === 1)
    expect(await reads[0]).toEqual({ done: false, value: { _tag: "Token", value: "a" } })
    await iterator.return!()
    expect(await Promise.all(reads.slice(1))).toEqual([{ done: true, value: undefined }, {
      done: true,
      value: undefined
    }])
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })

  it("a failed run throws the typed L0Error from the loop", async () => {
    const thrown = await rejectionOf(collect(L0Async.events({ stream: () => Promise.reject(httpError(401)) })))
    expect(thrown).toBeInstanceOf(L0Error.ExhaustedError)
  })
})

describe("L0Async.batches", () => {
  it("yields the run's events as non-empty arrays, in order, resets included", async () => {
    const source = TestSource.make(["a", "b", TestSource.fail(connectionReset())], ["x", "y"])
    const batches = await collectBatches(L0Async.batches({ stream: source.stream, retry: noDelay }))
    expect(batches.every((batch) => batch.length > 0)).toBe(true)
    expect(batches.flat().map((e) => e._tag === "Token" ? e.value : e._tag)).toEqual([
      "a",
      "b",
      "Reset",
      "x",
      "y",
      "Complete"
    ])
  })

  it("tokens the source delivers together come in one array", async () => {
    const iterator = L0Async.batches({ stream: () => Stream.make("a", "b", "c") })[Symbol.asyncIterator]()
    const first = await iterator.next()
    expect(first.done).toBe(false)
    expect(first.value!.slice(0, 3)).toEqual([
      { _tag: "Token", value: "a" },
      { _tag: "Token", value: "b" },
      { _tag: "Token", value: "c" }
    ])
    await iterator.return!()
  })

  it("leaving the loop early aborts the request", async () => {
    const source = TestSource.make(["a", TestSource.stall])
    for await (const batch of L0Async.batches({ stream: source.stream })) {
      expect(batch).toEqual([{ _tag: "Token", value: "a" }])
      break
    }
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })

  it("an abort throws an AbortError from the loop, and a failed run its typed error", async () => {
    const controller = new AbortController()
    const source = TestSource.make(["a", TestSource.stall])
    const aborted = rejectionOf((async () => {
      for await (const _ of L0Async.batches({ stream: source.stream }, { signal: controller.signal })) {
        controller.abort("stop")
      }
    })())
    expectAbortError(await aborted, "stop")
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
    const failed = await rejectionOf(collectBatches(L0Async.batches({ stream: () => Promise.reject(httpError(401)) })))
    expect(failed).toBeInstanceOf(L0Error.ExhaustedError)
  })
})

describe("L0Async.structured", () => {
  const Person = Schema.Struct({ name: Schema.String, born: Schema.Number })

  it("resolves with the decoded value", async () => {
    const person = await L0Async.structured(Person, {
      stream: TestSource.make(["{\"name\":\"Frank\",", "\"born\":1920}"]).stream
    })
    expect(person).toEqual({ name: "Frank", born: 1920 })
  })

  it("rejects with the typed error or an AbortError", async () => {
    const invalid = await rejectionOf(
      L0Async.structured(Person, {
        stream: TestSource.make(["{\"name\":1}"]).stream,
        retry: { ...noDelay, maxAttempts: 1 }
      })
    )
    expect(L0Error.isL0Error(invalid)).toBe(true)
    const source = TestSource.make(["{\"name\":", TestSource.stall])
    const controller = new AbortController()
    const pending = L0Async.structured(Person, { stream: source.stream }, { signal: controller.signal })
    await until(() => source.calls[0]?.emitted === 1)
    controller.abort()
    expectAbortError(await rejectionOf(pending))
    expect(source.calls[0]!.context.signal.aborted).toBe(true)
  })
})

describe("L0Async with the openai client against ProviderServer", () => {
  let server: ProviderServer.AsyncProviderServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  const chat = (target: ProviderServer.AsyncProviderServer) => {
    const client = new OpenAI({ baseURL: target.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
    return ({ signal }: { readonly signal: AbortSignal }) =>
      client.chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "Hi" }], stream: true }, {
        signal
      })
  }

  it("text resolves with the streamed answer", async () => {
    server = await ProviderServer.listen(["The quick brown fox."])
    expect(await L0Async.text({ stream: chat(server) })).toBe("The quick brown fox.")
  })

  it("an abort mid-stream disconnects the request", async () => {
    server = await ProviderServer.listen([
      ProviderServer.reply("The quick brown fox.", { fault: ProviderServer.stallAfter(2) })
    ])
    const controller = new AbortController()
    const tokens: Array<string> = []
    const pending = L0Async.text({ stream: chat(server) }, {
      signal: controller.signal,
      onToken: (t) => tokens.push(t)
    })
    await until(() => tokens.length === 2)
    controller.abort()
    expectAbortError(await rejectionOf(pending))
    expect(await server.awaitEnd(0)).toBe("disconnected")
    expect(server.requests).toHaveLength(1)
  })

  it("leaving a for await loop early disconnects the request", async () => {
    server = await ProviderServer.listen([
      ProviderServer.reply("The quick brown fox.", { fault: ProviderServer.stallAfter(3) })
    ])
    let shown = ""
    for await (const event of L0Async.events({ stream: chat(server) })) {
      if (event._tag === "Token") shown += event.value
      if (shown.length >= 4) break
    }
    expect(shown).toBe("The ")
    expect(await server.awaitEnd(0)).toBe("disconnected")
  })

  it("a provider error rejects with the typed error", async () => {
    server = await ProviderServer.listen([ProviderServer.httpError(401)])
    const error = await rejectionOf(L0Async.text({ stream: chat(server) }))
    expect(error).toBeInstanceOf(L0Error.ExhaustedError)
    expect((error as L0Error.ExhaustedError).lastError?.status).toBe(401)
  })
})

/** A Chat Completions chunk holding `text` and the finish reason: the whole answer, but no trailer. */
const finishedChunk = (text: string) => ({
  object: "chat.completion.chunk",
  choices: [{ index: 0, delta: { content: text }, finish_reason: "stop" }]
})

/**
 * A source that sends a whole answer with its finish reason, then stays open
 * (no `[DONE]`): the run completes once `interToken` passes. Closing it takes
 * until `release()`; `closing` resolves when that starts, that is once the run
 * has delivered its `Complete`.
 */
const finishedThenOpen = (text: string) => {
  let started!: () => void
  const closing = new Promise<void>((resolve) => started = resolve)
  let release!: () => void
  const released = new Promise<void>((resolve) => release = resolve)
  const stream = () =>
    Stream.concat(Stream.make(finishedChunk(text)), Stream.never).pipe(
      Stream.ensuring(Effect.andThen(Effect.sync(() => started()), Effect.promise(() => released)))
    )
  return { stream, closing, release }
}

/** Completes at once after the finish reason: any machine gets there, only when does not matter. */
const trailerTimeout = { initialToken: "1 minute", interToken: "20 millis" } as const

describe("L0Async: a finished answer stays finished", () => {
  it("events: an abort right after the loop got Complete ends the loop done, with every event", async () => {
    const controller = new AbortController()
    const tags: Array<string> = []
    for await (
      const event of L0Async.events({ stream: TestSource.make(["a", "b"]).stream }, { signal: controller.signal })
    ) {
      tags.push(event._tag)
      if (event._tag === "Complete") controller.abort()
    }
    expect(tags).toEqual(["Token", "Token", "Complete"])
  })

  it("events: an abort just before Complete (the finish reason came, the run waits for the trailer) throws", async () => {
    const source = finishedThenOpen("Hello")
    const controller = new AbortController()
    const thrown = await rejectionOf((async () => {
      for await (
        const event of L0Async.events({ stream: source.stream, timeout: ampleTimeout }, { signal: controller.signal })
      ) {
        if (event._tag === "Token") {
          controller.abort()
          source.release()
        }
      }
    })())
    expectAbortError(thrown)
  })

  it("batches: an abort right after the loop got the array with Complete ends the loop done", async () => {
    const controller = new AbortController()
    const source = finishedThenOpen("Hello")
    const arrays: Array<ReadonlyArray<string>> = []
    for await (
      const events of L0Async.batches({ stream: source.stream, timeout: trailerTimeout }, { signal: controller.signal })
    ) {
      arrays.push(events.map((event) => event._tag))
      if (events.at(-1)!._tag === "Complete") {
        controller.abort()
        source.release()
      }
    }
    expect(arrays.flat()).toEqual(["Token", "Complete"])
  })

  it("batches: an abort while the loop waits for the array with Complete throws", async () => {
    const source = finishedThenOpen("Hello")
    const controller = new AbortController()
    const options = { stream: source.stream, timeout: ampleTimeout }
    const thrown = await rejectionOf((async () => {
      for await (const events of L0Async.batches(options, { signal: controller.signal })) {
        expect(events.map((event) => event._tag)).toEqual(["Token"])
        // the answer is all there, but the run waits for its trailer: no Complete yet when the loop asks for more
        setTimeout(() => {
          controller.abort()
          source.release()
        }, 1)
      }
    })())
    expectAbortError(thrown)
  })

  it("text, run and structured: an abort right after the run read Complete, while it closes its source, resolves", async () => {
    const runs = [
      ["text", (options: L0.L0Options, signal: AbortSignal) => L0Async.text(options, { signal }), "Hello"],
      ["run",
        (options: L0.L0Options, signal: AbortSignal) => L0Async.run(options, { signal }).then((result) => result.text),
        "Hello"],
      ["structured",
        (options: L0.L0Options, signal: AbortSignal) =>
          L0Async.structured(Schema.Struct({ a: Schema.Number }), options, { signal }), { a: 1 }]
    ] as const
    for (const [name, run, expected] of runs) {
      const source = finishedThenOpen(name === "structured" ? "{\"a\":1}" : "Hello")
      const controller = new AbortController()
      const pending = run({ stream: source.stream, timeout: trailerTimeout }, controller.signal)
      await source.closing
      controller.abort()
      source.release()
      expect(await pending, name).toEqual(expected)
    }
  })

  it("text, run and structured: an abort in onComplete, before the run delivered Complete, rejects", async () => {
    const runs = [
      (options: L0.L0Options, runOptions: L0Async.RunOptions) => L0Async.text(options, runOptions),
      (options: L0.L0Options, runOptions: L0Async.RunOptions) => L0Async.run(options, runOptions),
      (options: L0.L0Options, runOptions: L0Async.RunOptions) =>
        L0Async.structured(Schema.Struct({ a: Schema.Number }), options, runOptions)
    ]
    for (const run of runs) {
      const controller = new AbortController()
      const pending = run({ stream: TestSource.make(["{\"a\":1}"]).stream }, {
        signal: controller.signal,
        onComplete: () => controller.abort()
      })
      expectAbortError(await rejectionOf(pending))
    }
  })
})
