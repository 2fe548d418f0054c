import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import fc from "fast-check"
import { L0Event, L0State, Sse } from "effect-l0"
import { defaultMaxEventSize, read, StreamError } from "effect-l0/client"
import { describe, expect, it } from "vitest"

const EVENT_STREAM = { "content-type": "text/event-stream; charset=utf-8" }

const token = (value: string) => `event: token\ndata: ${JSON.stringify(value)}\n\n`

/** The `complete` event of a stream that sent `content`. */
const completeOf = (content: string) => `event: complete\ndata: ${JSON.stringify({ state: { content } })}\n\n`

/** In a body, marks a server that sends nothing more and keeps the connection open. */
const STALL = Symbol("stall")

/** A response whose body is delivered in exactly these pieces (strings are UTF-8 encoded first). */
const responseOf = (
  parts: ReadonlyArray<string | Uint8Array | Error | typeof STALL>,
  init: ResponseInit = { headers: EVENT_STREAM }
) => {
  let index = 0
  let cancelled = false
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[index++]
      if (part === undefined) controller.close()
      else if (part === STALL) return new Promise<void>(() => {})
      else if (part instanceof Error) controller.error(part)
      else controller.enqueue(typeof part === "string" ? new TextEncoder().encode(part) : part)
    },
    cancel() {
      cancelled = true
    }
  })
  return { response: new Response(body, init), cancelled: () => cancelled }
}

/** A response that sends `bytes` cut at the given offsets. */
const splitAt = (text: string, cuts: ReadonlyArray<number>) => {
  const bytes = new TextEncoder().encode(text)
  const offsets = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b),
    bytes.length]
  return offsets.slice(1).map((end, i) => bytes.slice(offsets[i], end))
}

