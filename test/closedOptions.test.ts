import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redis from "effect/persistence/Redis"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as LanguageModel from "effect/ai/LanguageModel"
import {
  Adapters,
  Checkpoint,
  Consensus,
  EffectAi,
  EventBus,
  EventLog,
  Guardrails,
  JsonRepair,
  L0,
  L0Async,
  Pipeline,
  ProviderHealth,
  Sse,
  Window
} from "effect-l0"
import { TestSource } from "effect-l0/testing"

/** Options as a JavaScript caller or a JSON file gives them: TypeScript does not see the keys. */
const js = (options: object): never => options as never

const never = TestSource.make(["never"])
const ok = { stream: never.stream }
const Person = Schema.Struct({ name: Schema.String })

/** A Redis service that fails the test if it is used: the options are checked before. */
const NoRedis = Layer.succeed(Redis.Redis)(js({}))

const messageOf = (effect: Effect.Effect<unknown, unknown>) =>
  Effect.map(Effect.flip(effect), (error) => {
    expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
    return (error as Error).message
  })

const built = (layer: Layer.Layer<never, unknown>) => messageOf(Effect.scoped(Layer.build(layer)))

/** The message of the `error` event of an SSE response. */
const sseError = (response: Response) =>
  Effect.promise(async () => {
    const body = await response.text()
    const data = /event: error\ndata: (.*)\n/.exec(body)?.[1]
    return (JSON.parse(data ?? "{}") as { message?: string }).message ?? body
  })

const rejected = (run: () => Promise<unknown>) =>
  Effect.promise(() =>
    run().then(() => "resolved", (error: unknown) => {
      expect(error).toMatchObject({ _tag: "FatalError", reason: "options" })
      return (error as Error).message
    })
  )

const model = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({ generateText: () => Effect.succeed([]), streamText: () => Stream.empty })
)

type Case = readonly [name: string, message: Effect.Effect<string, unknown>, path: string, hint: string]

