import { createOpenAI } from "@ai-sdk/openai"
import { streamText } from "ai"
import { streamText as streamText6 } from "ai6"
import { createOpenAI as createOpenAI6 } from "ai6-openai"
import type { L0 } from "effect-l0"
import type { ProviderServer } from "effect-l0/testing"
import type { Client } from "./clients.js"
import { API_KEY } from "./clients.js"

/** The AI SDK's `streamText` as L0 is told to call it: its retries off, the attempt's signal, errors not printed. */
export type StreamText = (options: {
  readonly model: never
  readonly prompt: string
  readonly maxRetries: 0
  readonly abortSignal: AbortSignal
  readonly onError: () => void
}) => { readonly fullStream: AsyncIterable<unknown> }

/** How the source hands the call to L0: the `streamText` result object itself, or its `fullStream`. */
export type Form = "result" | "fullStream"

/** `streamText(...).fullStream` of ai 7 (`@ai-sdk/openai` 4) and ai 6 (`@ai-sdk/openai` 3), Chat and Responses. */
const variants = [
  { major: "ai 7", streamText: streamText as unknown as StreamText, provider: createOpenAI },
  { major: "ai 6", streamText: streamText6 as unknown as StreamText, provider: createOpenAI6 }
] as const

/** The model of one variant, for a source that passes its own `abortSignal`. */
export interface AiSdkClient extends Client {
  readonly major: "ai 7" | "ai 6"
  readonly streamText: StreamText
  readonly model: (server: ProviderServer.Addresses) => never
  /** `source` returns the result object; this one returns its `fullStream`. */
  readonly fullStreamSource: (server: ProviderServer.Addresses) => L0.SourceFactory
}

export const aiSdkClients: ReadonlyArray<AiSdkClient> = variants.flatMap(({ major, provider, streamText }) =>
  (["chat", "responses"] as const).map((api): AiSdkClient => {
    const model = (server: ProviderServer.Addresses) => {
      const openai = provider({ baseURL: server.openaiBaseUrl, apiKey: API_KEY })
      return (api === "chat" ? openai.chat("gpt-test") : openai.responses("gpt-test")) as never
    }
    const call = (server: ProviderServer.Addresses) => {
      const m = model(server)
      return (signal: AbortSignal) =>
        streamText({ model: m, prompt: "Hello", maxRetries: 0, abortSignal: signal, onError: () => {} })
    }
    return {
      name: `${major} streamText ${api === "chat" ? "openai.chat" : "openai.responses"}`,
      protocol: api === "chat" ? "openai-chat" : "openai-responses",
      major,
      streamText,
      model,
      source: (server): L0.SourceFactory => {
        const start = call(server)
        return ({ signal }) => start(signal)
      },
      fullStreamSource: (server): L0.SourceFactory => {
        const start = call(server)
        return ({ signal }) => start(signal).fullStream
      }
    }
  })
)
