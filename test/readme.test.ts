import * as Fs from "node:fs"
import { beforeAll, describe, expect, it } from "vitest"
import { check, extract, format, fromFiles, type Problem } from "./markdownCode.js"

const documents = ["README.md", ...Fs.readdirSync("docs").filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)]

/** A document the harness must reject, with the lines it must name. */
const broken = extract("broken.md", [
  "# Broken",
  "",
  "```ts",
  "import { L0 } from \"effect-l0\"",
  "export const text = L0.text({ stream: 42 })",
  "```",
  "",
  "```ts fragment",
  "const n: number = yield* L0.text(options)",
  "```",
  "",
  "```typescript",
  "const x = 1",
  "```"
].join("\n"))

describe("markdown code blocks", () => {
  const { blocks, problems } = fromFiles(documents)
  let inDocuments: Array<Problem> = []
  let inBroken: Array<Problem> = []

  beforeAll(() => {
    // one TypeScript program for every block: the package sources are checked once
    const found = [...problems, ...check([...blocks, ...broken.blocks])]
    inDocuments = found.filter((problem) => problem.file !== "broken.md")
    inBroken = [...broken.problems, ...found.filter((problem) => problem.file === "broken.md")]
  }, 300_000)

  it("every TypeScript block of the README and docs/ type-checks against the package", () => {
    expect(blocks.length).toBeGreaterThan(20)
    expect(format(inDocuments)).toBe("")
  })

  it("a block that does not type-check is reported at its markdown line", () => {
    expect(inBroken.map((problem) => problem.line)).toEqual([12, 5, 9])
    expect(format(inBroken)).toMatch(/unknown code block type "typescript"/)
  })
})
