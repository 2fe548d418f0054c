/**
 * Wrap the model: an AI SDK app keeps its `streamText` and `generateText`
 * calls and gets L0's retries, timeouts and fallbacks by wrapping its model
 * with `AiSdk.middleware`. The providers are a local `ProviderServer` that
 * fails on purpose: a socket reset mid-answer (the retry continues the
 * text), a 503 before the first token, and an OpenAI key that is refused
 * (the Anthropic fallback answers).
 *
 * Run: npx tsx examples/ai-sdk-middleware.ts
 */
import { createAnthropic } from "@ai-sdk/anthropic"
import { createOpenAI } from "@ai-sdk/openai"
import { generateText, streamText, wrapLanguageModel } from "ai"
import { AiSdk, L0Async } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"

const ANSWER = "The quick brown fox jumps over the lazy dog."

const reliable = (server: ProviderServer.Addresses) =>
  wrapLanguageModel({
    model: createOpenAI({ baseURL: server.openaiBaseUrl, apiKey: "sk-example" }).chat("gpt-example"),
    middleware: AiSdk.middleware({
      fallbacks: [
        createAnthropic({ baseURL: `${server.anthropicBaseUrl}/v1`, apiKey: "sk-example" })("claude-example")
      ],
      retry: { maxAttempts: 3, baseDelay: "10 millis" },
      timeout: { initialToken: "10 seconds", interToken: "5 seconds" },
      // the callbacks of L0Async, or any layer: EventBus, ProviderHealth, a tracer
      layer: L0Async.layer({
        onRetry: (info) => console.log(`  attempt ${info.attempt} after a ${info.category} error`),
        onFallback: (info) => console.log(`  fallback ${info.fallbackIndex} after a ${info.category} error`)
      })
    })
  })

const withProviders = async (
  script: ProviderServer.Script,
  f: (server: ProviderServer.AsyncProviderServer) => Promise<void>
) => {
  const server = await ProviderServer.listen(script)
  try {
    await f(server)
  } finally {
    await server.close()
  }
}

// a reset mid-answer: the retry asks the model to continue, and the stream goes on where it stopped
await withProviders(
  ProviderServer.continuing(ANSWER, { replies: [{ fault: ProviderServer.resetAfter(3) }, {}] }),
  async (server) => {
    const result = streamText({ model: reliable(server), prompt: "Tell me about the fox", onError: () => {} })
    let text = ""
    for await (const delta of result.textStream) text += delta
    console.log(`streamText: ${text} (${server.requests.length} requests)`)
  }
)

// a 503 before the first token, retried by L0 (the AI SDK's own maxRetries adds none)
await withProviders([ProviderServer.httpError(503), ANSWER], async (server) => {
  const { text } = await generateText({ model: reliable(server), prompt: "Tell me about the fox" })
  console.log(`generateText: ${text} (${server.requests.length} requests)`)
})

// a refused key is fatal for OpenAI: the Anthropic model answers
await withProviders(
  (request) => request.protocol === "anthropic" ? ANSWER : ProviderServer.httpError(401),
  async (server) => {
    const { text } = await generateText({
      model: reliable(server),
      prompt: "Tell me about the fox",
      maxOutputTokens: 1024
    })
    console.log(`fallback: ${text} (${server.requests.map((request) => request.protocol).join(", ")})`)
  }
)
