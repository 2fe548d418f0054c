/**
 * Streaming to a browser: a node:http server with a page and an event-stream
 * endpoint that runs the demo scenario (a 429, a socket reset mid-answer, an
 * overloaded provider, a fallback) through `Sse.toResponse`. The page reads
 * it with `effect-l0/client`, which applies the resets, so the answer shows
 * once however often the providers fail.
 *
 * Run: npx tsx examples/browser.ts, then open the address it prints.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { build } from "esbuild"
import { L0, Sse } from "effect-l0"
import { type ScenarioOptions, scenarioSetup } from "./demo-scenario.js"

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>effect-l0: streaming to a browser</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem }
    #answer { white-space: pre-wrap; min-height: 6rem }
    #status { color: #555 }
  </style>
</head>
<body>
  <h1>effect-l0: streaming to a browser</h1>
  <p id="status">Connecting…</p>
  <p id="answer"></p>
  <script type="module">
    import { read } from "/client.js"

    const answer = document.getElementById("answer")
    const status = document.getElementById("status")
    let resets = 0
    let dropped = 0
    const reply = read(fetch("/answer", { method: "POST" }), {
      onText: (text) => {
        answer.textContent = text
      },
      onReset: (kept) => {
        // called before onText, so the page still shows the text being dropped
        resets++
        dropped += answer.textContent.length - kept
        status.textContent = "A provider failed mid-answer: retrying…"
      }
    })
    try {
      const { complete } = await reply.result
      status.textContent = "Done: " + complete.state.content.length + " characters after " + resets + " reset(s)."
      document.body.dataset.state = "done"
    } catch (error) {
      status.textContent = (error.tag ?? error.name) + ": " + error.message
      document.body.dataset.state = "error"
    }
    document.body.dataset.resets = String(resets)
    document.body.dataset.dropped = String(dropped)
  </script>
</body>
</html>
`

/**
 * `effect-l0/client` for the page. In an app your bundler takes it from the
 * package; here esbuild builds it from the sources.
 */
const clientBundle = async (): Promise<string> => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("../src/client.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    target: "es2020",
    write: false
  })
  return result.outputFiles[0]!.text
}

/** The scenario as one L0 stream; its local providers live as long as the stream. */
const answer = (options: ScenarioOptions) =>
  Stream.unwrap(Effect.map(scenarioSetup(options), (setup) => L0.stream(setup.options)))

export interface Running {
  readonly url: string
  readonly close: () => Promise<void>
}

/** Serves the page on 127.0.0.1 at a free port. */
export const listen = async (options: ScenarioOptions = {}): Promise<Running> => {
  const client = await clientBundle()
  const server = Http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE)
    } else if (req.method === "GET" && req.url === "/client.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(client)
    } else if (req.method === "POST" && req.url === "/answer") {
      void Sse.pipeToNode(Sse.toResponse(answer(options)), res)
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await listen()
  console.log(`Open ${url} (Ctrl+C to stop)`)
}
