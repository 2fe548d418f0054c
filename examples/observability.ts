/**
 * Metrics, spans and logs of a run that retries and falls back: Prometheus
 * text, OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set (for example
 * http://localhost:4318 for a local OpenTelemetry collector), and warnings
 * from the EventBus logger.
 * Run with: npx tsx examples/observability.ts
 */
import * as Effect from "effect/Effect"
import { FetchHttpClient } from "effect/http"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import { Otlp, PrometheusMetrics } from "effect/observability"
import * as References from "effect/References"
import { EventBus, L0 } from "effect-l0"

// The primary drops its connection once, then is refused (HTTP 401, fatal).
let primaryCalls = 0
async function* primary() {
  primaryCalls++
  if (primaryCalls > 1) throw Object.assign(new Error("401 Unauthorized"), { status: 401 })
  yield "Partial answ"
  throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })
}

async function* fallback() {
  yield "Answer from "
  yield "the fallback"
}

const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT

// Spans ("effect-l0.stream" with one "l0.attempt" child per attempt) and
// metrics go to the collector; without an endpoint, nothing is exported.
const Telemetry = endpoint === undefined
  ? Layer.empty
  : Otlp.layerJson({ baseUrl: endpoint, resource: { serviceName: "l0-example" } }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

const program = Effect.gen(function*() {
  const text = yield* L0.text({
    stream: primary,
    fallbacks: [fallback],
    retry: { backoff: "fixed", baseDelay: "10 millis" }
  }).pipe(
    // every series of this run also carries the model
    Effect.provideService(Metric.CurrentMetricAttributes, { model: "example-model" }),
    // retries at warning, exhaustion and fatal errors at error
    Effect.provide(EventBus.layerLogger),
    Effect.provideService(References.MinimumLogLevel, "Warn")
  )
  console.log(`final text: ${text}`)
  // what a Prometheus scrape of /metrics would return (PrometheusMetrics.layerHttp serves it)
  const scrape = yield* PrometheusMetrics.format()
  for (const line of scrape.split("\n")) {
    if (line.startsWith("effect_l0_") && line.includes("_total")) console.log(line)
  }
}).pipe(Effect.provide(Telemetry))

Effect.runPromise(program)