const cases: ReadonlyArray<Case> = [
  // L0.stream, run, text, start and their nested options
  ["L0.text retries", messageOf(L0.text(js({ ...ok, retries: 3 }))), "retries", `did you mean "retry"?`],
  ["L0.text fallbackStreams (the L0 library's name)", messageOf(L0.text(js({ ...ok, fallbackStreams: [] }))),
    "fallbackStreams", `the L0 library's name: in effect-l0, "fallbacks"`],
  ["L0.run fallback", messageOf(L0.run(js({ ...ok, fallback: [] }))), "fallback", `did you mean "fallbacks"?`],
  ["L0.stream retry.attempts", messageOf(Stream.runDrain(L0.stream(js({ ...ok, retry: { attempts: 3 } })))),
    "retry.attempts", `"maxAttempts"`],
  ["L0.start retry.maxAtempts",
    messageOf(Effect.scoped(Effect.flatMap(L0.start(js({ ...ok, retry: { maxAtempts: 3 } })), (run) => run.join))),
    "retry.maxAtempts", `did you mean "maxAttempts"?`],
  ["timeout.firstToken", messageOf(L0.text(js({ ...ok, timeout: { firstToken: "1 second" } }))), "timeout.firstToken",
    `did you mean "initialToken"?`],
  ["continuation.deduplicate.minOverlp",
    messageOf(L0.text(js({ ...ok, continuation: { deduplicate: { minOverlp: 2 } } }))),
    "continuation.deduplicate.minOverlp", `did you mean "minOverlap"?`],
  ["checkpoint.boundry", messageOf(L0.text(js({ ...ok, sessionId: "s", checkpoint: { boundry: "word" } }))),
    "checkpoint.boundry", `did you mean "boundary"?`],
  ["an L0Async callback among the run's options", messageOf(L0.text(js({ ...ok, onToken: () => {} }))), "onToken",
    "L0Async takes { onToken }"],
  // structured output
  ["L0.structured autocorrect", messageOf(L0.structured(Person, js({ ...ok, autocorrect: false }))), "autocorrect",
    `did you mean "autoCorrect"?`],
  ["L0.structuredStream toolcall",
    messageOf(Stream.runDrain(L0.structuredStream(Person, js({ ...ok, toolcall: "f" })))), "toolcall",
    `did you mean "toolCall"?`],
  ["L0.structured json.maxLen", messageOf(L0.structured(Person, js({ ...ok, json: { maxLen: 5 } }))), "json.maxLen",
    `did you mean "maxLength"?`],
  // consensus and multi-stream
  ["consensus minimumAgreement (the L0 library's name)",
    messageOf(Consensus.consensus([ok], js({ minimumAgreement: 0.5 }))), "minimumAgreement", `"minAgreement"`],
  // a run's invalid options fail that run: the consensus reports it among its failures
  ["consensus, a run's options", Effect.map(Effect.flip(Consensus.consensus([js({ ...ok, retrys: {} })])), (error) => {
    const failed = error._tag === "AllFailedError" ? error.failures[0]?.error : error
    expect(failed).toMatchObject({ _tag: "FatalError", reason: "options" })
    return failed?.message ?? ""
  }), "retrys", `did you mean "retry"?`],
  ["fieldwise wieghts", messageOf(Consensus.fieldwise([ok], js({ decode: () => Effect.succeed({}), wieghts: [1] }))),
    "wieghts", `did you mean "weights"?`],
  ["parallel concurency", messageOf(L0.parallel([ok], js({ concurency: 2 }))), "concurency",
    `did you mean "concurrency"?`],
  ["batched mod", messageOf(L0.batched([ok], js({ size: 1, mod: "settle" }))), "mod", `did you mean "mode"?`],
  ["hedge aftr", messageOf(Stream.runDrain(L0.hedge(ok, js({ aftr: 0 })))), "aftr", `did you mean "after"?`],
  // pipelines and windows
  ["Pipeline.run steps[0].nmae", messageOf(Pipeline.run([js({ options: () => ok, nmae: "first" })], "in")),
    "steps[0].nmae", `did you mean "name"?`],
  ["Window.split overlp", messageOf(Effect.fromResult(Window.split("one two", js({ size: 1, overlp: 0 })))), "overlp",
    `did you mean "overlap"?`],
  ["Window.process concurency", messageOf(Window.process("one two", js({ size: 1, concurency: 2 }), () => ok)),
    "concurency", `did you mean "concurrency"?`],
  // guardrail presets and stages
  ["Guardrails.repetition maxRepeat",
    messageOf(L0.text({ ...ok, guardrails: [Guardrails.repetition(js({ maxRepeat: 2 }))] })),
    "Guardrails.repetition.maxRepeat", `did you mean "maxRepeats"?`],
  ["Guardrails.pattern default",
    messageOf(L0.text({ ...ok, guardrails: [Guardrails.pattern([], js({ default: false }))] })),
    "Guardrails.pattern.default", `did you mean "defaults"?`],
  ["Guardrails.strictJsonWith fence",
    messageOf(L0.text({ ...ok, guardrails: [Guardrails.strictJsonWith(js({ fence: false }))] })),
    "Guardrails.strictJsonWith.fence", `did you mean "fences"?`],
  ["Guardrails.drift hedgin", messageOf(L0.text({ ...ok, guardrails: Guardrails.drift(js({ hedgin: true })) })),
    "Guardrails.drift.hedgin", `did you mean "hedging"?`],
  ["Guardrails.drift hedging.windw",
    messageOf(L0.text({ ...ok, guardrails: Guardrails.drift(js({ hedging: { windw: 5 } })) })),
    "Guardrails.drift.hedging.windw", `did you mean "window"?`],
  ["Guardrails.stage checkInterva",
    messageOf(Stream.runDrain(Guardrails.stage(L0.stream(ok), [Guardrails.json], js({ checkInterva: 2 })))),
    "checkInterva", `did you mean "checkInterval"?`],
  // JSON repair and HTTP adapters
  ["JsonRepair.parse maxDepht", messageOf(Effect.fromResult(JsonRepair.parse("{}", js({ maxDepht: 3 })))), "maxDepht",
    `did you mean "maxDepth"?`],
  ["JsonRepair.incremental maxLenght", messageOf(Effect.fromResult(JsonRepair.incremental(js({ maxLenght: 3 })))),
    "maxLenght", `did you mean "maxLength"?`],
  ["Adapters.openaiHttp url",
    messageOf(L0.text({ stream: Adapters.openaiHttp(js({ apiKey: "k", body: {}, url: "x" })) })),
    "Adapters.openaiHttp.url", `did you mean "baseUrl"?`],
  // streaming to a browser, event logs
  ["Sse.toResponse keepalive",
    Effect.flatMap(Effect.sync(() => Sse.toResponse(L0.stream(ok), js({ keepalive: 5 }))), sseError), "keepalive",
    `did you mean "keepAlive"?`],
  ["EventLog.record token", Effect.flatMap(
    EventLog.memorySink,
    (sink) => messageOf(Stream.runDrain(EventLog.record(L0.stream(ok), sink, js({ token: true }))))
  ), "token", `did you mean "tokens"?`],
  ["EventLog.fromText allowIncomplet", messageOf(EventLog.fromText("", js({ allowIncomplet: true }))), "allowIncomplet",
    `did you mean "allowIncomplete"?`],
  ["EventLog.fromLines allowincomplete", messageOf(EventLog.fromLines([], js({ allowincomplete: true }))),
    "allowincomplete", `did you mean "allowIncomplete"?`],
  ["EventLog.readFile allowIncomplet", messageOf(EventLog.readFile("/nonexistent", js({ allowIncomplet: true }))),
    "allowIncomplet", `did you mean "allowIncomplete"?`],
  ["EventLog.replay timimg",
    messageOf(Stream.runDrain(EventLog.replay(js({ events: [], bus: [], error: undefined }), js({ timimg: false })))),
    "timimg", `did you mean "timing"?`],
  ["EventLog.replayFile buss", messageOf(Stream.runDrain(EventLog.replayFile("/nonexistent", js({ buss: false })))),
    "buss", `did you mean "bus"?`],
  // layers
  ["Checkpoint.layerRedis prefx", built(Checkpoint.layerRedis(js({ prefx: "x" })).pipe(Layer.provide(NoRedis))),
    "prefx", `did you mean "prefix"?`],
  ["ProviderHealth.layerMemory failurs", built(ProviderHealth.layerMemory(js({ failurs: 3 }))), "failurs",
    `did you mean "failures"?`],
  ["ProviderHealth.layerMemory rateLimit.limt", built(ProviderHealth.layerMemory(js({ rateLimit: { limt: 5 } }))),
    "rateLimit.limt", `did you mean "limit"?`],
  ["ProviderHealth.layerMemory prefix (layerRedis only)", built(ProviderHealth.layerMemory(js({ prefix: "p:" }))),
    "prefix", "known: failures, openDuration, storeTimeout, rateLimit)"],
  ["ProviderHealth.layerRedis openDuraton",
    built(ProviderHealth.layerRedis(js({ prefix: "p:", openDuraton: "1 second" })).pipe(Layer.provide(NoRedis))),
    "openDuraton", `did you mean "openDuration"?`],
  ["EventBus.layer token", built(EventBus.layer(() => {}, js({ token: true }))), "token", `did you mean "tokens"?`],
  ["L0Async.layer onRetyr", built(L0Async.layer(js({ onRetyr: () => {} }))), "onRetyr", `did you mean "onRetry"?`],
  // the plain-async facade
  ["L0Async.text onTokn", rejected(() => L0Async.text(ok, js({ onTokn: () => {} }))), "onTokn",
    `did you mean "onToken"?`],
  ["L0Async.run signl", rejected(() => L0Async.run(ok, js({ signl: new AbortController().signal }))), "signl",
    `did you mean "signal"?`],
  ["L0Async.events onCompete", rejected(async () => {
    for await (const _ of L0Async.events(ok, js({ onCompete: () => {} }))) break
  }), "onCompete", `did you mean "onComplete"?`],
  ["L0Async.structured, a run's option", rejected(() => L0Async.structured(Person, js({ ...ok, retyr: {} }))), "retyr",
    `did you mean "retry"?`],
  // effect/ai
  ["EffectAi.layer retries", Effect.map(
    Effect.flip(
      LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(EffectAi.layer<never, never>(js({ models: [model], retries: 2 })))
      )
    ),
    (error) => String(error)
  ), "retries", `did you mean "retry"?`],
  ["EffectAi.make fallbacks", Effect.map(
    Effect.flip(
      Effect.gen(function*() {
        const service = yield* LanguageModel.LanguageModel
        return yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
          Effect.provideService(LanguageModel.LanguageModel, EffectAi.make([service], js({ fallbacks: [] })))
        )
      }).pipe(Effect.provide(model))
    ),
    (error) => String(error)
  ), "fallbacks", "EffectAi streams from its models"]
]

