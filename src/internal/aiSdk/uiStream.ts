/**
 * An L0 run as the AI SDK's UI message stream (`useChat`,
 * `readUIMessageStream`): one assistant message with one step.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Pull from "effect/Pull"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { UIMessageChunk, UIStreamOptions } from "../../AiSdk.js"
import type { L0Error } from "../../L0Error.js"
import type { Complete, L0Event } from "../../L0Event.js"
import { RESET_PART } from "../../client.js"
import { isRecord } from "../decode.js"
import { invalidOption } from "../optionSchema.js"
import { redactSecrets } from "../redact.js"

/** The finish reasons of the protocol, from the reasons the built-in adapters report. */
const FINISH_REASONS: ReadonlyMap<string, string> = new Map([
  ["stop", "stop"],
  ["end_turn", "stop"],
  ["stop_sequence", "stop"],
  ["completed", "stop"],
  ["length", "length"],
  ["max_tokens", "length"],
  ["max_output_tokens", "length"],
  ["tool_calls", "tool-calls"],
  ["tool_use", "tool-calls"],
  ["tool-calls", "tool-calls"],
  ["function_call", "tool-calls"],
  ["content_filter", "content-filter"],
  ["content-filter", "content-filter"],
  ["refusal", "content-filter"]
])

/** @internal */
export const finishReason = (reason: string | undefined): string =>
  reason === undefined ? "stop" : FINISH_REASONS.get(reason) ?? "other"

/** @internal */
export const usageMetadata = (event: Complete): unknown =>
  event.usage === undefined ? undefined : {
    usage: {
      inputTokens: event.usage.inputTokens,
      outputTokens: event.usage.outputTokens,
      totalTokens: event.usage.totalTokens
    }
  }

const inputOf = (json: string): unknown => {
  try {
    return JSON.parse(json)
  } catch {
    return json
  }
}

/**
 * Writes the chunks of one run. A `Reset` that keeps all of the text shown
 * changes nothing on the page; one that takes text back sends `reset-step`,
 * which removes the parts of the step (the text, reasoning and tool calls of
 * the failed attempt), then a new text part with the text kept.
 */
class UIWriter {
  private started = false
  private shown: Array<string> = []
  private shownLength = 0
  private textId: string | undefined = undefined
  private reasoningId: string | undefined = undefined
  private ids = 0

  constructor(private readonly options: UIStreamOptions) {}

  write(events: ReadonlyArray<L0Event>, out: Array<UIMessageChunk>): void {
    this.start(out)
    let pending = ""
    const flush = () => {
      if (pending.length === 0) return
      this.text(pending, out)
      pending = ""
    }
    for (const event of events) {
      switch (event._tag) {
        case "Token":
          pending += event.value
          break
        case "Reset":
          flush()
          this.reset(event.kept, out)
          break
        case "Data": {
          const value = event.value
          if (this.options.sendReasoning === false) break
          if (isRecord(value) && value.type === "reasoning" && typeof value.text === "string") {
            flush()
            this.reasoning(value.text, out)
          }
          break
        }
        case "ToolCall":
          flush()
          this.endParts(out)
          out.push({
            type: "tool-input-available",
            toolCallId: event.id,
            toolName: event.name,
            input: inputOf(event.arguments),
            dynamic: true
          })
          break
        case "Complete":
          flush()
          this.endParts(out)
          this.finish(event, out)
          break
      }
    }
    flush()
  }

  start(out: Array<UIMessageChunk>): void {
    if (this.started) return
    this.started = true
    const messageId = this.options.messageId
    if (this.options.sendStart !== false) {
      out.push(messageId === undefined ? { type: "start" } : { type: "start", messageId })
    }
    out.push({ type: "start-step" })
  }

  private nextId(kind: string): string {
    return `effect-l0-${kind}-${this.ids++}`
  }

  private text(value: string, out: Array<UIMessageChunk>): void {
    this.endReasoning(out)
    if (this.textId === undefined) {
      this.textId = this.nextId("text")
      out.push({ type: "text-start", id: this.textId })
    }
    out.push({ type: "text-delta", id: this.textId, delta: value })
    this.shown.push(value)
    this.shownLength += value.length
  }

  private reasoning(value: string, out: Array<UIMessageChunk>): void {
    this.endText(out)
    if (this.reasoningId === undefined) {
      this.reasoningId = this.nextId("reasoning")
      out.push({ type: "reasoning-start", id: this.reasoningId })
    }
    out.push({ type: "reasoning-delta", id: this.reasoningId, delta: value })
  }

  private reset(kept: number, out: Array<UIMessageChunk>): void {
    if (kept >= this.shownLength) return
    const text = this.shown.join("").slice(0, kept)
    this.shown = []
    this.shownLength = 0
    if (this.options.reset === "data-part") {
      // the page's `uiMessageText` keeps the first `kept` characters of the text before this part
      this.endParts(out)
      out.push({ type: RESET_PART, id: this.nextId("reset"), data: { kept } })
      if (text.length > 0) {
        this.shown.push(text)
        this.shownLength = text.length
      }
      return
    }
    this.textId = undefined
    this.reasoningId = undefined
    out.push({ type: "reset-step" })
    if (text.length > 0) this.text(text, out)
  }

  private endText(out: Array<UIMessageChunk>): void {
    if (this.textId === undefined) return
    out.push({ type: "text-end", id: this.textId })
    this.textId = undefined
  }

