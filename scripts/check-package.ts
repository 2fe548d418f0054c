/**
 * `npm run check:package`: the packed tarball passes publint (warnings
 * count as errors) and Are the Types Wrong (node16 profile: `effect` itself
 * cannot be resolved under the older node10 resolution, so neither can we),
 * and its source maps point into the shipped src/ instead of carrying a
 * second copy of it. The browser client is one ES module without imports,
 * where docs/browser.md says a page finds it. The API reference (`npm run
 * docs`) is built once too, so a documentation comment TypeDoc cannot read,
 * or a type it would have to leave out, fails here, and every link of the
 * README and the guides into the reference must reach a page it wrote.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { apiDirectory, documents, links, read, resolve } from "./docs.js"
import { pack, root } from "./tarball.js"

const bin = (name: string): string => path.join(root, "node_modules", ".bin", name)

interface SourceMap {
  readonly sources: ReadonlyArray<string>
  readonly sourcesContent?: ReadonlyArray<string | null>
}

/**
 * Problems of the browser client of an unpacked package: `import.meta.resolve("effect-l0/client")`
 * must give dist/client.js, and that file must import nothing, so a page loads it as it is.
 */
const clientProblems = (pkg: string): Array<string> => {
  const project = path.join(path.dirname(pkg), "project")
  mkdirSync(path.join(project, "node_modules"), { recursive: true })
  symlinkSync(pkg, path.join(project, "node_modules", "effect-l0"))
  const resolved = execFileSync(process.execPath, [
    "--input-type=module",
    "-e",
    "console.log(import.meta.resolve(\"effect-l0/client\"))"
  ], { cwd: project, encoding: "utf8" }).trim()
  const problems: Array<string> = []
  // Node follows the symlink to the unpacked package
  if (fileURLToPath(resolved) !== path.join(realpathSync(pkg), "dist", "client.js")) {
    problems.push(`effect-l0/client resolves to ${resolved}`)
  }
  const client = readFileSync(path.join(pkg, "dist", "client.js"), "utf8")
  if (/^\s*import\s|\bimport\(|\brequire\(/m.test(client)) problems.push("dist/client.js imports other modules")
  return problems
}

/** Links of the README and the guides into the API reference that reach no page of `reference`. */
const referenceProblems = (reference: string): Array<string> =>
  documents().flatMap((file) =>
    links(file, read(file)).flatMap((link) => {
      const target = resolve(link).file
      if (!target.startsWith(`${apiDirectory}/`)) return []
      return existsSync(path.join(reference, target.slice(apiDirectory.length + 1)))
        ? []
        : [`${link.file}:${link.line}: ${link.target} is not a page of the API reference`]
    })
  )

/** Problems of the source maps in an unpacked package; empty when every source is a shipped file. */
const sourceMapProblems = (pkg: string): Array<string> => {
  const problems: Array<string> = []
  const maps = readdirSync(pkg, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".map"))
  if (maps.length === 0) problems.push("no source maps")
  for (const file of maps) {
    const map = JSON.parse(readFileSync(path.join(pkg, file), "utf8")) as SourceMap
    if (map.sourcesContent?.some((content) => content !== null)) problems.push(`${file} carries its sources`)
    for (const source of map.sources) {
      const resolved = path.resolve(path.dirname(path.join(pkg, file)), source)
      if (!resolved.startsWith(pkg + path.sep) || !existsSync(resolved)) {
        problems.push(`${file} points to ${source}, not in the package`)
      }
    }
  }
  return problems
}

const tarball = pack()
const unpacked = path.join(path.dirname(tarball), "unpacked")
try {
  execFileSync(bin("publint"), ["run", tarball, "--strict"], { stdio: "inherit" })
  execFileSync(bin("attw"), [tarball, "--profile", "node16"], { stdio: "inherit" })
  mkdirSync(unpacked)
  execFileSync("tar", ["-xzf", tarball, "-C", unpacked])
  const problems = sourceMapProblems(path.join(unpacked, "package"))
  if (problems.length > 0) throw new Error(`source maps:\n  ${problems.join("\n  ")}`)
  console.log("source maps: every source is a file of src/ in the package")
  const client = clientProblems(path.join(unpacked, "package"))
  if (client.length > 0) throw new Error(`browser client:\n  ${client.join("\n  ")}`)
  console.log("browser client: import.meta.resolve gives dist/client.js, which imports nothing")
  const reference = path.join(path.dirname(tarball), "api")
  execFileSync(bin("typedoc"), ["--out", reference], { stdio: "inherit" })
  if (!existsSync(path.join(reference, "index.html"))) throw new Error("typedoc wrote no index.html")
  const unreached = referenceProblems(reference)
  if (unreached.length > 0) throw new Error(`links into the API reference:\n  ${unreached.join("\n  ")}`)
  console.log("API reference: every link of the README and the guides reaches a page")
} finally {
  rmSync(path.dirname(tarball), { recursive: true, force: true })
}