describe("every options object is closed: a key no option has fails before any source is called", () => {
  it.effect("each public options-taking function names the unknown key and suggests the known one", () =>
    Effect.gen(function*() {
      for (const [name, message, path, hint] of cases) {
        const text = yield* message
        expect(text, name).toContain(`Invalid option "${path}": unknown option`)
        expect(text, name).toContain(hint)
      }
      expect(never.calls).toHaveLength(0)
    }))

  it("options that throw when read are an options error too, not a crash", async () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    const unreadable = `expected an object whose options can be read, got an object that throws when read`
    expect(await Effect.runPromise(rejected(() => L0Async.text(ok, js(proxy))))).toContain(unreadable)
    expect(await Effect.runPromise(built(ProviderHealth.layerMemory({ rateLimit: js(proxy) })))).toContain(
      `Invalid option "rateLimit": ${unreadable}`
    )
    expect(await Effect.runPromise(messageOf(EventLog.fromText("", js(proxy))))).toContain(unreadable)
  })

  it("a name with no close known key lists the known ones, and suggestions ignore case", async () => {
    const far = await Effect.runPromise(messageOf(L0.text(js({ ...ok, temperature: 0.2 }))))
    expect(far).toBe(
      `Invalid option "temperature": unknown option (known: stream, fallbacks, guardrails, checkInterval, ` +
        `progressInterval, retry, timeout, adapter, allowEmpty, continuation, redact, sessionId, resume, checkpoint)`
    )
    const cased = await Effect.runPromise(messageOf(L0.text(js({ ...ok, retry: { MAXATTEMPTS: 2 } }))))
    expect(cased).toContain(`did you mean "maxAttempts"?`)
  })
})
