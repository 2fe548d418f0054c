import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import { FetchHttpClient } from "effect/http"
import { Otlp } from "effect/observability"
import { TestClock } from "effect/testing"
import { Guardrail, L0 } from "effect-l0"
import { ProviderServer, TestSource } from "effect-l0/testing"
import { API_KEY, sdkClients } from "./clients.js"
import { advance, ampleTimeout, connectionReset, httpError, noDelay } from "./support.js"

interface AnyValue {
  readonly stringValue?: string
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly boolValue?: boolean
}
interface KeyValue {
  readonly key: string
  readonly value: AnyValue
}
interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes: ReadonlyArray<KeyValue>
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: ReadonlyArray<KeyValue> }>
  readonly status: { readonly code: number; readonly message?: string }
}
interface DataPoint {
  readonly attributes: ReadonlyArray<KeyValue>
  readonly asInt?: number | string
  readonly asDouble?: number
  readonly count?: number | string
  readonly sum?: number
}
interface OtlpMetric {
  readonly name: string
  readonly sum?: { readonly dataPoints: ReadonlyArray<DataPoint> }
  readonly histogram?: { readonly dataPoints: ReadonlyArray<DataPoint> }
}

/** An OTLP/HTTP JSON receiver on 127.0.0.1: the bodies it received, by path. */
const receiver = Effect.acquireRelease(
  Effect.callback<
    { readonly url: string; readonly bodies: Array<{ path: string; body: string }>; readonly server: Http.Server }
  >(
    (resume) => {
      const bodies: Array<{ path: string; body: string }> = []
      const server = Http.createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          bodies.push({ path: request.url ?? "", body: Buffer.concat(chunks).toString("utf8") })
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, bodies, server }))
      })
    }
  ),
  ({ server }) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
)

const value = (attributes: ReadonlyArray<KeyValue>, key: string): unknown => {
  const found = attributes.find((attribute) => attribute.key === key)?.value
  if (found === undefined) return undefined
  if (found.intValue !== undefined) return Number(found.intValue)
  return found.stringValue ?? found.doubleValue ?? found.boolValue
}

const attributesOf = (attributes: ReadonlyArray<KeyValue>): Record<string, unknown> =>
  Object.fromEntries(attributes.map(({ key }) => [key, value(attributes, key)]))

const spansIn = (bodies: ReadonlyArray<{ path: string; body: string }>): Array<Span> =>
  bodies.filter(({ path }) => path === "/v1/traces").flatMap(({ body }) =>
    (JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Span> }> }> }).resourceSpans
      .flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans))
  )

/** The metrics of the last export: cumulative, so the last one holds the totals. */
const metricsIn = (bodies: ReadonlyArray<{ path: string; body: string }>): Array<OtlpMetric> => {
  const last = bodies.filter(({ path }) => path === "/v1/metrics").at(-1)
  if (last === undefined) return []
  return (JSON.parse(last.body) as { resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<OtlpMetric> }> }> })
    .resourceMetrics.flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
}

const points = (metrics: ReadonlyArray<OtlpMetric>, name: string) => {
  const metric = metrics.find((candidate) => candidate.name === name)
  return (metric?.sum ?? metric?.histogram)?.dataPoints.map((point) => ({
    attributes: attributesOf(point.attributes),
    value: point.asInt !== undefined ? Number(point.asInt) : point.asDouble,
    count: point.count === undefined ? undefined : Number(point.count),
    sum: point.sum
  }))
}

/** Runs `effect` with OTLP export to the receiver; the layer's shutdown sends what is left before this returns. */
const exported = <A, E>(url: string, effect: Effect.Effect<A, E>) =>
  effect.pipe(
    Effect.provide(Otlp.layerJson({ baseUrl: url, resource: { serviceName: "l0-test" } })),
    Effect.provide(FetchHttpClient.layer),
    Effect.provideService(Metric.MetricRegistry, new Map())
  )

