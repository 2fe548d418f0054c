/**
 * Continuing an answer after a failed attempt instead of starting over: the
 * `continuation` option of `L0.stream`, and helpers that build the request
 * that asks a provider to continue.
 *
 * With `continuation: true`, each attempt after a failure gets the text
 * already shown as `ctx.checkpoint`, L0 emits `Reset { kept:
 * checkpoint.length }`, and the new attempt's text is appended as is: the
 * answer is the checkpoint followed by exactly what the model sent. That is
 * right for a model that continues where it stopped, such as Anthropic with
 * an assistant prefill. A model told to "continue" in a new message may
 * instead restate its last words; removing that repeated overlap is the
 * explicit `deduplicate` option, because any guess deletes genuine text when
 * the model did not repeat itself (indentation, repeated table rows, "ha ha
 * ha").
 *
 * | request built with | `continuation` option |
 * |---|---|
 * | `anthropic` (assistant prefill) | `anthropicOptions`: `{ trailingWhitespace: "dropped" }` |
 * | `openaiChat` ("continue" message) | `openaiChatOptions`: `{ deduplicate: { boundary: "word" } }` |
 * | a provider that continues the exact text (a raw completion endpoint, a prefill that keeps whitespace) | `true` |
 *
 * @since 0.1.0
 */
import * as internal from "./internal/continuation.js"
import { isRecord } from "./internal/decode.js"

/**
 * Where a removed overlap may start in the checkpoint:
 * - `"word"` (default): at the start of a word (letters, digits or
 *   ideographs, by `Intl.Segmenter` word boundaries), never at a space or
 *   punctuation;
 * - `"line"`: at the start of a line;
 * - `"grapheme"`: at any user-perceived character (never inside an emoji
 *   sequence or between a letter and its accent).
 *
 * @category models
 * @since 0.1.0
 */
export type Boundary = "grapheme" | "word" | "line"

/**
 * How a repeated overlap is removed. The new attempt's head is compared with
 * the checkpoint's tail; the longest head that equals a tail of
 * `minOverlap` to `maxOverlap` characters (UTF-16 code units, as `Reset.kept`
 * counts them) starting at a `boundary` is dropped. The head is held back
 * only while it could still be such a repetition, so at most `maxOverlap`
 * characters wait, once per attempt.
 *
 * @category models
 * @since 0.1.0
 */
export interface Deduplicate {
  /** Shortest overlap removed; default 2. */
  readonly minOverlap?: number | undefined
  /** Longest overlap removed; default 512. */
  readonly maxOverlap?: number | undefined
  /** Default `"word"`. */
  readonly boundary?: Boundary | undefined
}

/**
 * The `continuation` option as an object. `{}` is the same as `true`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * Remove the part of the new attempt that repeats the end of the
   * checkpoint. Off by default: the new attempt is appended as is. `true`
   * takes the defaults of {@link Deduplicate}.
   */
  readonly deduplicate?: boolean | Deduplicate | undefined
  /**
   * Whether the request gave the model the checkpoint's trailing whitespace:
   * `"sent"` (default), or `"dropped"` (`anthropic` drops it, because
   * Anthropic refuses an assistant prefill that ends with whitespace). With
   * `"dropped"`, the model continues from the checkpoint without that
   * whitespace and writes its own; the answer is exactly the trimmed
   * checkpoint followed by the model's text. When the model's whitespace
   * differs from the checkpoint's, the `Reset` keeps fewer characters than the
   * checkpoint (only whitespace is taken back).
   */
  readonly trailingWhitespace?: "sent" | "dropped" | undefined
}

/**
 * The default request of {@link openaiChat}, sent after the partial answer.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultInstruction =
  "Your previous answer was cut off. Continue it exactly from where it stopped. Do not repeat any of it and do " +
  "not add an introduction: start with the exact next characters (including a leading space or line break if one " +
  "comes next)."

/**
 * Options of {@link openaiChat}.
 *
 * @category models
 * @since 0.1.0
 */
export interface OpenAIChatOptions {
  /** The user message that asks for the rest; default {@link defaultInstruction}. */
  readonly instruction?: string | undefined
}

