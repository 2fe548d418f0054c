import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Stream from "effect/Stream"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { EventEmitter } from "node:events"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { L0, L0Error, L0Event, Sse } from "effect-l0"
import type { L0State } from "effect-l0"
import { read, StreamError } from "effect-l0/client"
import { ProviderServer, TestSource } from "effect-l0/testing"
import OpenAI from "openai"
import { API_KEY } from "./clients.js"
import { advance, connectionReset, httpError, noDelay, settle } from "./support.js"

const state = (content: string): L0State.L0State => ({
  content,
  tokenCount: 3,
  firstTokenAt: 1000,
  lastTokenAt: 1500,
  attempt: 2,
  totalAttempts: 2,
  modelRetryCount: 0,
  networkRetryCount: 1,
  fallbackIndex: 0,
  checkpoint: "a secret draft",
  finishReason: "stop",
  toolCalls: [{ _tag: "ToolCall", id: "call_1", name: "lookup", arguments: "{\"q\":1}" }],
  violations: [{ rule: "pattern", message: "matched \"as an ai\"", severity: "warning", source: 0, attempt: 2 }],
  lastGoodContent: content,
  completed: true,
  aborted: false
})

const complete = (content: string): L0Event.Complete => ({
  _tag: "Complete",
  usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8, raw: { internal_id: "org-123" } },
  state: state(content)
})

/** Reads a body chunk by chunk as text, so that tests can look at it while the stream runs. */
const collect = (response: Response) => {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ""
  const done = (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return text
      text += decoder.decode(value, { stream: true })
    }
  })()
  return { reader, done, text: () => text }
}

const keepAlives = (text: string): number => text.split(": keep-alive\n\n").length - 1

