import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { ProviderServer } from "effect-l0/testing"
import { readFileSync } from "node:fs"
import OpenAI from "openai"

const OPENAI_KEY = "sk-test-0123456789abcdef"
const ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url))
const expected = (name: string): { readonly text: string } =>
  JSON.parse(fixture(`${name}.expected.json`).toString("utf8")) as { readonly text: string }

const openai = (server: ProviderServer.Addresses): OpenAI =>
  new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: OPENAI_KEY, maxRetries: 0, logLevel: "off" })
const anthropic = (server: ProviderServer.Addresses): Anthropic =>
  new Anthropic({ baseURL: server.anthropicBaseUrl, apiKey: ANTHROPIC_KEY, maxRetries: 0, logLevel: "off" })

/** Runs `f` against a server that is closed afterwards, whatever happens. */
const withServer = async <A>(
  script: ProviderServer.Script,
  f: (server: ProviderServer.AsyncProviderServer) => Promise<A>
): Promise<A> => {
  const server = await ProviderServer.listen(script)
  try {
    return await f(server)
  } finally {
    await server.close()
  }
}

const chatRequest = { model: "gpt-test", messages: [{ role: "user" as const, content: "Hi" }], stream: true as const }
const messagesRequest = {
  model: "claude-test",
  max_tokens: 100,
  messages: [{ role: "user" as const, content: "Hi" }],
  stream: true as const
}
const responsesRequest = { model: "gpt-test", input: "Hi", stream: true as const }

/** Collects chat content deltas; rejects with the SDK's error, carrying the deltas seen so far. */
const chatDeltas = async (client: OpenAI, seen: Array<string> = []): Promise<Array<string>> => {
  for await (const chunk of await client.chat.completions.create(chatRequest)) {
    const content = chunk.choices[0]?.delta.content
    if (content) seen.push(content)
  }
  return seen
}

const anthropicDeltas = async (client: Anthropic, seen: Array<string> = []): Promise<Array<string>> => {
  for await (const event of await client.messages.create(messagesRequest)) {
    if (event.type === "content_block_delta" && event.delta.type === "text_delta") seen.push(event.delta.text)
  }
  return seen
}

const responsesDeltas = async (client: OpenAI, seen: Array<string> = []): Promise<Array<string>> => {
  for await (const event of await client.responses.create(responsesRequest)) {
    if (event.type === "response.output_text.delta") seen.push(event.delta)
  }
  return seen
}

const failure = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a failure")
}

/** Reads a fetch body until `size` bytes have arrived. */
const readBytes = async (body: ReadableStream<Uint8Array>, size: number): Promise<Buffer> => {
  const reader = body.getReader()
  const parts: Array<Uint8Array> = []
  let length = 0
  while (length < size) {
    const { value, done } = await reader.read()
    if (done) break
    parts.push(value)
    length += value.length
  }
  reader.releaseLock()
  return Buffer.concat(parts)
}

const post = (url: string, body: unknown, init: RequestInit = {}): Promise<Response> =>
  fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, ...init })

describe("ProviderServer: OpenAI Chat Completions", () => {
  it("streams the text in chunks of chunkSize code points, role first, finish_reason last", () =>
    withServer([ProviderServer.reply("Hello, world!", { chunkSize: 5 })], async (server) => {
      const chunks = []
      for await (const chunk of await openai(server).chat.completions.create(chatRequest)) chunks.push(chunk)
      expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
        { role: "assistant", content: "", refusal: null },
        { content: "Hello" },
        { content: ", wor" },
        { content: "ld!" },
        {}
      ])
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop")
      expect(chunks[0]).toMatchObject({ object: "chat.completion.chunk", model: "gpt-test" })
      expect(server.requests[0]?.path).toBe("/v1/chat/completions")
    }))

  it("a plain string answer is a reply, and the last answer repeats", () =>
    withServer(["one", "second"], async (server) => {
      const client = openai(server)
      expect((await chatDeltas(client)).join("")).toBe("one")
      expect((await chatDeltas(client)).join("")).toBe("second")
      expect((await chatDeltas(client)).join("")).toBe("second")
    }))

  it("sends explicit chunks as they are, with usage and a finish reason", () =>
    withServer(
      [ProviderServer.reply(["Hel", "lo"], { usage: { inputTokens: 7, outputTokens: 2 }, finishReason: "length" })],
      async (server) => {
        const chunks = []
        for await (const chunk of await openai(server).chat.completions.create(chatRequest)) chunks.push(chunk)
        expect(chunks.map((chunk) => chunk.choices[0]?.delta.content)).toEqual(["", "Hel", "lo", undefined, undefined])
        expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("length")
        expect(chunks.at(-1)).toMatchObject({
          choices: [],
          usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 }
        })
      }
    ))

  it("sends the usage chunk when the request asks for it", () =>
    withServer(["abcdefgh"], async (server) => {
      const chunks = []
      const stream = await openai(server).chat.completions.create({
        ...chatRequest,
        stream_options: { include_usage: true }
      })
      for await (const chunk of stream) chunks.push(chunk)
      expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 0, completion_tokens: 2, total_tokens: 2 })
    }))

  it("streams tool calls with split arguments, one index per call", () =>
    withServer(
      [
        ProviderServer.reply("", {
          toolCalls: [
            { id: "call_a", name: "get_weather", arguments: "{\"city\":\"Paris\"}", chunkSize: 6 },
            { name: "get_time", arguments: ["{\"tz\":", "\"CET\"}"] },
            { name: "ping", arguments: "" }
          ]
        })
      ],
      async (server) => {
        const calls: Array<{ id?: string; name?: string; arguments: string }> = []
        let finish: string | null | undefined
        let argumentDeltas = 0
        for await (const chunk of await openai(server).chat.completions.create(chatRequest)) {
          const choice = chunk.choices[0]
          finish = choice?.finish_reason ?? finish
          for (const delta of choice?.delta.tool_calls ?? []) {
            const call = calls[delta.index] ??= { arguments: "" }
            if (delta.id) call.id = delta.id
            if (delta.function?.name) call.name = delta.function.name
            if (delta.function?.arguments) {
              call.arguments += delta.function.arguments
              argumentDeltas++
            }
          }
        }
        expect(calls).toEqual([
          { id: "call_a", name: "get_weather", arguments: "{\"city\":\"Paris\"}" },
          { id: "call_ps0_1", name: "get_time", arguments: "{\"tz\":\"CET\"}" },
          { id: "call_ps0_2", name: "ping", arguments: "" }
        ])
        expect(argumentDeltas).toBe(5)
        expect(finish).toBe("tool_calls")
      }
    ))

  it("answers on /chat/completions without the /v1 prefix too", () =>
    withServer(["plain"], async (server) => {
      const client = new OpenAI({ baseURL: server.url, apiKey: OPENAI_KEY, maxRetries: 0 })
      expect((await chatDeltas(client)).join("")).toBe("plain")
      expect(server.requests[0]?.path).toBe("/chat/completions")
    }))
})

