import { isDeepStrictEqual } from "node:util"
import { JsonRepair } from "effect-l0"
import { jsonrepair } from "jsonrepair"
import * as Result from "effect/Result"
import { describe, expect, it } from "vitest"
import { anchor, brokenLinks, documents, headings, read, withoutCode } from "../scripts/docs.js"
import { FIGURES, problems, quoted, tables, values, write } from "../scripts/figures.js"
import { corpus } from "./json-corpus.js"

describe("the documents", () => {
  it("are the README and every guide under docs/, subfolders included, the API reference left out", () => {
    const files = documents()
    expect(files[0]).toBe("README.md")
    expect(files).toContain("docs/README.md")
    expect(files).toContain("docs/errors-and-retries.md")
    expect(files.some((file) => file.startsWith("docs/api/"))).toBe(false)
  })

  it("the README is a front page", () => {
    expect(read("README.md").split("\n").length).toBeLessThanOrEqual(450)
  })

  it("the index lists every guide", () => {
    const index = read("docs/README.md")
    const listed = new Set([...index.matchAll(/\]\(([^)#]+\.md)\)/g)].map(([, target]) => `docs/${target}`))
    const guides = documents().filter((file) => file.startsWith("docs/") && file !== "docs/README.md")
    expect(guides.filter((guide) => !listed.has(guide))).toEqual([])
  })

  it("every guide links the API reference", () => {
    const guides = documents().filter((file) => file.startsWith("docs/") && file !== "docs/README.md")
    expect(guides.filter((guide) => !/\]\((\.\.\/)*(docs\/)?api\//.test(read(guide)))).toEqual([])
  })
})

describe("links", () => {
  it("every link of the README and the guides reaches a file, a heading or a page of the API reference", () => {
    expect(brokenLinks()).toEqual([])
  })

  it("anchors are computed as GitHub computes them", () => {
    expect(anchor("From the Vercel AI SDK's `streamText`")).toBe("from-the-vercel-ai-sdks-streamtext")
    expect(anchor("A live run: L0.start")).toBe("a-live-run-l0start")
    expect(anchor("Try it in 30 seconds, without a key")).toBe("try-it-in-30-seconds-without-a-key")
    expect(anchor("From `@ai2070/l0`")).toBe("from-ai2070l0")
    expect(headings("# A\n\n## Notes\n\n```md\n## Not a heading\n```\n\n## Notes").map((h) => h.anchor))
      .toEqual(["a", "notes", "notes-1"])
  })

  it("a link to a missing file, heading or API page is reported with its line", () => {
    const files: Record<string, string> = {
      "docs/a.md": [
        "# A",
        "",
        "[ok](b.md#second) [ok too](#a) [web](https://example.com) [code](`x`)",
        "[gone](missing.md) [no heading](b.md#third) [self](#nowhere)",
        "```md",
        "[inside code](missing-too.md)",
        "```",
        "[api](api/modules/index.L0.html) [no api](api/modules/index.Nope.html) `[span](missing.md)`"
      ].join("\n"),
      "docs/b.md": "# B\n\n## Second\n"
    }
    expect(brokenLinks(["docs/a.md"], (file) => files[file])).toEqual([
      "docs/a.md:4: missing.md: no such file",
      "docs/a.md:4: b.md#third: no heading #third in docs/b.md",
      "docs/a.md:4: #nowhere: no heading #nowhere in docs/a.md",
      "docs/a.md:8: api/modules/index.Nope.html: no such page in the API reference"
    ])
  })
})

/**
 * Quantities that are settings, not measurements: the size of the
 * benchmark's checkpoint, the soak's heap bound, a rule of the original L0.
 */
const SETTINGS = ["a 4 KiB checkpoint", "over 32 MiB", "faster than 100 ms"]

/** A size, a duration in µs or ms, or a ratio such as `1.50x`: what a measurement looks like. */
const measured = /-?\d[\d,.]*\s?(?:B|KB|KiB|MiB|GiB|µs|ms)\b|\b\d+(?:\.\d+)?x\b/g

describe("figures", () => {
  it("every figure quoted in the README and the guides is the one BENCHMARKS.md or SOAK.md reports", () => {
    expect(problems()).toEqual([])
  })

  it("no measured figure is written by hand, outside the markers", () => {
    const found = documents().flatMap((file) =>
      withoutCode(read(file)).replace(/<!-- figure:[\w-]+ -->[\s\S]*?<!-- \/figure -->/g, "FIGURE").split("\n")
        .flatMap((line, index) =>
          [...line.matchAll(measured)]
            .filter((match) => !SETTINGS.some((setting) => line.includes(setting) && setting.includes(match[0].trim())))
            .map((match) => `${file}:${index + 1}: ${match[0]}`)
        )
    )
    expect(found).toEqual([])
  })

  it("each figure is read from its report's table by section, row and column", () => {
    const figures = values()
    expect(Object.keys(FIGURES).every((name) => figures.has(name))).toBe(true)
    const bundle = tables(read("BENCHMARKS.md")).get("Bundle size")!
    const row = bundle.rows.find((cells) => cells[0] === "L0.stream" && cells[1] === "effect-l0/L0")!
    expect(row[2]!.startsWith(figures.get("bundle-stream")!)).toBe(true)
    expect(figures.get("soak-checked")).toBe(
      Number(tables(read("SOAK.md")).get("")!.rows.find(([label]) => label === "characters checked")![1])
        .toLocaleString("en-US")
    )
  })

  it("a stale figure is reported and rewritten; an unknown one is refused", () => {
    const figures = new Map([["bundle-stream", "178.6 KiB"]])
    const stale = "bundles to <!-- figure:bundle-stream -->94 KiB<!-- /figure --> minified"
    expect(quoted(stale)).toEqual([{ name: "bundle-stream", value: "94 KiB" }])
    expect(write(stale, figures)).toBe("bundles to <!-- figure:bundle-stream -->178.6 KiB<!-- /figure --> minified")
    expect(() => write("<!-- figure:nope -->1<!-- /figure -->", figures)).toThrow(/unknown figure "nope"/)
    // in code, a marker is an example of one
    const example =
      "`<!-- figure:nope -->1<!-- /figure -->`\n```md\n<!-- figure:bundle-stream -->x<!-- /figure -->\n```\n"
    expect(write(example, figures)).toBe(example)
    expect(quoted(example)).toEqual([])
    const staleQuote = problems(["README.md"], new Map([...values(), ["bundle-stream", "1 KiB"]]))
    expect(staleQuote).toContain(
      `README.md: figure "bundle-stream" is "${values().get("bundle-stream")}", the reports say "1 KiB"`
    )
  })

  it("the JSON repair comparison quotes the corpus as the tests count it", () => {
    const value = (result: Result.Result<unknown, unknown>) => Result.isSuccess(result) ? result.success : undefined
    const ours = corpus.filter(({ expected, input }) => isDeepStrictEqual(value(JsonRepair.parse(input)), expected))
    const theirs = corpus.filter(({ expected, input }) => {
      try {
        return isDeepStrictEqual(JSON.parse(jsonrepair(input)), expected)
      } catch {
        return false
      }
    })
    const guide = read("docs/structured-output.md")
    expect(guide).toContain(`a corpus of ${corpus.length} broken replies`)
    expect(guide).toContain(`| effect-l0 \`JsonRepair.parse\` | ${ours.length} / ${corpus.length} |`)
    expect(guide).toContain(`| \`jsonrepair\` 3.15.0 + \`JSON.parse\` | ${theirs.length} / ${corpus.length} |`)
  })
})
