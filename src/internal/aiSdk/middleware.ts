/**
 * `AiSdk.middleware`: each `doStream` / `doGenerate` call of the wrapped
 * model is one L0 run whose sources are the model's and the fallbacks'
 * `doStream`, and whose events are turned back into model-level parts.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type { MiddlewareOptions, TakeBackError as TakeBack } from "../../AiSdk.js"
import type { CategoryError, L0Error } from "../../L0Error.js"
import { FatalError } from "../../L0Error.js"
import type { L0Event } from "../../L0Event.js"
import { isRecord } from "../decode.js"
import { keyed } from "../health.js"
import { stream as l0Stream } from "../l0.js"
import { optionNames, resolve } from "../options.js"
import type { AttemptContext, L0Options, SourceFactory } from "../l0Types.js"
import { TakeBackError } from "./errors.js"
import type { Model, Params, StreamResult } from "./model.js"
import { check, continuing, iterable, mixedVersions, notAModel } from "./model.js"
import type { Part } from "./modelParts.js"
import { modelParts, partOf } from "./modelParts.js"

/** The arguments the AI SDK passes to `wrapStream` and `wrapGenerate`. */
export interface WrapArgs {
  readonly params: Params
  readonly model: unknown
}

/** Parts of a tool call: held until the attempt completes, so that a retried call is never run twice. */
const TOOL_PARTS: ReadonlySet<string> = new Set([
  "tool-input-start",
  "tool-input-delta",
  "tool-input-end",
  "tool-call",
  "tool-result",
  "tool-approval-request"
])

/** One call: what its sources share, for the response of the attempt that answered and the last failure. */
class Call {
  /** The `request` and `response` of the last attempt's `doStream`, handed on with the stream. */
  result: Omit<StreamResult, "stream"> | undefined = undefined
  lastError: CategoryError | undefined = undefined

  constructor(readonly params: Params) {}

  source(model: Model): SourceFactory {
    return keyed(model.key, (ctx: AttemptContext) => {
      if (ctx.previousError !== undefined) this.lastError = ctx.previousError
      const user = this.params.abortSignal
      const params = {
        ...continuing(this.params, ctx.checkpoint),
        abortSignal: user === undefined ? ctx.signal : AbortSignal.any([ctx.signal, user])
      }
      return Promise.resolve(model.doStream(params)).then((result: unknown) => {
        // read here, where a getter that throws fails the attempt with a categorized error
        const stream = isRecord(result) ? iterable(result.stream) : undefined
        if (!isRecord(result) || stream === undefined) {
          throw notAModel(model.key, "its doStream result has no readable stream")
        }
        this.result = { request: result.request, response: result.response }
        return stream
      })
    })
  }
}

/**
 * Turns L0 events back into model-level parts for `wrapStream`: tokens
 * become `text-delta`s of the open text block, other parts pass as they
 * came. A retry that continues the shown text goes on in the open block;
 * one that would take text back fails, as parts cannot express it.
 */
class StreamWriter {
  private shown = 0
  private openId: string | undefined = undefined
  /** A `text-end` held back: a retry may continue the block. */
  private pendingEnd: Part | undefined = undefined
  /** A retry began and has not yet sent text. */
  private retried = false
  private streamStarted = false
  private implicitIds = 0
  private held: Array<Part> = []
  private finish: Part | undefined = undefined

  constructor(private readonly call: Call) {}

  write(events: ReadonlyArray<L0Event>, out: Array<Part>): TakeBack | undefined {
    for (const event of events) {
      switch (event._tag) {
        case "Token": {
          const id = this.textId(out)
          this.shown += event.value.length
          out.push({ type: "text-delta", id, delta: event.value })
          break
        }
        case "Reset": {
          if (event.kept < this.shown) {
            return new TakeBackError({ shown: this.shown, kept: event.kept, cause: this.call.lastError })
          }
          this.held = []
          this.finish = undefined
          this.retried = true
          break
        }
        case "Data": {
          const part = partOf(event.value)
          if (part !== undefined) this.part(part, out)
          break
        }
        case "Complete": {
          this.complete(out)
          break
        }
        default:
          break
      }
    }
    return undefined
  }

  /** The id of the block the next delta goes to: the open one, or one opened now. */
  private textId(out: Array<Part>): string {
    if (this.retried) {
      this.retried = false
      this.pendingEnd = undefined
    }
    this.flushEnd(out)
    if (this.openId !== undefined) return this.openId
    const id = `effect-l0-text-${this.implicitIds++}`
    this.openId = id
    out.push({ type: "text-start", id })
    return id
  }