describe("ProviderServer: OpenAI Responses", () => {
  it("streams text as output_text deltas between response.created and response.completed", () =>
    withServer([ProviderServer.reply("Hello, world!", { chunkSize: 4 })], async (server) => {
      const events = []
      for await (const event of await openai(server).responses.create(responsesRequest)) events.push(event)
      expect(events.map((event) => event.type)).toEqual([
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed"
      ])
      expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index))
      const completed = events.at(-1)
      expect(completed?.type === "response.completed" && completed.response.usage).toMatchObject({
        input_tokens: 0,
        output_tokens: 4,
        total_tokens: 4
      })
    }))

  it("streams function calls that the SDK's stream helper assembles", () =>
    withServer(
      [ProviderServer.reply("Let me look.", { toolCalls: [{ name: "lookup", arguments: "{\"q\":\"effect\"}" }] })],
      async (server) => {
        const stream = openai(server).responses.stream({ model: "gpt-test", input: "Hi" })
        const argumentDeltas: Array<string> = []
        stream.on("response.function_call_arguments.delta", (event) => argumentDeltas.push(event.delta))
        const response = await stream.finalResponse()
        expect(response.output[0]).toMatchObject({
          type: "message",
          content: [{ type: "output_text", text: "Let me look." }]
        })
        expect(response.output[1]).toMatchObject({
          type: "function_call",
          name: "lookup",
          call_id: "call_ps0_0",
          arguments: "{\"q\":\"effect\"}"
        })
        expect(argumentDeltas.join("")).toBe("{\"q\":\"effect\"}")
        expect(argumentDeltas.length).toBeGreaterThan(1)
      }
    ))

  it("a tool-only answer has no message item, and a finish reason other than completed is response.incomplete", () =>
    withServer(
      [
        ProviderServer.reply([], { toolCalls: [{ name: "a", arguments: "{}" }, { name: "b", arguments: "" }] }),
        ProviderServer.reply("cut", { finishReason: "max_output_tokens" })
      ],
      async (server) => {
        const client = openai(server)
        const events = []
        for await (const event of await client.responses.create(responsesRequest)) events.push(event)
        const completed = events.at(-1)
        expect(completed?.type === "response.completed" && completed.response.output.map((item) => item.type)).toEqual([
          "function_call",
          "function_call"
        ])
        const last = []
        for await (const event of await client.responses.create(responsesRequest)) last.push(event)
        expect(last.at(-1)).toMatchObject({
          type: "response.incomplete",
          response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } }
        })
      }
    ))
})

describe("ProviderServer: Anthropic Messages", () => {
  it("streams text_delta events between message_start and message_stop", () =>
    withServer(
      [ProviderServer.reply("Hello, world!", { chunkSize: 6, usage: { inputTokens: 12, outputTokens: 3 } })],
      async (server) => {
        const events = []
        for await (const event of await anthropic(server).messages.create(messagesRequest)) events.push(event)
        expect(events.map((event) => event.type)).toEqual([
          "message_start",
          "content_block_start",
          "content_block_delta",
          "content_block_delta",
          "content_block_delta",
          "content_block_stop",
          "message_delta",
          "message_stop"
        ])
        expect(events[0]).toMatchObject({ message: { model: "claude-test", usage: { input_tokens: 12 } } })
        expect(events.at(-2)).toMatchObject({ delta: { stop_reason: "end_turn" }, usage: { output_tokens: 3 } })
        expect(server.requests[0]?.path).toBe("/v1/messages")
      }
    ))

  it("streams tool_use blocks with input_json_delta that the SDK parses", () =>
    withServer(
      [
        ProviderServer.reply("Checking.", {
          toolCalls: [{ id: "toolu_x", name: "get_weather", arguments: "{\"city\":\"Paris\"}" }]
        }),
        ProviderServer.reply([], { toolCalls: [{ name: "noop", arguments: "" }] })
      ],
      async (server) => {
        const client = anthropic(server)
        const message = await client.messages.stream(messagesRequest).finalMessage()
        expect(message.content).toEqual([
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "toolu_x", name: "get_weather", input: { city: "Paris" } }
        ])
        expect(message.stop_reason).toBe("tool_use")
        const toolOnly = await client.messages.stream(messagesRequest).finalMessage()
        expect(toolOnly.content).toEqual([{ type: "tool_use", id: "toolu_ps1_0", name: "noop", input: {} }])
      }
    ))
})

