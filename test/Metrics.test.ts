import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import { PrometheusMetrics } from "effect/observability"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { EventBus, Guardrail, L0, Metrics } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset, httpError } from "./support.js"

const count = (metric: Metric.Counter<number>, attributes: Record<string, string> = {}) =>
  Effect.map(Metric.value(Metric.withAttributes(metric, attributes)), (state) => state.count)

const histogram = (metric: Metric.Histogram<number>, attributes: Record<string, string> = {}) =>
  Metric.value(Metric.withAttributes(metric, attributes))

/** A registry of its own, so that counts start at zero whatever ran before. */
const isolated = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideService(effect, Metric.MetricRegistry, new Map())

/**
 * Primary: a token then a reset connection, then a 401 that exhausts it;
 * fallback: first token after 300 ms, two more 200 ms later. Retries wait 1 s.
 */
const retriedThenFallback = () => {
  const primary = TestSource.make(["a", TestSource.fail(connectionReset())], [TestSource.fail(httpError(401))])
  const fallback = TestSource.make([TestSource.sleep("300 millis"), "x", TestSource.sleep("200 millis"), "y", "z"])
  return L0.text({
    stream: primary.stream,
    fallbacks: [fallback.stream],
    retry: { backoff: "fixed", baseDelay: "1 second" }
  })
}

describe("Metrics", () => {
  it.effect("count attempts by outcome and provider, retries, fallbacks, resets and runs; time the run", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(0)
      const fiber = yield* Effect.forkChild(isolated(Effect.gen(function*() {
        const text = yield* retriedThenFallback()
        return {
          text,
          success: yield* count(Metrics.attempts, { outcome: "success", provider: "text" }),
          network: yield* count(Metrics.attempts, { outcome: "network", provider: "text" }),
          fatal: yield* count(Metrics.attempts, { outcome: "fatal", provider: "unknown" }),
          retries: yield* count(Metrics.retries, { category: "network", provider: "text" }),
          fallbacks: yield* count(Metrics.fallbacks, { category: "fatal" }),
          resets: yield* count(Metrics.resets),
          tokens: yield* count(Metrics.tokens, { provider: "text" }),
          runs: yield* count(Metrics.runs, { outcome: "success" }),
          ttft: yield* histogram(Metrics.timeToFirstToken, { provider: "text" }),
          rate: yield* histogram(Metrics.tokensPerSecond, { provider: "text" }),
          duration: yield* histogram(Metrics.runDuration, { outcome: "success" })
        }
      })))
      yield* advance("1 second")
      yield* advance("300 millis")
      yield* advance("200 millis")
      const values = yield* Fiber.join(fiber)
      expect(values).toMatchObject({
        text: "xyz",
        success: 1,
        network: 1,
        fatal: 1,
        retries: 1,
        fallbacks: 1,
        resets: 1,
        tokens: 3,
        runs: 1
      })
      // the first fallback token comes 300 ms after its start; x then y, z 200 ms later: 2 tokens in 0.2 s
      expect(values.ttft).toMatchObject({ count: 2, min: 0, max: 300 })
      expect(values.rate).toMatchObject({ count: 1, min: 10, max: 10 })
      expect(values.duration).toMatchObject({ count: 1, min: 1500, max: 1500 })
    }))

  it.effect("count failed and interrupted runs by outcome", () =>
    isolated(Effect.gen(function*() {
      yield* Effect.exit(L0.text({ stream: TestSource.make([TestSource.fail(httpError(403))]).stream }))
      const fiber = yield* Effect.forkChild(
        Stream.runDrain(L0.stream({ stream: TestSource.make(["a", TestSource.stall]).stream }))
      )
      yield* advance("1 second")
      yield* Fiber.interrupt(fiber)
      expect(yield* count(Metrics.runs, { outcome: "failure" })).toBe(1)
      expect(yield* count(Metrics.runs, { outcome: "interrupted" })).toBe(1)
      expect(yield* count(Metrics.runs, { outcome: "success" })).toBe(0)
    })))

  it.effect("count timeouts by phase and guardrail violations by rule and severity", () =>
    isolated(Effect.gen(function*() {
      const source = TestSource.make([TestSource.stall], ["a", TestSource.stall], ["ok", "done"])
      const shouting = Guardrail.make({
        name: "no-shouting",
        severity: "warning",
        check: ({ delta }) => delta.includes("done") ? "quiet please" : undefined
      })
      const fiber = yield* Effect.forkChild(L0.text({
        stream: source.stream,
        guardrails: [shouting],
        timeout: { initialToken: "1 second", interToken: "1 second" },
        retry: { backoff: "fixed", baseDelay: 0 }
      }))
      yield* advance("1 second")
      yield* advance("1 second")
      expect(yield* Fiber.join(fiber)).toBe("okdone")
      expect(yield* count(Metrics.timeouts, { phase: "initial" })).toBe(1)
      expect(yield* count(Metrics.timeouts, { phase: "inter" })).toBe(1)
      expect(yield* count(Metrics.violations, { rule: "no-shouting", severity: "warning" })).toBe(1)
    })))

  it.effect("carry the attributes provided around the run, such as the model", () =>
    isolated(Effect.gen(function*() {
      yield* L0.text({ stream: TestSource.make(["a", "b"]).stream }).pipe(
        Effect.provideService(Metric.CurrentMetricAttributes, { model: "gpt-test" })
      )
      expect(yield* count(Metrics.tokens, { provider: "text", model: "gpt-test" })).toBe(2)
      expect(yield* count(Metrics.tokens, { provider: "text" })).toBe(0)
    })))

  it.effect("are the metrics EventBus.metrics named before", () =>
    Effect.sync(() => {
      expect(EventBus.metrics.attempts).toBe(Metrics.attempts)
      expect(EventBus.metrics.timeToFirstToken).toBe(Metrics.timeToFirstToken)
    }))

  it.effect("scrape as Prometheus text with their labels and histogram buckets", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(0)
      const fiber = yield* Effect.forkChild(isolated(Effect.andThen(retriedThenFallback(), PrometheusMetrics.format())))
      yield* advance("1 second")
      yield* advance("300 millis")
      yield* advance("200 millis")
      const lines = (yield* Fiber.join(fiber)).split("\n")
      expect(lines).toContain("# TYPE effect_l0_attempts_total counter")
      expect(lines).toContain(`effect_l0_attempts_total{outcome="success",provider="text"} 1`)
      expect(lines).toContain(`effect_l0_attempts_total{outcome="network",provider="text"} 1`)
      expect(lines).toContain(`effect_l0_retries_total{category="network",provider="text"} 1`)
      expect(lines).toContain(`effect_l0_fallbacks_total{category="fatal"} 1`)
      expect(lines).toContain(`effect_l0_tokens_total{provider="text"} 3`)
      expect(lines).toContain(`effect_l0_runs_total{outcome="success"} 1`)
      expect(lines).toContain("# TYPE effect_l0_time_to_first_token_ms histogram")
      expect(lines).toContain(`effect_l0_time_to_first_token_ms_bucket{provider="text",le="400"} 2`)
      expect(lines).toContain(`effect_l0_time_to_first_token_ms_bucket{provider="text",le="200"} 1`)
      expect(lines).toContain(`effect_l0_time_to_first_token_ms_count{provider="text"} 2`)
      expect(lines).toContain(`effect_l0_run_duration_ms_sum{outcome="success"} 1500`)
    }))
})
