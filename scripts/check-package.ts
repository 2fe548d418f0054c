/**
 * `npm run check:package`: the packed tarball passes publint (warnings
 * count as errors) and Are the Types Wrong (node16 profile: `effect` itself
 * cannot be resolved under the older node10 resolution, so neither can we).
 */
import { execFileSync } from "node:child_process"
import { rmSync } from "node:fs"
import * as path from "node:path"
import { pack, root } from "./tarball.js"

const bin = (name: string): string => path.join(root, "node_modules", ".bin", name)

const tarball = pack()
try {
  execFileSync(bin("publint"), ["run", tarball, "--strict"], { stdio: "inherit" })
  execFileSync(bin("attw"), [tarball, "--profile", "node16"], { stdio: "inherit" })
} finally {
  rmSync(path.dirname(tarball), { recursive: true, force: true })
}