describe("ProviderServer: chunking", () => {
  it("never splits a surrogate pair unless asked to", () =>
    withServer(
      [ProviderServer.reply("a😀b😀", { chunkSize: 1 }),
        ProviderServer.reply("😀", { chunkSize: 1, splitSurrogates: true })],
      async (server) => {
        const client = openai(server)
        expect(await chatDeltas(client)).toEqual(["a", "😀", "b", "😀"])
        expect(await chatDeltas(client)).toEqual(["\ud83d", "\ude00"])
      }
    ))

  it("waits delay milliseconds before each chunk", () =>
    withServer([ProviderServer.reply("abcd", { chunkSize: 1, delay: 10 })], async (server) => {
      const started = performance.now()
      expect(await chatDeltas(openai(server))).toEqual(["a", "b", "c", "d"])
      expect(performance.now() - started).toBeGreaterThanOrEqual(35)
    }))
})

describe("ProviderServer: HTTP errors", () => {
  it("a 429 with Retry-After reaches the OpenAI SDK error", () =>
    withServer([ProviderServer.httpError(429, { retryAfter: 3 }), "ok"], async (server) => {
      const error = await failure(openai(server).chat.completions.create(chatRequest))
      expect(error).toBeInstanceOf(OpenAI.RateLimitError)
      const apiError = error as InstanceType<typeof OpenAI.APIError>
      expect(apiError.status).toBe(429)
      expect(apiError.headers?.get("retry-after")).toBe("3")
      expect(apiError.code).toBe("rate_limit_exceeded")
      expect(apiError.requestID).toBe("req_ps0")
      expect((await chatDeltas(openai(server))).join("")).toBe("ok")
    }))

  it("errors are in Anthropic's shape for Anthropic requests", () =>
    withServer(
      [
        ProviderServer.httpError(529, { retryAfter: 5 }),
        ProviderServer.httpError(401, { error: { message: "invalid x-api-key" } }),
        ProviderServer.httpError(500),
        ProviderServer.httpError(418)
      ],
      async (server) => {
        const client = anthropic(server)
        const overloaded = await failure(client.messages.create(messagesRequest)) as InstanceType<
          typeof Anthropic.APIError
        >
        expect(overloaded.status).toBe(529)
        expect(overloaded.type).toBe("overloaded_error")
        expect(overloaded.error).toEqual({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })
        expect(overloaded.requestID).toBe("req_ps0")
        expect(overloaded.headers?.get("retry-after")).toBe("5")
        const unauthorized = await failure(client.messages.create(messagesRequest))
        expect(unauthorized).toBeInstanceOf(Anthropic.AuthenticationError)
        expect((unauthorized as InstanceType<typeof Anthropic.APIError>).error).toEqual({
          type: "error",
          error: { type: "authentication_error", message: "invalid x-api-key" }
        })
        expect((await failure(client.messages.create(messagesRequest)) as InstanceType<typeof Anthropic.APIError>).type)
          .toBe("api_error")
        expect((await failure(client.messages.create(messagesRequest)) as InstanceType<typeof Anthropic.APIError>).type)
          .toBe("invalid_request_error")
      }
    ))

  it("takes a Retry-After date, extra headers, error fields and a raw body", () =>
    withServer(
      [
        ProviderServer.httpError(503, {
          retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT",
          headers: { "x-should-retry": "true" },
          error: { type: "overloaded", code: "busy", message: "try later" }
        }),
        ProviderServer.httpError(502, { body: "<html>Bad Gateway</html>", headers: { "content-type": "text/html" } }),
        ProviderServer.httpError(401),
        ProviderServer.httpError(400)
      ],
      async (server) => {
        const client = openai(server)
        const busy = await failure(client.chat.completions.create(chatRequest)) as InstanceType<typeof OpenAI.APIError>
        expect(busy.status).toBe(503)
        expect(busy.headers?.get("retry-after")).toBe("Wed, 21 Oct 2015 07:28:00 GMT")
        expect(busy.headers?.get("x-should-retry")).toBe("true")
        expect([busy.type, busy.code, busy.message]).toEqual(["overloaded", "busy", "503 try later"])
        const gateway = await post(`${server.openaiBaseUrl}/chat/completions`, chatRequest)
        expect([gateway.status, await gateway.text()]).toEqual([502, "<html>Bad Gateway</html>"])
        expect(
          (await failure(client.chat.completions.create(chatRequest)) as InstanceType<typeof OpenAI.APIError>).code
        )
          .toBe("invalid_api_key")
        const invalid = await failure(client.chat.completions.create(chatRequest)) as InstanceType<
          typeof OpenAI.APIError
        >
        expect([invalid.status, invalid.type]).toEqual([400, "invalid_request_error"])
      }
    ))

  it("echoCredential echoes the key the request sent in the message, the raw body and a header", () =>
    withServer(
      [
        ProviderServer.httpError(401, { echoCredential: true }),
        ProviderServer.httpError(401, { echoCredential: true, error: { message: "Bad key" } }),
        ProviderServer.httpError(403, { echoCredential: true, body: "<html>denied</html>" })
      ],
      async (server) => {
        const rejected = await failure(openai(server).chat.completions.create(chatRequest)) as InstanceType<
          typeof OpenAI.APIError
        >
        expect(rejected.message).toBe(`401 Invalid credential: ${OPENAI_KEY}`)
        expect(rejected.headers?.get("x-echoed-credential")).toBe(OPENAI_KEY)
        const anthropicRejected = await failure(anthropic(server).messages.create(messagesRequest))
        expect((anthropicRejected as Error).message).toContain(`Bad key: ${ANTHROPIC_KEY}`)
        const page = await fetch(`${server.openaiBaseUrl}/chat/completions`, {
          method: "POST",
          headers: { "api-key": "gateway-token-123" },
          body: JSON.stringify(chatRequest)
        })
        expect([page.status, await page.text()]).toEqual([403, "<html>denied</html> gateway-token-123"])
        // the recording stays redacted
        expect(server.requests[0]!.headers.authorization).toBe("Bearer <redacted>")
      }
    ))

  it("a status without a standard reason phrase gets a generic message; a request without a model gets one", () =>
    withServer([ProviderServer.httpError(599), "ok"], async (server) => {
      const odd = await post(`${server.openaiBaseUrl}/chat/completions`, chatRequest)
      expect([odd.status, await odd.json()]).toEqual([
        599,
        { error: { message: "HTTP 599", type: "server_error", param: null, code: null } }
      ])
      const body = await (await post(`${server.openaiBaseUrl}/chat/completions`, { stream: true })).text()
      expect(body).toContain("\"model\":\"provider-server\"")
    }))

  it("a non-streaming request gets a 400 that says why", () =>
    withServer(["never sent"], async (server) => {
      const error = await failure(openai(server).chat.completions.create({ ...chatRequest, stream: false }))
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect((error as Error).message).toContain("set \"stream\": true")
    }))

  it("an unknown route or method gets a 404 naming the routes", () =>
    withServer(["unused"], async (server) => {
      const error = await failure(openai(server).models.list())
      expect(error).toBeInstanceOf(OpenAI.NotFoundError)
      expect((error as Error).message).toContain("no route for GET /v1/models")
      const put = await fetch(`${server.openaiBaseUrl}/chat/completions`, { method: "PUT", body: "{}" })
      expect(put.status).toBe(404)
      expect(server.requests.map((request) => [request.method, request.protocol])).toEqual([
        ["GET", undefined],
        ["PUT", "openai-chat"]
      ])
    }))
})

