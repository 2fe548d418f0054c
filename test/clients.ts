import Anthropic from "@anthropic-ai/sdk"
import { Adapters } from "effect-l0"
import type { L0 } from "effect-l0"
import type { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"

/** A key that must never show up in errors, events or logs. */
export const API_KEY = "sk-test-0123456789abcdefSECRET"

/** One way to reach a protocol: a real SDK client or the raw SSE factory. */
export interface Client {
  readonly name: string
  readonly protocol: ProviderServer.Protocol
  readonly source: (server: ProviderServer.Addresses) => L0.SourceFactory
}

const messages = [{ role: "user" as const, content: "Hello" }]

const openai = (server: ProviderServer.Addresses) =>
  new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })

const anthropic = (server: ProviderServer.Addresses) =>
  new Anthropic({ baseURL: server.anthropicBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })

export const sdkClients: ReadonlyArray<Client> = [
  {
    name: "openai SDK chat.completions",
    protocol: "openai-chat",
    source: (server) => {
      const client = openai(server)
      return ({ signal }) =>
        client.chat.completions.create(
          { model: "gpt-test", messages, stream: true, stream_options: { include_usage: true } },
          { signal }
        )
    }
  },
  {
    name: "openai SDK responses",
    protocol: "openai-responses",
    source: (server) => {
      const client = openai(server)
      return ({ signal }) => client.responses.create({ model: "gpt-test", input: "Hello", stream: true }, { signal })
    }
  },
  {
    name: "Anthropic SDK messages",
    protocol: "anthropic",
    source: (server) => {
      const client = anthropic(server)
      return ({ signal }) =>
        client.messages.create({ model: "claude-test", max_tokens: 256, messages, stream: true }, { signal })
    }
  }
]

export const httpClients: ReadonlyArray<Client> = [
  {
    name: "Adapters.openaiHttp chat",
    protocol: "openai-chat",
    source: (server) =>
      Adapters.openaiHttp({
        baseUrl: server.openaiBaseUrl,
        apiKey: API_KEY,
        body: { model: "gpt-test", messages, stream_options: { include_usage: true } }
      })
  },
  {
    name: "Adapters.openaiHttp responses",
    protocol: "openai-responses",
    source: (server) =>
      Adapters.openaiHttp({
        baseUrl: server.openaiBaseUrl,
        path: "/responses",
        apiKey: API_KEY,
        body: { model: "gpt-test", input: "Hello" }
      })
  },
  {
    name: "Adapters.anthropicHttp",
    protocol: "anthropic",
    source: (server) =>
      Adapters.anthropicHttp({
        baseUrl: server.anthropicBaseUrl,
        apiKey: API_KEY,
        body: { model: "claude-test", max_tokens: 256, messages }
      })
  }
]

export const allClients: ReadonlyArray<Client> = [...sdkClients, ...httpClients]
