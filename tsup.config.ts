import { defineConfig } from "tsup"

/**
 * The CommonJS build: the namespace index, the test kit and the browser client, each one bundle.
 * The ES module build is TypeScript's own output, one file per module
 * (tsconfig.build.json), so that bundlers leave out what is not imported;
 * scripts/commonjs.ts then adds the CommonJS subpaths and declarations.
 */
export default defineConfig({
  entry: { "index": "src/index.ts", "testing/index": "src/testing/index.ts", "client": "src/client.ts" },
  format: ["cjs"],
  clean: true,
  sourcemap: true,
  // the maps point into the shipped src/ instead of carrying a second copy of it
  esbuildOptions: (options) => {
    options.sourcesContent = false
  },
  target: "node22",
  external: ["effect", "effect-l0", "openai", "@anthropic-ai/sdk"]
})
