/**
 * `npm run docs:figures`: every measured figure the README and the guides
 * quote (bundle sizes, overheads, heap, soak counts) is written between
 * markers, `<!-- figure:name -->…<!-- /figure -->`, from the tables that
 * `npm run bench` writes to BENCHMARKS.md and `npm run soak` to SOAK.md.
 * Run it after either; `--check` only reports the figures that disagree and
 * exits with 1 (test/docs.test.ts runs the same check).
 *
 * A figure is read from a table row by its section and first cells, so a
 * new measurement moves every quote of it at once. To quote a new figure,
 * add it to FIGURES and put the marker where it is quoted.
 */
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { documents, read, root } from "./docs.js"

/** A Markdown table of a report: its header and rows of cells. */
interface Table {
  readonly header: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
}

const cellsOf = (line: string): Array<string> =>
  line.trim().replace(/^\||\|$/g, "").split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll("\\|", "|"))

/** The tables of a report by the title of the `##` section they are in. */
export const tables = (text: string): Map<string, Table> => {
  const found = new Map<string, Table>()
  let section = ""
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const title = /^## (.+)$/.exec(lines[i]!)
    if (title !== null) section = title[1]!.trim()
    if (!lines[i]!.startsWith("|") || !/^\|[\s:|-]+\|$/.test(lines[i + 1]?.trim() ?? "")) continue
    const rows: Array<Array<string>> = []
    let j = i + 2
    for (; j < lines.length && lines[j]!.startsWith("|"); j++) rows.push(cellsOf(lines[j]!))
    found.set(section, { header: cellsOf(lines[i]!), rows })
    i = j - 1
  }
  return found
}

/** A cell of a report's table, found by its section, the first cells of its row and its column. */
export interface Cell {
  readonly report: "BENCHMARKS.md" | "SOAK.md"
  readonly section: string
  readonly row: ReadonlyArray<string>
  readonly column: string
}

export class FigureError extends Error {}

const cellOf = (reports: ReadonlyMap<string, Map<string, Table>>, cell: Cell): string => {
  const table = reports.get(cell.report)?.get(cell.section)
  if (table === undefined) throw new FigureError(`${cell.report} has no table in a section "${cell.section}"`)
  const column = table.header.indexOf(cell.column)
  if (column < 0) throw new FigureError(`${cell.report} "${cell.section}" has no column "${cell.column}"`)
  const rows = table.rows.filter((row) => cell.row.every((value, i) => row[i] === value))
  if (rows.length !== 1) {
    throw new FigureError(`${cell.report} "${cell.section}" has ${rows.length} rows ${JSON.stringify(cell.row)}`)
  }
  return rows[0]![column]!
}

/** The first thing of a cell that looks like a figure: `178.6 KiB (gzip …)` gives `178.6 KiB`. */
const lead = (pattern: RegExp) => (value: string): string => {
  const match = pattern.exec(value)
  if (match === null) throw new FigureError(`"${value}" holds no ${pattern}`)
  return match[1] ?? match[0]
}
const size = lead(/^-?[\d.]+ (?:B|KiB|MiB|GiB)/)
const ratio = lead(/^[\d.]+x/)
const time = lead(/^-?[\d.]+ (?:µs|ms|s)/)
/** `2000 of 2000, …` gives `2,000`. */
const count = (value: string): string => Number(lead(/^\d+/)(value)).toLocaleString("en-US")
const same = (value: string): string => value

const bench = (section: string, row: ReadonlyArray<string>, column: string): Cell => ({
  report: "BENCHMARKS.md",
  section,
  row,
  column
})
const budget = (name: string, column: "Limit" | "Measured" = "Measured") => bench("Budgets", [name], column)
const soak = (figure: string): Cell => ({ report: "SOAK.md", section: "", row: [figure], column: "value" })

type Figure = readonly [Cell, (value: string) => string] | ((from: ReadonlyMap<string, Map<string, Table>>) => string)

