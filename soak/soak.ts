/**
 * The chaos soak behind `npm run soak` and test/soak.test.ts: many L0 runs at
 * once through the real `openai` and `@anthropic-ai/sdk` clients and the raw
 * HTTP factories, against one ProviderServer on 127.0.0.1 that faults a share
 * of the requests at random (seeded) points. Every run's text is compared
 * with the text the server was scripted to send.
 */
import Anthropic from "@anthropic-ai/sdk"
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import { Adapters, Continuation, L0, L0Error, L0Event } from "effect-l0"
import { ProviderServer } from "effect-l0/testing"
import OpenAI from "openai"

/** Every way a request goes wrong in the soak. */
export type FaultKind =
  | "reset"
  | "reset-in-line"
  | "reset-in-character"
  | "stall"
  | "in-band-error"
  | "malformed"
  | "http-429"
  | "http-500"
  | "http-503"
  | "http-529"
  | "hangup"
  | "fatal"
  | "empty-200"
  | "end-early"

/**
 * The fault kinds a soak plays, all of them every time. `empty-200` and
 * `end-early` are bodies that end cleanly without the protocol's closing
 * events: L0 must fail such an attempt and retry, not take it as the answer.
 */
export const faultKinds: Arr.NonEmptyReadonlyArray<FaultKind> = [
  "reset",
  "reset-in-line",
  "reset-in-character",
  "stall",
  "in-band-error",
  "malformed",
  "http-429",
  "http-500",
  "http-503",
  "http-529",
  "hangup",
  "fatal",
  "empty-200",
  "end-early"
]

/**
 * How a run goes on after a failed attempt: from the start (`Reset { kept: 0 }`);
 * with `continuation: true` from the text already shown, which the server
 * continues exactly; or with word-boundary deduplication
 * (`Continuation.openaiChatOptions`), where the server first restates the end
 * of the text already shown, as a model told to "continue" may.
 */
export type ContinuationMode = "restart" | "exact" | "deduplicated"

const continuationModes: Arr.NonEmptyReadonlyArray<ContinuationMode> = ["restart", "exact", "deduplicated"]

const continuationOption: Record<ContinuationMode, L0.L0Options["continuation"]> = {
  restart: false,
  exact: true,
  deduplicated: Continuation.openaiChatOptions
}

export interface SoakOptions {
  readonly streams: number
  readonly concurrency: number
  /** Share of requests (not runs) that get a fault. */
  readonly faultRate: number
  readonly seed: number
  /** No run starts after this many milliseconds. */
  readonly budgetMs: number
  /** Runs still going this many milliseconds after the start are interrupted, so that the soak ends. */
  readonly deadlineMs: number
  /** L0's first-token and inter-token limits, in milliseconds. */
  readonly timeoutMs: number
  /** A run that neither receives events nor starts an attempt for this long counts as hung. */
  readonly hangMs: number
  /** Allowed heap growth over the run, in bytes, measured after a full GC (needs `--expose-gc`). */
  readonly heapBound: number
  /** The longest scripted answer, in characters (at least 20). */
  readonly maxTextLength: number
  readonly onProgress?: ((done: number, started: number) => void) | undefined
}

export const defaults: SoakOptions = {
  streams: 2000,
  concurrency: 100,
  faultRate: 0.3,
  seed: 1,
  budgetMs: 150_000,
  deadlineMs: 170_000,
  timeoutMs: 5000,
  hangMs: 30_000,
  heapBound: 32 * 1024 * 1024,
  maxTextLength: 1200
}

/** One run's script, drawn from the seed. */
interface Plan {
  readonly index: number
  readonly golden: string
  readonly client: number
  readonly fallback: number | undefined
  readonly continuation: ContinuationMode
  readonly chunkSize: number
  readonly splitSurrogates: boolean
  /** Interrupt the run once it has received this many tokens. */
  readonly interruptAfter: number | undefined
}

type Status = "ok" | "failed" | "interrupted" | "cut" | "hung" | "untyped"

