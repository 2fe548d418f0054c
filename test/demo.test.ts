import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ANSWER, scenario, summary, table } from "../examples/demo-scenario.js"
import { ampleTimeout } from "./support.js"

describe("npm run demo", () => {
  it.live("the scripted scenario: 429 waited out, reset, overloaded, fallback, the answer once", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      // no timeout may fire: on a busy machine the fallback's SDK can take seconds to load
      const result = yield* scenario({
        write: (text) => written.push(text),
        retryAfter: 0.05,
        chunkDelay: 0,
        timeout: ampleTimeout
      })
      expect(result.text).toBe(ANSWER)
      expect(result.fallbackIndex).toBe(1)
      expect(result.resets).toBe(2)
      expect(result.requests).toEqual([3, 1])
      const types = result.events.map((e) => e.type)
      expect(types.filter((t) => t.startsWith("error_"))).toEqual(["error_transient", "error_network",
        "error_transient"])
      expect(result.events.find((e) => e.type === "retry_attempt")?.data.delayMs).toBe(50)
      expect(types).toContain("fallback_success")
      const output = written.join("")
      expect(output).toContain("⇢ retries spent, falling back to anthropic")
      expect(output.endsWith(`${ANSWER}\n  ✓ complete (end_turn)\n`)).toBe(true)
      const rendered = table(result.events)
      expect(rendered.split("\n").length).toBe(result.events.length + 1)
      expect(rendered).toMatch(/fallback_start\s+3\s+openai\s+→ anthropic/)
      expect(summary(result, 1234)).toBe(
        `✓ ${ANSWER.length} characters from anthropic after 3 failed attempt(s) and 2 reset(s), in 1.2 s; no token shown twice in the final text`
      )
    }))
})