/** A whole table of a report, as Markdown between blank lines. */
const table = (report: Cell["report"], section: string) => (from: ReadonlyMap<string, Map<string, Table>>): string => {
  const found = from.get(report)?.get(section)
  if (found === undefined) throw new FigureError(`${report} has no table in a section "${section}"`)
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`
  return ["", "", line(found.header), `|${found.header.map(() => " --- ").join("|")}|`, ...found.rows.map(line), "", ""]
    .join("\n")
}

/** Every figure the documents may quote, by the name its markers carry. */
export const FIGURES: Readonly<Record<string, Figure>> = {
  "budgets": table("BENCHMARKS.md", "Budgets"),
  "bundle-stream": [bench("Bundle size", ["L0.stream", "effect-l0/L0"], "Measured"), size],
  "bundle-stream-index": [bench("Bundle size", ["L0.stream, from the namespace index"], "Measured"), size],
  "bundle-everything": [bench("Bundle size", ["everything"], "Measured"), size],
  "budget-overhead-limit": [budget("per-token overhead at 100k tokens: L0.stream + Guardrails.recommended", "Limit"),
    lead(/[\d.]+x/)],
  "budget-overhead": [budget("per-token overhead at 100k tokens: L0.stream + Guardrails.recommended"), ratio],
  "budget-http-limit": [budget("HTTP overhead, paced stream (openai client through L0.stream)", "Limit"), lead(/\d+%/)],
  "budget-http": [budget("HTTP overhead, paced stream (openai client through L0.stream)"), same],
  "budget-heap": [budget("heap with 10,000 concurrent L0 streams"), same],
  "heap-per-stream": [
    bench("Concurrency, heap (workload 6)", ["L0.stream (runForEachArray)", "10000 x 200"], "Measured"),
    size
  ],
  "setup-per-stream": [bench("Time to first token (workload 7)", [
    "L0.stream: call → first Token (setup included)"
  ], "Measured"), lead(/\(\+([\d.]+ (?:µs|ms))\)/)],
  "ttft-overhead": [
    bench("Time to first token (workload 7)", ["L0.stream: source's first chunk → first Token"], "Measured"),
    time
  ],
  "concurrency-1000": [bench("Concurrency, wall time (workload 6)", [
    "L0.stream (runForEachArray), Effect.forEach unbounded",
    "1000 x 200"
  ], "Ratio"), ratio],
  "async-events": [bench("Plain async consumers", ["L0Async.events, for await"], "Ratio"), ratio],
  "async-batches": [bench("Plain async consumers", ["L0Async.batches, for await over arrays"], "Ratio"), ratio],
  "async-text": [bench("Plain async consumers", ["L0Async.text"], "Ratio"), ratio],
  "async-l0-text": [bench("Plain async consumers", ["L0.text"], "Ratio"), ratio],
  "async-run-for-each-array": [bench("Plain async consumers", ["L0.stream, Stream.runForEachArray"], "Ratio"), ratio],
  "async-run-for-each": [bench("Plain async consumers", ["L0.stream, Stream.runForEach"], "Ratio"), ratio],
  "async-to-async-iterable": [
    bench("Plain async consumers", ["L0.stream, for await over Stream.toAsyncIterable"], "Ratio"),
    ratio
  ],
  "async-floor-pump": [bench("Plain async consumers", ["floor: pump and for await over its arrays, no L0"], "Ratio"),
    ratio],
  "async-floor-direct": [
    bench("Plain async consumers", ["floor: for await reading the generator directly, no L0"], "Ratio"),
    ratio
  ],
  "checkpoint-save-file": [bench("Checkpoint saves", ["file store: save of a 4 KiB checkpoint"], "Ratio"), time],
  "checkpoint-save-redis": [bench("Checkpoint saves", ["Redis store: save of a 4 KiB checkpoint"], "Ratio"), time],
  "checkpoints-4-file": [bench("Checkpoints per token", ["file store, 4 saves/s"], "Ratio"), ratio],
  "checkpoints-4-redis": [bench("Checkpoints per token", ["Redis store, 4 saves/s"], "Ratio"), ratio],
  "checkpoints-1000-file": [bench("Checkpoints per token", ["file store, 1000 saves/s"], "Ratio"), ratio],
  "checkpoints-1000-redis": [bench("Checkpoints per token", ["Redis store, 1000 saves/s"], "Ratio"), ratio],
  "checkpoint-save-share": (from) => {
    const micros = Number(
      lead(/^([\d.]+) µs/)(cellOf(
        from,
        bench("Checkpoint saves", [
          "file store: save of a 4 KiB checkpoint"
        ], "Ratio")
      ))
    )
    // the default of checkpoint.writesPerSecond
    return `${(4 * micros / 10_000).toFixed(1)}%`
  },
  "circuit-seen": [bench("A circuit opened by another process", ["B sees the circuit open"], "Measured"), time],
  "circuit-fallback": [bench("A circuit opened by another process", ["B's run skips to the fallback"], "Measured"),
    time],
  "soak-streams": [soak("streams"), count],
  "soak-concurrency": [soak("streams"), lead(/, (\d+) concurrent/)],
  "soak-ok": [soak("streams ok"), count],
  "soak-interrupted": [soak("interrupted on purpose"), count],
  "soak-typed-failures": [soak("typed failures by category"), same],
  "soak-untyped-hung": [soak("untyped failures / hung runs"), same],
  "soak-lost": [soak("characters lost"), count],
  "soak-duplicated": [soak("characters duplicated"), count],
  "soak-checked": [soak("characters checked"), count],
  "soak-leaked-keys": [soak("errors holding the API key"), count],
  "soak-requests": [soak("requests (faulted share)"), count],
  "soak-faulted-share": [soak("requests (faulted share)"), lead(/\(([\d.]+%)\)/)],
  "soak-fault-kinds": [soak("faults injected"), (value) => String(value.split(", ").length)],
  "soak-open-responses": [soak("open server responses at the end"), count],
  "soak-fibers": [soak("active fibers at the end"), (value) => {
    const [alive, started] = lead(/^(\d+ of \d+)/)(value).split(" of ")
    return `${alive} of ${Number(started).toLocaleString("en-US")}`
  }],
  "soak-heap": [soak("heap before → after"), lead(/^([\d.]+ MiB → [\d.]+ MiB)/)]
}

/** The reports as tables; SOAK.md's one table is in the section "". */
export const reports = (): Map<string, Map<string, Table>> =>
  new Map((["BENCHMARKS.md", "SOAK.md"] as const).map((report) => [report, tables(read(report))]))

/** The value each figure has in the reports. */
export const values = (from = reports()): Map<string, string> =>
  new Map(
    Object.entries(FIGURES).map((
      [name, figure]
    ) => [name, typeof figure === "function" ? figure(from) : figure[1](cellOf(from, figure[0]))])
  )

const marker = /<!-- figure:([\w-]+) -->([\s\S]*?)<!-- \/figure -->/g

/** Fenced code blocks and code spans, where a marker is an example of one, not a quote. */
const code = /^ {0,3}(`{3,}|~{3,})[^\n]*\n[\s\S]*?^ {0,3}\1[`~]*[ \t]*$|``[^\n]*?``|`[^`\n]*`/gm

/** `text` with `change` applied to what lies outside code. */
const outsideCode = (text: string, change: (prose: string) => string): string => {
  let result = ""
  let from = 0
  for (const match of text.matchAll(code)) {
    result += change(text.slice(from, match.index)) + match[0]
    from = match.index + match[0].length
  }
  return result + change(text.slice(from))
}

/** The figures quoted in a text, in order. */
export const quoted = (text: string): Array<{ readonly name: string; readonly value: string }> => {
  const found: Array<{ readonly name: string; readonly value: string }> = []
  outsideCode(text, (prose) => {
    for (const [, name, value] of prose.matchAll(marker)) found.push({ name: name!, value: value! })
    return prose
  })
  return found
}

/** `text` with every figure it quotes set to its value; an unknown name is an error. */
export const write = (text: string, figures: ReadonlyMap<string, string>): string =>
  outsideCode(text, (prose) =>
    prose.replace(marker, (_, name: string) => {
      const value = figures.get(name)
      if (value === undefined) throw new FigureError(`unknown figure "${name}"`)
      return `<!-- figure:${name} -->${value}<!-- /figure -->`
    }))

/** What is wrong with the figures of the documents: unknown names, values that disagree, figures quoted nowhere. */
export const problems = (files: ReadonlyArray<string> = documents(), figures = values()): Array<string> => {
  const used = new Set<string>()
  const found = files.flatMap((file) =>
    quoted(read(file)).flatMap(({ name, value }) => {
      used.add(name)
      const expected = figures.get(name)
      if (expected === undefined) return [`${file}: unknown figure "${name}"`]
      return value === expected ? [] : [`${file}: figure "${name}" is "${value}", the reports say "${expected}"`]
    })
  )
  const unused = [...figures.keys()].filter((name) => !used.has(name)).map((name) =>
    `figure "${name}" is quoted nowhere`
  )
  return [...found, ...unused]
}

const main = (): void => {
  const figures = values()
  if (process.argv.includes("--check")) {
    const found = problems(documents(), figures)
    for (const problem of found) console.error(problem)
    process.exitCode = found.length === 0 ? 0 : 1
    return
  }
  for (const file of documents()) {
    const text = read(file)
    const updated = write(text, figures)
    if (updated !== text) {
      writeFileSync(path.join(root, file), updated)
      console.log(`updated ${file}`)
    }
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) main()
