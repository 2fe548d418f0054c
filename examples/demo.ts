/**
 * npm run demo: the scripted scenario on local ProviderServers, no network
 * and no API key needed. `npm run demo -- --live` streams from the real
 * providers whose keys are set (OPENAI_API_KEY, ANTHROPIC_API_KEY).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { EventBus, L0 } from "effect-l0"
import { printer, scenario, summary, table } from "./demo-scenario.js"

const write = (text: string) => void process.stdout.write(text)

const scripted = Effect.gen(function*() {
  write(
    `effect-l0 demo on Node ${process.version}: OpenAI-compatible primary (429, then a reset, then overloaded) with an Anthropic fallback\n\n`
  )
  const started = Date.now()
  const result = yield* scenario({ write })
  write(`\n${table(result.events)}\n\n${summary(result, Date.now() - started)}\n`)
})

const live = Effect.gen(function*() {
  const openaiKey = process.env.OPENAI_API_KEY
  const anthropicKey = process.env.ANTHROPIC_API_KEY
  if (!openaiKey && !anthropicKey) {
    write("--live needs OPENAI_API_KEY and/or ANTHROPIC_API_KEY; neither is set, so nothing was sent.\n")
    return
  }
  const messages = [{ role: "user" as const, content: "Why do LLM token streams need retries? Two sentences." }]
  // loaded only here, so that the scripted demo starts faster
  const { default: OpenAI } = yield* Effect.promise(() => import("openai"))
  const { default: Anthropic } = yield* Effect.promise(() => import("@anthropic-ai/sdk"))
  const openai = openaiKey ? new OpenAI({ apiKey: openaiKey, maxRetries: 0 }) : undefined
  const anthropic = anthropicKey ? new Anthropic({ apiKey: anthropicKey, maxRetries: 0 }) : undefined
  const sources: Array<L0.SourceFactory> = []
  if (openai) {
    sources.push(({ signal }) =>
      openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages,
        stream: true,
        stream_options: { include_usage: true }
      }, {
        signal
      })
    )
  }
  if (anthropic) {
    sources.push(({ signal }) =>
      anthropic.messages.create({ model: "claude-sonnet-4-6", max_tokens: 256, messages, stream: true }, { signal })
    )
  }
  write(
    `effect-l0 demo, live: ${
      [openai && "OpenAI", anthropic && "Anthropic"].filter(Boolean).join(" with fallback ")
    }\n\n`
  )
  const events: Array<EventBus.BusEvent> = []
  const print = printer(write)
  yield* L0.stream({ stream: sources[0]!, fallbacks: sources.slice(1), retry: { maxRetries: 2 } }).pipe(
    Stream.runForEach((event) => Effect.sync(() => print.event(event))),
    Effect.provide(EventBus.layer((event) => {
      events.push(event)
      print.bus(event)
    }, { tokens: false }))
  )
  write(`\n${table(events)}\n`)
})

Effect.runPromise(process.argv.includes("--live") ? live : scripted).catch((error) => {
  console.error(error)
  process.exit(1)
})