/**
 * The request of an OpenAI Chat Completions attempt that continues
 * `checkpoint`: the partial answer as an assistant message, then a user
 * message asking for the rest. Without a checkpoint the request is returned
 * unchanged. Works with the `openai` client and `Adapters.openaiHttp`.
 *
 * The model answers in a new message and may restate its last words, so use
 * it with {@link openaiChatOptions} (deduplication at word boundaries). Even
 * so, a model may drop or add the space at the join: a "continue" message
 * is a request, not a guarantee. Prefer a provider that continues the exact
 * text when the join must be exact.
 *
 * **Example** (Continuing with the `openai` client)
 * ```ts
 * const request = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Write a limerick" }], stream: true as const }
 * const text = yield* L0.text({
 *   stream: ({ checkpoint, signal }) => client.chat.completions.create(Continuation.openaiChat(request, checkpoint), { signal }),
 *   continuation: Continuation.openaiChatOptions
 * })
 * ```
 * @category requests
 * @since 0.1.0
 */
export const openaiChat = <Request extends { readonly messages: ReadonlyArray<unknown> }>(
  request: Request,
  checkpoint: string,
  options: OpenAIChatOptions = {}
): Request =>
  checkpoint.length === 0 ? request : {
    ...request,
    messages: [
      ...request.messages,
      { role: "assistant", content: checkpoint },
      { role: "user", content: options.instruction ?? defaultInstruction }
    ]
  }

/**
 * The `continuation` option that fits {@link openaiChat}: deduplication of a
 * restated overlap that starts at a word, with the default window (2 to 512
 * characters).
 *
 * @category options
 * @since 0.1.0
 */
export const openaiChatOptions: Options = { deduplicate: { boundary: "word" } }

/**
 * The request of an Anthropic Messages attempt that continues `checkpoint`
 * with an assistant prefill: the last message is the assistant's partial
 * answer, so the model writes only what follows. If the request already ends
 * with an assistant message (your own prefill), the checkpoint is appended
 * to it. Without a checkpoint the request is returned unchanged. Works with
 * the `@anthropic-ai/sdk` client and `Adapters.anthropicHttp`.
 *
 * Anthropic refuses a prefill that ends with whitespace, so the checkpoint's
 * trailing whitespace is left out and the model writes it again: use it with
 * {@link anthropicOptions} (`trailingWhitespace: "dropped"`, no
 * deduplication: a prefilled model never repeats the prefill). Anthropic
 * does not accept a prefill when extended thinking is on.
 *
 * **Example** (Continuing with the Anthropic client)
 * ```ts
 * const request = { model: "claude-sonnet-4-6", max_tokens: 1024, messages: [{ role: "user" as const, content: "Write a limerick" }], stream: true as const }
 * const text = yield* L0.text({
 *   stream: ({ checkpoint, signal }) => anthropic.messages.create(Continuation.anthropic(request, checkpoint), { signal }),
 *   continuation: Continuation.anthropicOptions
 * })
 * ```
 * @category requests
 * @since 0.1.0
 */
export const anthropic = <Request extends { readonly messages: ReadonlyArray<unknown> }>(
  request: Request,
  checkpoint: string
): Request => {
  const prefill = checkpoint.slice(0, internal.trailingWhitespaceStart(checkpoint))
  if (prefill.length === 0) return request
  const messages = request.messages
  const last = messages.at(-1)
  if (isRecord(last) && last.role === "assistant") {
    const content = last.content
    if (typeof content === "string") {
      return { ...request, messages: [...messages.slice(0, -1), { ...last, content: content + prefill }] }
    }
    if (Array.isArray(content)) {
      return { ...request, messages: [...messages.slice(0, -1), { ...last, content: extended(content, prefill) }] }
    }
  }
  return { ...request, messages: [...messages, { role: "assistant", content: prefill }] }
}

/** Your own prefill as content blocks, followed by the checkpoint in its last text block. */
const extended = (content: ReadonlyArray<unknown>, prefill: string): ReadonlyArray<unknown> => {
  const block = content.at(-1)
  return isRecord(block) && block.type === "text" && typeof block.text === "string"
    ? [...content.slice(0, -1), { ...block, text: block.text + prefill }]
    : [...content, { type: "text", text: prefill }]
}

/**
 * The `continuation` option that fits {@link anthropic}: the new attempt is
 * appended as is, after the checkpoint without its trailing whitespace.
 *
 * @category options
 * @since 0.1.0
 */
export const anthropicOptions: Options = { trailingWhitespace: "dropped" }
