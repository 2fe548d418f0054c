/**
 * `npm run docs:coverage -- <git ref> [file]`: what a README (README.md at
 * the ref, or `file` there) says that README.md and the guides in docs/ no
 * longer say. It cuts the old text into headings, paragraphs, list items,
 * table rows and code blocks, and looks for each in today's documents with
 * whitespace, line breaks, link targets and figure markers ignored; a
 * paragraph that is not found whole is looked for sentence by sentence, and
 * only its missing sentences are printed (a sentence in bold may have become a
 * heading). Use it to port a branch's README
 * edits into the guides (`npm run docs:coverage -- other-branch`) or to check
 * that a reorganisation dropped nothing. Exits with 1 when something is
 * missing.
 */
import { execFileSync } from "node:child_process"
import { documents, read, root } from "./docs.js"

/** The text as it reads: one space for any run of whitespace, links without targets, no figure markers. */
const normalize = (text: string): string =>
  text
    .replace(/<!-- \/?figure(?::[\w-]+)? -->/g, "")
    .replace(/\]\([^)]*\)/g, "]")
    .replace(/\*\*/g, "")
    .replace(/\s+/g, " ")
    .trim()

interface Unit {
  readonly line: number
  readonly kind: "heading" | "paragraph" | "item" | "row" | "code"
  readonly text: string
}

/** The units of a Markdown text, each with the line it starts on. */
const units = (text: string): Array<Unit> => {
  const lines = text.split("\n")
  const found: Array<Unit> = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    const fence = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence !== null) {
      const start = i
      i++
      while (i < lines.length && !lines[i]!.trim().startsWith(fence[1]!)) i++
      found.push({ line: start + 1, kind: "code", text: lines.slice(start + 1, i).join("\n") })
      i++
      continue
    }
    if (line.trim() === "") {
      i++
      continue
    }
    if (/^#{1,6} /.test(line)) {
      found.push({ line: i + 1, kind: "heading", text: line.replace(/^#+ /, "") })
      i++
      continue
    }
    if (line.startsWith("|")) {
      if (!/^\|[\s:|-]+\|$/.test(line.trim())) found.push({ line: i + 1, kind: "row", text: line })
      i++
      continue
    }
    const item = /^(\s*)([-*]|\d+\.) /.exec(line)
    const start = i
    i++
    // a list item or paragraph runs until a blank line, the next item at its level or less, or a new block
    while (
      i < lines.length && lines[i]!.trim() !== "" && !/^\s*(`{3,}|~{3,})/.test(lines[i]!) &&
      !/^#{1,6} /.test(lines[i]!) &&
      !lines[i]!.startsWith("|") &&
      !(item !== null ? new RegExp(`^\\s{0,${item[1]!.length}}([-*]|\\d+\\.) `) : /^\s*([-*]|\d+\.) /).test(lines[i]!)
    ) i++
    const body = lines.slice(start, i).join("\n")
    found.push({
      line: start + 1,
      kind: item === null ? "paragraph" : "item",
      text: body.replace(/^\s*([-*]|\d+\.) /, "")
    })
  }
  return found
}

const sentences = (text: string): Array<string> =>
  text.split(/(?<=[.:;!?])\s+(?=[A-Z`*(])/).map((sentence) => sentence.trim()).filter((sentence) => sentence !== "")

/** The units of `old` that today's documents do not hold, as lines to print. */
const missing = (old: string, today: string): Array<string> => {
  const haystack = normalize(today)
  return units(old).flatMap((unit) => {
    const text = normalize(unit.text)
    if (text === "" || haystack.includes(text)) return []
    if (unit.kind !== "paragraph" && unit.kind !== "item") return [`${unit.line} ${unit.kind}: ${text}`]
    // a bold lead-in ("**Budgets.** …") may have become a heading
    const found = (sentence: string) => haystack.includes(sentence) || haystack.includes(sentence.replace(/[.:]$/, ""))
    const lost = sentences(unit.text.replaceAll("**", "")).filter((sentence) => !found(normalize(sentence)))
    return lost.length === 0 ? [] : lost.map((sentence) => `${unit.line} ${unit.kind}: ${normalize(sentence)}`)
  })
}

const main = (): void => {
  const [ref, file = "README.md"] = process.argv.slice(2)
  if (ref === undefined) {
    console.error("usage: npm run docs:coverage -- <git ref> [file]")
    process.exitCode = 2
    return
  }
  const old = execFileSync("git", ["show", `${ref}:${file}`], { cwd: root, encoding: "utf8" })
  const lost = missing(old, documents().map(read).join("\n\n"))
  for (const line of lost) console.log(line)
  console.log(lost.length === 0 ? `everything ${ref}:${file} says is in README.md and docs/` : `${lost.length} missing`)
  process.exitCode = lost.length === 0 ? 0 : 1
}

main()
