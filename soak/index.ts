/**
 * npm run soak [-- --streams 2000 --concurrency 100 --fault-rate 0.3 --seed 1 --budget 150 --timeout 5000
 *   --report SOAK.md --no-report]
 *
 * Runs the chaos soak, prints its figures, writes a Markdown report with an
 * SVG chart next to it, and exits with 1 if any character was lost or
 * duplicated, a failure was untyped, a run hung, a socket, fiber or handle
 * was left open, or the heap grew past its bound.
 */
import { writeFileSync } from "node:fs"
import * as Path from "node:path"
import { parseArgs } from "node:util"
import { markdown, svg, text } from "./report.js"
import { defaults, run } from "./soak.js"

const { values } = parseArgs({
  options: {
    streams: { type: "string" },
    concurrency: { type: "string" },
    "fault-rate": { type: "string" },
    seed: { type: "string" },
    budget: { type: "string" },
    timeout: { type: "string" },
    report: { type: "string" },
    "no-report": { type: "boolean" }
  }
})

const number = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed < 0) {
    console.error(`--${name} must be a number >= 0, got ${JSON.stringify(value)}`)
    process.exit(2)
  }
  return parsed
}

const options = {
  streams: number("streams", values.streams, defaults.streams),
  concurrency: Math.max(1, number("concurrency", values.concurrency, defaults.concurrency)),
  faultRate: number("fault-rate", values["fault-rate"], defaults.faultRate),
  seed: number("seed", values.seed, defaults.seed),
  budgetMs: number("budget", values.budget, defaults.budgetMs / 1000) * 1000,
  deadlineMs: number("budget", values.budget, defaults.budgetMs / 1000) * 1000 + defaults.deadlineMs -
    defaults.budgetMs,
  timeoutMs: number("timeout", values.timeout, defaults.timeoutMs)
}

const command = ["npm run soak", ...process.argv.slice(2)].join(" ")
console.log(
  `soak: ${options.streams} streams, ${options.concurrency} concurrent, ${
    options.faultRate * 100
  }% of requests faulted, ` +
    `seed ${options.seed}`
)

let done = 0
let started = 0
const began = Date.now()
const progress = setInterval(() => {
  console.log(`  ${((Date.now() - began) / 1000).toFixed(0)} s: ${done} done, ${started - done} running`)
}, 10_000)

const result = await run({
  ...options,
  onProgress: (d, s) => {
    done = d
    started = s
  }
}).finally(() => clearInterval(progress))

console.log(text(result))

if (values["no-report"] !== true) {
  const report = values.report ?? "SOAK.md"
  const chart = `${Path.basename(report, Path.extname(report))}.svg`
  writeFileSync(Path.join(Path.dirname(report), chart), svg(result.timeline))
  writeFileSync(report, markdown(result, chart, command, new Date()))
  console.log(`wrote ${report} and ${Path.join(Path.dirname(report), chart)}`)
}

process.exitCode = result.problems.length === 0 ? 0 : 1
