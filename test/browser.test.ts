import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Stream from "effect/Stream"
import { L0, Sse } from "effect-l0"
import { chromium } from "playwright-core"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { listen } from "../examples/browser.js"
import { ANSWER } from "../examples/demo-scenario.js"

const CHROMIUM = "/usr/bin/chromium"
// CI installs Chromium (.ci/run), so there a missing browser fails the test instead of skipping it
const skip = !existsSync(CHROMIUM) && process.env.CI === undefined
if (skip) console.warn(`browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`)

describe.skipIf(skip)("examples/browser.ts in headless Chromium", () => {
  it("the page shows the answer exactly once after two mid-stream resets", async () => {
    const example = await listen({ retryAfter: 0.05, chunkDelay: 5 })
    const profile = mkdtempSync(join(tmpdir(), "effect-l0-chromium-"))
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
    try {
      const page = browser.pages()[0] ?? await browser.newPage()
      const failures: Array<string> = []
      page.on("pageerror", (error) => failures.push(error.message))
      await page.goto(example.url)
      await page.waitForSelector("body[data-state]", { timeout: 30_000 })
      const outcome = await page.evaluate(() => ({
        state: document.body.dataset.state,
        resets: Number(document.body.dataset.resets),
        dropped: Number(document.body.dataset.dropped),
        answer: document.getElementById("answer")?.textContent,
        status: document.getElementById("status")?.textContent
      }))
      expect(failures).toEqual([])
      expect(outcome.status).toBe(`Done: ${ANSWER.length} characters after 2 reset(s).`)
      expect(outcome.state).toBe("done")
      expect(outcome.answer).toBe(ANSWER)
      // the page had shown text that the resets took back: without them it would hold parts twice
      expect(outcome.resets).toBe(2)
      expect(outcome.dropped).toBeGreaterThan(0)
    } finally {
      await browser.close()
      await example.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }, 60_000)
})

/** The page of docs/browser.md's "Without a bundler", as a reader copies it. */
const noBundlerPage = (): string => {
  const guide = readFileSync("docs/browser.md", "utf8")
  const section = guide.slice(guide.indexOf("\n## Without a bundler\n"))
  const page = /```html\n([\s\S]*?)\n```/.exec(section)?.[1]
  if (page === undefined) throw new Error("docs/browser.md has no html block under \"Without a bundler\"")
  return page
}

/** `effect-l0/client` as the package ships it: TypeScript's ES module output of src/client.ts. */
const clientModule = (): string =>
  ts.transpileModule(readFileSync("src/client.ts", "utf8"), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 }
  }).outputText

describe.skipIf(skip)("docs/browser.md without a bundler, in headless Chromium", () => {
  it("the page loads effect-l0/client through its import map and shows the answer once, after a retry", async () => {
    const answer = "Because a stream can fail halfway."
    async function* cutShort() {
      yield "Because a str"
      throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })
    }
    const page = noBundlerPage()
    const client = clientModule()
    expect(client).not.toMatch(/^\s*import\s/m)
    const server = Http.createServer((req, res) => {
      if (req.method === "GET" && req.url === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page)
      } else if (req.method === "GET" && req.url === "/node_modules/effect-l0/dist/client.js") {
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(client)
      } else if (req.method === "POST" && req.url === "/answer") {
        void Sse.pipeToNode(
          Sse.toResponse(L0.stream({
            stream: ({ attempt }) => attempt === 1 ? cutShort() : Stream.make(answer),
            retry: { backoff: "fixed", baseDelay: 0 }
          })),
          res
        )
      } else {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    const profile = mkdtempSync(join(tmpdir(), "effect-l0-chromium-"))
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    })
    try {
      const tab = browser.pages()[0] ?? await browser.newPage()
      const failures: Array<string> = []
      tab.on("pageerror", (error) => failures.push(error.message))
      await tab.goto(`http://127.0.0.1:${port}/`)
      await tab.waitForFunction(() => /^Done|: /.test(document.getElementById("status")?.textContent ?? ""), null, {
        timeout: 30_000
      })
      const shown = await tab.evaluate(() => ({
        answer: document.getElementById("answer")?.textContent,
        status: document.getElementById("status")?.textContent
      }))
      expect(failures).toEqual([])
      expect(shown).toEqual({ answer, status: "Done in 2 attempt(s)" })
    } finally {
      await browser.close()
      await new Promise((resolve) => server.close(resolve))
      rmSync(profile, { recursive: true, force: true })
    }
  }, 60_000)
})
