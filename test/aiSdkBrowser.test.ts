import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium } from "playwright-core"
import { describe, expect, it } from "vitest"
import { ANSWER, listen, pageBundle } from "../examples/ai-sdk-use-chat.js"

const CHROMIUM = "/usr/bin/chromium"
// CI installs Chromium (.ci/run), so there a missing browser fails the test instead of skipping it
const skip = !existsSync(CHROMIUM) && process.env.CI === undefined
if (skip) console.warn(`browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`)

describe.skipIf(skip)("useChat of @ai-sdk/react in headless Chromium", () => {
  it(
    "renders an L0 run and a model wrapped with the middleware: a reset mid-answer and a fallback, the answer once",
    async () => {
      const example = await listen(await pageBundle())
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
        // no network but the example's server
        await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort())
        for (const mode of ["run", "model"]) {
          await page.goto(`${example.url}?mode=${mode}`)
          await page.waitForSelector("body[data-state]", { timeout: 30_000 })
          const outcome = await page.evaluate(() => ({
            state: document.body.dataset.state,
            error: document.body.dataset.error,
            answer: document.getElementById("answer")?.textContent
          }))
          expect(outcome, mode).toEqual({ state: "done", error: undefined, answer: ANSWER })
        }
        expect(failures).toEqual([])
      } finally {
        await browser.close()
        rmSync(profile, { recursive: true, force: true })
        await example.close()
      }
    },
    60_000
  )
})