describe("ProviderServer: faults", () => {
  it("a reset after N chunks surfaces as a connection error in the OpenAI SDK, after N chunks", () =>
    withServer(
      [ProviderServer.reply("abcdefgh", { chunkSize: 2, fault: ProviderServer.resetAfter(2) })],
      async (server) => {
        const seen: Array<string> = []
        const error = await failure(chatDeltas(openai(server), seen))
        expect(seen).toEqual(["ab", "cd"])
        expect(error).toBeInstanceOf(TypeError)
        expect((error as Error).message).toBe("terminated")
        expect((error as Error).cause).toMatchObject({ code: "UND_ERR_SOCKET" })
        expect(await server.awaitEnd(0)).toBe("reset")
        expect(server.requests[0]?.disconnected).toBe(false)
      }
    ))

  it("a reset before the first token and one after the last token, in the Anthropic SDK", () =>
    withServer(
      [
        ProviderServer.reply("abcd", { fault: ProviderServer.resetAfter(0) }),
        ProviderServer.reply("abcd", { chunkSize: 1, fault: ProviderServer.resetAfter(10) })
      ],
      async (server) => {
        const client = anthropic(server)
        const first: Array<string> = []
        expect(await failure(anthropicDeltas(client, first))).toBeInstanceOf(TypeError)
        expect(first).toEqual([])
        const last: Array<string> = []
        expect(await failure(anthropicDeltas(client, last))).toBeInstanceOf(TypeError)
        expect(last).toEqual(["a", "b", "c", "d"])
      }
    ))

  it("a reset with a cut writes part of the next chunk first: some bytes of its SSE line, or up to inside a character", () => {
    const events = ["data: one\n\n", "data: twé😀\n\n", "data: three\n\n"]
    return withServer(
      [
        ProviderServer.replay(events.join(""), { fault: ProviderServer.resetAfter(1, { cut: 7 }) }),
        ProviderServer.replay(events.join(""), { fault: ProviderServer.resetAfter(1, { cut: "character" }) }),
        ProviderServer.replay("data: plain\n\n", { fault: ProviderServer.resetAfter(0, { cut: "character" }) }),
        ProviderServer.reply("ab😀cd", { chunkSize: 2, fault: ProviderServer.resetAfter(1, { cut: "character" }) })
      ],
      async (server) => {
        const received = async (): Promise<Buffer> => {
          const response = await post(`${server.openaiBaseUrl}/chat/completions`, chatRequest)
          const reader = response.body!.getReader()
          const parts: Array<Uint8Array> = []
          try {
            for (;;) {
              const { value, done } = await reader.read()
              if (done) return Buffer.concat(parts)
              parts.push(value)
            }
          } catch {
            return Buffer.concat(parts)
          }
        }
        expect((await received()).toString("utf8")).toBe("data: one\n\ndata: t")
        // "é" is 2 bytes: the cut leaves its first byte only
        const inside = await received()
        expect(inside.subarray(0, -1).toString("utf8")).toBe("data: one\n\ndata: tw")
        expect(inside.at(-1)).toBe(Buffer.from("é")[0])
        // no multi-byte character: cut in the middle
        expect((await received()).toString("utf8")).toBe("data: ")
        const seen: Array<string> = []
        expect(await failure(chatDeltas(openai(server), seen))).toBeInstanceOf(TypeError)
        expect(seen).toEqual(["ab"])
        expect(server.requests.map((request) => request.outcome)).toEqual(["reset", "reset", "reset", "reset"])
      }
    )
  })

  it("an end after N chunks closes the response cleanly without the closing events, and the SDKs see no error", () =>
    withServer(
      [
        ProviderServer.reply("abcdef", { chunkSize: 2, fault: ProviderServer.endAfter(2) }),
        ProviderServer.reply("abcdef", { chunkSize: 2, fault: ProviderServer.endAfter(0) }),
        ProviderServer.reply("abcdef", { chunkSize: 2, fault: ProviderServer.endAfter(1) })
      ],
      async (server) => {
        const body = await (await post(`${server.openaiBaseUrl}/chat/completions`, chatRequest)).text()
        expect(body).toContain(`"content":"cd"`)
        expect(body).not.toContain(`"content":"ef"`)
        expect(body).not.toContain("finish_reason\":\"stop")
        expect(body).not.toContain("[DONE]")
        expect(await anthropicDeltas(anthropic(server))).toEqual([])
        expect(await chatDeltas(openai(server))).toEqual(["ab"])
        expect(server.requests.map((request) => request.outcome)).toEqual(["completed", "completed", "completed"])
      }
    ))

  it("a hangup fails the request itself with APIConnectionError", () =>
    withServer([ProviderServer.hangup, "after"], async (server) => {
      const error = await failure(openai(server).chat.completions.create(chatRequest))
      expect(error).toBeInstanceOf(OpenAI.APIConnectionError)
      expect(await server.awaitEnd(0)).toBe("reset")
    }))

  it("a stall keeps the connection open until the client aborts, and the server records the disconnect", () =>
    withServer(
      [ProviderServer.reply("abcdef", { chunkSize: 3, fault: ProviderServer.stallAfter(1) })],
      async (server) => {
        const controller = new AbortController()
        const stream = await openai(server).chat.completions.create(chatRequest, { signal: controller.signal })
        const seen: Array<string> = []
        for await (const chunk of stream) {
          const content = chunk.choices[0]?.delta.content
          if (content) {
            seen.push(content)
            controller.abort()
          }
        }
        expect(seen).toEqual(["abc"])
        expect(await server.awaitEnd(0)).toBe("disconnected")
        expect(server.requests[0]).toMatchObject({ outcome: "disconnected", disconnected: true })
      }
    ))

  it("an abort during a chunk delay is recorded as a disconnect", () =>
    withServer([ProviderServer.reply("abc", { chunkSize: 1, delay: 60_000 })], async (server) => {
      const controller = new AbortController()
      const stream = await openai(server).chat.completions.create(chatRequest, { signal: controller.signal })
      const iterator = stream[Symbol.asyncIterator]()
      expect((await iterator.next()).value?.choices[0]?.delta.role).toBe("assistant")
      controller.abort()
      expect(await server.awaitEnd(0)).toBe("disconnected")
    }))

  it("in-band errors arrive as each SDK reports them", () =>
    withServer(
      (request) =>
        request.protocol === "anthropic"
          ? ProviderServer.reply("Hello there", { fault: ProviderServer.errorAfter(2) })
          : request.protocol === "openai-chat"
          ? ProviderServer.reply("Hello there", { fault: ProviderServer.errorAfter(1, { message: "boom" }) })
          : ProviderServer.reply("Hello there", {
            fault: ProviderServer.errorAfter(3, { type: "insufficient_quota", code: "insufficient_quota" })
          }),
      async (server) => {
        const anthropicSeen: Array<string> = []
        const overloaded = await failure(anthropicDeltas(anthropic(server), anthropicSeen))
        expect(anthropicSeen).toEqual(["Hell", "o th"])
        expect(overloaded).toBeInstanceOf(Anthropic.APIError)
        expect((overloaded as InstanceType<typeof Anthropic.APIError>).type).toBe("overloaded_error")
        expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBeUndefined()

        const chatSeen: Array<string> = []
        const chatError = await failure(chatDeltas(openai(server), chatSeen)) as InstanceType<typeof OpenAI.APIError>
        expect(chatSeen).toEqual(["Hell"])
        expect(chatError).toBeInstanceOf(OpenAI.APIError)
        expect([chatError.type, chatError.message]).toEqual(["server_error", "boom"])

        const responsesSeen: Array<string> = []
        const quota = await failure(responsesDeltas(openai(server), responsesSeen)) as InstanceType<
          typeof OpenAI.APIError
        >
        expect(responsesSeen).toEqual(["Hell", "o th", "ere"])
        expect([quota.type, quota.code]).toEqual(["insufficient_quota", "insufficient_quota"])
        expect(server.requests.map((request) => request.outcome)).toEqual(["completed", "completed", "completed"])
      }
    ))

  it("the Responses error event is followed by response.failed", () =>
    withServer([ProviderServer.reply("Hi", { fault: ProviderServer.errorAfter(0) })], async (server) => {
      const body = await (await post(`${server.openaiBaseUrl}/responses`, responsesRequest)).text()
      const events = [...body.matchAll(/^event: (.+)$/gm)].map((match) => match[1])
      expect(events).toEqual(["response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", "error", "response.failed"])
      expect(body).toContain("\"status\":\"failed\",\"error\":{\"code\":\"server_error\"")
    }))

  it("malformed JSON in a data line makes each SDK throw; a garbage line is skipped", () =>
    withServer(
      [
        ProviderServer.reply("abcdefgh", { fault: ProviderServer.malformedAfter(1) }),
        ProviderServer.reply("abcdefgh", { fault: ProviderServer.malformedAfter(1) }),
        ProviderServer.reply("abcdefgh", { fault: ProviderServer.malformedAfter(1) }),
        ProviderServer.reply("abcdefgh", { fault: ProviderServer.malformedAfter(1, "garbage without a field\n\n") })
      ],
      async (server) => {
        const chatSeen: Array<string> = []
        expect(await failure(chatDeltas(openai(server), chatSeen))).toBeInstanceOf(SyntaxError)
        expect(chatSeen).toEqual(["abcd"])
        expect(await failure(anthropicDeltas(anthropic(server)))).toBeInstanceOf(SyntaxError)
        expect(await failure(responsesDeltas(openai(server)))).toBeInstanceOf(SyntaxError)
        expect(await chatDeltas(openai(server))).toEqual(["abcd", "efgh"])
      }
    ))
})

