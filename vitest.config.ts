import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    alias: {
      "effect-l0/client": fileURLToPath(new URL("./src/client.ts", import.meta.url)),
      "effect-l0/testing": fileURLToPath(new URL("./src/testing/index.ts", import.meta.url)),
      "effect-l0": fileURLToPath(new URL("./src/index.ts", import.meta.url))
    }
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "text"],
      thresholds: { lines: 90, branches: 90 }
    }
  }
})
