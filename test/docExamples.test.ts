import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { describe, expect, it } from "vitest"

/**
 * Every `**Example**` block in the JSDoc of src/ is compiled against the
 * package's sources, as a user would write it: the namespaces of the package,
 * Effect's modules and the usual clients are in scope, and the free names the
 * examples share (`options`, `client`, `request`, …) are declared below.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..")

interface Example {
  readonly file: string
  /** 1-based line of the example's first code line in `file`. */
  readonly line: number
  readonly code: string
}

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith(".ts") ? [path] : []
  })

/** The fenced `ts` blocks that follow an `**Example**` heading in a doc comment. */
const examplesOf = (file: string): Array<Example> => {
  const lines = readFileSync(file, "utf8").split("\n")
  const found: Array<Example> = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*\*\*Example\*\*/.test(lines[i]!)) continue
    const open = lines.findIndex((line, j) => j > i && /^\s*\*\s*```ts\s*$/.test(line))
    const close = lines.findIndex((line, j) => j > open && /^\s*\*\s*```\s*$/.test(line))
    if (open < 0 || close < 0) throw new Error(`${relative(root, file)}:${i + 1}: an Example without a closed ts block`)
    const code = lines.slice(open + 1, close).map((line) => line.replace(/^\s*\*( |$)/, "")).join("\n")
    found.push({ file: relative(root, file), line: open + 2, code })
  }
  return found
}

/** The namespaces of the package, as `src/index.ts` exports them. */
const namespaces = [...readFileSync(join(root, "src", "index.ts"), "utf8").matchAll(/^export \* as (\w+) from/gm)]
  .map(([, name]) => name!)

const imports: ReadonlyArray<readonly [name: string, statement: string]> = [
  ...namespaces.map((name) => [name, `import { ${name} } from "effect-l0"`] as const),
  ["ProviderServer", `import { ProviderServer } from "effect-l0/testing"`],
  ["TestSource", `import { TestSource } from "effect-l0/testing"`],
  ["read", `import { read } from "effect-l0/client"`],
  ...["Console", "Effect", "Fiber", "Layer", "Redacted", "References", "Result", "Schedule", "Schema", "Stream"].map((
    name
  ) => [name, `import * as ${name} from "effect/${name}"`] as const),
  ["TestClock", `import * as TestClock from "effect/testing/TestClock"`],
  ["LanguageModel", `import { LanguageModel } from "effect/ai"`],
  ["pipe", `import { pipe } from "effect/Function"`],
  ["HttpRouter", `import * as HttpRouter from "effect/http/HttpRouter"`],
  ["HttpServerResponse", `import * as HttpServerResponse from "effect/http/HttpServerResponse"`],
  ["OpenAI", `import OpenAI from "openai"`],
  ["http", `import * as http from "node:http"`],
  ["readFileSync", `import { readFileSync } from "node:fs"`],
  ["expect", `import { expect } from "vitest"`]
]

/** The free names the examples share, declared once for all of them. */
const ambient = `
import type Anthropic from "@anthropic-ai/sdk"
import type { LanguageModel } from "effect/ai"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import type { L0 } from "effect-l0"
import type { TestSource } from "effect-l0/testing"
import type OpenAI from "openai"

declare global {
  const options: L0.L0Options
  const gpt: L0.L0Options
  const claude: L0.L0Options
  const gemini: L0.L0Options
  const stream: L0.SourceFactory
  const toOptions: (input: string) => L0.L0Options
  const ctx: L0.AttemptContext
  const openai: OpenAI
  const client: OpenAI
  const anthropic: Anthropic
  const model: string
  const messages: Array<{ role: "user"; content: string }>
  const request: OpenAI.ChatCompletionCreateParamsStreaming
  const chatRequest: OpenAI.ChatCompletionCreateParamsStreaming
  const messagesRequest: Anthropic.MessageCreateParamsStreaming
  const body: Anthropic.MessageCreateParamsStreaming
  const ask: (prompt: string, signal: AbortSignal) => AsyncIterable<string>
  const summarize: (text: string, signal: AbortSignal) => AsyncIterable<string>
  const prompts: ReadonlyArray<string>
  const documents: ReadonlyArray<string>
  const report: string
  const question: string
  const email: string
  const prompt: string
  const passages: ReadonlyArray<{ readonly body: string; readonly url: string }>
  const Person: Schema.Struct<{ readonly name: Schema.String; readonly born: Schema.Number }>
  const Todo: Schema.Struct<{ readonly title: Schema.String; readonly done: Schema.Boolean }>
  const OpenAiModel: Layer.Layer<LanguageModel.LanguageModel>
  const AnthropicModel: Layer.Layer<LanguageModel.LanguageModel>
  const openaiKey: Redacted.Redacted<string>
  const anthropicKey: Redacted.Redacted<string>
  const answer: HTMLElement
  const source: TestSource.TestSource
}
`

