import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { build } from "esbuild"
import { ProviderServer } from "effect-l0/testing"
import { beforeAll, describe, expect, it } from "vitest"
import { type Block, check, extract, format, fromFiles, type Problem } from "./markdownCode.js"

const run = promisify(execFile)

const documents = ["README.md",
  ...Fs.readdirSync("docs").filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)]

/** A document the harness must reject, with the lines it must name. */
const broken = extract(
  "broken.md",
  [
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
  ].join("\n")
)

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

/** The complete blocks of a README section, by its heading. */
const sectionBlocks = (heading: string): Array<Block> => {
  const text = Fs.readFileSync("README.md", "utf8")
  const start = text.indexOf(`\n## ${heading}\n`)
  const end = text.indexOf("\n## ", start + 1)
  const before = text.slice(0, start).split("\n").length
  return extract("README.md", text.slice(start, end)).blocks
    .filter((block) => !block.fragment)
    .map((block) => ({ ...block, line: block.line + before }))
}

/** Bundles a block as the file a reader saves, runs it with the OpenAI client pointed at `baseUrl`; its output. */
const runBlock = async (block: Block, baseUrl: string): Promise<string> => {
  const bundled = await build({
    stdin: {
      contents: block.code.join("\n"),
      resolveDir: process.cwd(),
      sourcefile: `README.md:${block.line}`,
      loader: "ts"
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    tsconfig: "tsconfig.json",
    write: false,
    logLevel: "warning"
  })
  const file = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "l0-readme-")), "quickstart.mjs")
  Fs.writeFileSync(file, bundled.outputFiles[0]!.text)
  try {
    const env = { ...process.env, OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: "test-key" }
    const { stdout } = await run(process.execPath, [file], { env, timeout: 60_000 })
    return stdout
  } finally {
    Fs.rmSync(Path.dirname(file), { recursive: true, force: true })
  }
}

describe("the quick starts", () => {
  it("run as written, through a reset, against a local OpenAI-compatible server", async () => {
    const [effect, async] = sectionBlocks("Quick start")
    expect([effect?.fragment, async?.fragment]).toEqual([false, false])
    const answer = "Hello from the quick start."
    // every other request is cut after two chunks, so each run shows a reset and its retry
    const server = await ProviderServer.listen((_, index) =>
      ProviderServer.reply(answer, index % 2 === 0 ? { fault: ProviderServer.resetAfter(2) } : {})
    )
    try {
      const reset = "Hello fr\n[retrying: keep the first 0 characters]\n"
      expect(await runBlock(effect!, server.openaiBaseUrl)).toBe(`${reset}${answer}`)
      expect(await runBlock(async!, server.openaiBaseUrl)).toBe(`${answer}\n${reset}${answer}`)
      expect(server.requests).toHaveLength(6)
    } finally {
      await server.close()
    }
  }, 180_000)
})

/** GitHub's anchor for a heading. */
const anchor = (heading: string): string =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, "").replace(/ /g, "-")

describe("the README's contents", () => {
  it("link every section and subsection, in order", () => {
    const text = Fs.readFileSync("README.md", "utf8")
    const outsideCode = text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, "")
    const headings = [...outsideCode.matchAll(/^(##|###) (.+)$/gm)]
      .filter(([, , title]) => title !== "Contents")
      .map(([, level, title]) => `${level === "###" ? "  " : ""}- [${title}](#${anchor(title!)})`)
    const contents = text.slice(text.indexOf("## Contents\n"), text.indexOf("\n## ", text.indexOf("## Contents\n") + 1))
    expect(contents.split("\n").filter((line) => line.trimStart().startsWith("- ["))).toEqual(headings)
  })
})
