import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // the package's subpaths, as package.json exports them from dist
    alias: [
      { find: /^effect-l0$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      { find: /^effect-l0\/testing$/, replacement: fileURLToPath(new URL("./src/testing/index.ts", import.meta.url)) },
      {
        find: /^effect-l0\/Adapters$/,
        replacement: fileURLToPath(new URL("./src/adapters/index.ts", import.meta.url))
      },
      { find: /^effect-l0\/(\w+)$/, replacement: fileURLToPath(new URL("./src/$1.ts", import.meta.url)) }
    ]
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
