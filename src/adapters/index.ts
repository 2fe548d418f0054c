/**
 * The built-in adapters, one per provider protocol, and source factories
 * for raw SSE over HTTP. All adapters are in the default `Adapter.Registry`,
 * so L0 detects them from the first chunk; pass one (or its name) as
 * `L0Options.adapter` to skip detection.
 *
 * @since 0.1.0
 */
export { anthropic } from "./anthropic.js"
export { effectAi } from "./effectAi.js"
export { anthropicHttp, openaiHttp } from "./http.js"
export type { HttpOptions, HttpSource } from "./http.js"
export { openaiChat } from "./openaiChat.js"
export { openaiResponses } from "./openaiResponses.js"
export { events, text } from "./plain.js"
export { vercelAi } from "./vercelAi.js"