/** Lets the stream's cancel steps run. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(() => {
    throw new Error("expected a rejection")
  }, (error: unknown) => error)

describe("effect-l0/client read", () => {
  it("applies tokens and resets, and resolves with the text and the complete payload", async () => {
    const texts: Array<string> = []
    const tokens: Array<string> = []
    const resets: Array<number> = []
    const { response } = responseOf([
      "event: token\ndata: \"Hello wor\"\n\n",
      "event: reset\ndata: {\"kept\":6}\n\n",
      "event: token\ndata: \"there\"\n\n",
      completeOf("Hello there")
    ])
    const reply = read(response, {
      onText: (text) => texts.push(text),
      onToken: (value) => tokens.push(value),
      onReset: (kept) => resets.push(kept)
    })
    const result = await reply.result
    expect(result).toEqual({ text: "Hello there", complete: { state: { content: "Hello there" } } })
    expect(reply.text).toBe("Hello there")
    expect(texts).toEqual(["Hello wor", "Hello ", "Hello there"])
    expect(tokens).toEqual(["Hello wor", "there"])
    expect(resets).toEqual([6])
  })

  it("reads events split anywhere: inside a field, a multi-byte character, a CRLF", async () => {
    const text = "event: token\r\ndata: \"é🎉 ok\"\r\n\r\nevent: reset\r\ndata: {\"kept\":1}\r\n\r\n" +
      "event: token\r\ndata: \"\\u00e0\"\r\n\r\n" + completeOf("éà").replaceAll("\n", "\r\n")
    const bytes = new TextEncoder().encode(text)
    // every single cut, and one-byte chunks
    for (let cut = 1; cut < bytes.length; cut++) {
      const { response } = responseOf([bytes.slice(0, cut), bytes.slice(cut)])
      expect((await read(response).result).text).toBe("éà")
    }
    const { response } = responseOf([...bytes].map((byte) => Uint8Array.of(byte)))
    expect((await read(response).result).text).toBe("éà")
  })

  it("follows the event-stream format: CR line ends, data lines joined with LF, comments and unknown fields skipped", async () => {
    const { response } = responseOf([
      "\uFEFF: a comment\r",
      "id: 7\rretry: 100\revent:token\rdata:\"a\"\r\r",
      "event: reset\ndata: {\"kept\":\ndata: 0}\n\n",
      "event: token\ndata\n\n", // data without a colon is an empty line of data: not JSON
      "unused"
    ])
    const error = await failureOf(read(response).result)
    expect(error).toMatchObject({
      tag: "ProtocolError",
      category: "fatal",
      message: `The data of a "token" event is not JSON`
    })

    const ok = responseOf([
      "\uFEFF: a comment\r",
      "id: 7\rretry: 100\revent:token\rdata:\"a\"\r\r",
      "event: reset\ndata: {\"kept\":\ndata: 0}\n\n",
      ": keep-alive\n\n",
      "event: unknown-kind\ndata: {}\n\n",
      "data: \"a message event, ignored\"\n\n",
      "event: token\n\n", // no data: not dispatched
      "event: token\ndata: \"b\"\n\n",
      completeOf("b")
    ])
    expect((await read(ok.response).result).text).toBe("b")
  })

  it("iterating yields the latest text, ends at complete, and result still resolves", async () => {
    const { response } = responseOf([
      "event: token\ndata: \"a\"\n\n",
      "event: token\ndata: \"b\"\n\n",
      "event: reset\ndata: {\"kept\":0}\n\n",
      "event: token\ndata: \"c\"\n\n",
      completeOf("c")
    ])
    const reply = read(response)
    const seen: Array<string> = []
    for await (const text of reply) seen.push(text)
    expect(seen.at(-1)).toBe("c")
    expect((await reply.result).text).toBe("c")
  })

  it("a slow loop skips to the latest text instead of queueing every change", async () => {
    const { response } = responseOf(["event: token\ndata: \"a\"\n\nevent: token\ndata: \"b\"\n\n", completeOf("ab")])
    const reply = read(response)
    await reply.result
    const seen: Array<string> = []
    for await (const text of reply) seen.push(text)
    expect(seen).toEqual(["ab"])
  })

  it("leaving the loop early cancels the response and rejects result with an AbortError", async () => {
    const { cancelled, response } = responseOf(["event: token\ndata: \"a\"\n\n", STALL])
    const reply = read(response)
    for await (const text of reply) {
      expect(text).toBe("a")
      break
    }
    expect(await failureOf(reply.result)).toMatchObject({ name: "AbortError" })
    await tick()
    expect(cancelled()).toBe(true)
  })

  it("an error event rejects result, and the loop, with the server's typed error", async () => {
    const payload = { tag: "TransientError", category: "transient", message: "Overloaded", status: 529 }
    const { response } = responseOf(["event: token\ndata: \"a\"\n\n",
      `event: error\ndata: ${JSON.stringify(payload)}\n\n`])
    const reply = read(response)
    const thrown = await (async () => {
      try {
        for await (const _ of reply) {
          // consume
        }
      } catch (error) {
        return error
      }
    })()
    expect(thrown).toBeInstanceOf(StreamError)
    expect(thrown).toMatchObject({ ...payload, name: "StreamError" })
    expect(await failureOf(reply.result)).toBe(thrown)
    expect(reply.text).toBe("a")
  })

  it("an error event with odd data still gives a StreamError", async () => {
    const odd = responseOf([`event: error\ndata: {"tag":1,"category":"nope"}\n\n`])
    expect(await failureOf(read(odd.response).result)).toMatchObject({
      tag: "UnknownError",
      category: "fatal",
      message: "The server reported an error",
      status: undefined
    })
    const notAnObject = responseOf([`event: error\ndata: "text"\n\n`])
    expect(await failureOf(read(notAnObject.response).result)).toMatchObject({ tag: "ProtocolError" })
  })

  it("a stream that ends before complete, even an empty one, rejects with a NetworkError", async () => {
    for (
      const parts of [[], ["event: token\ndata: \"a\"\n\n"], ["event: token\ndata: \"a\"\n\nevent: complete\ndata: {}"]]
    ) {
      const { response } = responseOf(parts)
      expect(await failureOf(read(response).result)).toMatchObject({
        tag: "NetworkError",
        category: "network",
        message: "The stream ended before its complete event"
      })
    }
  })

  it("a connection that fails while streaming rejects with a NetworkError holding the cause", async () => {
    const cause = new TypeError("terminated")
    const { response } = responseOf(["event: token\ndata: \"a\"\n\n", cause])
    const error = await failureOf(read(response).result)
    expect(error).toMatchObject({ tag: "NetworkError", message: "The connection failed while streaming" })
    expect((error as Error).cause).toBe(cause)
  })

  it("a request that fails rejects with a NetworkError; an aborted fetch with its AbortError", async () => {
    const cause = new TypeError("fetch failed")
    expect(await failureOf(read(Promise.reject(cause)).result)).toMatchObject({ tag: "NetworkError", cause })
    const abort = new DOMException("aborted", "AbortError")
    expect(await failureOf(read(Promise.reject(abort)).result)).toBe(abort)
  })

  it("a status other than 2xx is an HttpError: transient for 429 and 5xx, fatal otherwise", async () => {
    const cases = [[429, "transient"], [503, "transient"], [401, "fatal"], [404, "fatal"]] as const
    for (const [status, category] of cases) {
      const { cancelled, response } = responseOf(["{}"], { status, statusText: "Nope" })
      expect(await failureOf(read(response).result)).toMatchObject({
        tag: "HttpError",
        category,
        status,
        message: `The server answered ${status} Nope`
      })
      expect(cancelled()).toBe(true)
    }
    expect(await failureOf(read(new Response(null, { status: 500 })).result)).toMatchObject({
      message: "The server answered 500"
    })
  })

  it("a response that is not an event stream is a ProtocolError", async () => {
    const json = responseOf(["{}"], { headers: { "content-type": "application/json" } })
    expect(await failureOf(read(json.response).result)).toMatchObject({
      tag: "ProtocolError",
      message: `Expected an event stream, got "application/json"`
    })
    expect(json.cancelled()).toBe(true)
    expect(await failureOf(read(new Response(null)).result)).toMatchObject({
      message: "Expected an event stream, got no content type"
    })
    const noBody = new Response(null, { headers: EVENT_STREAM })
    expect(await failureOf(read(noBody).result)).toMatchObject({ tag: "ProtocolError" })
  })

  it("data it cannot use is a ProtocolError: a token that is no string, a reset without a valid count", async () => {
    const bad = [
      "event: token\ndata: 42\n\n",
      "event: reset\ndata: {\"kept\":-1}\n\n",
      "event: reset\ndata: {\"kept\":1.5}\n\n",
      "event: reset\ndata: null\n\n",
      "event: complete\ndata: {oops\n\n"
    ]
    for (const part of bad) {
      const { cancelled, response } = responseOf([part, "event: token\ndata: \"late\"\n\n"])
      const reply = read(response)
      expect(await failureOf(reply.result)).toMatchObject({ tag: "ProtocolError", category: "fatal" })
      expect(reply.text).toBe("")
      expect(cancelled()).toBe(true)
    }
  })

  it("aborting the signal cancels the response and rejects with the signal's AbortError", async () => {
    const controller = new AbortController()
    const { cancelled, response } = responseOf(["event: token\ndata: \"a\"\n\n", STALL])
    const reply = read(response, { signal: controller.signal, onText: () => controller.abort() })
    const error = await failureOf(reply.result)
    expect(error).toBe(controller.signal.reason)
    expect(error).toMatchObject({ name: "AbortError" })
    await tick()
    expect(cancelled()).toBe(true)
    expect(reply.text).toBe("a")
  })

  it("an already aborted signal, cancel() or a non-abort reason all reject with an AbortError", async () => {
    const already = read(responseOf([completeOf("")]).response, { signal: AbortSignal.abort() })
    expect(await failureOf(already.result)).toMatchObject({ name: "AbortError" })

    const pending = responseOf([completeOf("")])
    let release!: (response: Response) => void
    const cancelled = read(new Promise<Response>((resolve) => release = resolve))
    cancelled.cancel()
    release(pending.response)
    expect(await failureOf(cancelled.result)).toMatchObject({ name: "AbortError" })
    await tick()
    expect(pending.cancelled()).toBe(true)

    const controller = new AbortController()
    const custom = read(responseOf([]).response, { signal: controller.signal })
    controller.abort("user left")
    expect(await failureOf(custom.result)).toMatchObject({ name: "AbortError", message: "The stream was aborted" })
  })

  it("an abort after complete arrived changes nothing: result stays resolved, the loop ends with the text", async () => {
    const controller = new AbortController()
    const { response } = responseOf([token("a"), completeOf("a"), STALL])
    const reply = read(response, { signal: controller.signal })
    const seen: Array<string> = []
    for await (const text of reply) {
      seen.push(text)
      await reply.result
      controller.abort()
    }
    expect(seen).toEqual(["a"])
    expect((await reply.result).text).toBe("a")
  })

  it("what a callback throws rejects result unchanged", async () => {
    const oops = new Error("render failed")
    const { response } = responseOf(["event: token\ndata: \"a\"\n\n", completeOf("a")])
    const reply = read(response, {
      onText: () => {
        throw oops
      }
    })
    expect(await failureOf(reply.result)).toBe(oops)
  })

  it("events after complete are ignored", async () => {
    const { response } = responseOf([completeOf("") + "event: token\ndata: \"late\"\n\nevent: error\ndata: {}\n\n"])
    const reply = read(response)
    expect((await reply.result).text).toBe("")
    expect(reply.text).toBe("")
  })

  it("round trip: any tokens and resets, encoded by Sse and cut into any pieces, give the text L0Event.applyTo gives", async () => {
    const text = fc.string({
      unit: fc.oneof(
        fc.constantFrom("\n", "\r", "\r\n", ":", "\"", "\\", "é", "🎉", "\uD83C", "data: "),
        fc.string({ unit: "binary", minLength: 1, maxLength: 1 })
      )
    })
    const event = fc.oneof(
      text.map((value): L0Event.L0Event => L0Event.token(value)),
      fc.nat({ max: 40 }).map((kept): L0Event.L0Event => L0Event.reset(kept))
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { maxLength: 30 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 8 }),
        async (drawn, cuts) => {
          // L0 only takes back text it sent: a reset keeps at most the text held
          let held = ""
          const events = drawn.map((event) => {
            const fitted = event._tag === "Reset" ? L0Event.reset(Math.min(event.kept, held.length)) : event
            held = L0Event.applyTo(held, fitted)
            return fitted
          })
          const expected = events.reduce(L0Event.applyTo, "")
          const wire = await Effect.runPromise(Stream.mkString(Stream.decodeText(
            Sse.encode(Stream.fromIterable([...events, complete(expected)]), { keepAlive: "Infinity" })
          )))
          const { response } = responseOf(splitAt(wire, cuts))
          const result = await read(response).result
          expect(result.text).toBe(expected)
          expect(result.complete.state.content).toBe(expected)
        }
      ),
      { numRuns: 200 }
    )
  })
})

const complete = (content: string): L0Event.Complete => ({
  _tag: "Complete",
  state: { ...L0State.initial, content, lastGoodContent: content, completed: true }
})

describe("effect-l0/client rejects what it cannot trust", () => {
  const reset = (kept: unknown) => `event: reset\ndata: {"kept":${String(kept)}}\n\n`

  it("a reset that keeps more than the text held is a ProtocolError, and the response is cancelled", async () => {
    const cases = [
      [[token("Hello"), reset(6)], "Hello"],
      [[reset(1)], ""], // before any text
      [[token("ab"), reset(1), reset(2)], "a"]
    ] as const
    for (const [parts, held] of cases) {
      const { cancelled, response } = responseOf([...parts, completeOf(held), STALL])
      const reply = read(response)
      expect(await failureOf(reply.result)).toMatchObject({
        tag: "ProtocolError",
        category: "fatal",
        message: expect.stringMatching(/^The "reset" event keeps \d+ characters of the \d+ the stream sent$/)
      })
      expect(reply.text).toBe(held)
      await tick()
      expect(cancelled()).toBe(true)
    }
    // keeping all of the text, or none of none, is a valid reset
    const { response } = responseOf([token("Hello"), reset(5), reset(0), reset(0), token("x"), completeOf("x")])
    expect((await read(response).result).text).toBe("x")
  })

  it("a reset count that is no non-negative integer is a ProtocolError: negative, fractional, NaN, Infinity, a string", async () => {
    for (const kept of ["-1", "-0.5", "1.5", "NaN", "1e400", "\"1\"", "null", "true", "[1]"]) {
      const { response } = responseOf([token("Hello"), `event: reset\ndata: {"kept":${kept}}\n\n`, completeOf("")])
      expect(await failureOf(read(response).result), kept).toMatchObject({ tag: "ProtocolError" })
    }
  })

  it("a line that never ends is a ProtocolError once it passes maxEventSize, read no further", async () => {
    let pulled = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // bounded: far past the limit, then the server would end the body
        if (++pulled > 1000) return controller.close()
        controller.enqueue(new TextEncoder().encode("data: " + "x".repeat(1024)))
      }
    })
    const reply = read(new Response(body, { headers: EVENT_STREAM }), { maxEventSize: 64 * 1024 })
    expect(await failureOf(reply.result)).toMatchObject({
      tag: "ProtocolError",
      category: "fatal",
      message: "An event of the stream exceeds maxEventSize (65536 characters)"
    })
    // the limit stopped the read: 64 KiB is about 64 pieces of 1 KiB, and the body was cancelled
    expect(pulled).toBeGreaterThan(60)
    expect(pulled).toBeLessThan(70)
  })

  it("the default limit is defaultMaxEventSize: a never-ending line fails after about 10 MiB, not at 512 MiB", async () => {
    expect(defaultMaxEventSize).toBe(10 * 1024 * 1024)
    let pulled = 0
    const piece = new TextEncoder().encode("y".repeat(64 * 1024))
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++pulled > 400) return controller.close()
        controller.enqueue(piece)
      }
    })
    expect(await failureOf(read(new Response(body, { headers: EVENT_STREAM })).result)).toMatchObject({
      tag: "ProtocolError",
      message: `An event of the stream exceeds maxEventSize (${defaultMaxEventSize} characters)`
    })
    // 160 pieces are exactly 10 MiB: the 161st passes the limit (a stream may pull one piece ahead)
    expect(pulled).toBeGreaterThanOrEqual(161)
    expect(pulled).toBeLessThanOrEqual(162)
  })

  it("the limit holds for the whole event, however it arrives: many data lines, one long event, a long event name", async () => {
    const max = 1000
    const over = [
      ["data lines without the blank line", Array.from({ length: 50 }, () => `data: ${"z".repeat(30)}\n`)],
      ["one event in one piece", [`event: token\ndata: ${JSON.stringify("w".repeat(2000))}\n\n`]],
      ["a complete event", [token("a"),
        `event: complete\ndata: ${JSON.stringify({ state: { content: "a".repeat(2000) } })}\n\n`]],
      ["a long event name", [`event: ${"n".repeat(2000)}\n`]]
    ] as const
    for (const [label, parts] of over) {
      const { cancelled, response } = responseOf([...parts, STALL])
      expect(await failureOf(read(response, { maxEventSize: max }).result), label).toMatchObject({
        tag: "ProtocolError",
        message: `An event of the stream exceeds maxEventSize (${max} characters)`
      })
      await tick()
      expect(cancelled()).toBe(true)
    }
    // events under the limit pass, however many: the limit is per event, not per stream
    const many = Array.from({ length: 200 }, () => token("v".repeat(100)))
    const { response } = responseOf([...many, completeOf("v".repeat(20_000))])
    expect((await read(response, { maxEventSize: max * 30 }).result).text).toBe("v".repeat(20_000))
  })

  it("an invalid maxEventSize is a FatalError, before anything is read, and the response is cancelled", async () => {
    for (const maxEventSize of [0, -1, 1.5, NaN, Infinity, "10", null] as const) {
      const { cancelled, response } = responseOf([token("a"), completeOf("a")])
      const reply = read(response, { maxEventSize: maxEventSize as number })
      expect(await failureOf(reply.result)).toMatchObject({
        tag: "FatalError",
        category: "fatal",
        message: expect.stringContaining(`Invalid option "maxEventSize": expected a positive integer, got `)
      })
      expect(reply.text).toBe("")
      await tick()
      expect(cancelled()).toBe(true)
    }
  })

  it("a complete whose state.content is not the text held is a ProtocolError", async () => {
    const cases = [
      [[token("abc"), completeOf("abd")], "abc"],
      [[completeOf("x")], ""], // a complete before any text
      [[token("ab"), reset(1), completeOf("ab")], "a"], // the reset was not applied by the server's count
      [[token("a"), `event: complete\ndata: {"state":{"content":42}}\n\n`], "a"]
    ] as const
    for (const [parts, held] of cases) {
      const reply = read(responseOf(parts).response)
      expect(await failureOf(reply.result)).toMatchObject({
        tag: "ProtocolError",
        message: expect.stringContaining(`The "complete" event's state.content is not the text the stream sent`)
      })
      expect(reply.text).toBe(held)
    }
  })

  it("a complete before any text, with empty content, is an empty answer; a payload without state.content is not checked", async () => {
    expect((await read(responseOf([completeOf("")]).response).result).text).toBe("")
    // the payload of Sse's `complete` option is the server's own
    for (const data of [`{"answer":"a"}`, `{"state":{}}`, `{"state":null}`, "null", "7", "[]"]) {
      const { response } = responseOf([token("a"), `event: complete\ndata: ${data}\n\n`])
      const result = await read(response).result
      expect([result.text, result.complete]).toEqual(["a", JSON.parse(data)])
    }
  })

  it("events of an unknown type are ignored, whatever their data, so a newer server's additions do not break a reader", async () => {
    const { response } = responseOf([
      token("a"),
      "event: tool_call\ndata: {not json\n\n",
      "event: Token\ndata: \"case matters\"\n\n",
      "data: \"a message event\"\n\n",
      token("b"),
      completeOf("ab")
    ])
    expect((await read(response).result).text).toBe("ab")
  })
})
