/**
 * The documentation as files: README.md and the guides under docs/ (the
 * generated API reference, docs/api/, left out), their headings with the
 * anchors GitHub gives them, and the links between them. The docs tests,
 * `npm run docs:figures` and the package check read the documents here, so
 * a guide added in a subfolder of docs/ is checked like the others.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"

export const root = path.resolve(import.meta.dirname, "..")

/** Where `npm run docs` writes the API reference (typedoc.json's `out`). */
export const apiDirectory = "docs/api"

const markdownUnder = (dir: string): Array<string> =>
  readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((entry) => {
      const file = `${dir}/${entry.name}`
      if (entry.isDirectory()) return file === apiDirectory ? [] : markdownUnder(file)
      return entry.name.endsWith(".md") ? [file] : []
    })
    .sort()

/** README.md, then every markdown file under docs/, by path relative to the project. */
export const documents = (): Array<string> => ["README.md", ...markdownUnder("docs")]

export const read = (file: string): string => readFileSync(path.join(root, file), "utf8")

const fence = /^ {0,3}(`{3,}|~{3,})/

/** `text` with the lines of fenced code blocks blanked, so that line numbers stay. */
export const withoutCode = (text: string): string => {
  let open: string | undefined
  return text.split("\n").map((line) => {
    const marker = fence.exec(line)?.[1]
    if (open === undefined) {
      if (marker === undefined) return line
      open = marker
      return ""
    }
    if (marker !== undefined && marker[0] === open[0] && marker.length >= open.length && line.trim() === marker) {
      open = undefined
    }
    return ""
  }).join("\n")
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export const anchor = (heading: string): string =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, "").replace(/ /g, "-")

export interface Heading {
  readonly level: number
  readonly title: string
  readonly line: number
  /** Unique in its document: a repeated heading gets `-1`, `-2`, … as on GitHub. */
  readonly anchor: string
}

export const headings = (text: string): Array<Heading> => {
  const seen = new Map<string, number>()
  return withoutCode(text).split("\n").flatMap((line, index) => {
    const match = /^(#{1,6}) +(.+?) *#*$/.exec(line)
    if (match === null) return []
    const base = anchor(match[2]!)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    return [{
      level: match[1]!.length,
      title: match[2]!,
      line: index + 1,
      anchor: count === 0 ? base : `${base}-${count}`
    }]
  })
}

export interface Link {
  readonly file: string
  readonly line: number
  readonly target: string
}

/** The inline links and images of a document, outside code blocks and code spans. */
export const links = (file: string, text: string): Array<Link> =>
  withoutCode(text).split("\n").flatMap((line, index) =>
    [...line.replace(/`[^`]*`/g, "").matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?: "[^"]*")?\)/g)].map(([, target]) => ({
      file,
      line: index + 1,
      target: target!
    }))
  )

/** The modules the API reference documents: `index.html` and a page per namespace of each entry point. */
export const apiPages = (): Set<string> => {
  const namespaces = (index: string) => [...read(index).matchAll(/^export \* as (\w+) from/gm)].map(([, name]) => name!)
  return new Set([
    "index.html",
    ...["index", "testing", "client"].map((entry) => `modules/${entry}.html`),
    ...namespaces("src/index.ts").map((name) => `modules/index.${name}.html`),
    ...namespaces("src/testing/index.ts").map((name) => `modules/testing.${name}.html`)
  ])
}

/** Where a relative link points, as a path relative to the project, and its anchor. */
export const resolve = (link: Link): { readonly file: string; readonly fragment: string | undefined } => {
  const [target, fragment] = link.target.split("#", 2) as [string, string | undefined]
  const file = target === "" ? link.file : path.posix.normalize(path.posix.join(path.posix.dirname(link.file), target))
  return { file, fragment }
}

const external = /^[a-z][a-z+.-]*:/i

/** A file's text, `""` for a directory, `undefined` when there is neither. */
export const contents = (file: string): string | undefined => {
  const full = path.join(root, file)
  if (!existsSync(full)) return undefined
  return statSync(full).isDirectory() ? "" : readFileSync(full, "utf8")
}

/**
 * Every link of the documents that points to no file, no heading or no page
 * of the API reference; `text` reads the files (the project's, by default).
 */
export const brokenLinks = (
  files: ReadonlyArray<string> = documents(),
  text: (file: string) => string | undefined = contents
): Array<string> => {
  const pages = apiPages()
  const anchors = new Map<string, Set<string>>()
  const anchorsOf = (file: string) => {
    let found = anchors.get(file)
    if (found === undefined) {
      anchors.set(file, found = new Set(headings(text(file) ?? "").map((heading) => heading.anchor)))
    }
    return found
  }
  return files.flatMap((source) =>
    links(source, text(source) ?? "").flatMap((link) => {
      if (external.test(link.target)) return []
      const where = `${link.file}:${link.line}: ${link.target}`
      const { file, fragment } = resolve(link)
      if (file.startsWith(`${apiDirectory}/`)) {
        const page = file.slice(apiDirectory.length + 1)
        return pages.has(page) ? [] : [`${where}: no such page in the API reference`]
      }
      if (file.startsWith("..") || text(file) === undefined) return [`${where}: no such file`]
      if (fragment === undefined) return []
      if (!file.endsWith(".md")) return [`${where}: an anchor into a file that is not markdown`]
      return anchorsOf(file).has(fragment) ? [] : [`${where}: no heading #${fragment} in ${file}`]
    })
  )
}
