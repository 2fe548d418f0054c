/**
 * The AI SDK language models that `AiSdk.middleware` calls: checked once,
 * read without trusting their getters, and called for one attempt each.
 *
 * @internal
 */
import { defaultInstruction } from "../../Continuation.js"
import { FatalError } from "../../L0Error.js"
import { describe } from "../describe.js"
import { isRecord } from "../decode.js"

/** The error of a model, or a `doStream` result, that the middleware cannot call or read. */
export const notAModel = (what: string, detail: string): FatalError =>
  new FatalError({
    reason: "options",
    message: `AiSdk.middleware: ${what} is not an AI SDK language model of a supported version (LanguageModelV3 ` +
      `of ai 6, LanguageModelV4 of ai 7): ${detail}`
  })

/** The specification versions the middleware speaks: `LanguageModelV3` (ai 6) and `LanguageModelV4` (ai 7). */
export type Version = "v3" | "v4"

/** What a model's `doStream` resolves to; only `stream` is read, the rest is handed on. */
export interface StreamResult {
  readonly stream: unknown
  readonly request?: unknown
  readonly response?: unknown
}

/** The call options of `doStream` / `doGenerate`; the middleware adds to `prompt` and replaces `abortSignal`. */
export interface Params {
  readonly prompt: ReadonlyArray<unknown>
  readonly abortSignal?: AbortSignal | undefined
}

/** A checked model. */
export interface Model {
  readonly version: Version
  /** `provider:modelId`, the `ProviderHealth` key of its attempts. */
  readonly key: string
  readonly doStream: (params: Params) => PromiseLike<StreamResult>
}

const UNREADABLE = Symbol("unreadable")

const read = (u: object, key: string): unknown => {
  try {
    return (u as Record<string, unknown>)[key]
  } catch {
    return UNREADABLE
  }
}

/** The model, or the `FatalError` that says why `u` is not one (a getter that throws included). */
export const check = (u: unknown, what: string): Model | FatalError => {
  if (typeof u !== "object" || u === null) return notAModel(what, `it is ${describe(u)}`)
  const version = read(u, "specificationVersion")
  if (version === UNREADABLE) return notAModel(what, "reading its specificationVersion threw")
  if (version !== "v3" && version !== "v4") {
    return notAModel(
      what,
      `its specificationVersion is ${typeof version === "string" ? JSON.stringify(version) : describe(version)}`
    )
  }
  const doStream = read(u, "doStream")
  if (typeof doStream !== "function") return notAModel(what, "it has no doStream method")
  const provider = read(u, "provider")
  const modelId = read(u, "modelId")
  return {
    version,
    key: `${typeof provider === "string" ? provider : "unknown"}:${typeof modelId === "string" ? modelId : "unknown"}`,
    doStream: (params) => doStream.call(u, params) as PromiseLike<StreamResult>
  }
}

/** Models of one call must speak one version: V3 and V4 prompts differ. */
export const mixedVersions = (what: string, model: Model, primary: Model): FatalError =>
  new FatalError({
    reason: "options",
    message: `AiSdk.middleware: ${what} (${model.key}) is a LanguageModel${model.version.toUpperCase()} but the ` +
      `wrapped model is a LanguageModel${primary.version.toUpperCase()}: use models of one AI SDK major`
  })

/**
 * The call options of a retry that continues `checkpoint`: the partial
 * answer as an assistant message, then a user message that asks for the
 * rest. It works with every provider (no assistant prefill needed); the
 * model may restate its last words, which `continuation: { deduplicate }`
 * removes.
 */
export const continuing = <P extends Params>(params: P, checkpoint: string): P =>
  checkpoint.length === 0 ? params : {
    ...params,
    prompt: [
      ...params.prompt,
      { role: "assistant", content: [{ type: "text", text: checkpoint }] },
      { role: "user", content: [{ type: "text", text: defaultInstruction }] }
    ]
  }

/** A `ReadableStream` as an `AsyncIterable`, for runtimes whose streams are not iterable. */
export const iterable = (stream: unknown): AsyncIterable<unknown> | undefined => {
  if (!isRecord(stream)) return undefined
  const iterate = (stream as { readonly [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator]
  if (typeof iterate === "function") return stream as unknown as AsyncIterable<unknown>
  if (typeof stream.getReader !== "function") return undefined
  const readable = stream as unknown as ReadableStream<unknown>
  return {
    [Symbol.asyncIterator]: () => {
      const reader = readable.getReader()
      return {
        next: () =>
          reader.read().then((r) => r.done ? { done: true, value: undefined } : { done: false, value: r.value }),
        return: () => reader.cancel().then(() => ({ done: true, value: undefined }))
      }
    }
  }
}