interface Outcome {
  readonly plan: Plan
  readonly status: Status
  readonly category: string | undefined
  readonly ms: number
  readonly endedAt: number
  readonly lost: number
  readonly duplicated: number
  /** The text shown, kept only when it is wrong. */
  readonly shown: string | undefined
  /** Why an untyped or unplanned end happened. */
  readonly cause: string | undefined
  /** The API key showed up in the run's error. */
  readonly leaked: boolean
}

export interface TimelinePoint {
  /** Seconds since the start, at the end of the bucket. */
  readonly at: number
  readonly streamsPerSecond: number
  readonly p99: number
}

export interface SoakResult {
  readonly options: SoakOptions
  readonly started: number
  readonly ok: number
  readonly interrupted: number
  /** Runs still going at the deadline, interrupted then. */
  readonly cut: number
  /** Typed failures, by the category of the error that ended the run. */
  readonly failures: Readonly<Record<string, number>>
  readonly untyped: number
  readonly hung: number
  readonly lost: number
  readonly duplicated: number
  readonly checkedCharacters: number
  /** Failed runs whose error (message, cause, JSON) holds the API key. */
  readonly secretLeaks: number
  readonly requests: number
  readonly injected: Readonly<Record<string, number>>
  /** Requests that continue from a checkpoint, by the run's continuation mode. */
  readonly continued: Readonly<Record<ContinuationMode, number>>
  /** Continued requests of the deduplicated mode whose reply restates the end of the checkpoint. */
  readonly restatements: number
  /** Responses the server still had open once every run had ended. */
  readonly openResponses: number
  /** Fibers started under the soak, and those of them not ended. */
  readonly fibersStarted: number
  readonly liveFibers: number
  /** Handles (sockets, timers, …) open at the end beyond those open at the start, by type. */
  readonly leakedHandles: Readonly<Record<string, number>>
  readonly heapBefore: number | undefined
  readonly heapAfter: number | undefined
  readonly elapsedMs: number
  readonly p50: number
  readonly p99: number
  readonly peakRss: number
  readonly budgetHit: boolean
  readonly timeline: ReadonlyArray<TimelinePoint>
  /** The first mismatches, described. */
  readonly mismatches: ReadonlyArray<string>
  /** Why the soak failed; empty when it passed. */
  readonly problems: ReadonlyArray<string>
}

const API_KEY = "sk-soak-0123456789SECRET"

// prose, accents, CJK, emoji (some with ZWJ or flags), code, tables, indentation, newlines
const WORDS: Arr.NonEmptyReadonlyArray<string> = [
  "the",
  "stream",
  "token",
  "retry",
  "reset",
  "falls",
  "back",
  "and",
  "answers",
  "once",
  "naïve",
  "café",
  "Straße",
  "façade",
  "日本語",
  "中文",
  "한국어",
  "Ωμέγα",
  "😀",
  "👩‍💻",
  "🇫🇷",
  "🎉",
  "→",
  "—",
  "€42",
  "x",
  "aa",
  "    ",
  "\n",
  "\n\n",
  "| a | b |",
  "```ts",
  "{\"k\": [1, 2]}",
  "e\u0301",
  "🏳️‍🌈"
]

const drawPlan = (options: SoakOptions, index: number): Effect.Effect<Plan> =>
  Effect.gen(function*() {
    const target = yield* Random.nextIntBetween(20, Math.max(20, options.maxTextLength))
    const parts: Array<string> = []
    let length = 0
    while (length < target) {
      // genuine repetition: exact continuation keeps it whole, the deduplicated mode restates around it (restatement)
      const word = parts.length > 0 && (yield* Random.next) < 0.08
        ? parts.slice(-3).join(" ")
        : yield* Random.choice(WORDS)
      parts.push(word)
      length += word.length + 1
    }
    const client = yield* Random.nextIntBetween(0, clients.length - 1)
    const hasFallback = (yield* Random.next) < 0.25
    const fallback = hasFallback ? yield* Random.nextIntBetween(0, clients.length - 1) : undefined
    const interrupted = (yield* Random.next) < 0.05
    return {
      index,
      golden: parts.join(" "),
      client,
      fallback,
      continuation: yield* Random.choice(continuationModes),
      chunkSize: yield* Random.nextIntBetween(1, 16),
      splitSurrogates: (yield* Random.next) < 0.1,
      interruptAfter: interrupted ? yield* Random.nextIntBetween(1, 40) : undefined
    }
  })

