/**
 * `useChat` rendering L0, two ways, on a node:http server whose providers
 * are local `ProviderServer`s that fail on purpose (a socket reset
 * mid-answer, then a fatal quota error mid-answer, then an Anthropic
 * fallback that answers):
 * - `mode: "run"`: an L0 run (`streamText` of the AI SDK as its source)
 *   sent with `AiSdk.toUIMessageStreamResponse`; each failed attempt's text
 *   is taken back with `reset-step`;
 * - `mode: "model"`: `streamText` over a model wrapped with
 *   `AiSdk.middleware`, sent with the AI SDK's own
 *   `toUIMessageStreamResponse`; the retry and the fallback continue the
 *   text.
 *
 * Run: npx tsx examples/ai-sdk-use-chat.ts --serve, then open the address
 * (add ?mode=model for the middleware). Without --serve it posts one message
 * to each endpoint, reads the answers with the AI SDK's `readUIMessageStream`
 * (what `useChat` runs) and prints them.
 */
import { createAnthropic } from "@ai-sdk/anthropic"
import { createOpenAI } from "@ai-sdk/openai"
import type { UIMessage, UIMessageChunk } from "ai"
import {
  convertToModelMessages,
  parseJsonEventStream,
  readUIMessageStream,
  streamText,
  uiMessageChunkSchema,
  wrapLanguageModel
} from "ai"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { AiSdk, L0, Sse } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"

export const ANSWER = "The quick brown fox jumps over the lazy dog, then naps in the sun."

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>effect-l0 with useChat</title></head>
<body><div id="root"></div><script type="module" src="/page.js"></script></body>
</html>
`

/** The page's script: React, `useChat` and the page, one bundle (esbuild, loaded only to serve the page). */
export const pageBundle = async (): Promise<string> => {
  const { build } = await import("esbuild")
  const result = await build({
    entryPoints: [fileURLToPath(new URL("./ai-sdk-chat-page.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    define: { "process.env.NODE_ENV": "\"production\"" },
    write: false,
    logLevel: "warning"
  })
  return result.outputFiles[0]!.text
}

/**
 * The providers of one chat request: the first two OpenAI answers fail
 * mid-answer, the Anthropic fallback answers. `continuing` serves each
 * attempt the rest of the answer after the partial answer its request
 * carries (none for a run that starts over).
 */
const providers = () =>
  ProviderServer.listen(ProviderServer.continuing(ANSWER, {
    replies: [
      { fault: ProviderServer.resetAfter(4), delay: 5 },
      { fault: ProviderServer.errorAfter(3, { type: "insufficient_quota", code: "insufficient_quota" }), delay: 5 },
      { delay: 5 }
    ]
  }))

type Providers = Awaited<ReturnType<typeof providers>>

/** L0 retries, not the AI SDK; errors are L0's to report; Anthropic wants a token limit. */
const quiet = { maxRetries: 0, onError: () => {}, maxOutputTokens: 1024 } as const

/** `mode: "run"`: an L0 run over the AI SDK's `streamText`, as a UI message stream. */
const runResponse = (server: Providers, messages: Awaited<ReturnType<typeof convertToModelMessages>>) => {
  const openai = createOpenAI({ baseURL: server.openaiBaseUrl, apiKey: "sk-example" }).chat("gpt-example")
  const anthropic = createAnthropic({ baseURL: `${server.anthropicBaseUrl}/v1`, apiKey: "sk-example" })(
    "claude-example"
  )
  return AiSdk.toUIMessageStreamResponse(L0.stream({
    stream: ({ signal }) => streamText({ model: openai, messages, abortSignal: signal, ...quiet }),
    fallbacks: [({ signal }) => streamText({ model: anthropic, messages, abortSignal: signal, ...quiet })],
    retry: { baseDelay: "10 millis" }
  }))
}

/** `mode: "model"`: the AI SDK app unchanged, its model wrapped with `AiSdk.middleware`. */
const modelResponse = (server: Providers, messages: Awaited<ReturnType<typeof convertToModelMessages>>) => {
  const model = wrapLanguageModel({
    model: createOpenAI({ baseURL: server.openaiBaseUrl, apiKey: "sk-example" }).chat("gpt-example"),
    middleware: AiSdk.middleware({
      fallbacks: [
        createAnthropic({ baseURL: `${server.anthropicBaseUrl}/v1`, apiKey: "sk-example" })("claude-example")
      ],
      retry: { baseDelay: "10 millis" }
    })
  })
  return streamText({ model, messages, maxOutputTokens: 1024, onError: () => {} }).toUIMessageStreamResponse()
}

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const chat = async (req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> => {
  const { messages, mode } = JSON.parse(await readBody(req)) as { messages: Array<UIMessage>; mode?: string }
  const server = await providers()
  res.once("close", () => void server.close())
  const modelMessages = await convertToModelMessages(messages)
  const response = mode === "model" ? modelResponse(server, modelMessages) : runResponse(server, modelMessages)
  await Sse.pipeToNode(response, res)
}

export interface Running {
  readonly url: string
  readonly close: () => Promise<void>
}

/** Serves `/api/chat` (and the page, when given its bundle) on 127.0.0.1 at a free port. */
export const listen = async (page?: string): Promise<Running> => {
  const server = Http.createServer((req, res) => {
    if (req.method === "GET" && req.url?.split("?")[0] === "/" && page !== undefined) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE)
    } else if (req.method === "GET" && req.url === "/page.js" && page !== undefined) {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(page)
    } else if (req.method === "POST" && req.url === "/api/chat") {
      chat(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)))
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** Posts one message as `useChat` does and reads the answer with the AI SDK's own reader. */
const ask = async (url: string, mode: "run" | "model") => {
  const response = await fetch(new URL("api/chat", url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      mode,
      messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "Tell me about the fox" }] }]
    })
  })
  const chunks = parseJsonEventStream({ stream: response.body!, schema: uiMessageChunkSchema })
    .pipeThrough(
      new TransformStream<{ success: boolean; value?: UIMessageChunk }, UIMessageChunk>({
        transform: (result, controller) => {
          if (result.success && result.value !== undefined) controller.enqueue(result.value)
        }
      })
    )
  let last: UIMessage | undefined
  for await (const message of readUIMessageStream({ stream: chunks })) last = message
  return last?.parts.map((part) => part.type === "text" ? part.text : "").join("") ?? ""
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--serve")) {
    const { url } = await listen(await pageBundle())
    console.log(`Open ${url} or ${url}?mode=model (Ctrl+C to stop)`)
  } else {
    const running = await listen()
    try {
      console.log(`run:   ${await ask(running.url, "run")}`)
      console.log(`model: ${await ask(running.url, "model")}`)
    } finally {
      await running.close()
    }
  }
}