describe("Sse.toResponse", () => {
  it("sends tokens, resets and complete as events, with event-stream headers", async () => {
    const response = Sse.toResponse(
      Stream.make(
        L0Event.token("He"),
        L0Event.token("llo"),
        L0Event.data({ text: "not sent" }),
        L0Event.reset(1),
        L0Event.token("i\n\"there\""),
        complete("Hi\n\"there\"")
      )
    )
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
    expect(response.headers.get("cache-control")).toBe("no-cache")
    expect(response.headers.get("x-accel-buffering")).toBe("no")
    const body = await response.text()
    const expectedComplete = {
      state: {
        content: "Hi\n\"there\"",
        tokenCount: 3,
        firstTokenAt: 1000,
        lastTokenAt: 1500,
        attempt: 2,
        totalAttempts: 2,
        modelRetryCount: 0,
        networkRetryCount: 1,
        fallbackIndex: 0,
        finishReason: "stop",
        toolCalls: [{ id: "call_1", name: "lookup", arguments: "{\"q\":1}" }],
        violations: [{ rule: "pattern", message: "matched \"as an ai\"", severity: "warning", source: 0, attempt: 2 }]
      },
      usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 }
    }
    // tokens that arrive in one array go out as one event; text stays on one data line
    expect(body).toBe(
      "event: token\ndata: \"Hello\"\n\n" +
        "event: reset\ndata: {\"kept\":1}\n\n" +
        "event: token\ndata: \"i\\n\\\"there\\\"\"\n\n" +
        `event: complete\ndata: ${JSON.stringify(expectedComplete)}\n\n`
    )
    // neither the provider's raw usage nor the checkpoint reaches the browser
    expect(body).not.toContain("org-123")
    expect(body).not.toContain("secret draft")
  })

  it.effect("toResponse, toResponseEffect and encode are pipeable", () =>
    Effect.gen(function*() {
      const events = Stream.make(L0Event.token("a"), complete("a"))
      const expected = "event: token\ndata: \"a\"\n\n"
      expect(yield* Effect.promise(() => events.pipe(Sse.toResponse({ keepAlive: "Infinity" })).text())).toMatch(
        new RegExp(`^${expected}event: complete`)
      )
      const response = yield* events.pipe(Sse.toResponseEffect())
      expect((yield* Effect.promise(() => read(response).result)).text).toBe("a")
      const bytes = yield* events.pipe(Sse.encode(), Stream.decodeText, Stream.mkString)
      expect(bytes.startsWith(expected)).toBe(true)
    }))

  it("extra headers are added, and replace the defaults of the same name", async () => {
    const response = Sse.toResponse(Stream.make(complete("")), {
      headers: { "access-control-allow-origin": "*", "Cache-Control": "no-store" }
    })
    expect(response.headers.get("access-control-allow-origin")).toBe("*")
    expect(response.headers.get("cache-control")).toBe("no-store")
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
  })

  it("a run with a mid-stream reset reaches the client reader as the final text, once", async () => {
    const source = TestSource.make(["Hel", "lo wor", TestSource.fail(connectionReset())], ["Hello ", "world"])
    const texts: Array<string> = []
    const resets: Array<number> = []
    const reply = read(Sse.toResponse(L0.stream({ stream: source.stream, retry: noDelay })), {
      onText: (text) => texts.push(text),
      onReset: (kept) => resets.push(kept)
    })
    const { complete, text } = await reply.result
    expect(text).toBe("Hello world")
    expect(complete.state.content).toBe("Hello world")
    expect(complete.state.networkRetryCount).toBe(1)
    expect(resets).toEqual([0])
    expect(texts).toContain("Hello wor")
    expect(texts.at(-1)).toBe("Hello world")
    expect(texts.slice(texts.indexOf("Hello wor") + 1)[0]).toBe("")
  })

  it("with continuation, reset keeps the checkpoint and the client continues from it", async () => {
    const source = TestSource.make(["The cat ", "sat", TestSource.fail(connectionReset())], [" on the mat."])
    const resets: Array<number> = []
    const reply = read(
      Sse.toResponse(L0.stream({ stream: source.stream, retry: noDelay, continuation: true })),
      { onReset: (kept) => resets.push(kept) }
    )
    expect((await reply.result).text).toBe("The cat sat on the mat.")
    expect(resets).toEqual(["The cat sat".length])
  })

  it("a failed run ends with a typed error event: tag, category, message and status, no key, no cause", async () => {
    const leaky = Object.assign(httpError(401, { authorization: `Bearer ${API_KEY}` }), {
      message: `401 Incorrect API key provided: ${API_KEY}`
    })
    const source = TestSource.make(["Partial ", "text", TestSource.fail(leaky)])
    const response = Sse.toResponse(L0.stream({ stream: source.stream, retry: noDelay }))
    const body = await response.clone().text()
    expect(body).not.toContain("0123456789abcdef")
    expect(body).not.toContain("authorization")
    const reply = read(response)
    const error = await reply.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StreamError)
    expect(error).toMatchObject({ name: "StreamError", tag: "ExhaustedError", category: "fatal", status: 401 })
    expect((error as StreamError).message).toContain("<redacted>")
    expect(reply.text).toBe("Partial text")
    const lastEvent = body.trimEnd().split("\n\n").at(-1)!
    expect(lastEvent.startsWith("event: error\ndata: ")).toBe(true)
    expect(Object.keys(JSON.parse(lastEvent.slice("event: error\ndata: ".length)))).toEqual([
      "tag",
      "category",
      "message",
      "status"
    ])
  })

  it("an error raised outside L0's classifier is redacted too, and carries no status when it has none", async () => {
    const error = new L0Error.ModelError({
      message: "upstream said: Bearer abc.def-123 is wrong",
      cause: { headers: { authorization: "Bearer abc.def-123" } }
    })
    const body = await Sse.toResponse(Stream.fail(error)).text()
    expect(body).toBe(
      `event: error\ndata: ${
        JSON.stringify({ tag: "ModelError", category: "model", message: "upstream said: Bearer <redacted> is wrong" })
      }\n\n`
    )
  })

  it("a custom complete payload replaces the default", async () => {
    const reply = read<{ readonly words: number }>(
      Sse.toResponse(Stream.make(L0Event.token("two words"), complete("two words")), {
        complete: (event) => ({ words: event.state.content.split(" ").length })
      })
    )
    expect(await reply.result).toEqual({ text: "two words", complete: { words: 2 } })
  })

  it.effect("a payload that cannot be sent ends the stream with an InternalError event, logged on the server", () =>
    Effect.gen(function*() {
      const logs: Array<unknown> = []
      const response = yield* Sse.toResponseEffect(Stream.make(L0Event.token("a"), complete("a")), {
        complete: () => ({ count: 1n })
      }).pipe(Effect.provide(Logger.layer([Logger.make((options) => void logs.push(options.message))])))
      const body = yield* Effect.promise(() => response.text())
      expect(body).toBe(
        "event: error\ndata: " +
          JSON.stringify({ tag: "InternalError", category: "fatal", message: "The server failed while streaming" }) +
          "\n\n"
      )
      expect(JSON.stringify(logs)).toContain("the event stream failed unexpectedly")
    }))

  it("a stream interrupted on the server ends with an Interrupted event", async () => {
    const reply = read(
      Sse.toResponse(Stream.concat(Stream.make(L0Event.token("a")), Stream.fromEffect(Effect.interrupt)))
    )
    await expect(reply.result).rejects.toMatchObject({ tag: "Interrupted", category: "network" })
    expect(reply.text).toBe("a")
  })

  it("an invalid keepAlive sends one FatalError event naming the option, and no request is made", async () => {
    for (const keepAlive of [-1, 0, "soon" as "1 second"]) {
      const source = TestSource.make(["never"])
      const reply = read(Sse.toResponse(L0.stream({ stream: source.stream }), { keepAlive }))
      const error = await reply.result.catch((e: unknown) => e)
      expect(error).toMatchObject({ tag: "FatalError", category: "fatal" })
      expect((error as Error).message).toContain(`"keepAlive"`)
      expect(source.calls).toHaveLength(0)
    }
  })

  it.effect("keep-alive comments follow the Clock (default 15 seconds) while the provider is silent", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.stall])
      const events = L0.stream({ stream: source.stream, timeout: { initialToken: "Infinity", interToken: "Infinity" } })
      const body = collect(yield* Sse.toResponseEffect(events))
      yield* settle
      expect(body.text()).toBe("event: token\ndata: \"a\"\n\n")
      yield* advance("14999 millis")
      expect(keepAlives(body.text())).toBe(0)
      yield* advance("1 millis")
      expect(keepAlives(body.text())).toBe(1)
      yield* advance("15 seconds")
      yield* advance("15 seconds")
      expect(keepAlives(body.text())).toBe(3)
      yield* Effect.promise(() => body.reader.cancel())
    }))

  it.effect("keepAlive sets the interval; \"Infinity\" sends none", () =>
    Effect.gen(function*() {
      const make = (keepAlive: Sse.Options["keepAlive"]) => {
        const source = TestSource.make(["a", TestSource.stall])
        return Sse.toResponseEffect(
          L0.stream({ stream: source.stream, timeout: { initialToken: "Infinity", interToken: "Infinity" } }),
          { keepAlive }
        )
      }
      const every2s = collect(yield* make("2 seconds"))
      const never = collect(yield* make("Infinity"))
      for (let i = 0; i < 5; i++) yield* advance("2 seconds")
      expect(keepAlives(every2s.text())).toBe(5)
      expect(never.text()).toBe("event: token\ndata: \"a\"\n\n")
      yield* Effect.promise(() => Promise.all([every2s.reader.cancel(), never.reader.cancel()]))
    }))

  it.effect("cancelling the body (the client went away) interrupts the stream and aborts the source's signal", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.stall])
      let finalized = false
      const events = L0.stream({ stream: source.stream }).pipe(Stream.ensuring(Effect.sync(() => finalized = true)))
      const reader = (yield* Sse.toResponseEffect(events)).body!.getReader()
      const first = yield* Effect.promise(() => reader.read())
      expect(new TextDecoder().decode(first.value)).toBe("event: token\ndata: \"a\"\n\n")
      expect(source.calls[0]!.context.signal.aborted).toBe(false)
      yield* Effect.promise(() => reader.cancel())
      expect(finalized).toBe(true)
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
      expect(source.calls).toHaveLength(1)
    }))

  it.effect("aborting options.signal interrupts the stream and ends the body", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["a", TestSource.stall])
      const controller = new AbortController()
      const body = collect(
        yield* Sse.toResponseEffect(L0.stream({ stream: source.stream }), { signal: controller.signal })
      )
      yield* settle
      controller.abort()
      expect(yield* Effect.promise(() => body.done)).toBe("event: token\ndata: \"a\"\n\n")
      expect(source.calls[0]!.context.signal.aborted).toBe(true)
    }))

  it.effect("toResponseEffect runs a stream that needs a service with the services of its effect", () =>
    Effect.gen(function*() {
      class Greeting extends Context.Service<Greeting, string>()("test/Greeting") {}
      const events = Stream.unwrap(Effect.gen(function*() {
        const greeting = yield* Greeting
        return L0.stream({ stream: () => Stream.make(greeting, "!") })
      }))
      const response = yield* Sse.toResponseEffect(events).pipe(Effect.provideService(Greeting, "Bonjour"))
      const { text } = yield* Effect.promise(() => read(response).result)
      expect(text).toBe("Bonjour!")
    }))

  it("effect/http takes the response through HttpServerResponse.fromWeb, and a client abort reaches the source", async () => {
    const source = TestSource.make(["Hi ", "there"], ["a", TestSource.stall])
    const events = L0.stream({ stream: source.stream })
    // as in the README
    const route = HttpRouter.add(
      "POST",
      "/answer",
      Effect.map(Sse.toResponseEffect(events), HttpServerResponse.fromWeb)
    )
    const { dispose, handler } = HttpRouter.toWebHandler(route, { disableLogger: true })
    try {
      const ok = await handler(new Request("http://localhost/answer", { method: "POST" }))
      expect(ok.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
      expect((await read(ok).result).text).toBe("Hi there")

      const controller = new AbortController()
      const stalled = await handler(
        new Request("http://localhost/answer", { method: "POST", signal: controller.signal })
      )
      const reply = read(stalled)
      await Effect.runPromise(settle)
      expect(reply.text).toBe("a")
      controller.abort()
      await Effect.runPromise(settle)
      expect(source.calls[1]!.context.signal.aborted).toBe(true)
    } finally {
      await dispose()
    }
  })

  it("effect/http also streams the bytes of Sse.encode with Sse.headers", async () => {
    const events = Stream.make(L0Event.token("a"), L0Event.reset(0), L0Event.token("b"), complete("b"))
    const route = HttpRouter.add(
      "GET",
      "/answer",
      HttpServerResponse.stream(Sse.encode(events), { headers: Sse.headers })
    )
    const { dispose, handler } = HttpRouter.toWebHandler(route, { disableLogger: true })
    try {
      const response = await handler(new Request("http://localhost/answer"))
      expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
      expect(response.headers.get("cache-control")).toBe("no-cache")
      expect((await read(response).result).text).toBe("b")
    } finally {
      await dispose()
    }
  })
})

