/**
 * effect-l0: reliable LLM token streams on Effect.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Adapter from "./Adapter.js"
/** @since 0.1.0 */
export * as Adapters from "./adapters/index.js"
export * as AnswerBuffer from "./AnswerBuffer.js"
/** @since 0.1.0 */
export * as AiSdk from "./AiSdk.js"
/** @since 0.1.0 */
export * as Checkpoint from "./Checkpoint.js"
/** @since 0.1.0 */
export * as Consensus from "./Consensus.js"
/** @since 0.1.0 */
export * as Continuation from "./Continuation.js"
/** @since 0.1.0 */
export * as EffectAi from "./EffectAi.js"
/** @since 0.1.0 */
export * as EventBus from "./EventBus.js"
/** @since 0.1.0 */
export * as EventLog from "./EventLog.js"
export * as Fleet from "./Fleet.js"
/** @since 0.1.0 */
export * as Guardrail from "./Guardrail.js"
/** @since 0.1.0 */
export * as Guardrails from "./Guardrails.js"
/** @since 0.1.0 */
export * as JsonRepair from "./JsonRepair.js"
/** @since 0.1.0 */
export * as L0 from "./L0.js"
/** @since 0.1.0 */
export * as L0Async from "./L0Async.js"
/** @since 0.1.0 */
export * as L0Error from "./L0Error.js"
/** @since 0.1.0 */
export * as L0Event from "./L0Event.js"
/** @since 0.1.0 */
export * as L0State from "./L0State.js"
/** @since 0.1.0 */
export * as Metrics from "./Metrics.js"
/** @since 0.1.0 */
export * as Multi from "./Multi.js"
/** @since 0.1.0 */
export * as Pipeline from "./Pipeline.js"
/** @since 0.1.0 */
export * as Prompt from "./Prompt.js"
/** @since 0.1.0 */
export * as ProviderHealth from "./ProviderHealth.js"
/** @since 0.1.0 */
export * as Retry from "./Retry.js"
/** @since 0.1.0 */
export * as Sse from "./Sse.js"
/** @since 0.1.0 */
export * as Structured from "./Structured.js"
/** @since 0.1.0 */
export * as Timeout from "./Timeout.js"
/** @since 0.1.0 */
export * as Window from "./Window.js"