describe("ProviderServer: replay", () => {
  it("replays a fixture byte for byte, whole or in k-byte chunks", () => {
    const body = fixture("openai-chat-cjk-emoji.sse")
    return withServer(
      [ProviderServer.replay(body), ProviderServer.replay(body, { chunkSize: 5, delay: 0 })],
      async (server) => {
        for (let i = 0; i < 2; i++) {
          const response = await post(`${server.openaiBaseUrl}/chat/completions`, chatRequest)
          expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
          expect(Buffer.from(await response.arrayBuffer()).equals(body)).toBe(true)
        }
      }
    )
  })

  it("split multi-byte UTF-8 reaches the SDKs as the fixture's exact text", () =>
    withServer(
      (request) =>
        request.protocol === "anthropic"
          ? ProviderServer.replay(fixture("anthropic-thinking.sse"), { chunkSize: 7 })
          : ProviderServer.replay(fixture("openai-chat-cjk-emoji.sse"), { chunkSize: 3 }),
      async (server) => {
        expect((await chatDeltas(openai(server))).join("")).toBe(expected("openai-chat-cjk-emoji").text)
        expect((await anthropicDeltas(anthropic(server))).join("")).toBe(expected("anthropic-thinking").text)
      }
    ))

  it("chunks are k bytes, or one SSE event each by default (seen through a stall)", () => {
    const body = fixture("anthropic-text.sse")
    const events = body.toString("utf8").split(/(?<=\n\n)/)
    return withServer(
      [
        ProviderServer.replay(body, { chunkSize: 7, fault: ProviderServer.stallAfter(3) }),
        ProviderServer.replay(body, { fault: ProviderServer.stallAfter(2) })
      ],
      async (server) => {
        const controller = new AbortController()
        const bytes = await post(`${server.anthropicBaseUrl}/v1/messages`, messagesRequest, {
          signal: controller.signal
        })
        expect((await readBytes(bytes.body!, 21)).equals(body.subarray(0, 21))).toBe(true)
        const byEvent = await post(`${server.anthropicBaseUrl}/v1/messages`, messagesRequest, {
          signal: controller.signal
        })
        const twoEvents = Buffer.from(events.slice(0, 2).join(""), "utf8")
        expect((await readBytes(byEvent.body!, twoEvents.length)).equals(twoEvents)).toBe(true)
        controller.abort()
        expect(await server.awaitEnd(0)).toBe("disconnected")
        expect(await server.awaitEnd(1)).toBe("disconnected")
      }
    )
  })

  it("a string body without a final blank line, and faults on a replay", () =>
    withServer(
      [
        ProviderServer.replay("event: ping\r\ndata: {}\r\n\r\ndata: tail", { fault: ProviderServer.errorAfter(1) }),
        ProviderServer.replay("event: ping\rdata: {}\r\rdata: tail")
      ],
      async (server) => {
        const first = await (await post(`${server.anthropicBaseUrl}/v1/messages`, messagesRequest)).text()
        expect(first).toBe(
          "event: ping\r\ndata: {}\r\n\r\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
        )
        const second = await (await post(`${server.anthropicBaseUrl}/v1/messages`, messagesRequest)).text()
        expect(second).toBe("event: ping\rdata: {}\r\rdata: tail")
      }
    ))
})