/** What the run's requests carry, so that the server can tell runs and checkpoints apart. */
const marker = (plan: Plan) => (ctx: L0.AttemptContext): string => `soak:${plan.index}:${ctx.checkpoint.length}`

const MARKER = /soak:(\d+):(\d+)/

/** A way to reach the server: a real SDK client or a raw HTTP factory, with the prompt of each attempt. */
export interface SoakClient {
  readonly name: string
  readonly source: (server: ProviderServer.Addresses, prompt: (ctx: L0.AttemptContext) => string) => L0.SourceFactory
}

const openaiClients = new WeakMap<object, OpenAI>()
const anthropicClients = new WeakMap<object, Anthropic>()

// one client per server, shared by every run, as an application would
const openaiFor = (server: ProviderServer.Addresses): OpenAI => {
  let client = openaiClients.get(server)
  if (client === undefined) {
    client = new OpenAI({ baseURL: server.openaiBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
    openaiClients.set(server, client)
  }
  return client
}

const anthropicFor = (server: ProviderServer.Addresses): Anthropic => {
  let client = anthropicClients.get(server)
  if (client === undefined) {
    client = new Anthropic({ baseURL: server.anthropicBaseUrl, apiKey: API_KEY, maxRetries: 0, logLevel: "off" })
    anthropicClients.set(server, client)
  }
  return client
}

/** The real `openai` client (Chat Completions, Responses), the real Anthropic client, and the three raw factories. */
export const clients: Arr.NonEmptyReadonlyArray<SoakClient> = [
  {
    name: "openai SDK chat",
    source: (server, prompt) => (ctx) =>
      openaiFor(server).chat.completions.create(
        { model: "soak", messages: [{ role: "user", content: prompt(ctx) }], stream: true },
        { signal: ctx.signal }
      )
  },
  {
    name: "openai SDK responses",
    source: (server, prompt) => (ctx) =>
      openaiFor(server).responses.create({ model: "soak", input: prompt(ctx), stream: true }, { signal: ctx.signal })
  },
  {
    name: "Anthropic SDK",
    source: (server, prompt) => (ctx) =>
      anthropicFor(server).messages.create(
        { model: "soak", max_tokens: 4096, messages: [{ role: "user", content: prompt(ctx) }], stream: true },
        { signal: ctx.signal }
      )
  },
  {
    name: "Adapters.openaiHttp chat",
    source: (server, prompt) =>
      Adapters.openaiHttp({
        baseUrl: server.openaiBaseUrl,
        apiKey: API_KEY,
        body: (ctx) => ({ model: "soak", messages: [{ role: "user", content: prompt(ctx) }] })
      })
  },
  {
    name: "Adapters.openaiHttp responses",
    source: (server, prompt) =>
      Adapters.openaiHttp({
        baseUrl: server.openaiBaseUrl,
        path: "/responses",
        apiKey: API_KEY,
        body: (ctx) => ({ model: "soak", input: prompt(ctx) })
      })
  },
  {
    name: "Adapters.anthropicHttp",
    source: (server, prompt) =>
      Adapters.anthropicHttp({
        baseUrl: server.anthropicBaseUrl,
        apiKey: API_KEY,
        body: (ctx) => ({ model: "soak", max_tokens: 4096, messages: [{ role: "user", content: prompt(ctx) }] })
      })
  }
]

/** How a reply is cut into chunks. */
export interface Shape {
  readonly chunkSize: number
  readonly splitSurrogates: boolean
}

/** Where and how a fault strikes. */
export interface FaultParams {
  /** Content chunks before a stream fault. */
  readonly at: number
  /** Bytes of the next chunk written before a `reset-in-line`. */
  readonly cut: number
  readonly retryAfter: undefined | 0 | 1 | "date"
  readonly status: 401 | 403
}

/** The answer that plays `kind` on a reply of `text`. */
export const faultAnswer = (
  kind: FaultKind,
  text: string,
  shape: Shape,
  params: FaultParams
): ProviderServer.Answer => {
  const faulty = (fault: ProviderServer.Fault) => ProviderServer.reply(text, { ...shape, fault })
  const limited = (status: number) =>
    ProviderServer.httpError(
      status,
      params.retryAfter === undefined ? {} : {
        retryAfter: params.retryAfter === "date" ? new Date(Date.now() + 2000).toUTCString() : params.retryAfter
      }
    )
  switch (kind) {
    case "reset":
      return faulty(ProviderServer.resetAfter(params.at))
    case "reset-in-line":
      return faulty(ProviderServer.resetAfter(params.at, { cut: params.cut }))
    case "reset-in-character":
      return faulty(ProviderServer.resetAfter(params.at, { cut: "character" }))
    case "stall":
      return faulty(ProviderServer.stallAfter(params.at))
    case "in-band-error":
      return faulty(ProviderServer.errorAfter(params.at))
    case "malformed":
      return faulty(ProviderServer.malformedAfter(params.at))
    case "http-429":
      return limited(429)
    case "http-500":
      return limited(500)
    case "http-503":
      return limited(503)
    case "http-529":
      return limited(529)
    case "hangup":
      return ProviderServer.hangup
    case "fatal":
      return ProviderServer.httpError(params.status)
    case "empty-200":
      return ProviderServer.replay("")
    case "end-early":
      return faulty(ProviderServer.endAfter(params.at))
  }
}

// L0's default deduplication window (`Continuation.Deduplicate`), which `Continuation.openaiChatOptions` uses
const MIN_OVERLAP = 2
const MAX_OVERLAP = 512

const words = new Intl.Segmenter("und", { granularity: "word" })

/** Where in `checkpoint` a restated tail may start: word starts 2 to 512 code units from its end, in order. */
const wordStarts = (checkpoint: string): Array<number> => {
  const first = checkpoint.length - Math.min(MAX_OVERLAP, checkpoint.length)
  const last = checkpoint.length - MIN_OVERLAP
  const starts: Array<number> = []
  for (const segment of words.segment(checkpoint)) {
    if (segment.index > last) break
    if (segment.index >= first && segment.isWordLike === true) starts.push(segment.index)
  }
  return starts
}

/**
 * How many characters of the checkpoint (`golden.slice(0, checkpoint)`) the
 * server restates before it goes on, in the deduplicated mode: a tail that
 * starts at a random word, lengthened while a longer tail also starts the
 * reply. Deduplication removes the longest tail that the reply starts with,
 * so where the text after the cut genuinely repeats the text before it (the
 * golden texts repeat words on purpose), a shorter restatement would be taken
 * for the longer one and genuine text removed: by design, not a defect. With
 * the longest one restated, the restatement is the only overlap there is, and
 * the answer must be the golden text exactly once.
 */
export const restatement = (golden: string, checkpoint: number, pick: number): number => {
  const starts = wordStarts(golden.slice(0, checkpoint))
  if (starts.length === 0) return 0
  let from = starts[Math.min(starts.length - 1, Math.floor(pick * starts.length))]!
  for (;;) {
    // starts are in order: the first that matches is the longest tail
    const longer = starts.find((start) => start < from && golden.startsWith(golden.slice(start, checkpoint), from))
    if (longer === undefined) return checkpoint - from
    from = longer
  }
}

/**
 * The server's answer to one request of a run that continues from
 * `checkpoint` characters of its text: the rest of the text (after a
 * restatement in the deduplicated mode), clean or with a fault drawn from
 * the seed; and how many characters it restates.
 */
const drawAnswer = (
  options: SoakOptions,
  plan: Plan,
  checkpoint: number
): Effect.Effect<readonly [FaultKind | "none", ProviderServer.Answer, number]> =>
  Effect.gen(function*() {
    const restated = plan.continuation === "deduplicated" && checkpoint > 0
      ? restatement(plan.golden, checkpoint, yield* Random.next)
      : 0
    const text = plan.golden.slice(checkpoint - restated)
    const shape = { chunkSize: plan.chunkSize, splitSurrogates: plan.splitSurrogates }
    if ((yield* Random.next) >= options.faultRate) return ["none", ProviderServer.reply(text, shape), restated] as const
    const kind = yield* Random.choice(faultKinds)
    const units = plan.splitSurrogates ? text.length : Array.from(text).length
    const params: FaultParams = {
      // from before the first token to after the last one (before the closing events)
      at: yield* Random.nextIntBetween(0, Math.ceil(units / plan.chunkSize)),
      cut: yield* Random.nextIntBetween(1, 60),
      retryAfter: yield* Random.choice([undefined, 0, 1, "date"] as const),
      status: yield* Random.choice([401, 403] as const)
    }
    return [kind, faultAnswer(kind, text, shape, params), restated] as const
  })

/**
 * Characters lost and duplicated between `expected` and `actual`: what
 * remains of each once their common start and common end are taken away.
 */
export const difference = (
  expected: string,
  actual: string
): { readonly lost: number; readonly duplicated: number } => {
  const limit = Math.min(expected.length, actual.length)
  let start = 0
  while (start < limit && expected.charCodeAt(start) === actual.charCodeAt(start)) start++
  let end = 0
  while (
    end < limit - start &&
    expected.charCodeAt(expected.length - 1 - end) === actual.charCodeAt(actual.length - 1 - end)
  ) end++
  return { lost: expected.length - start - end, duplicated: actual.length - start - end }
}

const excerpt = (text: string, at: number): string => JSON.stringify(text.slice(Math.max(0, at - 20), at + 20))

const describeMismatch = (plan: Plan, shown: string): string => {
  let at = 0
  while (at < shown.length && shown.charCodeAt(at) === plan.golden.charCodeAt(at)) at++
  return `run ${plan.index} (${
    clients[plan.client]!.name
  }, continuation ${plan.continuation}): from character ${at}, ` +
    `expected ${excerpt(plan.golden, at)}, got ${excerpt(shown, at)}`
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

/** Counts the fibers started and ended under the soak. */
const fiberCensus = () => {
  let started = 0
  let ended = 0
  const service: Metric.FiberRuntimeMetricsService = {
    recordFiberStart: () => void started++,
    recordFiberEnd: () => void ended++
  }
  return { service, started: () => started, live: () => started - ended }
}

const handleCounts = (): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1)
  return counts
}

const excess = (before: Map<string, number>): Record<string, number> => {
  const extra: Record<string, number> = {}
  for (const [type, count] of handleCounts()) {
    const more = count - (before.get(type) ?? 0)
    if (more > 0) extra[type] = more
  }
  return extra
}

const json = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? ""
  } catch {
    // a cycle: the other renderings are checked
    return ""
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `done` until it holds, for at most `limit` ms: a generous limit costs nothing when all goes well. */
const waitUntil = async (done: () => boolean, limit: number): Promise<void> => {
  const deadline = Date.now() + limit
  while (!done() && Date.now() < deadline) await sleep(20)
}

const heapUsed = (): number | undefined => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return undefined
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

interface Phase {
  readonly outcomes: Array<Outcome>
  readonly requests: number
  readonly injected: Record<string, number>
  readonly continued: Record<ContinuationMode, number>
  readonly restatements: number
  readonly openResponses: number
  readonly fibersStarted: number
  readonly liveFibers: number
  readonly heapBefore: number | undefined
  readonly budgetHit: boolean
  readonly elapsedMs: number
}

/** One run: consumes its stream, interrupts it when planned, and checks its text. */
const runOne = (
  options: SoakOptions,
  server: ProviderServer.Addresses,
  plan: Plan,
  startedAt: number
): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const began = performance.now()
    let shown = ""
    let content: string | undefined
    let tokens = 0
    let active = began
    const attempt = (factory: L0.SourceFactory): L0.SourceFactory => (ctx) => {
      active = performance.now()
      return factory(ctx)
    }
    // true once the planned number of tokens has arrived, false if the run ended first
    const interrupt = yield* Deferred.make<boolean>()
    const run = Stream.runForEachArray(
      L0.stream({
        stream: attempt(clients[plan.client]!.source(server, marker(plan))),
        fallbacks: plan.fallback === undefined ? undefined
          : [attempt(clients[plan.fallback]!.source(server, marker(plan)))],
        continuation: continuationOption[plan.continuation],
        retry: { maxAttempts: 3, maxRetries: 10, baseDelay: "5 millis", maxDelay: "50 millis" },
        timeout: { initialToken: options.timeoutMs, interToken: options.timeoutMs }
      }),
      (events) => {
        active = performance.now()
        for (const event of events) {
          shown = L0Event.applyTo(shown, event)
          if (event._tag === "Token") tokens++
          else if (event._tag === "Complete") content = event.state.content
        }
        return plan.interruptAfter !== undefined && tokens >= plan.interruptAfter
          ? Deferred.succeed(interrupt, true)
          : Effect.void
      }
    ).pipe(Effect.ensuring(Deferred.succeed(interrupt, false)))
    const fiber = yield* Effect.forkChild(run)
    if (plan.interruptAfter !== undefined) {
      yield* Effect.forkChild(
        Effect.flatMap(Deferred.await(interrupt), (reached) => reached ? Fiber.interrupt(fiber) : Effect.void)
      )
    }
    // checks once a second that the run still makes progress and that the soak's deadline has not passed
    const watch: Effect.Effect<"hung" | "cut"> = Effect.sleep(1000).pipe(
      Effect.andThen(() => {
        const now = performance.now()
        return now - active > options.hangMs ? Effect.succeed("hung" as const)
          : now - startedAt > options.deadlineMs ? Effect.succeed("cut" as const)
          : watch
      })
    )
    const first = yield* Effect.raceFirst(Effect.map(Fiber.await(fiber), Option.some), Effect.as(watch, Option.none()))
    let status: "hung" | "cut" | undefined
    let awaited = first
    if (Option.isNone(first)) {
      const now = performance.now()
      status = now - active > options.hangMs ? "hung" : "cut"
      // a hung run may not even honour interruption: do not wait for it for long
      fiber.interruptUnsafe()
      awaited = yield* Effect.timeoutOption(Fiber.await(fiber), options.hangMs)
      if (Option.isNone(awaited)) status = "hung"
    }
    const ms = performance.now() - began
    const outcome = (
      status: Status,
      category: string | undefined,
      lost: number,
      duplicated: number,
      cause?: Cause.Cause<unknown>,
      leaked = false
    ): Outcome => ({
      plan,
      status,
      category,
      ms,
      endedAt: performance.now() - startedAt,
      lost,
      duplicated,
      shown: lost + duplicated > 0 ? shown : undefined,
      cause: cause === undefined ? undefined : Cause.pretty(cause),
      leaked
    })
    if (Option.isNone(awaited) || status === "hung") return outcome("hung", undefined, 0, 0)
    const exit = awaited.value
    if (Exit.isSuccess(exit)) {
      const { lost, duplicated } = difference(plan.golden, shown)
      const reported = difference(plan.golden, content ?? "")
      return outcome("ok", undefined, Math.max(lost, reported.lost), Math.max(duplicated, reported.duplicated))
    }
    // a run that stopped early shows a start of the text: anything else was shown wrongly
    const wrong = plan.golden.startsWith(shown) ? 0 : difference(plan.golden.slice(0, shown.length), shown).duplicated
    const { reasons } = exit.cause
    const errors = reasons.flatMap((reason) =>
      reason._tag === "Fail" && L0Error.isL0Error(reason.error) ? [reason.error] : []
    )
    const interrupted = reasons.filter((reason) => reason._tag === "Interrupt").length
    // only typed errors, and interruptions only where the soak interrupted (it may strike as the run fails)
    if (
      errors.length + interrupted !== reasons.length ||
      (interrupted > 0 && plan.interruptAfter === undefined && status !== "cut")
    ) {
      return outcome("untyped", undefined, 0, wrong, exit.cause)
    }
    const error = errors[0]
    const leaked = errors.some((e) =>
      [e.message, String(e.cause), json(e), Cause.pretty(exit.cause)].some((text) => text.includes(API_KEY))
    )
    if (status === "cut") return outcome("cut", undefined, 0, wrong)
    if (interrupted > 0 || error === undefined) return outcome("interrupted", undefined, 0, wrong)
    const category = error._tag === "ExhaustedError" ? error.lastError?.category ?? "fatal" : error.category
    return outcome("failed", category, 0, wrong, undefined, leaked)
  })