describe("Sse.toResponse: a finished answer stays finished", () => {
  /** `events` as a response with `signal`; `reached` resolves once `at` has been encoded into the body. */
  const responseUntil = (events: ReadonlyArray<L0Event.L0Event>, at: L0Event.L0Event["_tag"]) => {
    let mark!: () => void
    const reached = new Promise<void>((resolve) => mark = resolve)
    const controller = new AbortController()
    // one array, as L0 delivers it: encoded and queued in the body together
    const stream = Stream.concat(Stream.fromIterable(events), Stream.never).pipe(
      Stream.mapArray((array) => {
        if (array.some((event) => event._tag === at)) mark()
        return array
      })
    )
    const response = Sse.toResponse(stream, { signal: controller.signal, keepAlive: "Infinity" })
    return { response, reached, abort: () => controller.abort() }
  }

  it("an abort after the complete event went out, before the client read it, still delivers it", async () => {
    const { abort, reached, response } = responseUntil([L0Event.token("Hello"), complete("Hello")], "Complete")
    await reached
    await new Promise((resolve) => setImmediate(resolve))
    abort()
    const result = await read(response).result
    expect([result.text, result.complete.state.content]).toEqual(["Hello", "Hello"])
  })

  it("an abort before the complete event ends the body without one: the client rejects, never a success", async () => {
    const { abort, reached, response } = responseUntil([L0Event.token("He")], "Token")
    await reached
    abort()
    const reply = read(response)
    const error = await reply.result.then(() => undefined, (error: unknown) => error)
    expect(error).toMatchObject({ tag: "NetworkError", message: "The stream ended before its complete event" })
    expect(reply.text).toBe("He")
  })
})

