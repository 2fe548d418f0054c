/**
 * `npm run bench`: runs every workload, prints the table and the budgets,
 * and writes BENCHMARKS.md. Budgets print PASS or FAIL and never fail the
 * process. `npm run bench -- ttft concurrency` runs only the named sections
 * and leaves BENCHMARKS.md alone.
 */
import { writeFileSync } from "node:fs"
import * as os from "node:os"
import * as async from "./async.js"
import * as concurrency from "./concurrency.js"
import * as fleet from "./fleet.js"
import * as resume from "./resume.js"
import * as guardrails from "./guardrails.js"
import { hasGc } from "./harness.js"
import * as http from "./http.js"
import type { Budget, Outcome, Section } from "./report.js"
import * as report from "./report.js"
import * as size from "./size.js"
import * as structured from "./structured.js"
import * as throughput from "./throughput.js"
import * as ttft from "./ttft.js"
import * as windows from "./windows.js"

const SECTIONS: ReadonlyArray<readonly [string, () => Promise<Outcome>]> = [
  ["throughput", throughput.run],
  ["guardrails", guardrails.run],
  ["async", async.run],
  ["structured", structured.run],
  ["concurrency", concurrency.run],
  ["ttft", ttft.run],
  ["http", http.run],
  ["size", size.run],
  ["windows", windows.run],
  ["fleet", fleet.run],
  ["resume", resume.run]
]

const main = async (): Promise<void> => {
  if (!hasGc()) console.warn("node runs without --expose-gc: heap figures are not taken after a full GC")
  const only = process.argv.slice(2)
  const selected = only.length === 0 ? SECTIONS : SECTIONS.filter(([name]) => only.includes(name))
  const started = performance.now()
  const sections: Array<Section> = []
  const budgets: Array<Budget> = []
  for (const [name, run] of selected) {
    const sectionStart = performance.now()
    const outcome = await run()
    sections.push(...outcome.sections)
    budgets.push(...outcome.budgets)
    console.error(`${name}: ${((performance.now() - sectionStart) / 1000).toFixed(1)} s`)
  }
  const result: Outcome = { sections, budgets }
  console.log(report.toConsole(result))
  const cpus = os.cpus()
  const machine = `${cpus[0]?.model ?? "unknown CPU"} (${cpus.length} cores), ${os.platform()} ${os.arch()}`
  const seconds = ((performance.now() - started) / 1000).toFixed(0)
  const date = new Date().toISOString().slice(0, 10)
  const environment = `Node ${process.version}, ${machine}, ${date}; whole run ${seconds} s.`
  if (only.length === 0) {
    writeFileSync(new URL("../BENCHMARKS.md", import.meta.url), report.toMarkdown(result, environment))
    console.log("\nwrote BENCHMARKS.md")
  }
}

await main()
