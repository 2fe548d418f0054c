import { execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { build } from "esbuild"
import { beforeAll, describe, expect, it } from "vitest"
import { documents as allDocuments, headings } from "../scripts/docs.js"
import { type Block, check, extract, format, fromFiles, type Problem } from "./markdownCode.js"

const run = promisify(execFile)

const documents = allDocuments()

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

  it("every TypeScript block of the README and docs/ (subfolders included) type-checks against the package", () => {
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

/** Bundles a block as the file a reader saves; the path of the bundle, in a directory of its own. */
const bundle = async (block: Block): Promise<string> => {
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
  const file = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "l0-readme-")), "block.mjs")
  Fs.writeFileSync(file, bundled.outputFiles[0]!.text)
  return file
}

/** Runs a bundled block to its end with `env`; its output. */
const runBlock = async (block: Block, env: Record<string, string>): Promise<string> => {
  const file = await bundle(block)
  try {
    const { stdout } = await run(process.execPath, [file], { env: { ...process.env, ...env }, timeout: 60_000 })
    return stdout
  } finally {
    Fs.rmSync(Path.dirname(file), { recursive: true, force: true })
  }
}

/**
 * Starts the README's local provider as a reader does (`npx tsx provider.mts`)
 * and reads the variables it prints; `stop` ends that process.
 */
const startProvider = async (block: Block) => {
  const file = await bundle(block)
  const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "inherit"] })
  const stop = () => {
    child.kill()
    Fs.rmSync(Path.dirname(file), { recursive: true, force: true })
  }
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let output = ""
      const timer = setTimeout(() => reject(new Error(`no variables printed within 60 s: ${output}`)), 60_000)
      child.stdout.on("data", (data: Buffer) => {
        output += data.toString("utf8")
        if (output.includes("\n")) {
          clearTimeout(timer)
          resolve(output.slice(0, output.indexOf("\n")))
        }
      })
      child.on("exit", (code) => {
        clearTimeout(timer)
        reject(new Error(`the provider exited with ${code}: ${output}`))
      })
    })
    const env = Object.fromEntries(line.split(" ").map((pair) => pair.split("=", 2) as [string, string]))
    return { env, stop }
  } catch (error) {
    stop()
    throw error
  }
}

describe("the quick starts", () => {
  it("run as written, through a reset, against the README's local provider, set by OPENAI_BASE_URL", async () => {
    const [provider] = sectionBlocks("Try it in 30 seconds, without a key")
    const [effect, async] = sectionBlocks("Quick start")
    expect([provider?.fragment, effect?.fragment, async?.fragment]).toEqual([false, false, false])
    const { env, stop } = await startProvider(provider!)
    try {
      expect(Object.keys(env)).toEqual(["OPENAI_BASE_URL", "OPENAI_API_KEY"])
      expect(env.OPENAI_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
      // the provider cuts every other answer after two chunks, so each run shows a reset and its retry
      const answer = "Hello from a local provider."
      const reset = "Hello fr\n[retrying: keep the first 0 characters]\n"
      expect(await runBlock(effect!, env)).toBe(`${reset}${answer}`)
      expect(await runBlock(async!, env)).toBe(`${answer}\n${reset}${answer}`)
    } finally {
      stop()
    }
  }, 180_000)
})

describe("the README's contents", () => {
  it("link every section and subsection, in order", () => {
    const text = Fs.readFileSync("README.md", "utf8")
    const expected = headings(text)
      .filter(({ level, title }) => (level === 2 || level === 3) && title !== "Contents")
      .map(({ anchor, level, title }) => `${level === 3 ? "  " : ""}- [${title}](#${anchor})`)
    const contents = text.slice(text.indexOf("## Contents\n"), text.indexOf("\n## ", text.indexOf("## Contents\n") + 1))
    expect(contents.split("\n").filter((line) => line.trimStart().startsWith("- ["))).toEqual(expected)
  })
})
