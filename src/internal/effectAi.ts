/**
 * The `LanguageModel` of `EffectAi.layer`: the models' `streamText` run as
 * the sources of one L0 run, and the run's events turned back into parts.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Pull from "effect/Pull"
import * as Stream from "effect/Stream"
import * as AiError from "effect/ai/AiError"
import * as LanguageModel from "effect/ai/LanguageModel"
import * as Prompt from "effect/ai/Prompt"
import * as Response from "effect/ai/Response"
import type * as Tool from "effect/ai/Tool"
import { effectAiParts } from "../adapters/effectAi.js"
import type { LayerOptions, Settings } from "../EffectAi.js"
import type { FatalError, L0Error } from "../L0Error.js"
import { isL0Error } from "../L0Error.js"
import type { L0Event } from "../L0Event.js"
import { stream as runStream } from "./l0.js"
import { unknownOption } from "./optionSchema.js"
import type { AttemptContext, L0Options } from "./l0Types.js"

/** The responses L0 builds call no tools of their own. */
type NoTools = Record<string, never>

type TextOptions = LanguageModel.GenerateTextOptions<Record<string, Tool.Any>>
type Part = Response.StreamPart<Record<string, Tool.Any>, Response.ToolParametersMode>
type Method = "streamText" | "generateText"

/**
 * A `LanguageModel` with its overloads erased. The layer passes each call's
 * options unchanged to models of the same interface, and fails with their
 * own errors or an `AiError`, so the types of the overload that the caller
 * matched hold for what it returns; this one type states that.
 */
interface Erased {
  readonly supportsSystemMessagesInHistory?: Effect.Effect<boolean> | undefined
  readonly streamText: (options: TextOptions) => Stream.Stream<Part, unknown, unknown>
  readonly generateText: (
    options: TextOptions
  ) => Effect.Effect<LanguageModel.GenerateTextResponse<NoTools>, unknown, unknown>
  readonly generateObject: (options: TextOptions) => Effect.Effect<unknown, unknown, unknown>
}

const erase = (model: LanguageModel.LanguageModel): Erased => model as unknown as Erased

const MODULE = "effect-l0/EffectAi"

/** A retry continues the text shown so far: the model gets it as the start of its answer (an assistant prefill). */
const withCheckpoint = (options: TextOptions, { checkpoint }: AttemptContext): TextOptions =>
  checkpoint.length === 0
    ? options
    : { ...options, prompt: Prompt.concat(Prompt.make(options.prompt), [{ role: "assistant", content: checkpoint }]) }

const failure = (method: Method, description: string, metadata: Record<string, string> = {}): AiError.AiError =>
  AiError.make({
    module: MODULE,
    method,
    reason: new AiError.UnknownError({ description, metadata: { "effect-l0": metadata } })
  })

/**
 * What the `LanguageModel` fails with: the model's own error (an `AiError`,
 * or a tool handler's failure) when one ended the run, else an `AiError`
 * that describes the L0 error (a timeout, a guardrail, no finish part).
 */
const toModelError = (method: Method) => (error: L0Error): unknown => {
  const last = error._tag === "ExhaustedError" ? error.lastError ?? error : error
  const cause = last.cause
  if (cause !== undefined && !isL0Error(cause)) return cause
  return failure(method, `${last._tag}: ${last.message}`, { tag: last._tag, category: last.category })
}

/**
 * Turns L0 events back into `effect/ai` parts: tokens become `text-delta`s
 * of the open text block, other parts pass as they came. A retry that
 * continues the shown text reuses the open block; one that would take back
 * streamed text fails, as parts cannot express it.
 */
class PartWriter {
  private shown = 0
  private openId: string | undefined = undefined
  private textIds = 0

  write(events: ReadonlyArray<L0Event>, out: Array<Part>): AiError.AiError | undefined {
    for (const event of events) {
      switch (event._tag) {
        case "Token": {
          this.shown += event.value.length
          out.push(Response.makePart("text-delta", { id: this.openId ?? this.implicitId(out), delta: event.value }))
          break
        }
        case "Data": {
          this.part(event.value as Part, out)
          break
        }
        case "Reset": {
          if (event.kept < this.shown) {
            return failure(
              "streamText",
              `A retry would take back ${
                this.shown - event.kept
              } streamed characters, which response parts cannot express (the retry did not continue the text)`,
              { tag: "Reset" }
            )
          }
          break
        }
        default:
          break
      }
    }
    return undefined
  }

  /** A model that sent text without a `text-start`: open one, as a consumer grouping by id expects. */
  private implicitId(out: Array<Part>): string {
    const id = `effect-l0-text-${this.textIds++}`
    this.openId = id
    out.push(Response.makePart("text-start", { id }))
    return id
  }

  private part(part: Part, out: Array<Part>): void {
    if (part.type === "text-start") {
      // the attempt after a retry opens its own block: the text goes on in the one already open
      if (this.openId !== undefined) return
      this.openId = part.id
    } else if (part.type === "text-end") {
      if (this.openId === undefined) return
      const id = this.openId
      this.openId = undefined
      if (part.id !== id) return void out.push(Response.makePart("text-end", { id, metadata: part.metadata }))
    }
    out.push(part)
  }
}

