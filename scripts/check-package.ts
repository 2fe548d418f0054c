/**
 * `npm run check:package`: the packed tarball passes publint (warnings
 * count as errors) and Are the Types Wrong (node16 profile: `effect` itself
 * cannot be resolved under the older node10 resolution, so neither can we),
 * and its source maps point into the shipped src/ instead of carrying a
 * second copy of it. The API reference (`npm run docs`) is built once too,
 * so a documentation comment TypeDoc cannot read fails here.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import * as path from "node:path"
import { pack, root } from "./tarball.js"

const bin = (name: string): string => path.join(root, "node_modules", ".bin", name)

interface SourceMap {
  readonly sources: ReadonlyArray<string>
  readonly sourcesContent?: ReadonlyArray<string | null>
}

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
  const reference = path.join(path.dirname(tarball), "api")
  execFileSync(bin("typedoc"), ["--out", reference], { stdio: "inherit" })
  if (!existsSync(path.join(reference, "index.html"))) throw new Error("typedoc wrote no index.html")
} finally {
  rmSync(path.dirname(tarball), { recursive: true, force: true })
}
