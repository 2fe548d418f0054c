/**
 * Wrap the stream: hand the result of the AI SDK's `streamText` or
 * `streamObject` to L0 as the source of each attempt. The providers are a
 * local `ProviderServer` whose first answers end before their finish marker
 * (the AI SDK reports such a cut answer as finished; L0 retries it).
 *
 * Run: npx tsx examples/ai-sdk-stream.ts
 */
import { createOpenAI } from "@ai-sdk/openai"
import { streamObject, streamText } from "ai"
import { L0Async } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import { z } from "zod"

const ANSWER = "The quick brown fox jumps over the lazy dog."
const FOX = "{\"name\":\"Fox\",\"colour\":\"red\"}" // streamObject is deprecated in ai 7 in favour of streamText with an output; both work as sources
;(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false

const server = await ProviderServer.listen((request, index) => {
  const body = request.body as { readonly response_format?: unknown }
  const answer = body.response_format === undefined ? ANSWER : FOX
  return index % 2 === 0 ? ProviderServer.reply(answer, { fault: ProviderServer.endAfter(3) }) : answer
})
const model = createOpenAI({ baseURL: server.openaiBaseUrl, apiKey: "sk-example" }).chat("gpt-example")

try {
  const text = await L0Async.text({
    // the attempt's signal, the AI SDK's retries off (L0 retries), its error printing off (L0 reports)
    stream: ({ signal }) =>
      streamText({ model, prompt: "Tell me about the fox", abortSignal: signal, maxRetries: 0, onError: () => {} }),
    retry: { baseDelay: "10 millis" }
  }, { onRetry: (info) => console.log(`  attempt ${info.attempt} after a ${info.category} error`) })
  console.log(`text: ${text}`)

  const Fox = z.object({ name: z.string(), colour: z.string() })
  const fox = await L0Async.structured(Fox, {
    stream: ({ signal }) =>
      streamObject({ model, schema: Fox, prompt: "A fox", abortSignal: signal, maxRetries: 0, onError: () => {} }),
    retry: { baseDelay: "10 millis" }
  })
  console.log(`object: ${JSON.stringify(fox)} (${server.requests.length} requests)`)
} finally {
  await server.close()
}
