// The packed package through require(): every subpath, and a real Anthropic
// client against the test kit's server.
"use strict"
const assert = require("node:assert/strict")
const Effect = require("effect/Effect")
const index = require("effect-l0")
const pkg = require("effect-l0/package.json")
const { ProviderServer } = require("effect-l0/testing")
const client = require("effect-l0/client")
const Anthropic = require("@anthropic-ai/sdk").default
const { VERSION } = require("@anthropic-ai/sdk/version")

for (const subpath of Object.keys(pkg.exports)) {
  // the test kit and the browser client are entries of their own, not namespaces of the index
  if (subpath === "." || subpath === "./package.json" || subpath === "./testing" || subpath === "./client") continue
  const name = subpath.slice(2)
  const module = require(`effect-l0/${name}`)
  assert.deepEqual(Object.keys(module).sort(), Object.keys(index[name]).sort(), name)
  for (const key of Object.keys(module)) assert.equal(module[key], index[name][key], `${name}.${key}`)
}
assert.equal(typeof client.read, "function")
assert.equal(typeof client.StreamError, "function")

const main = async () => {
  const answer = "Hello through require()."
  const server = await ProviderServer.listen([ProviderServer.reply(answer, { chunkSize: 4 })])
  try {
    const client = new Anthropic({ baseURL: server.anthropicBaseUrl, apiKey: "sk-smoke", maxRetries: 0 })
    const L0 = require("effect-l0/L0")
    const text = await Effect.runPromise(L0.text({
      stream: ({ signal }) =>
        client.messages.create(
          { model: "smoke", max_tokens: 64, messages: [{ role: "user", content: "Hello" }], stream: true },
          { signal }
        )
    }))
    assert.equal(text, answer)
  } finally {
    await server.close()
  }
  console.log(`  ${process.version} CommonJS: ${Object.keys(pkg.exports).length - 1} subpaths, @anthropic-ai/sdk ${VERSION} client run`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
