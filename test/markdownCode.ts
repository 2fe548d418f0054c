/**
 * Type-checks the TypeScript code blocks of markdown files against the
 * package sources, the way a reader who copies them would compile them.
 *
 * - ```` ```ts ```` is a complete file: it is checked as written.
 * - ```` ```ts fragment ```` is a piece of a program: its own imports are kept,
 *   the namespaces of `effect` and `effect-l0` it does not import are imported
 *   for it, the names of `prelude` (a `client`, `options`, …) are declared,
 *   and a body that uses `yield*` runs inside `Effect.gen`.
 *
 * All blocks go into one TypeScript program (the sources are checked once),
 * and each diagnostic names the markdown file and line it comes from.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import ts from "typescript"

export interface Block {
  readonly file: string
  /** 1-based line of the first line of code, after the opening fence. */
  readonly line: number
  readonly fragment: boolean
  readonly code: ReadonlyArray<string>
}

export interface Problem {
  readonly file: string
  readonly line: number
  readonly message: string
}

const root = Path.resolve(import.meta.dirname, "..")
const fence = /^( *)(`{3,}|~{3,})(.*)$/

/** Info strings that mean TypeScript; any other spelling of it is refused so no block escapes the check. */
const typescriptInfo = /^(ts|typescript|tsx)\b/

/** The TypeScript blocks of a markdown text; a block opened with another TypeScript spelling is a problem. */
export const extract = (file: string, text: string): { blocks: Array<Block>; problems: Array<Problem> } => {
  const lines = text.split("\n")
  const blocks: Array<Block> = []
  const problems: Array<Problem> = []
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i]!)
    if (open === null) continue
    const [, indent, marker, rawInfo] = open
    const info = rawInfo!.trim()
    const body: Array<string> = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const close = fence.exec(lines[j]!)
      if (close !== null && close[2]!.startsWith(marker!) && close[3]!.trim() === "") break
      body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!)
    }
    if (info === "ts" || info === "ts fragment") {
      blocks.push({ file, line: i + 2, fragment: info === "ts fragment", code: body })
    } else if (typescriptInfo.test(info)) {
      problems.push({ file, line: i + 1, message: `unknown code block type "${info}": use "ts" or "ts fragment"` })
    }
    i = j
  }
  return { blocks, problems }
}

const importLine = /^import\s+(?:type\s+)?(.+?)\s+from\s+["'][^"']+["']\s*;?\s*$/

/** The local names an import clause binds: `A`, `* as A`, `{ a, b as c }`. */
const importedNames = (clause: string): Array<string> =>
  clause.split(/[{},]/).map((part) => part.trim()).filter((part) => part !== "").map((part) =>
    part.split(/\s+as\s+/).pop()!.replace(/^type\s+/, "").replace(/^\*\s*/, "").trim()
  )

const effectNames = ["Duration", "Effect", "Fiber", "Layer", "Redacted", "Result", "Schedule", "Schema", "Stream"]
const effectL0Names = [
  "Adapter",
  "Adapters",
  "AnswerBuffer",
  "Consensus",
  "Continuation",
  "EventBus",
  "EventLog",
  "Fleet",
  "Guardrail",
  "Guardrails",
  "JsonRepair",
  "L0",
  "L0Async",
  "L0Error",
  "L0Event",
  "L0State",
  "Multi",
  "Pipeline",
  "Prompt",
  "Retry",
  "Sse",
  "Structured",
  "Timeout",
  "Window"
]

/**
 * What fragments may use without defining it: a global script, so a name a
 * fragment defines itself shadows it.
 */
const preludeText = `
type OpenAIClient = import("openai").default
type ChatRequest = import("openai/resources/chat/completions").ChatCompletionCreateParamsStreaming
type L0Options = import("effect-l0").L0.L0Options
declare const client: OpenAIClient
declare const openai: OpenAIClient
declare const request: ChatRequest
declare const model: string
declare const options: L0Options
declare const stream: L0Options["stream"]
declare const signal: AbortSignal
declare const gpt: L0Options
declare const claude: L0Options
declare const gemini: L0Options
declare const openaiOptions: L0Options
declare const anthropicOptions: L0Options
declare const requests: ReadonlyArray<L0Options>
declare const documents: ReadonlyArray<string>
declare const toOptions: (document: string) => L0Options
declare const passages: ReadonlyArray<string>
declare const question: string
declare const report: string
declare const summarize: (text: string) => ChatRequest
declare const ask: (prompt: string) => L0Options["stream"]
declare const decode: (result: import("effect-l0").L0.L0Result) => import("effect").Effect.Effect<{ readonly total: number }, import("effect-l0").L0Error.L0Error>
declare const metrics: { readonly record: (type: string, data: unknown) => void }
declare const requestId: string
declare const show: (event: import("effect-l0").L0Event.L0Event) => import("effect").Effect.Effect<void>
declare const mySummarizer: (client: OpenAIClient, text: string) => Promise<string>
declare const anthropic: import("@anthropic-ai/sdk").default
declare const body: import("@anthropic-ai/sdk/resources/messages").MessageCreateParamsStreaming
declare const orderId: string
declare const invoiceExists: (number: string) => Promise<boolean>
declare const OpenAiModel: import("effect").Layer.Layer<import("effect/ai").LanguageModel.LanguageModel>
declare const AnthropicModel: import("effect").Layer.Layer<import("effect/ai").LanguageModel.LanguageModel>
`

interface Source {
  readonly text: string
  /** The markdown line of each line of `text`; 0 for lines the harness added. */
  readonly lines: ReadonlyArray<number>
}

/** The TypeScript file for a block, with the markdown line of each of its lines. */
export const toSource = (block: Block): Source => {
  const lines: Array<string> = []
  const origin: Array<number> = []
  const add = (text: string, line: number) => {
    lines.push(text)
    origin.push(line)
  }
  if (!block.fragment) {
    block.code.forEach((text, k) => add(text, block.line + k))
    add("export {}", 0)
    return { text: lines.join("\n"), lines: origin }
  }
  const own = new Set<string>()
  const body: Array<[string, number]> = []
  block.code.forEach((text, k) => {
    const imported = importLine.exec(text)
    if (imported === null) return body.push([text, block.line + k])
    importedNames(imported[1]!).forEach((name) => own.add(name))
    add(text, block.line + k)
  })
  const missing = (names: ReadonlyArray<string>) => names.filter((name) => !own.has(name)).join(", ")
  if (missing(effectNames) !== "") add(`import { ${missing(effectNames)} } from "effect"`, 0)
  if (missing(effectL0Names) !== "") add(`import { ${missing(effectL0Names)} } from "effect-l0"`, 0)
  const generator = body.some(([text]) => /\byield\*/.test(text))
  add("export {}", 0)
  if (generator) add("export const program = Effect.gen(function*() {", 0)
  body.forEach(([text, line]) => add(text, line))
  if (generator) add("})", 0)
  return { text: lines.join("\n"), lines: origin }
}

const compilerOptions = (): ts.CompilerOptions => {
  const configPath = Path.join(root, "tsconfig.json")
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  // a fragment shows one use of a name; an unused one is not a mistake in a README
  return { ...parsed.options, noUnusedLocals: false, noUnusedParameters: false, noEmit: true }
}

/** Type-checks the blocks in one program; returns the problems, located in the markdown. */
export const check = (blocks: ReadonlyArray<Block>): Array<Problem> => {
  const sources = new Map<string, { block: Block; source: Source }>()
  const prelude = Path.join(root, "test", ".markdown-code", "prelude.d.ts")
  sources.set(prelude, {
    block: { file: "prelude.d.ts", line: 1, fragment: false, code: [] },
    source: { text: preludeText, lines: [] }
  })
  blocks.forEach((block, index) => {
    const name = Path.join(root, "test", ".markdown-code", `${Path.basename(block.file)}.${block.line}.${index}.ts`)
    sources.set(name, { block, source: toSource(block) })
  })
  const options = compilerOptions()
  const host = ts.createCompilerHost(options)
  const { fileExists, getSourceFile, readFile } = host
  host.fileExists = (name) => sources.has(name) || fileExists.call(host, name)
  host.readFile = (name) => sources.get(name)?.source.text ?? readFile.call(host, name)
  host.getSourceFile = (name, language, onError, create) => {
    const entry = sources.get(name)
    return entry === undefined
      ? getSourceFile.call(host, name, language, onError, create)
      : ts.createSourceFile(name, entry.source.text, language)
  }
  const program = ts.createProgram([...sources.keys()], options, host)
  const problems: Array<Problem> = []
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
    const entry = diagnostic.file === undefined ? undefined : sources.get(diagnostic.file.fileName)
    if (entry === undefined) {
      problems.push({ file: diagnostic.file?.fileName ?? "(program)", line: 0, message })
      continue
    }
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
    const origin = entry.source.lines[line] ?? 0
    problems.push({ file: entry.block.file, line: origin === 0 ? entry.block.line : origin, message })
  }
  return problems
}

/** The blocks and extraction problems of markdown files, by path relative to the project. */
export const fromFiles = (files: ReadonlyArray<string>): { blocks: Array<Block>; problems: Array<Problem> } => {
  const blocks: Array<Block> = []
  const problems: Array<Problem> = []
  for (const file of files) {
    const extracted = extract(file, Fs.readFileSync(Path.join(root, file), "utf8"))
    blocks.push(...extracted.blocks)
    problems.push(...extracted.problems)
  }
  return { blocks, problems }
}

export const format = (problems: ReadonlyArray<Problem>): string =>
  problems.map((problem) => `${problem.file}:${problem.line}: ${problem.message}`).join("\n")