  private endReasoning(out: Array<UIMessageChunk>): void {
    if (this.reasoningId === undefined) return
    out.push({ type: "reasoning-end", id: this.reasoningId })
    this.reasoningId = undefined
  }

  private endParts(out: Array<UIMessageChunk>): void {
    this.endText(out)
    this.endReasoning(out)
  }

  /** A user callback that threw: reported by the stream, never breaking it. */
  failure: { readonly callback: string; readonly error: unknown } | undefined = undefined

  private finish(event: Complete, out: Array<UIMessageChunk>): void {
    let metadata: unknown
    try {
      metadata = (this.options.messageMetadata ?? usageMetadata)(event)
    } catch (error) {
      this.failure = { callback: "messageMetadata", error }
    }
    out.push({ type: "finish-step" })
    if (this.options.sendFinish === false) return
    out.push({
      type: "finish",
      finishReason: finishReason(event.state.finishReason),
      ...(metadata === undefined ? {} : { messageMetadata: metadata })
    })
  }
}

const errorChunk = (errorText: string): UIMessageChunk => ({ type: "error", errorText })

/** Logs, once, the user callback that threw; the chunk it was for went out without it. */
const reported = (writer: UIWriter): Effect.Effect<void> =>
  Effect.suspend(() => {
    const failure = writer.failure
    if (failure === undefined) return Effect.void
    writer.failure = undefined
    return Effect.logWarning(
      `effect-l0/AiSdk: ${failure.callback} threw; the stream went on without it`,
      Cause.fail(failure.error)
    )
  })

const KeepAlive = Symbol.for("effect-l0/AiSdk/KeepAlive")

const keepAliveMillis = (input: Duration.Input | undefined): number => {
  const decoded = Duration.fromInput(input ?? "15 seconds")
  return Option.isSome(decoded) ? Duration.toMillis(decoded.value) : NaN
}

/** The chunks of a run; a failure becomes a last `error` chunk, so the stream never fails. */
export const chunks = <R>(
  self: Stream.Stream<L0Event, L0Error, R>,
  options: UIStreamOptions
): Stream.Stream<UIMessageChunk, never, R> =>
  Stream.suspend(() => {
    const writer = new UIWriter(options)
    const defaultText = (error: L0Error) => redactSecrets(error.message)
    const errorText = (error: L0Error): string => {
      if (options.errorText === undefined) return defaultText(error)
      try {
        return options.errorText(error)
      } catch (thrown) {
        writer.failure = { callback: "errorText", error: thrown }
        return defaultText(error)
      }
    }
    const onFailure = (cause: Cause.Cause<L0Error>): Stream.Stream<UIMessageChunk> => {
      const error = Cause.findErrorOption(cause)
      if (Option.isSome(error)) {
        const out: Array<UIMessageChunk> = []
        writer.start(out)
        out.push(errorChunk(errorText(error.value)))
        return Stream.concat(Stream.fromIterable(out), Stream.fromEffectDrain(reported(writer)))
      }
      if (Cause.hasInterruptsOnly(cause)) return Stream.empty
      // a defect is a bug on the server: the page gets no detail, the server log gets the cause
      return Stream.fromEffect(Effect.as(
        Effect.logError("effect-l0/AiSdk: the UI message stream failed unexpectedly", cause),
        errorChunk("The server failed while streaming")
      ))
    }
    const written = Stream.transformPull(self, (upstream) =>
      Effect.succeed(
        Effect.flatMap(
          upstream,
          function next(events): Pull.Pull<Arr.NonEmptyReadonlyArray<UIMessageChunk>, L0Error, void> {
            const out: Array<UIMessageChunk> = []
            writer.write(events, out)
            const pulled = out.length === 0
              ? Effect.flatMap(upstream, next)
              : Effect.succeed(out as unknown as Arr.NonEmptyReadonlyArray<UIMessageChunk>)
            return writer.failure === undefined ? pulled : Effect.andThen(reported(writer), pulled)
          }
        )
      ))
    return Stream.catchCause(written, onFailure)
  })

const encoder = new TextEncoder()

/** Server-Sent Events as the AI SDK writes them: `data: <json>` per chunk, `data: [DONE]` last. */
export const sse = <R>(
  self: Stream.Stream<L0Event, L0Error, R>,
  options: UIStreamOptions & { readonly keepAlive?: Duration.Input | undefined }
): Stream.Stream<Uint8Array, never, R> => {
  const interval = keepAliveMillis(options.keepAlive)
  if (!(interval > 0)) {
    const message = invalidOption("keepAlive", `a positive duration or "Infinity"`, options.keepAlive).message
    return Stream.make(encoder.encode(`data: ${JSON.stringify(errorChunk(message))}\n\ndata: [DONE]\n\n`))
  }
  const data: Stream.Stream<UIMessageChunk | typeof KeepAlive, never, R> = Number.isFinite(interval)
    ? Stream.merge(chunks(self, options), Stream.map(Stream.fromSchedule(Schedule.spaced(interval)), () => KeepAlive), {
      haltStrategy: "left"
    })
    : chunks(self, options)
  return Stream.concat(
    Stream.mapArray(data, (items) => {
      let out = ""
      for (const item of items) out += item === KeepAlive ? ": keep-alive\n\n" : `data: ${JSON.stringify(item)}\n\n`
      return [encoder.encode(out)]
    }),
    Stream.succeed(encoder.encode("data: [DONE]\n\n"))
  )
}