describe("OTLP export", () => {
  it.effect("sends the run span, one child span per attempt with its attributes and events, and the metric values", () =>
    Effect.scoped(Effect.gen(function*() {
      yield* TestClock.setTime(0)
      const { bodies, url } = yield* receiver
      const primary = TestSource.make(["a", TestSource.fail(connectionReset())], [TestSource.fail(httpError(401))])
      const fallback = TestSource.make([TestSource.sleep("300 millis"), "x", "y"])
      const text = yield* exported(
        url,
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(L0.text({
            stream: primary.stream,
            fallbacks: [fallback.stream],
            retry: { backoff: "fixed", baseDelay: "1 second" }
          }))
          yield* advance("1 second")
          yield* advance("300 millis")
          return yield* Fiber.join(fiber)
        })
      )
      expect(text).toBe("xy")

      const spans = spansIn(bodies)
      const run = spans.filter((span) => span.name === "effect-l0.stream")
      expect(run.length).toBe(1)
      const attempts = spans.filter((span) => span.name === "l0.attempt")
      expect(attempts.length).toBe(3)
      for (const attempt of attempts) {
        expect(attempt.parentSpanId).toBe(run[0]!.spanId)
        expect(attempt.traceId).toBe(run[0]!.traceId)
      }
      const byOrder = attempts.map((span) => ({ ...span, values: attributesOf(span.attributes) })).sort((a, b) =>
        (a.values["l0.source"] as number) - (b.values["l0.source"] as number) ||
        (a.values["l0.attempt"] as number) - (b.values["l0.attempt"] as number)
      )
      const [first, second, third] = byOrder
      expect(first!.values).toMatchObject({
        "l0.source": 0,
        "l0.attempt": 1,
        "l0.adapter": "text",
        "l0.tokens": 1,
        "l0.time_to_first_token_ms": 0,
        "l0.failure.category": "network",
        "l0.retry.delay_ms": 1000
      })
      expect(first!.status.code).toBe(2)
      expect(second!.values).toMatchObject({
        "l0.source": 0,
        "l0.attempt": 2,
        "l0.tokens": 0,
        "l0.failure.category": "fatal",
        "l0.failure.error": "FatalError",
        "l0.retry.exhausted": true
      })
      expect(second!.values["l0.adapter"]).toBeUndefined()
      expect(second!.values["l0.retry.delay_ms"]).toBeUndefined()
      expect(third!.values).toMatchObject({
        "l0.source": 1,
        "l0.attempt": 1,
        "l0.adapter": "text",
        "l0.tokens": 2,
        "l0.time_to_first_token_ms": 300
      })
      expect(third!.values["l0.failure.category"]).toBeUndefined()
      expect(third!.status.code).toBe(1)
      expect(third!.events.map((event) => [event.name, attributesOf(event.attributes)])).toEqual([
        ["l0.reset", { "l0.kept": 0 }]
      ])
      expect(run[0]!.events.map((event) => [event.name, attributesOf(event.attributes)])).toEqual([
        ["l0.fallback", { "l0.fallback_index": 1, "l0.failure.category": "fatal" }]
      ])
      expect(attributesOf(run[0]!.attributes)).toMatchObject({ "l0.outcome": "success", "l0.attempts": 3 })

      const metrics = metricsIn(bodies)
      expect(points(metrics, "effect_l0_attempts_total")).toEqual(expect.arrayContaining([
        { attributes: { outcome: "network", provider: "text" }, value: 1, count: undefined, sum: undefined },
        { attributes: { outcome: "fatal", provider: "unknown" }, value: 1, count: undefined, sum: undefined },
        { attributes: { outcome: "success", provider: "text" }, value: 1, count: undefined, sum: undefined }
      ]))
      expect(points(metrics, "effect_l0_retries_total")).toEqual([
        { attributes: { category: "network", provider: "text" }, value: 1, count: undefined, sum: undefined }
      ])
      expect(points(metrics, "effect_l0_tokens_total")?.[0]).toMatchObject({
        attributes: { provider: "text" },
        value: 2
      })
      expect(points(metrics, "effect_l0_time_to_first_token_ms")?.[0]).toMatchObject({ count: 2, sum: 300 })
      expect(points(metrics, "effect_l0_run_duration_ms")?.[0]).toMatchObject({
        attributes: { outcome: "success" },
        count: 1,
        sum: 1300
      })
    })))

  it.effect("records a timeout as an event of its attempt, and ends an interrupted attempt's span", () =>
    Effect.scoped(Effect.gen(function*() {
      const { bodies, url } = yield* receiver
      const source = TestSource.make([TestSource.stall], ["a", TestSource.stall])
      yield* exported(
        url,
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(L0.text({
            stream: source.stream,
            timeout: { initialToken: "1 second", interToken: "1 minute" },
            retry: { backoff: "fixed", baseDelay: 0 }
          }))
          yield* advance("1 second")
          yield* advance("1 second")
          yield* Fiber.interrupt(fiber)
        })
      )
      const attempts = spansIn(bodies).filter((span) => span.name === "l0.attempt")
      expect(attempts.length).toBe(2)
      const timedOut = attempts.find((span) => value(span.attributes, "l0.attempt") === 1)!
      expect(timedOut.events.map((event) => [event.name, attributesOf(event.attributes)])).toEqual([
        ["l0.timeout", { "l0.timeout.phase": "initial", "l0.timeout.limit_ms": 1000 }],
        ["exception", {
          "exception.type": "NetworkError",
          "exception.message": "No output within 1000 ms of the request",
          "exception.stacktrace": "NetworkError: No output within 1000 ms of the request"
        }]
      ])
      const cut = attempts.find((span) => value(span.attributes, "l0.attempt") === 2)!
      expect(value(cut.attributes, "effect.fiber.interrupted")).toBe(true)
      expect(value(cut.attributes, "l0.tokens")).toBe(1)
    })))

  it.effect("records a guardrail violation as an event of its attempt, with its rule but not its message", () =>
    Effect.scoped(Effect.gen(function*() {
      const { bodies, url } = yield* receiver
      const quiet = Guardrail.make({
        name: "quiet",
        severity: "warning",
        check: ({ content }) => content.includes("LOUD") ? "the model said LOUD" : undefined
      })
      const text = yield* exported(
        url,
        L0.text({ stream: TestSource.make(["so ", "LOUD"]).stream, guardrails: [quiet] })
      )
      expect(text).toBe("so LOUD")
      const attempt = spansIn(bodies).find((span) => span.name === "l0.attempt")!
      expect(attempt.events.map((event) => [event.name, attributesOf(event.attributes)])).toEqual([
        ["l0.guardrail_violation", { "l0.guardrail.rule": "quiet", "l0.guardrail.severity": "warning" }]
      ])
      const violations = points(metricsIn(bodies), "effect_l0_guardrail_violations_total")
      expect(violations).toEqual([
        { attributes: { rule: "quiet", severity: "warning" }, value: 1, count: undefined, sum: undefined }
      ])
    })))

  it.effect("never sends a secret that the failing provider echoed", () =>
    Effect.scoped(Effect.gen(function*() {
      const { bodies, url } = yield* receiver
      const key = "sk-live-0123456789abcdef"
      const source = TestSource.make([
        TestSource.fail(Object.assign(new Error(`401 invalid key ${key}`), { status: 401 }))
      ])
      const exit = yield* exported(url, Effect.exit(L0.text({ stream: source.stream, redact: [key] })))
      expect(exit._tag).toBe("Failure")
      const attempt = spansIn(bodies).find((span) => span.name === "l0.attempt")!
      expect(attempt.status.message).toContain("401 invalid key")
      expect(bodies.length).toBeGreaterThan(0)
      for (const { body } of bodies) expect(body).not.toContain(key)
    })))

  it.live("labels spans and metrics with the adapter of real SDK streams, and never exports the key a 401 echoed", () =>
    Effect.scoped(Effect.gen(function*() {
      const { bodies, url } = yield* receiver
      const server = yield* ProviderServer.start([
        ProviderServer.reply("Hello there, friend", { fault: ProviderServer.resetAfter(2) }),
        ProviderServer.httpError(401, { echoCredential: true, error: { message: "Incorrect API key provided" } }),
        ProviderServer.reply("Hello there, friend")
      ])
      const [openai, , anthropic] = sdkClients
      expect([openai!.protocol, anthropic!.protocol]).toEqual(["openai-chat", "anthropic"])
      const text = yield* exported(
        url,
        L0.text({
          stream: openai!.source(server),
          fallbacks: [anthropic!.source(server)],
          retry: noDelay,
          timeout: ampleTimeout,
          redact: [API_KEY]
        })
      )
      expect(text).toBe("Hello there, friend")
      const attempts = spansIn(bodies).filter((span) => span.name === "l0.attempt").map((span) =>
        attributesOf(span.attributes)
      )
      expect(attempts.map((attempt) => [attempt["l0.source"], attempt["l0.attempt"], attempt["l0.adapter"]])).toEqual(
        expect.arrayContaining([[0, 1, "openai-chat"], [0, 2, undefined], [1, 1, "anthropic"]])
      )
      expect(points(metricsIn(bodies), "effect_l0_attempts_total")?.map((point) => point.attributes)).toEqual(
        expect.arrayContaining([
          { outcome: "network", provider: "openai-chat" },
          { outcome: "fatal", provider: "unknown" },
          { outcome: "success", provider: "anthropic" }
        ])
      )
      expect(bodies.some(({ body }) => body.includes("Incorrect API key provided"))).toBe(true)
      for (const { body } of bodies) expect(body).not.toContain(API_KEY)
    })))
})
