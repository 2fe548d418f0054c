import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { L0, L0Event } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"
import { API_KEY } from "./clients.js"
import { ampleTimeout } from "./support.js"

const messages = [{ role: "user" as const, content: "Hello" }]

/** Each request is answered by its model name: "slow" streams one chunk then stalls, "fast" answers at once. */
const script: ProviderServer.Script = (request) => {
  const model = (request.body as { readonly model?: unknown } | undefined)?.model
  return model === "slow"
    ? ProviderServer.reply("A slow answer that never ends", { chunkSize: 2, fault: ProviderServer.stallAfter(1) })
    : ProviderServer.reply("A fast answer.", { chunkSize: 4 })
}

const optionsFor = (server: ProviderServer.Addresses, model: string): L0.L0Options => {
  const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
  return {
    stream: ({ signal }) => client.chat.completions.create({ model, messages, stream: true }, { signal }),
    timeout: ampleTimeout
  }
}

const indexOf = (server: ProviderServer.ProviderServer, model: string): number =>
  server.requests.findIndex((request) => (request.body as { readonly model?: unknown }).model === model)

describe("multi-stream over HTTP with the openai client", () => {
  it.live("a race's losing HTTP request is disconnected", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start(script)
      const { index, result } = yield* L0.race([
        optionsFor(server, "slow"),
        optionsFor(server, "fast")
      ])
      expect([index, result.text]).toEqual([1, "A fast answer."])
      expect(yield* server.awaitEnd(indexOf(server, "slow"))).toBe("disconnected")
      expect(yield* server.awaitEnd(indexOf(server, "fast"))).toBe("completed")
    })))

  it.live("a hedged request wins over a stalled one, whose connection is closed", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start((request, index) =>
        index === 0 ? ProviderServer.reply("never", { fault: ProviderServer.stallAfter(0) }) : script(request, index)
      )
      const text = yield* L0.hedge(optionsFor(server, "fast"), { after: "50 millis" }).pipe(
        Stream.runFold(() => "", L0Event.applyTo)
      )
      expect(text).toBe("A fast answer.")
      expect(server.requests).toHaveLength(2)
      expect(yield* server.awaitEnd(0)).toBe("disconnected")
    })))

  it.live("a consensus decided early disconnects the requests still open", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* ProviderServer.start(script)
      const { agreement, value } = yield* L0.consensus([
        optionsFor(server, "fast"),
        optionsFor(server, "fast"),
        optionsFor(server, "slow")
      ], { strategy: "majority" })
      expect([value, agreement]).toEqual(["A fast answer.", 2 / 3])
      expect(yield* server.awaitEnd(indexOf(server, "slow"))).toBe("disconnected")
    })))
})
