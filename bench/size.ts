/**
 * Bundle sizes: what an application's bundle carries for the parts of
 * effect-l0 it imports. The package is built as it is published (`npm run
 * build`) and placed in a temporary node_modules beside `effect`; esbuild
 * bundles a small entry per row, minified, as an ES module for Node, with
 * `effect` bundled and the provider SDKs left external, as an application's
 * bundler would.
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { gzipSync } from "node:zlib"
import { build } from "esbuild"
import type { Outcome, Row } from "./report.js"
import * as report from "./report.js"

const root = path.resolve(import.meta.dirname, "..")

interface Entry {
  readonly name: string
  readonly imports: string
  readonly source: string
}

const ENTRIES: ReadonlyArray<Entry> = [
  {
    name: "L0.stream, from the namespace index",
    imports: `effect-l0`,
    source: `import { L0 } from "effect-l0"\nexport const use = [L0.stream]`
  },
  {
    name: "L0.stream",
    imports: `effect-l0/L0`,
    source: `import * as L0 from "effect-l0/L0"\nexport const use = [L0.stream]`
  },
  {
    name: "L0.stream + Guardrails.recommended",
    imports: `+ effect-l0/Guardrails`,
    source: [
      `import * as L0 from "effect-l0/L0"`,
      `import * as Guardrails from "effect-l0/Guardrails"`,
      `export const use = [L0.stream, Guardrails.recommended]`
    ].join("\n")
  },
  {
    name: "L0.stream + Guardrails.recommended + Structured.structured",
    imports: `+ effect-l0/Structured`,
    source: [
      `import * as L0 from "effect-l0/L0"`,
      `import * as Guardrails from "effect-l0/Guardrails"`,
      `import * as Structured from "effect-l0/Structured"`,
      `export const use = [L0.stream, Guardrails.recommended, Structured.structured]`
    ].join("\n")
  },
  {
    name: "everything",
    imports: `export * from "effect-l0"`,
    source: `export * from "effect-l0"`
  }
]

/** The built package in `<dir>/node_modules/effect-l0`, with `effect` beside it. */
const install = (dir: string): void => {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
  const pkg = path.join(dir, "node_modules", "effect-l0")
  mkdirSync(pkg, { recursive: true })
  cpSync(path.join(root, "package.json"), path.join(pkg, "package.json"))
  cpSync(path.join(root, "dist"), path.join(pkg, "dist"), { recursive: true })
  symlinkSync(path.join(root, "node_modules", "effect"), path.join(dir, "node_modules", "effect"))
}

interface Measured {
  readonly bytes: number
  readonly gzip: number
  /** The part of `bytes` that comes from effect-l0's own files. */
  readonly own: number
}

const measure = async (dir: string, entry: Entry): Promise<Measured> => {
  const result = await build({
    stdin: { contents: entry.source, resolveDir: dir, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    external: ["openai", "@anthropic-ai/sdk"],
    write: false,
    metafile: true,
    logLevel: "error"
  })
  const code = result.outputFiles[0]!.contents
  const inputs = Object.values(result.metafile.outputs)[0]!.inputs
  const own = Object.entries(inputs)
    .filter(([file]) => file.includes("node_modules/effect-l0/"))
    .reduce((sum, [, input]) => sum + input.bytesInOutput, 0)
  return { bytes: code.length, gzip: gzipSync(code).length, own }
}

/** The largest share that a bundle of `L0.stream` alone may be of everything. */
const BUDGET = 0.6

export const run = async (): Promise<Outcome> => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "effect-l0-size-"))
  try {
    install(dir)
    const sizes: Array<Measured> = []
    for (const entry of ENTRIES) sizes.push(await measure(dir, entry))
    const everything = sizes.at(-1)!.bytes
    const rows: Array<Row> = ENTRIES.map((entry, i) => ({
      workload: entry.name,
      size: entry.imports,
      measured: `${report.bytes(sizes[i]!.bytes)} (gzip ${report.bytes(sizes[i]!.gzip)}; effect-l0 ${
        report.bytes(sizes[i]!.own)
      })`,
      ratio: report.ratio(sizes[i]!.bytes / everything)
    }))
    const alone = sizes[1]!.bytes / everything
    return {
      sections: [{
        title: "Bundle size",
        description:
          "esbuild, minified ES module for Node, `effect` bundled, the provider SDKs external; the rest of " +
          "the bundle is the part of `effect` that the imported code uses. Ratio against everything. The subpaths " +
          "(`effect-l0/L0`, `effect-l0/Guardrails`, …) leave out the modules they do not import; a namespace of " +
          "the index (`import { L0 } from \"effect-l0\"`) carries the whole namespace: `L0` re-exports " +
          "`structured`, `consensus` and the multi-stream functions.",
        rows
      }],
      budgets: [{
        name: "bundle of L0.stream alone (effect-l0/L0) against everything",
        limit: `≤ ${report.ratio(BUDGET)}`,
        measured: report.ratio(alone),
        pass: alone <= BUDGET
      }]
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
