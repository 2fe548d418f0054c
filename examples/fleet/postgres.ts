import { execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

/** Debian's PostgreSQL 15 (`apt-get install postgresql`, which `.ci/run` does). */
export const PG_BIN = "/usr/lib/postgresql/15/bin"

/** Whether this machine has PostgreSQL's server binaries (CI installs them; a laptop may not). */
export const hasPostgres = Fs.existsSync(Path.join(PG_BIN, "initdb")) && Fs.existsSync(Path.join(PG_BIN, "postgres"))

/**
 * PostgreSQL refuses to run as root: as root (CI, this machine) the server
 * runs as the `postgres` user that Debian's package creates, through
 * `runuser`; as anyone else, as that user.
 */
const asServerUser = (command: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, [...args]]

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

export interface PostgresServer {
  readonly url: string
  readonly port: number
  readonly stop: () => Promise<void>
}

/**
 * A throwaway PostgreSQL on 127.0.0.1 and a free port: `initdb` into a
 * temporary directory (trust authentication, no fsync), then the server,
 * ready once `pg_isready` says so (bounded: 30 s).
 */
export const startPostgres = async (): Promise<PostgresServer> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "l0-pg-"))
  if (process.getuid?.() === 0) Fs.chownSync(dir, Number((await run("id", ["-u", "postgres"])).stdout.trim()), -1)
  const data = Path.join(dir, "data")
  const [initdb, initArgs] = asServerUser(Path.join(PG_BIN, "initdb"), [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "--no-sync",
    "-E",
    "UTF8"
  ])
  await run(initdb, initArgs)
  const port = await freePort()
  const [postgres, args] = asServerUser(Path.join(PG_BIN, "postgres"), [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "max_connections=200"
  ])
  const child = spawn(postgres, args, { stdio: "ignore" })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const deadline = Date.now() + 30_000
  for (;;) {
    const ready = await run(Path.join(PG_BIN, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)]).then(
      () => true,
      () => false
    )
    if (ready) break
    if (child.exitCode !== null || Date.now() > deadline) throw new Error("PostgreSQL did not start")
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      const [pgCtl, stopArgs] = asServerUser(Path.join(PG_BIN, "pg_ctl"), ["stop", "-D", data, "-m", "immediate"])
      await run(pgCtl, stopArgs).catch(() => child.kill("SIGKILL"))
      await exited
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
