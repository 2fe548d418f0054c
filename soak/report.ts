/**
 * The soak's figures as console lines, a Markdown report and an SVG chart of
 * streams/s and p99 run time over the run.
 */
import type { SoakResult, TimelinePoint } from "./soak.js"

const MiB = 1024 * 1024

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`

const entries = (record: Readonly<Record<string, number>>): string =>
  Object.keys(record).length === 0
    ? "none"
    : Object.entries(record).sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `${key} ${n}`).join(", ")

const heap = (result: SoakResult): string =>
  result.heapBefore === undefined || result.heapAfter === undefined
    ? "not measured (run node with --expose-gc)"
    : `${mib(result.heapBefore)} → ${mib(result.heapAfter)} (${result.heapAfter >= result.heapBefore ? "+" : ""}${
      mib(result.heapAfter - result.heapBefore)
    }; bound +${mib(result.options.heapBound)})`

/** The figures, one per line, as `[label, value]`. */
export const figures = (result: SoakResult): ReadonlyArray<readonly [string, string]> => {
  const seconds = result.elapsedMs / 1000
  const { options } = result
  return [
    ["streams",
      `${result.started} of ${options.streams}${
        result.budgetHit ? " (time budget reached)" : ""
      }, ${options.concurrency} concurrent, seed ${options.seed}`],
    ["streams ok", `${result.ok}`],
    ["interrupted on purpose",
      `${result.interrupted}${result.cut > 0 ? ` (and ${result.cut} stopped at the deadline)` : ""}`],
    ["typed failures by category", entries(result.failures)],
    ["untyped failures / hung runs", `${result.untyped} / ${result.hung}`],
    ["characters lost", `${result.lost}`],
    ["characters duplicated", `${result.duplicated}`],
    ["characters checked", `${result.checkedCharacters}`],
    ["errors holding the API key", `${result.secretLeaks}`],
    ["requests (faulted share)",
      `${result.requests} (${((1 - (result.injected.none ?? 0) / Math.max(1, result.requests)) * 100).toFixed(1)}%)`],
    ["faults injected",
      entries(Object.fromEntries(Object.entries(result.injected).filter(([kind]) => kind !== "none")))],
    [
      "continued requests",
      `exact ${result.continued.exact}, deduplicated ${result.continued.deduplicated} ` +
      `(${result.restatements} restating the end of the checkpoint)`
    ],
    ["open server responses at the end", `${result.openResponses}`],
    ["active fibers at the end", `${result.liveFibers} of ${result.fibersStarted} started`],
    ["handles left open at the end", entries(result.leakedHandles)],
    ["heap before → after", heap(result)],
    ["throughput", `${(result.started / seconds).toFixed(1)} streams/s (${seconds.toFixed(1)} s)`],
    ["run time p50 / p99", `${result.p50.toFixed(0)} ms / ${result.p99.toFixed(0)} ms`],
    ["peak RSS", mib(result.peakRss)]
  ]
}

/** The console report. */
export const text = (result: SoakResult): string => {
  const rows = figures(result)
  const width = Math.max(...rows.map(([label]) => label.length))
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`)
  const verdict = result.problems.length === 0 ? "PASS" : `FAIL: ${result.problems.join("; ")}`
  return [...lines, ...result.mismatches.map((mismatch) => `  ${mismatch}`), verdict].join("\n")
}

/** A small line chart: streams/s (left axis) and p99 run time (right axis) over the run. */
export const svg = (timeline: ReadonlyArray<TimelinePoint>): string => {
  const width = 640
  const height = 240
  const pad = { left: 48, right: 56, top: 16, bottom: 32 }
  const plotW = width - pad.left - pad.right
  const plotH = height - pad.top - pad.bottom
  const lastAt = Math.max(1, ...timeline.map((point) => point.at))
  const maxRate = Math.max(1, ...timeline.map((point) => point.streamsPerSecond))
  const maxP99 = Math.max(1, ...timeline.map((point) => point.p99))
  const x = (at: number) => (pad.left + (at / lastAt) * plotW).toFixed(1)
  const y = (value: number, max: number) => (pad.top + plotH - (value / max) * plotH).toFixed(1)
  const line = (value: (point: TimelinePoint) => number, max: number) =>
    timeline.map((point) => `${x(point.at)},${y(value(point), max)}`).join(" ")
  const bottom = pad.top + plotH
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<line x1="${pad.left}" y1="${bottom}" x2="${pad.left + plotW}" y2="${bottom}" stroke="#888"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${bottom}" stroke="#888"/>`,
    `<line x1="${pad.left + plotW}" y1="${pad.top}" x2="${pad.left + plotW}" y2="${bottom}" stroke="#888"/>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${
      line((point) => point.streamsPerSecond, maxRate)
    }"/>`,
    `<polyline fill="none" stroke="#d62728" stroke-width="2" points="${line((point) => point.p99, maxP99)}"/>`,
    `<text x="${pad.left - 6}" y="${pad.top + 4}" text-anchor="end" fill="#1f77b4">${maxRate.toFixed(0)}</text>`,
    `<text x="${pad.left - 6}" y="${bottom}" text-anchor="end" fill="#1f77b4">0</text>`,
    `<text x="${pad.left + plotW + 6}" y="${pad.top + 4}" fill="#d62728">${maxP99.toFixed(0)} ms</text>`,
    `<text x="${pad.left + plotW + 6}" y="${bottom}" fill="#d62728">0</text>`,
    `<text x="${pad.left}" y="${height - 8}">0 s</text>`,
    `<text x="${pad.left + plotW}" y="${height - 8}" text-anchor="end">${lastAt.toFixed(0)} s</text>`,
    `<text x="${pad.left + plotW / 2}" y="${
      height - 8
    }" text-anchor="middle"><tspan fill="#1f77b4">streams/s</tspan> and <tspan fill="#d62728">p99 run time</tspan> over the run</text>`,
    "</svg>",
    ""
  ].join("\n")
}

