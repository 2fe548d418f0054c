/**
 * Completes the CommonJS side of dist/ after `tsup` (the CommonJS bundles)
 * and `tsc -p tsconfig.build.json` (the ES modules and their declarations):
 *
 * - one `.d.cts` beside each `.d.ts`: relative imports point to `.cjs`, and
 *   imports from `effect` (an ES module package) say
 *   `resolution-mode: "import"`, without which TypeScript's `node16`
 *   resolution rejects them (TS1479);
 * - one `.cjs` file per subpath of package.json's `exports` that is not a
 *   bundle itself, holding the namespace of the same name from `index.cjs`.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const dist = path.join(root, "dist")

const EFFECT_IMPORT = /^import (?:type )?([^;]*?) from "(effect(?:\/[^"]*)?)";$/gm
const EFFECT_INLINE = /\bimport\("(effect(?:\/[^"]*)?)"\)/g
const RELATIVE = /(from |import\()"(\.{1,2}\/[^"]+)\.js"/g
const IMPORT_MODE = `{ "resolution-mode": "import" }`

/** The CommonJS twin of one ES module declaration file. */
const toCommonJs = (file: string, source: string): string => {
  const converted = source
    .replace(RELATIVE, (_, prefix: string, specifier: string) => `${prefix}"${specifier}.cjs"`)
    .replace(
      EFFECT_IMPORT,
      (_, clause: string, specifier: string) => `import type ${clause} from "${specifier}" with ${IMPORT_MODE};`
    )
    .replace(EFFECT_INLINE, (_, specifier: string) => `import("${specifier}", { with: ${IMPORT_MODE} })`)
  const left = converted.split("\n").find((line) =>
    /["']effect(?:\/[^"']*)?["']/.test(line) && !line.includes("resolution-mode") && !line.trimStart().startsWith("*")
  )
  if (left !== undefined) throw new Error(`${file}: no CommonJS form for this reference to effect: ${left.trim()}`)
  return converted
}

const declarations = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".d.ts"))
    .map((entry) => path.join(entry.parentPath, entry.name))

interface Target {
  readonly types: string
  readonly default: string
}

const writeTwins = (): number => {
  const files = declarations(dist)
  for (const file of files) {
    writeFileSync(file.replace(/\.d\.ts$/, ".d.cts"), toCommonJs(path.relative(root, file), readFileSync(file, "utf8")))
  }
  return files.length
}

const BUNDLES = new Set(["./dist/index.cjs", "./dist/testing/index.cjs", "./dist/client.cjs"])

const writeSubpaths = (): number => {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    readonly exports: Record<string, string | { readonly require?: Target }>
  }
  const index = path.join(dist, "index.cjs")
  const namespaces = createRequire(import.meta.url)(index) as Record<string, unknown>
  let written = 0
  for (const [subpath, conditions] of Object.entries(pkg.exports)) {
    if (typeof conditions === "string" || conditions.require === undefined) continue
    const target = conditions.require.default
    if (BUNDLES.has(target)) continue
    const name = subpath.slice(2)
    if (typeof namespaces[name] !== "object") {
      throw new Error(`exports["${subpath}"]: index.cjs has no namespace ${name}`)
    }
    const file = path.join(root, target)
    const fromFile = path.relative(path.dirname(file), index)
    const specifier = fromFile.startsWith(".") ? fromFile : `./${fromFile}`
    writeFileSync(file, `"use strict"\nmodule.exports = require("${specifier}").${name}\n`)
    written++
  }
  return written
}

const twins = writeTwins()
const subpaths = writeSubpaths()
console.log(`commonjs: ${twins} .d.cts declarations, ${subpaths} subpath modules`)
