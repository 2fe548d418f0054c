/**
 * Effect `Metric`s that every L0 run updates: once per attempt or per
 * observed event (retry, reset, timeout, violation), never once per token.
 * Read them with `Metric.value`, or export them with the layers of
 * `effect/observability` (`OtlpMetrics.layer`, `PrometheusMetrics.format`).
 *
 * Attempt-level series carry a `provider` attribute: the name of the adapter
 * that decoded the attempt (`"openai"`, `"anthropic"`, …, or `"unknown"` when
 * the attempt failed before its first chunk was recognized). Streams do not
 * report their model, so add it yourself with
 * `Effect.provideService(Metric.CurrentMetricAttributes, { model })` around
 * the run: every series then carries it.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"

/**
 * Runs, by `outcome`: `"success"`, `"failure"` or `"interrupted"`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const runs: Metric.Counter<number> = Metric.counter("effect_l0_runs_total", {
  description: "L0 runs by outcome (success, failure, interrupted)",
  incremental: true
})

/**
 * Attempts, by `outcome` (`"success"` or the failing error's category) and
 * `provider`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const attempts: Metric.Counter<number> = Metric.counter("effect_l0_attempts_total", {
  description: "Attempts of L0 runs by outcome (success or error category) and provider",
  incremental: true
})

/**
 * Retries of the same source, by error `category` and `provider`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const retries: Metric.Counter<number> = Metric.counter("effect_l0_retries_total", {
  description: "Retries of L0 sources by error category and provider",
  incremental: true
})

/**
 * Switches to a fallback source, by the `category` of the error that
 * exhausted the previous source.
 *
 * @category metrics
 * @since 0.1.0
 */
export const fallbacks: Metric.Counter<number> = Metric.counter("effect_l0_fallbacks_total", {
  description: "Switches of L0 runs to a fallback source by error category",
  incremental: true
})

/**
 * Guardrail violations, by `rule` and `severity`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const violations: Metric.Counter<number> = Metric.counter("effect_l0_guardrail_violations_total", {
  description: "Guardrail violations found in L0 attempts by rule and severity",
  incremental: true
})

/**
 * `Reset` events sent to consumers: shown text that a retry or a fallback
 * takes back.
 *
 * @category metrics
 * @since 0.1.0
 */
export const resets: Metric.Counter<number> = Metric.counter("effect_l0_resets_total", {
  description: "Reset events of L0 runs (shown text taken back by a retry or fallback)",
  incremental: true
})

/**
 * First-token and inter-token timeouts, by `phase`: `"initial"` or `"inter"`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const timeouts: Metric.Counter<number> = Metric.counter("effect_l0_timeouts_total", {
  description: "Timeouts of L0 attempts by phase (initial, inter)",
  incremental: true
})

/**
 * Tokens delivered by successful attempts, by `provider`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tokens: Metric.Counter<number> = Metric.counter("effect_l0_tokens_total", {
  description: "Tokens delivered by successful L0 attempts by provider",
  incremental: true
})

/**
 * Milliseconds from an attempt's start to its first token, by `provider`:
 * every attempt that received a token, failed ones included.
 *
 * @category metrics
 * @since 0.1.0
 */
export const timeToFirstToken: Metric.Histogram<number> = Metric.histogram("effect_l0_time_to_first_token_ms", {
  description: "Milliseconds from the start of an L0 attempt to its first token",
  boundaries: Metric.exponentialBoundaries({ start: 25, factor: 2, count: 10 })
})

/**
 * Generation speed of successful attempts, by `provider`: tokens after the
 * first over the seconds from the first token to the last. Attempts whose
 * tokens all arrived at once are not recorded.
 *
 * @category metrics
 * @since 0.1.0
 */
export const tokensPerSecond: Metric.Histogram<number> = Metric.histogram("effect_l0_tokens_per_second", {
  description: "Tokens per second of successful L0 attempts, from the first token to the last",
  boundaries: Metric.exponentialBoundaries({ start: 5, factor: 2, count: 9 })
})

/**
 * Milliseconds from a run's start to its end, by `outcome`, retries and
 * fallbacks included.
 *
 * @category metrics
 * @since 0.1.0
 */
export const runDuration: Metric.Histogram<number> = Metric.histogram("effect_l0_run_duration_ms", {
  description: "Milliseconds from the start of an L0 run to its end, by outcome",
  boundaries: Metric.exponentialBoundaries({ start: 100, factor: 2, count: 10 })
})
