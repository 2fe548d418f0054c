/**
 * First-token and inter-token timeouts. A timeout fails the attempt with a
 * retryable `NetworkError` (`reason: "timeout"`) and aborts its request;
 * once the protocol's finish reason has arrived, it completes the attempt
 * with what arrived instead (only a trailer such as usage was late).
 * `initialToken` applies until the first output and `interToken` after it,
 * each at its own deadline; output already waiting to be read counts.
 *
 * The clock counts model output, not bytes: keep-alive pings and role-only
 * chunks do not reset it, tool-call argument deltas do. While L0 waits for a
 * slow consumer (back-pressure), the clock is paused.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/timeout.js"

export type { TimeoutOptions } from "./internal/timeout.js"

/**
 * The limits L0 applies when `L0Options.timeout` leaves one out.
 *
 * @category defaults
 * @since 0.1.0
 */
export const defaults: { readonly initialToken: "5 seconds"; readonly interToken: "10 seconds" } = internal.defaults
