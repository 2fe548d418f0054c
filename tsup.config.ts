import { defineConfig } from "tsup"

export default defineConfig({
  entry: { index: "src/index.ts", testing: "src/testing/index.ts", client: "src/client.ts" },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // the testing entry refers to the main one by name, so both share one copy of the types
  external: ["effect", "effect-l0", "openai", "@anthropic-ai/sdk"]
})