describe("ProviderServer: recording", () => {
  it("records method, path, parsed body and headers with the keys redacted", () =>
    withServer(["ok", "ok"], async (server) => {
      await chatDeltas(openai(server))
      await post(`${server.anthropicBaseUrl}/v1/messages?beta=true`, messagesRequest, {
        headers: { "x-api-key": ANTHROPIC_KEY, "content-type": "application/json", "api-key": "plain-secret" }
      }).then((response) => response.text())
      const [chat, messages] = server.requests
      expect(chat).toMatchObject({
        method: "POST",
        path: "/v1/chat/completions",
        protocol: "openai-chat",
        body: chatRequest,
        outcome: "completed",
        disconnected: false
      })
      expect(chat?.headers["authorization"]).toBe("Bearer <redacted>")
      expect(chat?.headers["content-type"]).toBe("application/json")
      expect(messages).toMatchObject({ path: "/v1/messages", protocol: "anthropic" })
      expect(messages?.headers["x-api-key"]).toBe("<redacted>")
      expect(messages?.headers["api-key"]).toBe("<redacted>")
      expect(messages?.rawBody).toBe(JSON.stringify(messagesRequest))
      const everything = JSON.stringify(server.requests)
      expect(everything).not.toContain(OPENAI_KEY)
      expect(everything).not.toContain(ANTHROPIC_KEY)
      expect(everything).not.toContain("plain-secret")
    }))

  it("a body that is not JSON is kept as text only", () =>
    withServer(["ok"], async (server) => {
      const response = await fetch(`${server.openaiBaseUrl}/chat/completions`, { method: "POST", body: "not json" })
      expect(response.status).toBe(400)
      expect(server.requests[0]).toMatchObject({ body: undefined, rawBody: "not json" })
    }))

  it("awaitRequest waits for a request that has not arrived yet", () =>
    withServer(["ok"], async (server) => {
      const arrival = server.awaitRequest(0)
      const again = server.awaitRequest(0)
      const end = server.awaitEnd(0)
      await chatDeltas(openai(server))
      expect((await arrival).path).toBe("/v1/chat/completions")
      expect(await again).toBe(await arrival)
      expect(await end).toBe("completed")
      expect(await server.awaitRequest(0)).toBe(await arrival)
    }))
})

