import { describe, expect, it } from "vitest"
import pkg from "../package.json" with { type: "json" }

describe("toolchain", () => {
  it("runs the suite on the Node 24 LTS pinned by the node dev dependency", () => {
    expect(process.versions.node.split(".")[0]).toBe("24")
    expect(pkg.devDependencies.node).toMatch(/^\^?24\./)
  })
})
