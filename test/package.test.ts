import { readFileSync } from "node:fs"
import { Adapters as IndexAdapters, Guardrails as IndexGuardrails, L0 as IndexL0 } from "effect-l0"
import * as Adapters from "effect-l0/Adapters"
import * as Guardrails from "effect-l0/Guardrails"
import * as L0 from "effect-l0/L0"
import { describe, expect, it } from "vitest"
import pkg from "../package.json" with { type: "json" }

const read = (file: string): string => readFileSync(new URL(`../${file}`, import.meta.url), "utf8")

/** `export * as Name from "./file.js"` lines of an index. */
const namespaces = (index: string): Array<{ readonly name: string; readonly file: string }> =>
  [...read(index).matchAll(/^export \* as (\w+) from "\.\/(.+)\.js"$/gm)].map(([, name, file]) => ({
    name: name!,
    file: file!
  }))

const formats = (file: string) => ({
  import: { types: `./dist/${file}.d.ts`, default: `./dist/${file}.js` },
  require: { types: `./dist/${file}.d.cts`, default: `./dist/${file}.cjs` }
})

describe("package.json", () => {
  it("exports each namespace of the index as a subpath, at its module's path in dist, in both formats", () => {
    const modules = namespaces("src/index.ts")
    expect(modules.length).toBeGreaterThan(10)
    const exports: Record<string, unknown> = pkg.exports
    for (const { file, name } of modules) expect(exports[`./${name}`], name).toEqual(formats(file))
    expect(exports["."]).toEqual(formats("index"))
    expect(exports["./testing"]).toEqual(formats("testing/index"))
    expect(exports["./client"]).toEqual(formats("client"))
    expect(Object.keys(exports).sort()).toEqual(
      [".", "./package.json", "./testing", "./client", ...modules.map(({ name }) => `./${name}`)].sort()
    )
  })

  it("ships the MIT license that it declares", () => {
    expect(pkg.license).toBe("MIT")
    expect(read("LICENSE")).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /)
    expect(pkg.files).toContain("LICENSE")
  })
})

describe("subpath imports", () => {
  it("are the namespaces of the index, value for value", () => {
    expect(L0.stream).toBe(IndexL0.stream)
    expect(Guardrails.recommended).toBe(IndexGuardrails.recommended)
    expect(Adapters.openaiChat).toBe(IndexAdapters.openaiChat)
  })
})
