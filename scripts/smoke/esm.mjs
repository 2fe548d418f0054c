// The packed package as an ES module: every subpath, and a real openai client
// against the test kit's server, one reset on the way.
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as index from "effect-l0"
import * as L0 from "effect-l0/L0"
import { read, StreamError } from "effect-l0/client"
import { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"
import { VERSION } from "openai/version"

const pkg = JSON.parse(readFileSync(new URL(import.meta.resolve("effect-l0/package.json")), "utf8"))
for (const subpath of Object.keys(pkg.exports)) {
  // the test kit and the browser client are entries of their own, not namespaces of the index
  if (subpath === "." || subpath === "./package.json" || subpath === "./testing" || subpath === "./client") continue
  const name = subpath.slice(2)
  const module = await import(`effect-l0/${name}`)
  assert.deepEqual(Object.keys(module).sort(), Object.keys(index[name]).sort(), name)
  for (const key of Object.keys(module)) assert.equal(module[key], index[name][key], `${name}.${key}`)
}

assert.equal(typeof read, "function")
assert.equal(typeof StreamError, "function")

const answer = "Hello from the packed package."
const server = await ProviderServer.listen([
  ProviderServer.reply(answer, { chunkSize: 5, fault: ProviderServer.resetAfter(2) }),
  ProviderServer.reply(answer, { chunkSize: 5 })
])
try {
  const client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: "sk-smoke", maxRetries: 0 })
  const text = await Effect.runPromise(L0.text({
    stream: ({ signal }) =>
      client.chat.completions.create(
        { model: "smoke", messages: [{ role: "user", content: "Hello" }], stream: true },
        { signal }
      ),
    retry: { baseDelay: "10 millis" }
  }))
  assert.equal(text, answer)
  assert.deepEqual(server.requests.map((request) => request.outcome), ["reset", "completed"])
} finally {
  await server.close()
}
console.log(`  ${process.version} ES modules: ${Object.keys(pkg.exports).length - 1} subpaths, openai ${VERSION} client run`)