  private flushEnd(out: Array<Part>): void {
    const end = this.pendingEnd
    if (end === undefined) return
    this.pendingEnd = undefined
    this.openId = undefined
    out.push(end)
  }

  private part(part: Part, out: Array<Part>): void {
    switch (part.type) {
      case "text-start": {
        // the attempt after a retry opens its own block: the text goes on in the one already open
        if (this.retried && this.openId !== undefined) {
          this.retried = false
          this.pendingEnd = undefined
          return
        }
        this.retried = false
        this.flushEnd(out)
        this.openId = typeof part.id === "string" ? part.id : `effect-l0-text-${this.implicitIds++}`
        out.push({ ...part, id: this.openId })
        return
      }
      case "text-end": {
        if (this.openId !== undefined) this.pendingEnd = { ...part, id: this.openId }
        return
      }
      case "finish": {
        this.finish = part
        return
      }
      case "stream-start": {
        if (this.streamStarted) return
        this.streamStarted = true
        out.push(part)
        return
      }
      default: {
        if (TOOL_PARTS.has(part.type)) this.held.push(part)
        else out.push(part)
      }
    }
  }

  private complete(out: Array<Part>): void {
    this.flushEnd(out)
    if (this.openId !== undefined) out.push({ type: "text-end", id: this.openId })
    this.openId = undefined
    out.push(...this.held)
    // the decoder completes an attempt only on its `finish` part, which it carries
    if (this.finish !== undefined) out.push(this.finish)
  }
}

const toParts = (events: Stream.Stream<L0Event, L0Error>, call: Call): Stream.Stream<Part, never> =>
  Stream.transformPull(events, (upstream) =>
    Effect.sync(() => {
      const writer = new StreamWriter(call)
      const next: Pull.Pull<Arr.NonEmptyReadonlyArray<Part>, L0Error | TakeBack, void> = Effect.flatMap(
        upstream,
        (batch) => {
          const out: Array<Part> = []
          const error = writer.write(batch, out)
          if (error !== undefined) return Effect.fail(error)
          return out.length === 0 ? next : Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Part>)
        }
      )
      return next
    })).pipe(Stream.catch((error) => Stream.make<Array<Part>>({ type: "error", error })))

/** A stream that gives `first`, then what `reader` reads; cancelling it cancels the reader. */
const prepend = (first: Part, reader: ReadableStreamDefaultReader<Part>): ReadableStream<Part> =>
  new ReadableStream<Part>({
    start: (controller) => controller.enqueue(first),
    pull: (controller) =>
      reader.read().then(({ done, value }) => done ? controller.close() : controller.enqueue(value)),
    cancel: (reason) => reader.cancel(reason)
  })

/** The content of `doGenerate`'s answer: the run's text (resets applied) where it began, among the last attempt's parts. */
const TEXT_MARK: Part = { type: "text-start", id: "effect-l0-text" }

const CONTENT: ReadonlySet<string> = new Set([
  "tool-call",
  "tool-result",
  "tool-approval-request",
  "source",
  "file",
  "reasoning-file",
  "custom"
])

const generated = (
  text: string,
  parts: ReadonlyArray<Part>,
  result: Omit<StreamResult, "stream"> | undefined
): unknown => {
  const content: Array<unknown> = []
  const reasoning: Array<string> = []
  let textAt: number | undefined
  let reasoningAt: number | undefined
  let finish: Part | undefined
  let warnings: unknown = []
  let metadata: Record<string, unknown> = {}
  for (const part of parts) {
    switch (part.type) {
      case "text-start":
        if (textAt === undefined) textAt = content.push(undefined) - 1
        break
      case "reasoning-start":
      case "reasoning-delta":
        if (reasoningAt === undefined) reasoningAt = content.push(undefined) - 1
        if (part.type === "reasoning-delta" && typeof part.delta === "string") reasoning.push(part.delta)
        break
      case "finish":
        finish = part
        break
      case "stream-start":
        warnings = part.warnings ?? []
        break
      case "response-metadata": {
        const { type: _, ...rest } = part
        metadata = rest
        break
      }
      default:
        if (CONTENT.has(part.type)) content.push(part)
    }
  }
  if (reasoningAt !== undefined) content[reasoningAt] = { type: "reasoning", text: reasoning.join("") }
  if (textAt !== undefined && text.length > 0) content[textAt] = { type: "text", text }
  const response = result?.response
  return {
    content: content.filter((part) => part !== undefined),
    finishReason: finish?.finishReason,
    usage: finish?.usage,
    ...(finish?.providerMetadata === undefined ? {} : { providerMetadata: finish.providerMetadata }),
    ...(result?.request === undefined ? {} : { request: result.request }),
    response: { ...metadata, ...(typeof response === "object" && response !== null ? response : {}) },
    warnings
  }
}