const runPhase = async (options: SoakOptions, plans: ReadonlyArray<Plan>): Promise<Phase> => {
  const injected: Record<string, number> = {}
  const continued: Record<ContinuationMode, number> = { restart: 0, exact: 0, deduplicated: 0 }
  let restatements = 0
  const requestsOf = new Array<number>(plans.length).fill(0)
  const script: ProviderServer.Script = (request) => {
    const match = MARKER.exec(request.rawBody)
    const plan = match === null ? undefined : plans[Number(match[1])]
    if (match === null || plan === undefined) {
      return ProviderServer.httpError(400, { error: { message: "no soak marker" } })
    }
    const n = requestsOf[plan.index]!++
    const checkpoint = Number(match[2])
    const [kind, answer, restated] = Effect.runSync(
      drawAnswer(options, plan, checkpoint).pipe(Random.withSeed(`${options.seed}/${plan.index}/${n}`))
    )
    injected[kind] = (injected[kind] ?? 0) + 1
    if (checkpoint > 0) {
      continued[plan.continuation]++
      if (restated > 0) restatements++
    }
    return answer
  }
  const server = await ProviderServer.listen(script)
  const census = fiberCensus()
  const outcomes: Array<Outcome> = []
  const startedAt = performance.now()
  let started = 0
  let budgetHit = false
  const one = (plan: Plan) =>
    Effect.suspend(() => {
      if (performance.now() - startedAt > options.budgetMs) {
        budgetHit = true
        return Effect.void
      }
      started++
      return Effect.map(runOne(options, server, plan, startedAt), (outcome) => {
        outcomes.push(outcome)
        options.onProgress?.(outcomes.length, started)
      })
    })
  const batch = (slice: ReadonlyArray<Plan>) =>
    Effect.runPromise(
      Effect.forEach(slice, one, { concurrency: options.concurrency, discard: true }).pipe(
        Effect.provideService(Metric.FiberRuntimeMetrics, census.service)
      )
    )
  // a first batch warms up the clients, the JIT and the pools; the heap is measured after it
  const warmup = Math.min(plans.length, Math.max(1, Math.floor(plans.length / 20)))
  await batch(plans.slice(0, warmup))
  const heapBefore = heapUsed()
  await batch(plans.slice(warmup))
  const elapsedMs = performance.now() - startedAt
  const open = () => server.requests.filter((request) => request.outcome === undefined).length
  // aborted requests close their sockets asynchronously: give the server time to see it
  await waitUntil(() => open() === 0, 10_000)
  const openResponses = open()
  const requests = server.requests.length
  await server.close()
  return {
    outcomes,
    requests,
    injected,
    continued,
    restatements,
    openResponses,
    fibersStarted: census.started(),
    liveFibers: census.live(),
    heapBefore,
    budgetHit,
    elapsedMs
  }
}

