/**
 * The ProviderServer of the HTTP workload, run in a worker thread so that
 * its work does not share the client's event loop (as a real provider
 * would not). Receives the tokens, answers with the base URL.
 */
import { parentPort, workerData } from "node:worker_threads"
import { ProviderServer } from "effect-l0/testing"

const tokens = workerData as ReadonlyArray<string>
const server = await ProviderServer.listen([ProviderServer.reply(tokens)])
parentPort!.postMessage(server.openaiBaseUrl)
parentPort!.once("message", () => {
  void server.close().then(() => process.exit(0))
})