/** @internal */
export interface Implementation {
  readonly wrapStream: (args: WrapArgs) => Promise<StreamResult>
  readonly wrapGenerate: (args: WrapArgs) => Promise<unknown>
}

/** The options of a run that the middleware takes, and its own. */
const KNOWN: ReadonlySet<string> = new Set([
  ...optionNames.filter((name) => !["stream", "adapter", "sessionId", "resume", "checkpoint"].includes(name)),
  "layer",
  "specificationVersion"
])

/** Refuses a misspelt option and checks the run's options once, when the middleware is made. */
const checkOptions = (options: MiddlewareOptions, settings: Omit<L0Options, "stream">): void => {
  const unknown = Object.keys(options).find((key) => !KNOWN.has(key))
  if (unknown !== undefined) {
    throw new FatalError({
      reason: "options",
      message: `AiSdk.middleware: no such option ${JSON.stringify(unknown)} (known: ${[...KNOWN].join(", ")})`
    })
  }
  const resolved = resolve({ ...settings, stream: () => [] })
  if (Result.isFailure(resolved)) throw resolved.failure
}

/** @internal */
export const make = (options: MiddlewareOptions): Implementation => {
  const { continuation, fallbacks = [], layer, specificationVersion: _, ...settings } = options
  checkOptions(options, { ...settings, continuation: continuation ?? { deduplicate: true } })
  const checked = fallbacks.map((model, i) => check(model, `fallbacks[${i}]`))
  const invalid = checked.find((model): model is Exclude<typeof model, Model> => !("doStream" in model))
  if (invalid !== undefined) throw invalid
  const rest = checked as ReadonlyArray<Model>
  let services: Promise<Context.Context<never>> | undefined
  const context = (): Promise<Context.Context<never>> =>
    services ??= layer === undefined
      ? Promise.resolve(Context.empty())
      : ManagedRuntime.make(layer as Layer.Layer<unknown, unknown>).context() as Promise<Context.Context<never>>

  const open = (args: WrapArgs): { readonly call: Call; readonly events: Stream.Stream<L0Event, L0Error> } => {
    const primary = check(args.model, "the wrapped model")
    if (!("doStream" in primary)) throw primary
    const mixed = rest.findIndex((model) => model.version !== primary.version)
    if (mixed >= 0) throw mixedVersions(`fallbacks[${mixed}]`, rest[mixed]!, primary)
    const call = new Call(args.params)
    const run: L0Options = {
      ...settings,
      continuation: continuation ?? { deduplicate: true },
      adapter: modelParts,
      stream: call.source(primary),
      fallbacks: rest.map((model) => call.source(model))
    }
    return { call, events: l0Stream(run) }
  }

  const wrapStream = async (args: WrapArgs): Promise<StreamResult> => {
    const { call, events } = open(args)
    const parts = Stream.toReadableStreamWith(toParts(events, call), await context(), {
      signal: args.params.abortSignal
    })
    const reader = parts.getReader()
    const first = await reader.read()
    // the caller's signal ended the run before the model answered
    if (first.done) {
      throw new FatalError({ reason: "aborted", message: "The call was aborted before the model answered" })
    }
    // nothing was streamed yet: fail the call itself, as a provider whose request failed does
    if (first.value.type === "error") {
      reader.releaseLock()
      throw first.value.error
    }
    return { ...call.result, stream: prepend(first.value, reader) }
  }

  const wrapGenerate = async (args: WrapArgs): Promise<unknown> => {
    const { call, events } = open(args)
    const parts: Array<Part> = []
    let marked = false
    let text = ""
    const collect = Stream.runForEachArray(events, (batch) =>
      Effect.sync(() => {
        for (const event of batch) {
          if (event._tag === "Reset") {
            // the parts of a failed attempt go; the text it kept comes first in the next attempt's
            parts.length = 0
            marked = event.kept > 0
            if (marked) parts.push(TEXT_MARK)
          } else if (event._tag === "Data") {
            const part = partOf(event.value)
            if (part !== undefined) parts.push(part)
          } else if (event._tag === "Token" && !marked) {
            parts.push(TEXT_MARK)
            marked = true
          } else if (event._tag === "Complete") {
            text = event.state.content
          }
        }
      }))
    await Effect.runPromiseWith(await context())(collect, { signal: args.params.abortSignal })
    return generated(text, parts, call.result)
  }

  return { wrapStream, wrapGenerate }
}
