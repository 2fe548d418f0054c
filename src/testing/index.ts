/**
 * effect-l0/testing: tools to test code that uses effect-l0.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ProviderServer from "./ProviderServer.js"
/** @since 0.1.0 */
export * as TestSource from "./TestSource.js"