describe("Sse.pipeToNode", () => {
  const serve = async (handler: Http.RequestListener) => {
    const server = Http.createServer(handler)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }

  it("serves a run against ProviderServer through node:http to the client reader, the answer once after a reset", async () => {
    const answer = "A streamed answer that is cut once and then arrives whole."
    const provider = await ProviderServer.listen([
      ProviderServer.reply(answer, { chunkSize: 6, fault: ProviderServer.resetAfter(4) }),
      ProviderServer.reply(answer, { chunkSize: 6 })
    ])
    const client = new OpenAI({ baseURL: provider.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
    const web = await serve((_, res) => {
      void Sse.pipeToNode(
        Sse.toResponse(L0.stream({
          stream: ({ signal }) =>
            client.chat.completions.create({ model: "gpt-test", messages: [], stream: true }, { signal }),
          retry: noDelay
        })),
        res
      )
    })
    try {
      const response = await fetch(web.url)
      expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
      const resets: Array<number> = []
      const { complete, text } = await read(response, { onReset: (kept) => resets.push(kept) }).result
      expect(text).toBe(answer)
      expect(complete.state.finishReason).toBe("stop")
      expect(resets).toEqual([0])
      expect(provider.requests.map((r) => r.outcome)).toEqual(["reset", "completed"])
    } finally {
      await web.close()
      await provider.close()
    }
  })

  it("a client that hangs up mid-answer aborts the provider request", async () => {
    const provider = await ProviderServer.listen([
      ProviderServer.reply("Never finished", { chunkSize: 4, fault: ProviderServer.stallAfter(2) })
    ])
    const client = new OpenAI({ baseURL: provider.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
    const piped: Array<Promise<void>> = []
    const web = await serve((_, res) => {
      piped.push(Sse.pipeToNode(
        Sse.toResponse(L0.stream({
          stream: ({ signal }) =>
            client.chat.completions.create({ model: "gpt-test", messages: [], stream: true }, { signal }),
          timeout: { interToken: "Infinity" }
        })),
        res
      ))
    })
    try {
      const controller = new AbortController()
      let shown = ""
      const reply = read(fetch(web.url, { signal: controller.signal }), {
        onText: (text) => {
          shown = text
          if (text === "Never fi") controller.abort()
        }
      })
      await expect(reply.result).rejects.toMatchObject({ name: "AbortError" })
      expect(shown).toBe("Never fi")
      expect(await provider.awaitEnd(0)).toBe("disconnected")
      await Promise.all(piped)
    } finally {
      await web.close()
      await provider.close()
    }
  })

  /** A stand-in for ServerResponse that records calls and lets the test decide when writes block. */
  class FakeResponse extends EventEmitter implements Sse.NodeResponse {
    readonly calls: Array<string> = []
    readonly chunks: Array<string> = []
    blocked = false
    destroyed = false
    writeHead(status: number, headers: Record<string, string>) {
      this.calls.push(`writeHead ${status} ${headers["content-type"]}`)
    }
    flushHeaders() {
      this.calls.push("flushHeaders")
    }
    write(chunk: Uint8Array) {
      this.chunks.push(new TextDecoder().decode(chunk))
      return !this.blocked
    }
    end() {
      this.calls.push("end")
    }
    destroy() {
      this.calls.push("destroy")
    }
  }

  const bodyOf = (...parts: ReadonlyArray<string | Error>) => {
    let cancelled = false
    let index = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const part = parts[index++]
        if (part === undefined) controller.close()
        else if (typeof part === "string") controller.enqueue(new TextEncoder().encode(part))
        else controller.error(part)
      },
      cancel() {
        cancelled = true
      }
    })
    return { body, cancelled: () => cancelled }
  }

  it("waits for drain when the socket is full, then goes on", async () => {
    const res = new FakeResponse()
    res.blocked = true
    const { body } = bodyOf("one", "two")
    const done = Sse.pipeToNode(new Response(body, { headers: Sse.headers }), res)
    await settle.pipe(Effect.runPromise)
    expect(res.chunks).toEqual(["one"])
    res.blocked = false
    res.emit("drain")
    await done
    expect(res.chunks).toEqual(["one", "two"])
    expect(res.calls).toEqual(["writeHead 200 text/event-stream; charset=utf-8", "flushHeaders", "end"])
    expect(res.listenerCount("close") + res.listenerCount("drain")).toBe(0)
  })

  it("a close while waiting for drain cancels the body and does not end the response", async () => {
    const res = new FakeResponse()
    res.blocked = true
    const { body, cancelled } = bodyOf("one", "two")
    const done = Sse.pipeToNode(new Response(body), res)
    await settle.pipe(Effect.runPromise)
    res.emit("close")
    await done
    expect(cancelled()).toBe(true)
    expect(res.chunks).toEqual(["one"])
    expect(res.calls).not.toContain("end")
  })

  it("a body that fails destroys the response, so the client does not take it for a whole answer", async () => {
    const res = new FakeResponse()
    await Sse.pipeToNode(new Response(bodyOf("one", new Error("boom")).body), res)
    expect(res.chunks).toEqual(["one"])
    expect(res.calls.at(-1)).toBe("destroy")
    expect(res.calls).not.toContain("end")
  })

  it("a response whose client already left is not written, and its body is cancelled", async () => {
    const res = new FakeResponse()
    res.destroyed = true
    const { body, cancelled } = bodyOf("one")
    await Sse.pipeToNode(new Response(body), res)
    expect(cancelled()).toBe(true)
    expect(res.calls).toEqual([])
    expect(res.chunks).toEqual([])
  })

  it("a response without a body is ended at once", async () => {
    const res = new FakeResponse()
    await Sse.pipeToNode(new Response(null, { status: 204 }), res)
    expect(res.calls).toEqual(["writeHead 204 undefined", "flushHeaders", "end"])
  })
})

describe("docs/browser.md: streaming to a browser", () => {
  it("the route handler and the page code work as documented", async () => {
    async function* cutShort() {
      yield "You as"
      throw connectionReset()
    }
    const answer = (question: string) =>
      L0.stream({
        stream: ({ attempt }) => attempt === 1 ? cutShort() : Stream.make("You asked: ", question),
        retry: noDelay
      })
    const POST = async (request: Request) =>
      Sse.toResponse(answer((await request.json()).question), { signal: request.signal })
    // the page, with the route handler standing in for the network
    const fetch = (url: string, init: RequestInit) => POST(new Request(new URL(url, "http://localhost"), init))
    const output = { textContent: "" }
    const status = { textContent: "" }
    const shown: Array<string> = []
    const question = "why retry?"

    const reply = read(fetch("/answer", { method: "POST", body: JSON.stringify({ question }) }), {
      onText: (text) => shown.push(output.textContent = text),
      onReset: () => (status.textContent = "Retrying…")
    })
    try {
      const { complete } = await reply.result
      status.textContent = `Done in ${complete.state.totalAttempts} attempt(s)`
    } catch (error) {
      if (error instanceof StreamError) status.textContent = `${error.category}: ${error.message}`
    }
    expect(output.textContent).toBe("You asked: why retry?")
    expect(status.textContent).toBe("Done in 2 attempt(s)")
    expect(shown[0]).toBe("You as")
    expect(shown).toContain("")
  })

  it("the page counts every attempt of the run: three failed requests and a fallback make 4", async () => {
    const failing = TestSource.make([TestSource.fail(httpError(503))])
    const answer = L0.stream({
      stream: failing.stream,
      fallbacks: [() => Stream.make("Hello from the fallback")],
      retry: { ...noDelay, maxRetries: 2 }
    })
    const reply = read(Promise.resolve(Sse.toResponse(answer)))
    const { complete, text } = await reply.result
    expect(text).toBe("Hello from the fallback")
    expect(failing.calls).toHaveLength(3)
    expect(`Done in ${complete.state.totalAttempts} attempt(s)`).toBe("Done in 4 attempt(s)")
    expect(complete.state.attempt).toBe(1)
  })
})