describe("ProviderServer: scripts", () => {
  it("a script function gets the request and its index, and may be async", () => {
    const seen: Array<[string, number]> = []
    return withServer(async (request, index) => {
      seen.push([request.path, index])
      return `answer ${index}`
    }, async (server) => {
      expect((await chatDeltas(openai(server))).join("")).toBe("answer 0")
      expect((await anthropicDeltas(anthropic(server))).join("")).toBe("answer 1")
      expect(seen).toEqual([["/v1/chat/completions", 0], ["/v1/messages", 1]])
    })
  })

  it("a script that throws, an empty script and invalid answers get a 500 that says why", async () => {
    const messageOf = async (server: ProviderServer.AsyncProviderServer): Promise<string> =>
      (await failure(openai(server).chat.completions.create(chatRequest)) as Error).message
    await withServer(() => {
      throw new Error("no answer for you")
    }, async (server) => {
      expect(await messageOf(server)).toBe("500 ProviderServer: the script failed: no answer for you")
    })
    await withServer(() => Promise.reject("plain rejection"), async (server) => {
      expect(await messageOf(server)).toContain("the script failed: plain rejection")
    })
    await withServer([], async (server) => {
      expect(await messageOf(server)).toContain("the script gave no answer for request 0 (an empty array")
    })
    // what a script in plain JavaScript could return
    const untyped = [
      { _tag: "Nope" },
      5,
      { _tag: "Reply", text: 42 },
      { _tag: "Reply", text: "x", toolCalls: [{ name: "f", arguments: { city: "Paris" } }] },
      { _tag: "Replay", body: [1, 2] }
    ] as unknown as ProviderServer.Script
    await withServer(untyped, async (server) => {
      expect(await messageOf(server)).toContain(
        "invalid answer for request 0: expected a string or a ProviderServer answer (reply, httpError, replay, unstreamed, hangup), got {\"_tag\":\"Nope\"}"
      )
      expect(await messageOf(server)).toContain("got 5")
      expect(await messageOf(server)).toContain(
        `Invalid option "answer.text": expected a string or an array of strings, got 42`
      )
      expect(await messageOf(server)).toContain(
        `Invalid option "answer.toolCalls[0].arguments": expected a string or an array of strings, got an object`
      )
      expect(await messageOf(server)).toContain(
        `Invalid option "answer.body": expected a string or a Uint8Array, got an array of 2`
      )
    })
    await withServer(
      [
        ProviderServer.reply("x", { chunkSize: 0 }),
        ProviderServer.reply("x", { toolCalls: [{ name: "f", arguments: "{}", chunkSize: 1.5 }] }),
        ProviderServer.reply("x", { delay: -1 }),
        ProviderServer.reply("x", { fault: ProviderServer.resetAfter(-1) }),
        ProviderServer.reply("x", { fault: ProviderServer.resetAfter(0, { cut: 1.5 }) }),
        ProviderServer.replay("x", { chunkSize: Number.NaN }),
        ProviderServer.httpError(200),
        ProviderServer.reply("x", { headers: { "x-bad": "line\nbreak" } })
      ],
      async (server) => {
        expect(await messageOf(server)).toContain(
          `invalid answer for request 0: Invalid option "answer.chunkSize": expected a positive integer, got 0`
        )
        expect(await messageOf(server)).toContain(
          `Invalid option "answer.toolCalls[0].chunkSize": expected a positive integer, got 1.5`
        )
        expect(await messageOf(server)).toContain(
          `Invalid option "answer.delay": expected a finite number of milliseconds ≥ 0, got -1`
        )
        expect(await messageOf(server)).toContain(
          `Invalid option "answer.fault.after": expected an integer ≥ 0, got -1`
        )
        expect(await messageOf(server)).toContain(
          `Invalid option "answer.fault.cut": expected an integer ≥ 0 or "character", got 1.5`
        )
        expect(await messageOf(server)).toContain(
          `Invalid option "answer.chunkSize": expected a positive integer, got NaN`
        )
        expect(await messageOf(server)).toContain(
          `Invalid option "answer.status": expected an integer from 400 to 599, got 200`
        )
        expect(await messageOf(server)).toContain("the script failed: Invalid character in header content")
      }
    )
  })
})

