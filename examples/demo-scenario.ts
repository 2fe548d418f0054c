/**
 * The scripted scenario of `npm run demo`, exported so that the test suite
 * runs it too. Two local ProviderServers play an OpenAI-compatible primary
 * and an Anthropic fallback; the real `openai` and `@anthropic-ai/sdk`
 * clients talk to them over HTTP.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { EventBus, L0 } from "effect-l0"
import type { L0Error, L0Event, Timeout } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"

export const ANSWER = "Token streams fail halfway: rate limits, dropped sockets and overloaded servers are routine. " +
  "effect-l0 retries by error category, resets what the reader already saw and falls back to another provider, " +
  "so the answer arrives exactly once."

const PROMPT = "Why do LLM token streams need retries? Two sentences."

export interface ScenarioOptions {
  /** Where tokens and markers are written as they arrive. */
  readonly write?: ((text: string) => void) | undefined
  /** The primary's `Retry-After` on its 429, in seconds. */
  readonly retryAfter?: number | undefined
  /** Real milliseconds between streamed chunks. */
  readonly chunkDelay?: number | undefined
  /** Limits of the run; 2 seconds for the first token and between tokens by default. */
  readonly timeout?: Timeout.TimeoutOptions | undefined
}

export interface ScenarioResult {
  readonly text: string
  readonly fallbackIndex: number
  readonly resets: number
  readonly events: ReadonlyArray<EventBus.BusEvent>
  /** Requests each server received: [openai, anthropic]. */
  readonly requests: readonly [number, number]
}

const SOURCES = ["openai", "anthropic"] as const

// the fallback's SDK loads in the background (under tsx that takes seconds) while the primary streams
const anthropicSdk = import("@anthropic-ai/sdk")

/** Prints tokens live, with a line for each failure, retry, fallback and reset. */
export const printer = (write: (text: string) => void) => {
  let shown = 0
  let lineStart = true
  const line = (text: string) => {
    write(`${lineStart ? "" : "\n"}  ${text}\n`)
    lineStart = true
  }
  return {
    event: (event: L0Event.L0Event): void => {
      if (event._tag === "Token") {
        shown += event.value.length
        lineStart = false
        write(event.value)
      } else if (event._tag === "Reset") {
        line(`⟲ reset: the ${shown - event.kept} characters above are dropped`)
        shown = event.kept
      } else if (event._tag === "Complete") {
        line(`✓ complete (${event.state.finishReason ?? "no finish reason"})`)
      }
    },
    bus: (event: EventBus.BusEvent): void => {
      if (isError(event)) line(`✗ ${event.type.slice(6)} error: ${event.data.message.slice(0, 60)}`)
      else if (event.type === "retry_attempt") line(`↻ retry in ${event.data.delayMs} ms`)
      else if (event.type === "fallback_start") {
        line(`⇢ retries spent, falling back to ${SOURCES[event.data.fallbackIndex]}`)
      }
    }
  }
}

/** The scenario's two servers (closed with the scope) and the L0 options that stream from them. */
export interface ScenarioSetup {
  readonly options: L0.L0Options
  /** Requests each server received so far: [openai, anthropic]. */
  readonly requests: () => readonly [number, number]
}

/**
 * Starts the scripted scenario's servers: the primary answers 429 with
 * `Retry-After`, then resets its socket mid-stream, then sends an in-band
 * `overloaded_error`; with `maxRetries: 2` its budget is spent and L0
 * falls back to the Anthropic provider, which answers.
 */
export const scenarioSetup = (options: ScenarioOptions = {}): Effect.Effect<ScenarioSetup, never, Scope.Scope> =>
  Effect.gen(function*() {
    const delay = options.chunkDelay ?? 15
    const primary = yield* ProviderServer.start([
      ProviderServer.httpError(429, {
        retryAfter: options.retryAfter ?? 1,
        error: { message: "Rate limit reached for requests" }
      }),
      ProviderServer.reply(ANSWER, { chunkSize: 8, delay, fault: ProviderServer.resetAfter(6) }),
      ProviderServer.reply(ANSWER, {
        chunkSize: 8,
        delay,
        fault: ProviderServer.errorAfter(10, { type: "overloaded_error", message: "Overloaded" })
      })
    ])
    const fallback = yield* ProviderServer.start([
      ProviderServer.reply(ANSWER, { chunkSize: 8, delay, usage: { inputTokens: 18, outputTokens: 52 } })
    ])
    const openai = new OpenAI({
      baseURL: primary.openaiBaseUrl,
      apiKey: "sk-demo-local",
      maxRetries: 0,
      logLevel: "off"
    })
    return {
      options: {
        stream: ({ signal }) =>
          openai.chat.completions.create({
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: PROMPT }],
            stream: true,
            stream_options: { include_usage: true }
          }, { signal }),
        fallbacks: [async ({ signal }) => {
          const { default: Anthropic } = await anthropicSdk
          const anthropic = new Anthropic({
            baseURL: fallback.anthropicBaseUrl,
            apiKey: "sk-ant-demo-local",
            maxRetries: 0,
            logLevel: "off"
          })
          return anthropic.messages.create({
            model: "claude-sonnet-4-6",
            max_tokens: 256,
            messages: [{ role: "user", content: PROMPT }],
            stream: true
          }, { signal })
        }],
        retry: { maxRetries: 2, baseDelay: "100 millis", backoff: "fixed" },
        timeout: options.timeout ?? { initialToken: "2 seconds", interToken: "2 seconds" }
      },
      requests: () => [primary.requests.length, fallback.requests.length] as const
    }
  })