const toParts = <R>(events: Stream.Stream<L0Event, L0Error, R>): Stream.Stream<Part, unknown, R> =>
  Stream.transformPull(Stream.mapError(events, toModelError("streamText")), (upstream) =>
    Effect.sync(() => {
      const writer = new PartWriter()
      const next: Pull.Pull<Arr.NonEmptyReadonlyArray<Part>, unknown, void> = Effect.flatMap(upstream, (events) => {
        const out: Array<Part> = []
        const error = writer.write(events, out)
        if (error !== undefined) return Effect.fail(error)
        return out.length === 0 ? next : Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<Part>)
      })
      return next
    }))

/** Where the text goes among the parts of `generateText`: the first token or `text-start` of the attempt. */
const TEXT_MARK = Response.makePart("text-start", { id: "effect-l0-text" })

/**
 * The response of `generateText`: the run's text (resets applied) as one
 * text part and the reasoning as one reasoning part, each where it began,
 * among the last attempt's other parts.
 */
const response = (text: string, parts: ReadonlyArray<Part>): LanguageModel.GenerateTextResponse<NoTools> => {
  const content: Array<Response.Part<NoTools> | undefined> = []
  const reasoning: Array<string> = []
  let textAt: number | undefined
  let reasoningAt: number | undefined
  for (const part of parts) {
    switch (part.type) {
      case "text-start":
        if (textAt === undefined) textAt = content.push(undefined) - 1
        break
      case "reasoning-start":
      case "reasoning-delta":
        if (reasoningAt === undefined) reasoningAt = content.push(undefined) - 1
        if (part.type === "reasoning-delta") reasoning.push(part.delta)
        break
      case "tool-call":
      case "tool-result":
      case "tool-approval-request":
      case "file":
      case "source":
      case "response-metadata":
      case "finish":
        content.push(part as Response.Part<NoTools>)
        break
      default:
        break
    }
  }
  if (reasoningAt !== undefined && reasoning.length > 0) {
    content[reasoningAt] = Response.makePart("reasoning", { text: reasoning.join("") })
  }
  if (textAt !== undefined && text.length > 0) content[textAt] = Response.makePart("text", { text })
  return new LanguageModel.GenerateTextResponse(content.filter((part) => part !== undefined))
}

/** The options of a run that the models decide: given in the settings, they would be ignored. */
const misplacedOption = (settings: object): FatalError | undefined => {
  const key = ["stream", "fallbacks", "adapter"].find((name) => Object.prototype.hasOwnProperty.call(settings, name))
  return key === undefined ? undefined : unknownOption(
    key,
    `unknown option; EffectAi streams from its models (EffectAi.layer's "models", EffectAi.make's first argument), the first one first`
  )
}

/** @internal */
export const make = (
  services: Arr.NonEmptyReadonlyArray<LanguageModel.LanguageModel>,
  options: Settings
): LanguageModel.LanguageModel => {
  const { continuation, ...settings } = options
  const [first, ...rest] = Arr.map(services, erase)
  const misplaced = misplacedOption(settings)
  const stream = (o: L0Options<unknown>) => misplaced === undefined ? runStream(o) : Stream.fail(misplaced)
  const l0Options = (textOptions: TextOptions): L0Options<unknown> => {
    const source = (model: Erased) => (ctx: AttemptContext) => model.streamText(withCheckpoint(textOptions, ctx))
    return {
      ...settings,
      continuation: continuation ?? { deduplicate: true },
      adapter: effectAiParts,
      stream: source(first),
      fallbacks: rest.map(source)
    }
  }
  const streamText = (textOptions: TextOptions) => toParts(stream(l0Options(textOptions)))
  const generateText = (textOptions: TextOptions) =>
    Effect.suspend(() => {
      const parts: Array<Part> = []
      let marked = false
      let text = ""
      return stream(l0Options(textOptions)).pipe(
        Stream.runForEachArray((events) =>
          Effect.sync(() => {
            for (const event of events) {
              if (event._tag === "Reset") {
                // the parts of a failed attempt go; the text it kept comes first in the next attempt's
                parts.length = 0
                marked = event.kept > 0
                if (marked) parts.push(TEXT_MARK)
              } else if (event._tag === "Data") {
                parts.push(event.value as Part)
              } else if (event._tag === "Token" && !marked) {
                parts.push(TEXT_MARK)
                marked = true
              } else if (event._tag === "Complete") {
                text = event.state.content
              }
            }
          })
        ),
        Effect.mapError(toModelError("generateText")),
        Effect.map(() => response(text, parts))
      )
    })
  const generateObject = (objectOptions: TextOptions) =>
    rest.reduce(
      (tried, model) => Effect.catch(tried, () => model.generateObject(objectOptions)),
      first.generateObject(objectOptions)
    )
  const service: Erased & { readonly [LanguageModel.TypeId]: LanguageModel.TypeId } = {
    [LanguageModel.TypeId]: LanguageModel.TypeId,
    supportsSystemMessagesInHistory: services[0].supportsSystemMessagesInHistory,
    streamText,
    generateText,
    generateObject
  }
  return service as unknown as LanguageModel.LanguageModel
}

const build = <E, R>(model: Layer.Layer<LanguageModel.LanguageModel, E, R>) =>
  Effect.map(Layer.build(model), Context.get(LanguageModel.LanguageModel))

/** @internal */
export const layer = <E, R>(options: LayerOptions<E, R>): Layer.Layer<LanguageModel.LanguageModel, E, R> => {
  const { models: [primary, ...fallbacks], ...settings } = options
  return Layer.effect(
    LanguageModel.LanguageModel,
    Effect.map(
      Effect.all([build(primary), Effect.forEach(fallbacks, build)]),
      ([first, rest]) => make([first, ...rest], settings)
    )
  )
}