const timelineOf = (outcomes: ReadonlyArray<Outcome>, elapsedMs: number): Array<TimelinePoint> => {
  const width = Math.max(1000, Math.ceil(elapsedMs / 60 / 1000) * 1000)
  const buckets: Array<Array<number>> = []
  for (const outcome of outcomes) {
    const bucket = Math.floor(outcome.endedAt / width)
    ;(buckets[bucket] ??= []).push(outcome.ms)
  }
  return Array.from(buckets, (durations = [], i) => {
    const sorted = [...durations].sort((a, b) => a - b)
    return {
      at: ((i + 1) * width) / 1000,
      streamsPerSecond: durations.length / (width / 1000),
      p99: percentile(sorted, 0.99)
    }
  })
}

/**
 * Runs the soak. Plans and faults come from `options.seed`: the same seed
 * gives every run the same text, client, fallback, continuation mode and
 * interruption, and its n-th request the same fault (timing still decides
 * which attempt a late timeout hits).
 */
export const run = async (overrides: Partial<SoakOptions> = {}): Promise<SoakResult> => {
  const options: SoakOptions = { ...defaults, ...overrides }
  const plans = Array.from(
    { length: options.streams },
    (_, index) => Effect.runSync(drawPlan(options, index).pipe(Random.withSeed(`${options.seed}/plan/${index}`)))
  )
  const handlesBefore = handleCounts()
  const phase = await runPhase(options, plans)
  // the clients' pooled sockets close once the server has closed its side
  await waitUntil(() => Object.keys(excess(handlesBefore)).length === 0, 10_000)
  const leakedHandles = excess(handlesBefore)
  const heapAfter = heapUsed()
  const { outcomes } = phase
  const count = (status: Status) => outcomes.filter((outcome) => outcome.status === status).length
  const failures: Record<string, number> = {}
  for (const outcome of outcomes) {
    if (outcome.category !== undefined) failures[outcome.category] = (failures[outcome.category] ?? 0) + 1
  }
  const secretLeaks = outcomes.filter((outcome) => outcome.leaked).length
  const lost = outcomes.reduce((n, outcome) => n + outcome.lost, 0)
  const duplicated = outcomes.reduce((n, outcome) => n + outcome.duplicated, 0)
  const durations = outcomes.map((outcome) => outcome.ms).sort((a, b) => a - b)
  const mismatches = [
    ...outcomes
      .filter((outcome) => outcome.lost + outcome.duplicated > 0)
      .map((outcome) => describeMismatch(outcome.plan, outcome.shown ?? "")),
    ...outcomes.flatMap((outcome) =>
      outcome.cause === undefined
        ? []
        : [
          `run ${outcome.plan.index} (${clients[outcome.plan.client]!.name}) ended with ${outcome.cause.slice(0, 600)}`
        ]
    )
  ].slice(0, 8)
  const problems: Array<string> = []
  if (lost > 0) problems.push(`${lost} character(s) lost`)
  if (duplicated > 0) problems.push(`${duplicated} character(s) duplicated or wrong`)
  if (secretLeaks > 0) problems.push(`${secretLeaks} error(s) hold the API key`)
  if (count("untyped") > 0) problems.push(`${count("untyped")} run(s) ended without a typed L0Error`)
  if (count("hung") > 0) {
    problems.push(`${count("hung")} run(s) without an event or a new attempt for ${options.hangMs} ms`)
  }
  if (phase.openResponses > 0) problems.push(`${phase.openResponses} response(s) still open on the server`)
  if (phase.liveFibers > 0) problems.push(`${phase.liveFibers} fiber(s) still alive`)
  if (Object.keys(leakedHandles).length > 0) problems.push(`handles left open: ${JSON.stringify(leakedHandles)}`)
  if (phase.heapBefore !== undefined && heapAfter !== undefined && heapAfter - phase.heapBefore > options.heapBound) {
    problems.push(`heap grew by ${heapAfter - phase.heapBefore} bytes, over the bound of ${options.heapBound}`)
  }
  return {
    options,
    started: outcomes.length,
    ok: count("ok"),
    interrupted: count("interrupted"),
    cut: count("cut"),
    failures,
    untyped: count("untyped"),
    hung: count("hung"),
    lost,
    duplicated,
    secretLeaks,
    checkedCharacters: outcomes.reduce(
      (n, outcome) => n + (outcome.status === "ok" ? outcome.plan.golden.length : 0),
      0
    ),
    requests: phase.requests,
    injected: phase.injected,
    continued: phase.continued,
    restatements: phase.restatements,
    openResponses: phase.openResponses,
    fibersStarted: phase.fibersStarted,
    liveFibers: phase.liveFibers,
    leakedHandles,
    heapBefore: phase.heapBefore,
    heapAfter,
    elapsedMs: phase.elapsedMs,
    p50: percentile(durations, 0.5),
    p99: percentile(durations, 0.99),
    peakRss: process.resourceUsage().maxRSS * 1024,
    budgetHit: phase.budgetHit,
    timeline: timelineOf(outcomes, phase.elapsedMs),
    mismatches,
    problems
  }
}
