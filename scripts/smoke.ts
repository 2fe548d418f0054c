/**
 * `npm run smoke`: installs the packed tarball into fresh projects with its
 * peer dependencies from the registry, type-checks a consumer under
 * TypeScript's node16 resolution (ES module and CommonJS files), then runs
 * scripts/smoke/esm.mjs (the openai client) and cjs.cjs (the Anthropic
 * client) on every supported Node major: the oldest supported release with
 * the oldest clients that the peer ranges accept, then 24 and 26 with the
 * clients of this project. A Node other than the one running this script
 * (24, from the `node` dev dependency) comes from the npm registry's `node`
 * package and stays in the temporary directory for the next run. Every child
 * process has a time limit.
 */
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pack, root } from "./tarball.js"

type Clients = "oldest" | "newest"

/** The `node` package versions to run on (a release or a major), and with which clients. */
const RUNS: ReadonlyArray<{ readonly node: string; readonly clients: Clients }> = [
  { node: "22.12.0", clients: "oldest" },
  { node: "24", clients: "newest" },
  { node: "26", clients: "newest" }
]

const CLIENTS = ["openai", "@anthropic-ai/sdk"] as const

const INSTALL_TIMEOUT = 5 * 60_000
const CHECK_TIMEOUT = 5 * 60_000
const RUN_TIMEOUT = 60_000

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, "utf8"))

const installedVersion = (name: string): string =>
  readJson(path.join(root, "node_modules", name, "package.json")).version as string

/** The lowest version that a peer range of package.json accepts: the first one it names. */
const oldestVersion = (name: string): string => {
  const range = (readJson(path.join(root, "package.json")).peerDependencies as Record<string, string>)[name]!
  const version = /\d+\.\d+\.\d+/.exec(range)?.[0]
  if (version === undefined) throw new Error(`no version in the peer range of ${name}: ${range}`)
  return version
}

const run = (file: string, args: ReadonlyArray<string>, cwd: string, timeout: number): string =>
  execFileSync(file, args, { cwd, encoding: "utf8", timeout, stdio: ["ignore", "pipe", "inherit"] })

/** Whether a Node version (without the "v") is the release or in the major that `spec` names. */
const isVersion = (version: string, spec: string): boolean => version === spec || version.startsWith(`${spec}.`)

/** The binary of `node@spec`: the Node running this script, or one installed once into the temporary directory. */
const nodeBinary = (spec: string): string => {
  if (isVersion(process.versions.node, spec)) return process.execPath
  const dir = path.join(os.tmpdir(), `effect-l0-smoke-node-${spec}`)
  const binary = path.join(dir, "node_modules", "node", "bin", "node")
  const works = (file: string) => {
    try {
      return isVersion(run(file, ["--version"], os.tmpdir(), RUN_TIMEOUT).trim().slice(1), spec)
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

const consumer = (tarball: string, clients: Clients): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), `effect-l0-smoke-${clients}-`))
  cpSync(path.join(root, "scripts", "smoke"), dir, { recursive: true })
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "effect-l0-smoke", private: true }))
  const versions = CLIENTS.map((name) =>
    `${name}@${clients === "oldest" ? oldestVersion(name) : installedVersion(name)}`
  )
  run(
    "npm",
    ["install", tarball, `effect@${installedVersion("effect")}`, ...versions, "--no-audit", "--no-fund",
      "--loglevel=error"],
    dir,
    INSTALL_TIMEOUT
  )
  console.log(`smoke: ${path.basename(tarball)} installed with ${versions.join(" ")}`)
  return dir
}

const main = (): void => {
  const tarball = pack()
  const projects = new Map<Clients, string>()
  try {
    for (const clients of ["newest", "oldest"] as const) projects.set(clients, consumer(tarball, clients))
    run(path.join(root, "node_modules", ".bin", "tsc"), ["-p", projects.get("newest")!], root, CHECK_TIMEOUT)
    console.log("  types: node16 resolution, ES module and CommonJS consumers, skipLibCheck off")
    for (const { clients, node: spec } of RUNS) {
      const node = nodeBinary(spec)
      for (const file of ["esm.mjs", "cjs.cjs"]) {
        process.stdout.write(run(node, [file], projects.get(clients)!, RUN_TIMEOUT))
      }
    }
  } finally {
    for (const project of projects.values()) rmSync(project, { recursive: true, force: true })
    rmSync(path.dirname(tarball), { recursive: true, force: true })
  }
}

main()
