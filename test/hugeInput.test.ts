import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { L0 } from "effect-l0"
import { ProviderServer, TestSource } from "effect-l0/testing"
import { httpClients, sdkClients } from "./clients.js"
import { ampleTimeout } from "./support.js"

/** 2 MiB of text with multi-byte characters (2-, 3- and 4-byte UTF-8) spread through it. */
const HUGE = Array.from({ length: 1 << 16 }, (_, i) => `tök ${i} — 𝄞 `).join("").slice(0, 2 * 1024 * 1024)

const fast = { retry: { backoff: "fixed", baseDelay: 0, maxRetries: 0 }, timeout: ampleTimeout } as const

describe("huge chunks", () => {
  it.effect("a single multi-megabyte token passes through whole", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["start ", HUGE, " end"])
      const result = yield* L0.run({ stream: source.stream })
      expect(result.text.length).toBe(HUGE.length + 10)
      expect(result.text === `start ${HUGE} end`).toBe(true)
      expect(result.state.tokenCount).toBe(3)
    }))

  for (const client of [...sdkClients, ...httpClients]) {
    it.live(`${client.name}: a 2 MiB delta in one SSE event arrives whole, multi-byte characters intact`, () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* ProviderServer.start([ProviderServer.reply(["a", HUGE, "z"])])
        const text = yield* L0.text({ stream: client.source(server), ...fast })
        expect(text.length).toBe(HUGE.length + 2)
        expect(text === `a${HUGE}z`).toBe(true)
      })))
  }
})
