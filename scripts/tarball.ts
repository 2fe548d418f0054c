/**
 * Builds the package and packs it the way `npm publish` would, into a fresh
 * temporary directory, for the package checks and the smoke test.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export const root = path.resolve(import.meta.dirname, "..")

/** Runs `npm` with the arguments in the repository, output shown, and fails the script when it fails. */
export const npm = (args: ReadonlyArray<string>, cwd: string = root): string =>
  execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })

/** `npm run build` then `npm pack`; returns the tarball's path. */
export const pack = (): string => {
  npm(["run", "build", "--silent"])
  const destination = mkdtempSync(path.join(os.tmpdir(), "effect-l0-pack-"))
  // the build ran just above: the prepack script would only repeat it
  const name = npm(["pack", "--ignore-scripts", "--silent", "--pack-destination", destination]).trim()
  return path.join(destination, name)
}
