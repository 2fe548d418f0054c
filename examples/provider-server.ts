/**
 * Testing your own LLM code against ProviderServer: the real `openai` client,
 * a local server, a scripted rate limit, a streamed answer and a stall that
 * the caller aborts. No network, no API key.
 *
 * Run: npx tsx examples/provider-server.ts
 */
import { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"

/** The code under test: streams an answer to `onText` and returns the whole text. */
const answer = async (
  client: OpenAI,
  question: string,
  options: { readonly signal?: AbortSignal; readonly onText?: (text: string) => void } = {}
): Promise<string> => {
  const stream = await client.chat.completions.create(
    { model: "gpt-4o-mini", messages: [{ role: "user", content: question }], stream: true },
    { signal: options.signal }
  )
  let text = ""
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? ""
    options.onText?.(text)
  }
  return text
}

const main = async (): Promise<void> => {
  const server = await ProviderServer.listen([
    ProviderServer.httpError(429, { retryAfter: 1 }),
    ProviderServer.reply("Paris is the capital of France.", { chunkSize: 5, delay: 2 }),
    ProviderServer.reply("This answer never ends", { fault: ProviderServer.stallAfter(2) })
  ])
  try {
    const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: "sk-local-test", maxRetries: 0 })

    try {
      await answer(client, "Capital of France?")
    } catch (error) {
      if (!(error instanceof OpenAI.APIError)) throw error
      console.log(`1st request: ${error.status}, retry-after ${error.headers?.get("retry-after")}`)
    }

    console.log(`2nd request: ${JSON.stringify(await answer(client, "Capital of France?"))}`)

    // the user gives up on an answer that stopped coming
    const controller = new AbortController()
    const partial = await answer(client, "Tell me a long story", {
      signal: controller.signal,
      onText: (text) => text.length >= 8 && controller.abort()
    })
    console.log(`3rd request: ${JSON.stringify(partial)} before the abort`)
    console.log(`the server saw the 3rd request end as: ${await server.awaitEnd(2)}`)

    const first = server.requests[0]
    console.log(`recorded: ${first?.method} ${first?.path}, authorization ${first?.headers["authorization"]}`)
  } finally {
    await server.close()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
