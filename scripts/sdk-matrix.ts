/**
 * `npm run sdk-matrix`: runs the tests that drive a real `openai` or
 * `@anthropic-ai/sdk` client against the oldest release of each major that
 * the peer ranges in package.json accept (the newest ones are the project's
 * own dev dependencies, which `npm test` uses). For each row it copies the
 * sources and tests into a temporary project, installs the two clients
 * there from the npm registry and links every other package from this
 * project's node_modules.
 */
import { execFileSync } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { root } from "./tarball.js"

/** Client versions to install; a client left out is this project's own. */
type Row = Readonly<Partial<Record<"openai" | "@anthropic-ai/sdk", string>>>

/**
 * The oldest release of each supported major, one client at a time so that a
 * failure names its client. `@anthropic-ai/sdk` starts at 0.81.0, the first
 * release whose `APIError` carries the provider's error `type`: with older
 * ones, an in-band error such as `invalid_request_error` is not recognized
 * as fatal and is retried.
 */
const MATRIX: ReadonlyArray<Row> = [
  { "openai": "5.0.0" },
  { "openai": "6.0.0" },
  { "openai": "7.0.0" },
  { "@anthropic-ai/sdk": "0.81.0" },
  { "@anthropic-ai/sdk": "1.0.0" }
]

const TIMEOUT = 15 * 60_000

const installedVersion = (name: string): string =>
  (JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version

/** The test files that import a client, directly or through test/clients.ts or the demo scenario. */
const sdkTests = (): Array<string> =>
  readdirSync(path.join(root, "test"))
    .filter((name) => name.endsWith(".test.ts"))
    .filter((name) =>
      /from "(openai|@anthropic-ai\/sdk|\.\/clients\.js|\.\.\/examples\/demo-scenario\.js)"/.test(
        readFileSync(path.join(root, "test", name), "utf8")
      )
    )
    .map((name) => `test/${name}`)

/** Links every package of this project's node_modules that the temporary project did not install itself. */
const linkModules = (target: string): void => {
  const source = path.join(root, "node_modules")
  const link = (from: string, to: string) => {
    for (const name of readdirSync(from)) {
      if (name === ".bin" || name.startsWith(".package-lock")) continue
      const existing = path.join(to, name)
      if (name.startsWith("@") && existsSync(existing)) link(path.join(from, name), existing)
      else if (!existsSync(existing)) symlinkSync(path.join(from, name), existing)
    }
  }
  mkdirSync(path.join(target, "node_modules"), { recursive: true })
  link(source, path.join(target, "node_modules"))
}

const project = (row: Row): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "effect-l0-sdk-matrix-"))
  for (const entry of ["src", "test", "examples", "vitest.config.ts", "tsconfig.json"]) {
    cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true })
  }
  writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "effect-l0-sdk-matrix", private: true, type: "module" })
  )
  const specs = Object.entries(row).map(([name, version]) => `${name}@${version}`)
  execFileSync("npm", ["install", ...specs, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir,
    stdio: ["ignore", "inherit", "inherit"],
    timeout: TIMEOUT
  })
  linkModules(dir)
  return dir
}

const label = (row: Row): string => Object.entries(row).map(([name, version]) => `${name}@${version}`).join(" ")

/** Runs the tests against one row; true when they pass. */
const check = (row: Row, tests: ReadonlyArray<string>): boolean => {
  console.log(`\n${label(row)}`)
  const dir = project(row)
  try {
    // the versions that the tests will import, as Node resolves them from the test directory
    const versions = execFileSync(process.execPath, [
      "--input-type=module",
      "-e",
      `const [o, a] = await Promise.all([import("openai/version"), import("@anthropic-ai/sdk/version")]); console.log(o.VERSION, a.VERSION)`
    ], { cwd: path.join(dir, "test"), encoding: "utf8" }).trim()
    const expected = `${row.openai ?? installedVersion("openai")} ${
      row["@anthropic-ai/sdk"] ?? installedVersion("@anthropic-ai/sdk")
    }`
    if (versions !== expected) throw new Error(`the tests would import ${versions}, not ${expected}`)
    // a test that fails on every one of three tries fails the row; one that passes on a retry was slowed by the machine
    execFileSync(path.join(root, "node_modules", ".bin", "vitest"), ["run", "--retry=2", ...tests], {
      cwd: dir,
      stdio: "inherit",
      timeout: TIMEOUT
    })
    return true
  } catch {
    return false
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const main = (): void => {
  const tests = sdkTests()
  console.log(`sdk-matrix: ${tests.join(" ")}`)
  const failed = MATRIX.filter((row) => !check(row, tests)).map(label)
  console.log(failed.length === 0 ? "\nsdk-matrix: every row passed" : `\nsdk-matrix: failed with ${failed.join(", ")}`)
  if (failed.length > 0) process.exitCode = 1
}

main()
