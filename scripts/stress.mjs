/**
 * npm run test:stress: the whole `npm test` while two CPU-bound processes
 * keep both cores of a 2-core machine busy. The suite must pass all the same:
 * no test may depend on how fast the machine is. The burners are always
 * stopped, and the exit code is npm test's.
 */
import { spawn } from "node:child_process"

const BURNERS = Number(process.env.STRESS_BURNERS ?? 2)

const burners = Array.from(
  { length: BURNERS },
  () => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" })
)

const stopBurners = () => {
  for (const burner of burners) if (burner.exitCode === null) burner.kill("SIGKILL")
}
process.on("exit", stopBurners)

console.log(`test:stress: ${BURNERS} CPU-bound processes (${burners.map((b) => b.pid).join(", ")}) run beside npm test`)
const started = Date.now()
const test = spawn("npm", ["test"], { stdio: "inherit" })

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    test.kill(signal)
    stopBurners()
    process.exit(130)
  })
}

test.on("exit", (code, signal) => {
  stopBurners()
  console.log(
    `test:stress: npm test ${code === 0 ? "passed" : "failed"} in ${
      ((Date.now() - started) / 1000).toFixed(1)
    } s under load`
  )
  process.exit(code ?? (signal === null ? 1 : 128))
})