/** Runs the scripted scenario (see `scenarioSetup`), printing tokens and markers to `options.write`. */
export const scenario = (options: ScenarioOptions = {}): Effect.Effect<ScenarioResult, L0Error.L0Error> =>
  Effect.scoped(Effect.gen(function*() {
    const setup = yield* scenarioSetup(options)
    const events: Array<EventBus.BusEvent> = []
    const print = printer(options.write ?? (() => {}))
    let resets = 0
    const result = yield* L0.stream(setup.options).pipe(
      Stream.runFold(() => ({ text: "", fallbackIndex: 0 }), (acc, event) => {
        print.event(event)
        if (event._tag === "Reset") resets++
        return event._tag === "Complete" ? { text: event.state.content, fallbackIndex: event.state.fallbackIndex } : acc
      }),
      Effect.provide(EventBus.layer((event) => {
        events.push(event)
        print.bus(event)
      }, { tokens: false }))
    )
    return { ...result, resets, events, requests: setup.requests() }
  }))

/** Whether `event` reports a failed attempt (`error_<category>`). */
const isError = (event: EventBus.BusEvent): event is EventBus.BusEvent<`error_${L0Error.ErrorCategory}`> =>
  event.type.startsWith("error_")

/** Where each attempt came from: its source and attempt number, by stream id. */
const attempts = (events: ReadonlyArray<EventBus.BusEvent>) => {
  const byStream = new Map<string, { readonly source: number; readonly attempt: number }>()
  for (const event of events) {
    if (event.type === "stream_start") {
      byStream.set(event.streamId, { source: event.data.source, attempt: event.data.attempt })
    }
  }
  return byStream
}

const detail = (event: EventBus.BusEvent): string => {
  switch (event.type) {
    case "retry_attempt":
      return `wait ${event.data.delayMs} ms (${event.data.category})`
    case "reset":
      return `kept ${event.data.kept}`
    case "fallback_start":
      return `→ ${SOURCES[event.data.fallbackIndex] ?? event.data.fallbackIndex}`
    case "timeout":
      return `${event.data.phase} ${event.data.limitMs} ms`
    default:
      return isError(event) ? event.data.message.slice(0, 48) : ""
  }
}

/** A compact table of bus events: time since the first one, type, attempt, source. */
export const table = (events: ReadonlyArray<EventBus.BusEvent>): string => {
  const start = events[0]?.timestamp ?? 0
  const byStream = attempts(events)
  const rows = events.map((event) => {
    const origin = byStream.get(event.streamId)
    return [
      `${String(event.timestamp - start).padStart(6)} ms`,
      event.type.padEnd(16),
      (origin === undefined ? "-" : String(origin.attempt)).padStart(7),
      (origin === undefined ? "-" : SOURCES[origin.source] ?? String(origin.source)).padEnd(9),
      detail(event)
    ].join("  ")
  })
  return [`${"time".padStart(9)}  ${"type".padEnd(16)}  attempt  ${"source".padEnd(9)}  detail`, ...rows].join("\n")
}

/** One line: the outcome of the run. */
export const summary = (result: ScenarioResult, elapsedMs: number): string => {
  const failed = result.events.filter((e) => e.type.startsWith("error_")).length
  return `✓ ${result.text.length} characters from ${
    SOURCES[result.fallbackIndex]
  } after ${failed} failed attempt(s) and ` +
    `${result.resets} reset(s), in ${(elapsedMs / 1000).toFixed(1)} s; no token shown twice in the final text`
}
