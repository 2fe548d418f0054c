/**
 * Continuing a cut answer instead of starting over, with the request helpers
 * of `Continuation`: an Anthropic assistant prefill and an OpenAI "continue"
 * message. A local ProviderServer plays the model: its first answer is cut
 * by a connection reset, and the retry continues from what the request says
 * was shown. No network, no API key.
 *
 * Run: npx tsx examples/continuation.ts
 */
import Anthropic from "@anthropic-ai/sdk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Continuation, L0, L0Event } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"

const CODE = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"
const STORY = "Once upon a time, a fox found a stream that never broke."

const retry = { baseDelay: "10 millis", backoff: "fixed" } as const

/** Runs the stream and prints what the user sees at each reset, then the final text. */
const show = (label: string, events: Stream.Stream<L0Event.L0Event, unknown>) =>
  Stream.runFold(events, () => "", (text, event) => {
    if (event._tag === "Reset") {
      console.log(`${label}: cut after ${JSON.stringify(text)}, keeping ${event.kept} characters`)
    }
    return L0Event.applyTo(text, event)
  }).pipe(Effect.tap((text) => Effect.sync(() => console.log(`${label}: ${JSON.stringify(text)}`))))

const main = async (): Promise<void> => {
  // Anthropic: the retry sends the code so far as an assistant prefill, without its trailing whitespace
  const claude = await ProviderServer.listen(
    ProviderServer.continuing(CODE, { replies: [{ fault: ProviderServer.resetAfter(4) }, {}] })
  )
  try {
    const client = new Anthropic({ baseURL: claude.anthropicBaseUrl, apiKey: "sk-local-test", maxRetries: 0 })
    const request = {
      model: "claude-sonnet-4-6",
      max_tokens: 1024,
      messages: [{ role: "user" as const, content: "Write a function that sums a list" }],
      stream: true as const
    }
    const code = await Effect.runPromise(show(
      "anthropic",
      L0.stream({
        stream: ({ checkpoint, signal }) =>
          client.messages.create(Continuation.anthropic(request, checkpoint), { signal }),
        continuation: Continuation.anthropicOptions,
        retry
      })
    ))
    console.log(
      `anthropic: whole code ${code === CODE}; prefill ${JSON.stringify(lastMessage(claude.requests[1]?.body))}`
    )
  } finally {
    await claude.close()
  }

  // OpenAI: the retry asks to continue; this model restates its last two words, which deduplication removes
  const gpt = await ProviderServer.listen(
    ProviderServer.continuing(STORY, {
      replies: [{ fault: ProviderServer.resetAfter(4) }, {}],
      repeat: (partial) => partial.length - (partial.lastIndexOf(" ", partial.lastIndexOf(" ") - 1) + 1)
    })
  )
  try {
    const client = new OpenAI({ baseURL: gpt.openaiBaseUrl, apiKey: "sk-local-test", maxRetries: 0 })
    const request = {
      model: "gpt-4o-mini",
      messages: [{ role: "user" as const, content: "Tell me a story" }],
      stream: true as const
    }
    const story = await Effect.runPromise(show(
      "openai",
      L0.stream({
        stream: ({ checkpoint, signal }) =>
          client.chat.completions.create(Continuation.openaiChat(request, checkpoint), { signal }),
        continuation: Continuation.openaiChatOptions,
        retry
      })
    ))
    console.log(`openai: whole story ${story === STORY}`)
  } finally {
    await gpt.close()
  }
}

const lastMessage = (body: unknown): unknown =>
  typeof body === "object" && body !== null && "messages" in body && Array.isArray(body.messages)
    ? body.messages.at(-1)
    : undefined

await main()
