/**
 * A program for the hostile-cause test: a Standard Schema validator throws a
 * revoked Proxy, and `NodeRuntime.runMain` must print the run's error and exit 1.
 */
import { NodeRuntime } from "@effect/platform-node"
import type { StandardSchemaV1 } from "effect/StandardSchema"
import { L0 } from "../../src/index.js"
import { TestSource } from "../../src/testing/index.js"

const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

const schema: StandardSchemaV1 = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: () => {
      throw revoked()
    }
  }
}

NodeRuntime.runMain(L0.structured(schema, { stream: TestSource.make(["{}"]).stream }))