/** The Vercel AI SDK is not a dependency: the functions the examples call, loosely typed. */
const aiModule = `
declare module "ai" {
  export function streamText(options: Record<string, unknown>): { readonly fullStream: AsyncIterable<unknown> }
  export function wrapLanguageModel(options: { readonly model: unknown; readonly middleware: unknown }): unknown
}
`

/** An example as a module: its own imports first, then the shared ones it does not shadow, then its code. */
const moduleOf = (example: Example): { readonly text: string; readonly offset: number } => {
  const lines = example.code.split("\n")
  const own = lines.filter((line) => /^import /.test(line))
  const body = lines.map((line) => /^import /.test(line) ? "" : line)
  const ownNames = new Set(own.flatMap((line) => [...line.matchAll(/\b([A-Za-z_$][\w$]*)\b/g)].map(([name]) => name)))
  const shared = imports.filter(([name]) => !ownNames.has(name)).map(([, statement]) => statement)
  const head = [...own, ...shared, "export {}"]
  const generator = /\byield\*/.test(example.code)
  const text = [...head, generator ? "export const example = Effect.gen(function*() {" : "", ...body,
    generator ? "})" : ""]
    .join("\n")
  return { text, offset: head.length + 1 }
}

const checkExamples = (examples: ReadonlyArray<Example>): Array<string> => {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  if (config === undefined) throw new Error("tsconfig.json cannot be read")
  // examples show a call and leave its result unused
  const options = { ...config.options, noUnusedLocals: false, noUnusedParameters: false }
  const dir = join(root, "test", "__doc_examples__")
  const virtual = new Map<string, { readonly text: string; readonly example?: Example; readonly offset: number }>()
  virtual.set(join(dir, "ambient.d.ts"), { text: ambient, offset: 0 })
  virtual.set(join(dir, "ai.d.ts"), { text: aiModule, offset: 0 })
  examples.forEach((example, i) => {
    const { offset, text } = moduleOf(example)
    virtual.set(join(dir, `example${i}.ts`), { text, example, offset })
  })
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.fileExists = (path) => virtual.has(path) || ts.sys.fileExists(path)
  host.readFile = (path) => virtual.get(path)?.text ?? ts.sys.readFile(path)
  host.getSourceFile = (path, language, ...rest) => {
    const file = virtual.get(path)
    return file === undefined
      ? getSourceFile(path, language, ...rest)
      : ts.createSourceFile(path, file.text, language, true)
  }
  const program = ts.createProgram([...virtual.keys()], options, host)
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
    const file = diagnostic.file === undefined ? undefined : virtual.get(diagnostic.file.fileName)
    if (diagnostic.file === undefined || diagnostic.start === undefined || file?.example === undefined) {
      return `${diagnostic.file?.fileName ?? "?"}: ${message}`
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    return `${file.example.file}:${file.example.line + line - file.offset}: ${message}`
  })
}

describe("JSDoc examples", () => {
  const examples = sourceFiles(join(root, "src")).flatMap(examplesOf)
  // a broken example compiled with the others shows that errors are found and located
  const broken: Example = { file: "src/Broken.ts", line: 40, code: "yield* Effect.void\nconst n: number = L0.stream" }
  let errors: ReadonlyArray<string> | undefined
  const compiled = () => errors ??= checkExamples([...examples, broken])

  it("are found in the sources", () => {
    expect(examples.length).toBeGreaterThan(50)
  })

  it("type-check against the package's sources", { timeout: 300_000 }, () => {
    expect(compiled().filter((error) => !error.startsWith("src/Broken.ts:"))).toEqual([])
  })

  it("a broken one is reported at its line in the source", { timeout: 300_000 }, () => {
    const reported = compiled().filter((error) => error.startsWith("src/Broken.ts:"))
    expect(reported).toHaveLength(1)
    expect(reported[0]).toMatch(/^src\/Broken\.ts:41: Type .* is not assignable to type 'number'/)
  })
})
