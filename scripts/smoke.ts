/**
 * `npm run smoke`: installs the packed tarball into a fresh project with its
 * peer dependencies from the registry, type-checks a consumer under
 * TypeScript's node16 resolution (ES module and CommonJS files), then runs
 * scripts/smoke/esm.mjs and cjs.cjs on every supported Node major: the oldest
 * supported release, the Node running this script (24, from the `node` dev
 * dependency) and the newest major, the others installed from the npm
 * registry's `node` package and kept in the temporary directory for the next
 * run. Every child process has a time limit.
 */
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pack, root } from "./tarball.js"

/** The `node` package versions to run on; "current" is the Node running this script. */
const NODES: ReadonlyArray<string> = ["22.12.0", "current", "26"]

const INSTALL_TIMEOUT = 5 * 60_000
const RUN_TIMEOUT = 60_000

const installedVersion = (name: string): string =>
  (JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version

const run = (file: string, args: ReadonlyArray<string>, cwd: string, timeout: number): string =>
  execFileSync(file, args, { cwd, encoding: "utf8", timeout, stdio: ["ignore", "pipe", "inherit"] })

/** The binary of `node@spec`, installed once into the temporary directory. */
const nodeBinary = (spec: string): string => {
  if (spec === "current") return process.execPath
  const dir = path.join(os.tmpdir(), `effect-l0-smoke-node-${spec}`)
  const binary = path.join(dir, "node_modules", "node", "bin", "node")
  const works = (file: string) => {
    try {
      return run(file, ["--version"], os.tmpdir(), RUN_TIMEOUT).startsWith(`v${spec}`)
    } catch {
      return false
    }
  }
  if (existsSync(binary) && works(binary)) return binary
  const staging = mkdtempSync(path.join(os.tmpdir(), `effect-l0-smoke-node-${spec}-`))
  writeFileSync(path.join(staging, "package.json"), JSON.stringify({ private: true }))
  run("npm", ["install", `node@${spec}`, "--no-audit", "--no-fund", "--loglevel=error"], staging, INSTALL_TIMEOUT)
  if (!works(path.join(staging, "node_modules", "node", "bin", "node"))) {
    throw new Error(`node@${spec} from the registry does not run here`)
  }
  rmSync(dir, { recursive: true, force: true })
  renameSync(staging, dir)
  return binary
}

const consumer = (tarball: string): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "effect-l0-smoke-"))
  cpSync(path.join(root, "scripts", "smoke"), dir, { recursive: true })
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "effect-l0-smoke", private: true }))
  const peers = ["effect", "openai", "@anthropic-ai/sdk"].map((name) => `${name}@${installedVersion(name)}`)
  run("npm", ["install", tarball, ...peers, "--no-audit", "--no-fund", "--loglevel=error"], dir, INSTALL_TIMEOUT)
  return dir
}

const main = (): void => {
  const tarball = pack()
  const project = consumer(tarball)
  try {
    console.log(`smoke: ${path.basename(tarball)} installed with its peers`)
    run(path.join(root, "node_modules", ".bin", "tsc"), ["-p", project], project, RUN_TIMEOUT)
    console.log("  types: node16 resolution, ES module and CommonJS consumers, skipLibCheck off")
    for (const spec of NODES) {
      const node = nodeBinary(spec)
      for (const file of ["esm.mjs", "cjs.cjs"]) process.stdout.write(run(node, [file], project, RUN_TIMEOUT))
    }
  } finally {
    rmSync(project, { recursive: true, force: true })
    rmSync(path.dirname(tarball), { recursive: true, force: true })
  }
}

main()
