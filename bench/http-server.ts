/**
 * The ProviderServer of the HTTP workload, run in a worker thread so that
 * its work does not share the client's event loop (as a real provider
 * would not). It streams the tokens it receives: at full speed, or one
 * token per millisecond when the request's model is `paced`. It answers
 * with its base URL and closes on any message.
 */
import { parentPort, workerData } from "node:worker_threads"
import { ProviderServer } from "effect-l0/testing"

const { fast, paced } = workerData as { readonly fast: ReadonlyArray<string>; readonly paced: ReadonlyArray<string> }
const server = await ProviderServer.listen((request) =>
  (request.body as { readonly model?: unknown }).model === "paced"
    ? ProviderServer.reply(paced, { delay: 1 })
    : ProviderServer.reply(fast)
)
parentPort!.postMessage(server.openaiBaseUrl)
parentPort!.once("message", () => {
  void server.close().then(() => process.exit(0))
})
