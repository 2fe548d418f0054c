import { describe, expect, it } from "vitest"
import { check, type Problem } from "./markdownCode.js"

/** A user's file, compiled against the package as a reader who copies it would. */
const file = (name: string, code: string) => ({ file: name, line: 1, fragment: false, code: code.split("\n") })

describe("type errors name public types", () => {
  let problems: ReadonlyArray<Problem> = []
  const of = (name: string) => problems.filter((problem) => problem.file === name).map((problem) => problem.message)

  it("compiles the files", { timeout: 300_000 }, () => {
    problems = check([
      file(
        "forgotten-stream.ts",
        [
          `import { L0 } from "effect-l0"`,
          `import OpenAI from "openai"`,
          `const client = new OpenAI()`,
          `export const text = L0.text({`,
          `  stream: ({ signal }) => client.chat.completions.create({ model: "m", messages: [] }, { signal })`,
          `})`
        ].join("\n")
      ),
      file(
        "named-source.ts",
        [
          `import { L0 } from "effect-l0"`,
          `import OpenAI from "openai"`,
          `const client = new OpenAI()`,
          `const request = (signal: AbortSignal): L0.StreamSource =>`,
          `  client.chat.completions.create({ model: "m", messages: [], stream: true }, { signal })`,
          `export const text = L0.text({ stream: ({ signal }) => request(signal) })`
        ].join("\n")
      )
    ])
    expect(problems.length).toBeGreaterThan(0)
  })

  it("a forgotten stream: true names L0.StreamSource, the type of what a factory may return", () => {
    const messages = of("forgotten-stream.ts")
    expect(messages).toHaveLength(1)
    expect(messages[0]).toContain("is not assignable to type 'StreamSource<never>'")
    expect(messages[0]).not.toContain("Produced")
  })

  it("L0.StreamSource types a streamed SDK request", () => {
    expect(of("named-source.ts")).toEqual([])
  })
})