describe("ProviderServer: lifecycle", () => {
  it("close() ends a stalled response and the client's stream fails instead of hanging", async () => {
    const server = await ProviderServer.listen([ProviderServer.reply("abc", { fault: ProviderServer.stallAfter(1) })])
    const seen: Array<string> = []
    const reading = failure(chatDeltas(openai(server), seen))
    await server.awaitRequest(0)
    await server.close()
    expect(await reading).toBeInstanceOf(TypeError)
    expect(await server.awaitEnd(0)).toBe("shutdown")
    await server.close()
  })

  it.effect("start() serves for the life of the scope and then destroys stalled connections", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* ProviderServer.start([ProviderServer.reply("abc", { fault: ProviderServer.stallAfter(0) })])
        .pipe(
          Scope.provide(scope)
        )
      expect(server.openaiBaseUrl).toBe(`${server.url}/v1`)
      expect(server.anthropicBaseUrl).toBe(server.url)
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const response = yield* Effect.promise(() => post(`${server.openaiBaseUrl}/chat/completions`, chatRequest))
      const reading = yield* Effect.forkChild(Effect.tryPromise(() => response.text()))
      const request = yield* server.awaitRequest(0)
      expect(request.outcome).toBeUndefined()
      yield* Scope.close(scope, Exit.void)
      expect(yield* server.awaitEnd(0)).toBe("shutdown")
      expect(server.requests).toHaveLength(1)
      expect(Exit.isFailure(yield* Fiber.await(reading))).toBe(true)
    }))
})

describe("ProviderServer: unstreamed answers", () => {
  const toolCalls = [{ id: "call_1", name: "lookup", arguments: ["{\"q\":", "\"fox\"}"] }]
  const usage = { inputTokens: 4, outputTokens: 6 }

  it("the whole answer as the protocol's JSON, to streamed and non-streamed requests alike", () =>
    withServer(
      [ProviderServer.unstreamed(["Hel", "lo"], { toolCalls, usage, headers: { "x-gateway": "yes" } })],
      async (server) => {
        const chat = await post(`${server.openaiBaseUrl}/chat/completions`, chatRequest)
        expect(chat.status).toBe(200)
        expect(chat.headers.get("content-type")).toBe("application/json")
        expect(chat.headers.get("x-gateway")).toBe("yes")
        expect(await chat.json()).toMatchObject({
          object: "chat.completion",
          choices: [{
            index: 0,
            message: {
              role: "assistant",
              content: "Hello",
              tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: `{"q":"fox"}` } }]
            },
            finish_reason: "tool_calls"
          }],
          usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 }
        })
        const message = await anthropic(server).messages.create({ ...messagesRequest, stream: false })
        expect(message).toMatchObject({
          type: "message",
          content: [{ type: "text", text: "Hello" }, {
            type: "tool_use",
            id: "call_1",
            name: "lookup",
            input: { q: "fox" }
          }],
          stop_reason: "tool_use",
          usage: { input_tokens: 4, output_tokens: 6 }
        })
        const response = await openai(server).responses.create({ ...responsesRequest, stream: false })
        expect(response.output_text).toBe("Hello")
        expect(response).toMatchObject({
          object: "response",
          status: "completed",
          usage: { input_tokens: 4, output_tokens: 6 }
        })
      }
    ))

  it("a finish reason makes a Responses answer incomplete; Anthropic tool arguments must be a JSON object", () =>
    withServer([
      ProviderServer.unstreamed("Hi", { finishReason: "max_output_tokens" }),
      ProviderServer.unstreamed("", { toolCalls: [{ name: "lookup", arguments: "[1]" }] })
    ], async (server) => {
      const response = await openai(server).responses.create({ ...responsesRequest, stream: false })
      expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } })
      const error = await failure(anthropic(server).messages.create({ ...messagesRequest, stream: false })) as Error
      expect(error.message).toContain("lookup")
      expect(error.message).toContain("must be a JSON object in an unstreamed Anthropic answer")
    }))
})
