import { spawn } from "node:child_process"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

export interface Child {
  readonly lines: Array<string>
  /** Resolves with the first line that starts with `prefix`; rejects if the process exits first. */
  readonly line: (prefix: string) => Promise<string>
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly kill: (signal?: NodeJS.Signals) => void
}

/** Starts a TypeScript file of the repository on this Node (24) with tsx, collecting its stdout lines. */
export const start = (file: string, env: Record<string, string>): Child => {
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"]
  })
  const lines: Array<string> = []
  const waiting: Array<{ prefix: string; resolve: (line: string) => void }> = []
  let buffer = ""
  child.stdout.setEncoding("utf8").on("data", (data: string) => {
    buffer += data
    let end: number
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      lines.push(line)
      for (const w of waiting.filter((w) => line.startsWith(w.prefix))) w.resolve(line)
    }
  })
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  return {
    lines,
    exit,
    kill: (signal = "SIGKILL") => void child.kill(signal),
    line: (prefix) => {
      const found = lines.find((line) => line.startsWith(prefix))
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        waiting.push({ prefix, resolve })
        void exit.then(() =>
          reject(new Error(`${file} exited without a "${prefix}" line; got ${JSON.stringify(lines)}`))
        )
      })
    }
  }
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

export interface Proxy {
  readonly url: string
  /** Connections it cut on purpose. */
  readonly cuts: () => number
  readonly close: () => Promise<void>
}

/**
 * A TCP proxy on 127.0.0.1 that sends each connection to the next upstream
 * port in turn, and cuts a connection after `cutAfter(n)` bytes from
 * upstream for the n-th connection (`Infinity`: never), as a flaky network
 * or load balancer would.
 */
export const proxy = async (
  upstreams: ReadonlyArray<number>,
  cutAfter: (connection: number) => number
): Promise<Proxy> => {
  let connections = 0
  let cuts = 0
  const sockets = new Set<Net.Socket>()
  const server = Net.createServer((client) => {
    const n = connections++
    const upstream = Net.connect(upstreams[n % upstreams.length]!, "127.0.0.1")
    sockets.add(client).add(upstream)
    const limit = cutAfter(n)
    let sent = 0
    upstream.on("data", (data: Buffer) => {
      sent += data.length
      if (sent > limit) {
        cuts++
        client.write(data.subarray(0, Math.max(0, data.length - (sent - limit))))
        client.destroy()
        upstream.destroy()
        return
      }
      client.write(data)
    })
    client.on("data", (data: Buffer) => upstream.write(data))
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on("close", end).on("error", end)
    upstream.on("close", end).on("error", end)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as Net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    cuts: () => cuts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
