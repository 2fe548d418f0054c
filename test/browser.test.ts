import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Stream from "effect/Stream"
import { build } from "esbuild"
import { L0, Sse } from "effect-l0"
import type { BrowserContext } from "playwright-core"
import { chromium } from "playwright-core"
import ts from "typescript"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Client from "effect-l0/client"
import { listen } from "../examples/browser.js"
import { ANSWER } from "../examples/demo-scenario.js"

const CHROMIUM = "/usr/bin/chromium"
// CI installs Chromium (.ci/run), so there a missing browser fails the test instead of skipping it
const skip = !existsSync(CHROMIUM) && process.env.CI === undefined
if (skip) console.warn(`browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`)

/** A headless Chromium with a profile of its own; `close` removes both. */
const launch = async () => {
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
  return {
    browser,
    close: async () => {
      await browser.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

describe.skipIf(skip)("examples/browser.ts in headless Chromium", () => {
  it("the page shows the answer exactly once after two mid-stream resets", async () => {
    const example = await listen({ retryAfter: 0.05, chunkDelay: 5 })
    const { browser, close } = await launch()
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
      await close()
      await example.close()
    }
  }, 60_000)
})

/** In a body: wait for the client to go away (or the server to close), sending nothing more. */
const STALL = Symbol("stall")

/** In a body: send `piece` again and again (at most `times`), never ending its line. */
interface Endless {
  readonly piece: string
  readonly times: number
}

type Part = string | Uint8Array | typeof STALL | Endless

const token = (value: string) => `event: token\ndata: ${JSON.stringify(value)}\n\n`
const completeOf = (content: string) => `event: complete\ndata: ${JSON.stringify({ state: { content } })}\n\n`

/** Hostile and odd bodies, each written piece by piece, a turn of the event loop apart, so that reads split them. */
const bodies: Record<string, ReadonlyArray<Part>> = {
  resetPastText: [token("Hello"), "event: reset\ndata: {\"kept\":6}\n\n", completeOf("Hello")],
  negativeKept: [token("Hello"), "event: reset\ndata: {\"kept\":-1}\n\n", completeOf("")],
  fractionalKept: [token("Hello"), "event: reset\ndata: {\"kept\":2.5}\n\n", completeOf("")],
  nanKept: [token("Hello"), "event: reset\ndata: {\"kept\":NaN}\n\n", completeOf("")],
  endlessLine: ["event: token\ndata: \"", { piece: "x".repeat(1024), times: 64 * 1024 }],
  completeFirst: [completeOf("surprise")],
  emptyAnswer: [completeOf("")],
  completeDisagrees: [token("abc"), completeOf("abd")],
  // "é🎉" cut inside both characters, and a CRLF cut between its CR and LF
  splitUtf8: [
    ...Array.from(new TextEncoder().encode(`event: token\r\ndata: "é🎉"\r`), (byte) => Uint8Array.of(byte)),
    "\n\r\n",
    completeOf("é🎉").replaceAll("\n", "\r\n")
  ],
  crLines: ["event: token\rdata: \"a\"\r\revent: token\r", "data: \"b\"\r\r", completeOf("ab").replaceAll("\n", "\r")],
  unknownEvent: [token("a"), "event: tool_call\ndata: {not json\n\n", "data: \"a message\"\n\n", completeOf("a")],
  endsEarly: [token("a"), token("b")],
  stallsBeforeComplete: [token("a"), STALL],
  stallsAfterComplete: [token("a"), completeOf("a"), STALL]
}

const write = async (res: Http.ServerResponse, parts: ReadonlyArray<Part>): Promise<void> => {
  const turn = () => new Promise((resolve) => setTimeout(resolve, 1))
  for (const part of parts) {
    if (res.destroyed) return
    if (part === STALL) return
    if (typeof part === "string" || part instanceof Uint8Array) res.write(part)
    else {
      for (let i = 0; i < part.times && !res.destroyed; i++) {
        if (!res.write(part.piece)) {
          await new Promise<void>((resolve) => {
            res.once("drain", resolve)
            res.once("close", resolve)
          })
        }
      }
    }
    await turn()
  }
  res.end()
}

/** The client bundled for the page, and a server of `bodies`; `leftEarly` waits until the client left a body. */
const serveBodies = async () => {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("../src/client.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    target: "es2020",
    write: false
  })
  const client = bundle.outputFiles[0]!.text
  // each body's response that the client closed before it ended
  const waiting = new Map<string, () => void>()
  const left = new Set<string>()
  const leftEarly = (name: string): Promise<void> =>
    left.has(name) ? Promise.resolve() : new Promise((resolve) => waiting.set(name, resolve))
  const server = Http.createServer((req, res) => {
    const name = req.url?.startsWith("/body/") === true ? req.url.slice("/body/".length) : undefined
    if (req.url === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE)
    else if (req.url === "/client.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(client)
    } else if (name !== undefined && name in bodies) {
      res.on("close", () => {
        if (res.writableFinished) return
        left.add(name)
        waiting.get(name)?.()
      })
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" })
      res.flushHeaders()
      void write(res, bodies[name]!)
    } else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    leftEarly,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** A page that puts the client on `window.client` (tests run as plain functions there, not as modules). */
const PAGE = `<!doctype html><title>effect-l0/client</title>
<script type="module">import * as client from "/client.js"; window.client = client; document.body.dataset.ready = "yes"</script>`

interface Outcome {
  readonly ok: boolean
  readonly text: string
  readonly tag?: string | undefined
  readonly name?: string | undefined
  readonly message?: string | undefined
  readonly loop?: ReadonlyArray<string>
}

describe.skipIf(skip)("effect-l0/client in headless Chromium rejects what it cannot trust", () => {
  let browser: BrowserContext
  let closeBrowser: () => Promise<void>
  let bodiesServer: Awaited<ReturnType<typeof serveBodies>>

  beforeAll(async () => {
    bodiesServer = await serveBodies()
    const launched = await launch()
    browser = launched.browser
    closeBrowser = launched.close
  }, 60_000)

  afterAll(async () => {
    await closeBrowser?.()
    await bodiesServer?.close()
  })

  /** Reads `/body/<name>` with the client in the page; `abort` aborts the signal at a token or once complete arrived. */
  const readInPage = async (
    name: keyof typeof bodies,
    options: { readonly maxEventSize?: number; readonly abort?: "atFirstToken" | "afterComplete" } = {}
  ): Promise<Outcome> => {
    const page = browser.pages()[0] ?? await browser.newPage()
    if (!page.url().startsWith(bodiesServer.url)) {
      await page.goto(bodiesServer.url)
      await page.waitForSelector("body[data-ready]", { state: "attached" })
    }
    return page.evaluate(async ({ name, options }) => {
      const { read } = (window as unknown as { readonly client: typeof Client }).client
      const controller = new AbortController()
      const reply = read(fetch(`/body/${name}`), {
        signal: controller.signal,
        ...(options.maxEventSize === undefined ? {} : { maxEventSize: options.maxEventSize }),
        onToken: () => {
          if (options.abort === "atFirstToken") controller.abort()
        }
      })
      const loop: Array<string> = []
      try {
        for await (const text of reply) {
          loop.push(text)
          if (options.abort === "afterComplete") await reply.result.then(() => controller.abort())
        }
        const { text } = await reply.result
        return { ok: true, text, loop }
      } catch (error) {
        const { message, name, tag } = error as { tag?: string; name?: string; message?: string }
        return { ok: false, text: reply.text, tag, name, message, loop }
      }
    }, { name, options })
  }

  it("a reset past the text held, or with a count that is no non-negative integer, is a ProtocolError", async () => {
    expect(await readInPage("resetPastText")).toMatchObject({
      ok: false,
      tag: "ProtocolError",
      message: `The "reset" event keeps 6 characters of the 5 the stream sent`,
      text: "Hello"
    })
    for (const name of ["negativeKept", "fractionalKept", "nanKept"] as const) {
      expect(await readInPage(name), name).toMatchObject({ ok: false, tag: "ProtocolError", text: "Hello" })
    }
  }, 30_000)

  it("a line that never ends is a ProtocolError at maxEventSize, and the client leaves the response", async () => {
    expect(await readInPage("endlessLine", { maxEventSize: 64 * 1024 })).toMatchObject({
      ok: false,
      tag: "ProtocolError",
      message: "An event of the stream exceeds maxEventSize (65536 characters)"
    })
    // the server, held back by the client's reads, sees it leave long before the 64 MiB it would send
    await bodiesServer.leftEarly("endlessLine")
  }, 30_000)

  it("a complete that disagrees with the text, or comes first with text of its own, is a ProtocolError", async () => {
    for (const name of ["completeFirst", "completeDisagrees"] as const) {
      expect(await readInPage(name), name).toMatchObject({
        ok: false,
        tag: "ProtocolError",
        message: expect.stringContaining(`The "complete" event's state.content is not the text the stream sent`)
      })
    }
    expect(await readInPage("emptyAnswer")).toMatchObject({ ok: true, text: "" })
  }, 30_000)

  it("UTF-8 split across reads, CRLF split between reads, CR line ends, unknown events: the exact text", async () => {
    expect(await readInPage("splitUtf8")).toMatchObject({ ok: true, text: "é🎉" })
    expect(await readInPage("crLines")).toMatchObject({ ok: true, text: "ab" })
    expect(await readInPage("unknownEvent")).toMatchObject({ ok: true, text: "a" })
  }, 30_000)

  it("a body that ends without complete is a NetworkError, never a success", async () => {
    expect(await readInPage("endsEarly")).toMatchObject({
      ok: false,
      tag: "NetworkError",
      message: "The stream ended before its complete event",
      text: "ab"
    })
  }, 30_000)

  it("an abort after complete arrived changes nothing; an abort before it rejects with an AbortError", async () => {
    expect(await readInPage("stallsAfterComplete", { abort: "afterComplete" })).toEqual({
      ok: true,
      text: "a",
      loop: ["a"]
    })
    expect(await readInPage("stallsBeforeComplete", { abort: "atFirstToken" })).toMatchObject({
      ok: false,
      name: "AbortError",
      text: "a"
    })
    await bodiesServer.leftEarly("stallsBeforeComplete")
  }, 30_000)
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