/** The Markdown report; `chart` is the SVG's file name next to it. */
export const markdown = (result: SoakResult, chart: string, command: string, when: Date): string => {
  const { options } = result
  const rows = figures(result).map(([label, value]) => `| ${label} | ${value.replaceAll("|", "\\|")} |`)
  return [
    "# Soak",
    "",
    `\`${command}\` on ${when.toISOString().slice(0, 10)}, Node ${process.version}, ${
      result.problems.length === 0 ? "**PASS**" : `**FAIL**: ${result.problems.join("; ")}`
    }.`,
    "",
    `${options.streams} L0 runs, ${options.concurrency} at a time, against one \`ProviderServer\` on 127.0.0.1, through ` +
    "the real `openai` client (Chat Completions and Responses), the real `@anthropic-ai/sdk` client and the raw " +
    "`Adapters.openaiHttp` / `Adapters.anthropicHttp` factories, chosen at random per run. " +
    `${
      (options.faultRate * 100).toFixed(0)
    }% of requests get a fault at a random point: socket resets between chunks, ` +
    "inside an SSE line and inside a multi-byte character; stalls (timeouts of " +
    `${options.timeoutMs} ms); in-band errors; malformed SSE; 429, 500, 503 and 529 with and without \`Retry-After\`; ` +
    "hang-ups before the response; 401/403; bodies that end cleanly without the protocol's closing events (an " +
    "empty 200, a body cut short), which L0 must retry rather than take for the answer. A quarter of the runs have " +
    "a fallback, one in twenty is interrupted after a random number of tokens.",
    "",
    "A third of the runs start over after a failed attempt (`Reset { kept: 0 }`). A third continue with " +
    "`continuation: true`: the server continues exactly from the checkpoint the request carries, and L0 must keep " +
    "all of it. A third continue with `Continuation.openaiChatOptions` (deduplication at word boundaries): the " +
    "server first restates the end of the checkpoint from a word start, as a model told to continue may, and L0 " +
    "must remove exactly that. The golden texts repeat words on purpose, and deduplication removes the longest " +
    "tail of the checkpoint that the reply starts with, so the server restates that longest tail (a random word " +
    "start, lengthened while a longer tail also starts the reply): the restatement is then the only overlap, and " +
    "the answer must be the golden text exactly once.",
    "",
    "Every run's text (events with resets applied, and `Complete.state.content`) is compared with the text the " +
    "server was scripted to send; runs that end early (interrupted or failed) must show a start of it. The soak " +
    "fails on any lost or duplicated character, a failure that is not a typed `L0Error`, a hung run (no event and no " +
    `new attempt for ${options.hangMs / 1000} s), a response the server still has open, a fiber still alive, a ` +
    `handle (socket, timer) left open, or heap growth over ${mib(options.heapBound)} (after a full GC, from the end ` +
    `of a warm-up batch to the end). No run starts after ${options.budgetMs / 1000} s, and runs still going at ` +
    `${options.deadlineMs / 1000} s are interrupted, so that the soak ends within 3 minutes even on a busy machine; ` +
    "the report says so when that happens.",
    "",
    "| figure | value |",
    "| --- | --- |",
    ...rows,
    "",
    ...(result.mismatches.length === 0 ? [] : ["Mismatches:", "", ...result.mismatches.map((m) => `- ${m}`), ""]),
    `![streams/s and p99 run time over the run](${chart})`,
    "",
    "The seed fixes every run's text, client, fallback, continuation mode and interruption, and the fault of " +
    "each run's n-th request; which attempt a timeout hits still depends on the machine's speed.",
    ""
  ].join("\n")
}
