/** A throwaway `redis-server` on 127.0.0.1, for the fleet example and the tests. */
import { execFile, spawn } from "node:child_process"
import { execFileSync } from "node:child_process"
import * as Net from "node:net"
import { promisify } from "node:util"

const run = promisify(execFile)

/** Whether this machine has `redis-server` (CI installs it; a laptop may not). */
export const hasRedis = (() => {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const ping = async (port: number): Promise<boolean> => {
  try {
    const { stdout } = await run("redis-cli", ["-p", String(port), "ping"])
    return stdout.trim() === "PONG"
  } catch {
    return false
  }
}

export interface RedisServer {
  readonly url: string
  readonly stop: () => Promise<void>
}

/**
 * A throwaway `redis-server` on 127.0.0.1 and a free port (or `port`, to
 * restart a stopped one), without persistence; ready once it answers PING.
 */
export const startRedis = async (port?: number): Promise<RedisServer> => {
  port ??= await freePort()
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
    "no"], {
    stdio: "ignore"
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  while (!(await ping(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      await run("redis-cli", ["-p", String(port), "shutdown", "nosave"]).catch(() => child.kill("SIGKILL"))
      await exited
    }
  }
}
