import { describe, expect, it } from "vitest"
import { check, type Problem } from "./markdownCode.js"

/** A user's file, compiled against the package as a reader who copies it would. */
const file = (name: string, code: ReadonlyArray<string>) => ({ file: name, line: 1, fragment: false, code })

const header = [
  `import * as Effect from "effect/Effect"`,
  `import * as Stream from "effect/Stream"`,
  `import { Checkpoint, L0, L0Error, Structured } from "effect-l0"`,
  `import * as Schema from "effect/Schema"`,
  `declare const source: () => AsyncIterable<string>`,
  `type Runnable<A> = Effect.Effect<A, L0Error.L0Error, never>`
]

describe("a run with a sessionId requires a CheckpointStore", () => {
  let problems: ReadonlyArray<Problem> = []
  const of = (name: string) => problems.filter((problem) => problem.file === name).map((problem) => problem.message)

  it("compiles the files", { timeout: 300_000 }, () => {
    problems = check([
      file("forgotten-store.ts", [
        ...header,
        `export const text: Runnable<string> = L0.text({ stream: source, sessionId: "order-42" })`
      ]),
      file("forgotten-store-stream.ts", [
        ...header,
        `export const events: Stream.Stream<unknown, unknown, never> = L0.stream({ stream: source, sessionId: "order-42", resume: true })`
      ]),
      file("forgotten-store-structured.ts", [
        ...header,
        `export const value: Runnable<unknown> = Structured.structured(Schema.Struct({ a: Schema.Number }), { stream: source, sessionId: "order-42" })`
      ]),
      file("provided-store.ts", [
        ...header,
        `export const text: Runnable<string> = L0.text({ stream: source, sessionId: "order-42" }).pipe(`,
        `  Effect.provide(Checkpoint.layerMemory)`,
        `)`,
        `export const started = Effect.scoped(L0.start({ stream: source, sessionId: "order-42" })).pipe(`,
        `  Effect.provide(Checkpoint.layerMemory)`,
        `)`,
        `export const checkedStart: Effect.Effect<L0.Handle, never, never> = started`
      ]),
      file("no-session.ts", [
        ...header,
        `export const text: Runnable<string> = L0.text({ stream: source })`,
        `export const run: Runnable<L0.L0Result> = L0.run({ stream: source, fallbacks: [source] })`
      ]),
      file("untyped-options.ts", [
        ...header,
        `// options the compiler cannot read: the missing store is a FatalError at run time`,
        `const options: L0.L0Options = { stream: source, ...JSON.parse("{\\"sessionId\\":\\"order-42\\"}") }`,
        `export const text: Runnable<string> = L0.text(options)`,
        `// a sessionId that may be absent does not make the store a requirement either`,
        `declare const maybe: string | undefined`,
        `export const maybeText: Runnable<string> = L0.text({ stream: source, sessionId: maybe })`
      ])
    ])
    expect(problems.length).toBeGreaterThan(0)
  })

  it("options written out with a sessionId and no store layer do not compile, and name CheckpointStore", () => {
    for (const name of ["forgotten-store.ts", "forgotten-store-stream.ts", "forgotten-store-structured.ts"]) {
      const messages = of(name)
      expect(messages, name).toHaveLength(1)
      expect(messages[0], name).toContain("Type 'CheckpointStore' is not assignable to type 'never'")
    }
  })

  it("providing a store layer satisfies the requirement", () => {
    expect(of("provided-store.ts")).toEqual([])
  })

  it("a run without a sessionId requires no store", () => {
    expect(of("no-session.ts")).toEqual([])
  })

  it("options typed L0Options (from JSON, say) compile and are checked at run time", () => {
    expect(of("untyped-options.ts")).toEqual([])
  })
})
