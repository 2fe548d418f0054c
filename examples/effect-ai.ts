/**
 * An `effect/ai` program made reliable by swapping the one Layer that provides its LanguageModel.
 * Run with: npx tsx examples/effect-ai.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as AiError from "effect/ai/AiError"
import * as LanguageModel from "effect/ai/LanguageModel"
import type * as Prompt from "effect/ai/Prompt"
import type * as Response from "effect/ai/Response"
import { EffectAi } from "effect-l0"

const ANSWER = "The quick brown fox jumps over the lazy dog."

/** The answer so far, when the prompt ends with it as an assistant message (what a retry sends). */
const partialAnswer = (prompt: Prompt.Prompt): string => {
  const last = prompt.content.at(-1)
  return last?.role === "assistant" ? last.content.map((part) => part.type === "text" ? part.text : "").join("") : ""
}

// Stands in for a provider's LanguageModel: its first stream drops the connection after two words;
// later ones continue from the answer so far.
let requests = 0
const Flaky = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: () => Effect.succeed([]),
    streamText: ({ prompt }) => {
      const cut = ++requests === 1
      const words = ANSWER.slice(partialAnswer(prompt).length).split(/(?= )/)
      const parts: Array<Response.StreamPartEncoded> = [
        { type: "text-start", id: "t" },
        ...(cut ? words.slice(0, 2) : words).map((delta): Response.StreamPartEncoded => ({
          type: "text-delta",
          id: "t",
          delta
        }))
      ]
      if (cut) {
        const reason = new AiError.NetworkError({
          reason: "TransportError",
          method: "POST",
          url: "https://provider.invalid",
          description: "connection reset"
        })
        const dropped = AiError.make({ module: "Example", method: "streamText", reason })
        return Stream.concat(Stream.fromIterable(parts), Stream.fail(dropped))
      }
      return Stream.fromIterable([
        ...parts,
        { type: "text-end", id: "t" },
        { type: "finish", reason: "stop", usage: { inputTokens: { total: 5 }, outputTokens: { total: 9 } } }
      ])
    }
  })
)

// The program knows only LanguageModel.
const program = LanguageModel.streamText({ prompt: "Describe a fox" }).pipe(
  Stream.runForEach((part) =>
    part.type === "text-delta" ? Effect.sync(() => process.stdout.write(part.delta)) : Effect.void
  )
)

// Was: program.pipe(Effect.provide(Flaky)), which fails at the dropped connection.
const Reliable = EffectAi.layer({ models: [Flaky], retry: { backoff: "fixed", baseDelay: "10 millis" } })

Effect.runPromise(program.pipe(Effect.provide(Reliable))).then(() => console.log(`\n${requests} requests`))
