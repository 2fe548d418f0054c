import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { Continuation, Guardrail, L0, L0Error, L0Event } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { advance, connectionReset, failureOf, noDelay } from "./support.js"

type Options = L0.L0Options["continuation"]

/** Two attempts: `shown` then a network failure, then `next`. */
const twoAttempts = (shown: ReadonlyArray<unknown>, next: ReadonlyArray<unknown>) =>
  TestSource.make([...shown, TestSource.fail(connectionReset())], next)

const tokensAfterLastReset = (events: ReadonlyArray<L0Event.L0Event>): ReadonlyArray<string> => {
  let last = events.length - 1
  while (last >= 0 && events[last]!._tag !== "Reset") last--
  return events.slice(last + 1).filter(L0Event.isToken).map((e) => e.value)
}

const runBoth = (shown: ReadonlyArray<unknown>, next: ReadonlyArray<unknown>, continuation: Options) =>
  Effect.gen(function*() {
    const source = twoAttempts(shown, next)
    const events = yield* Stream.runCollect(L0.stream({ stream: source.stream, retry: noDelay, continuation }))
    const complete = events.at(-1)
    if (complete?._tag !== "Complete") throw new Error("expected Complete last")
    return {
      source,
      events,
      shown: events.reduce(L0Event.applyTo, ""),
      content: complete.state.content,
      checkpoint: complete.state.checkpoint,
      resets: events.filter((e): e is L0Event.Reset => e._tag === "Reset").map((e) => e.kept),
      /** Token values after the last reset: what the second attempt emitted. */
      after: tokensAfterLastReset(events)
    }
  })

/** Runs the two attempts and returns the final text, checking that the consumer's text agrees. */
const continued = (shown: ReadonlyArray<unknown>, next: ReadonlyArray<unknown>, continuation: Options = true) =>
  Effect.map(runBoth(shown, next, continuation), (outcome) => {
    expect(outcome.shown).toBe(outcome.content)
    return outcome.content
  })

/** An OpenAI Chat chunk, so that an attempt can end cleanly with no text at all. */
const chat = (content: string | undefined, finish: string | null = null) => ({
  object: "chat.completion.chunk",
  choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }]
})

const FAMILY = "👨‍👨‍👦" // man, ZWJ, man, ZWJ, boy

describe("exact continuation (continuation: true)", () => {
  it.effect("keeps text that repeats the end of the checkpoint: indentation, table rows, words, emoji", () =>
    Effect.gen(function*() {
      expect(yield* continued(["def f(x):\n    if x:\n    "], ["    return 1\n"]))
        .toBe("def f(x):\n    if x:\n        return 1\n")
      const row = "| a | 1 |\n"
      expect(yield* continued([`| k | v |\n${row}`], [row, "| b | 2 |\n"])).toBe(`| k | v |\n${row}${row}| b | 2 |\n`)
      expect(yield* continued(["ha ha "], ["ha"])).toBe("ha ha ha")
      expect(yield* continued(["ha ha"], [" ha"])).toBe("ha ha ha")
      // the family emoji cut after its first ZWJ: the continuation starts with the same man + ZWJ
      expect(yield* continued(["Family: 👨‍"], ["👨‍👦!"])).toBe(`Family: ${FAMILY}!`)
    }))

  it.effect("appends the next attempt's tokens untouched, one character per token included", () =>
    Effect.gen(function*() {
      const rest = [..."ha ha ha"]
      const outcome = yield* runBoth(["ha ha"], rest, true)
      expect(outcome.content).toBe("ha haha ha ha")
      expect(outcome.resets).toEqual([5])
      expect(outcome.after).toEqual(rest)
    }))

  it.effect("a surrogate pair split between the attempts is joined again", () =>
    Effect.gen(function*() {
      const smile = "😀"
      expect(yield* continued([`ok ${smile[0]!}`], [`${smile[1]!} done`])).toBe(`ok ${smile} done`)
    }))

  it.effect("a 1-character checkpoint and an empty continuation", () =>
    Effect.gen(function*() {
      expect(yield* continued(["a"], ["a"])).toBe("aa")
      const empty = yield* runBoth([chat("Hello ")], [chat(undefined, "stop")], true)
      expect(empty.content).toBe("Hello ")
      expect(empty.resets).toEqual([6])
    }))
})

describe("deduplicate", () => {
  it.effect("removes the longest restated overlap that starts at a word, holding back only the undecided head", () =>
    Effect.gen(function*() {
      const outcome = yield* runBoth(["The quick br"], ["quick br", "own", " fox"], { deduplicate: true })
      expect(outcome.content).toBe("The quick brown fox")
      expect(outcome.resets).toEqual([12])
      // "quick br" is held, then removed whole; the rest passes as the tokens that brought it
      expect(outcome.after).toEqual(["own", " fox"])
    }))

  it.effect("word boundary: no overlap that starts at a space, inside a word or at an emoji", () =>
    Effect.gen(function*() {
      const dedup = { deduplicate: true }
      expect(yield* continued(["ha ha"], [" ha"], dedup)).toBe("ha ha ha")
      expect(yield* continued(["the bottle"], ["tle opener"], dedup)).toBe("the bottletle opener")
      expect(yield* continued(["yes 👍"], ["👍 ok"], { deduplicate: { minOverlap: 1 } })).toBe("yes 👍👍 ok")
      // a restated word is removed, CJK words included
      expect(yield* continued(["ha ha"], ["ha ha"], dedup)).toBe("ha ha")
      expect(yield* continued(["我喜欢吃苹果"], ["苹果和香蕉"], dedup)).toBe("我喜欢吃苹果和香蕉")
    }))

  it.effect("line boundary: only an overlap that starts a line", () =>
    Effect.gen(function*() {
      const lines = { deduplicate: { boundary: "line" } } as const
      expect(yield* continued(["a = 1\nb = 2\nc"], ["b = 2\nc = 3\n"], lines)).toBe("a = 1\nb = 2\nc = 3\n")
      expect(yield* continued(["a = 1\nb = 2"], [" 2\nc = 3"], lines)).toBe("a = 1\nb = 2 2\nc = 3")
    }))

  it.effect("grapheme boundary: never an overlap that starts inside a ZWJ sequence, a flag or an accented letter", () =>
    Effect.gen(function*() {
      const graphemes = { deduplicate: { boundary: "grapheme", minOverlap: 1 } } as const
      // the tail "👨‍👦" of the family is not a whole character: the new emoji is kept
      expect(yield* continued([`Family: ${FAMILY}`], ["👨‍👦 too"], graphemes)).toBe(`Family: ${FAMILY}👨‍👦 too`)
      expect(yield* continued(["Flag: 🇫🇷"], ["🇷🇺"], graphemes)).toBe("Flag: 🇫🇷🇷🇺")
      expect(yield* continued(["cafe\u0301"], ["\u0301!"], graphemes)).toBe("cafe\u0301\u0301!")
      // an overlap that ends inside the checkpoint's broken sequence is a whole restated character
      expect(yield* continued(["Family: 👨‍"], [`${FAMILY}!`], graphemes)).toBe(`Family: ${FAMILY}!`)
      expect(yield* continued(["x \uD83D"], ["\uD83D\uDE00 y"], graphemes)).toBe("x 😀 y")
    }))

  it.effect("a long run of flags is paired from its start, however far back it begins", () =>
    Effect.gen(function*() {
      // 1,200 code units with no whitespace; the tail "🇷" + "🇫🇷🇫🇷" starts inside a flag
      const flags = "🇫🇷".repeat(300)
      const next = `${flags.slice(-10)} end`
      // the window's look-back starts inside a flag: between its letters, then inside a letter's surrogate pair
      for (const maxOverlap of [10, 11]) {
        const options = { deduplicate: { boundary: "grapheme", minOverlap: 1, maxOverlap } } as const
        expect(yield* continued([flags], [next], options)).toBe(flags + next)
        // a whole flag restated is removed
        expect(yield* continued([flags], [`${flags.slice(-8)} end`], options)).toBe(`${flags} end`)
      }
    }))

  it.effect("minOverlap and maxOverlap bound the overlap; a window larger than the checkpoint is fine", () =>
    Effect.gen(function*() {
      expect(yield* continued(["one two three"], ["three four"], { deduplicate: { minOverlap: 6 } }))
        .toBe("one two threethree four")
      expect(yield* continued(["one two three"], ["two three four"], { deduplicate: { maxOverlap: 6 } }))
        .toBe("one two threetwo three four")
      // the whole checkpoint restated, with a 1,000-character window
      expect(yield* continued(["brown fox"], ["brown fox jumps"], { deduplicate: { maxOverlap: 1000 } }))
        .toBe("brown fox jumps")
      // a 1-character checkpoint is below the default minimum of 2
      expect(yield* continued(["a"], ["ab"], { deduplicate: true })).toBe("aab")
      expect(yield* continued(["a"], ["ab"], { deduplicate: { minOverlap: 1 } })).toBe("ab")
    }))

  it.effect("decides when the attempt ends: a short or empty continuation", () =>
    Effect.gen(function*() {
      // still a possible repetition of "quick brown" when the stream ends: "qui" is kept
      expect(yield* continued(["The quick brown"], ["qui"], { deduplicate: true })).toBe("The quick brownqui")
      expect(yield* continued(["The quick brown"], ["brown"], { deduplicate: true })).toBe("The quick brown")
      const empty = yield* runBoth([chat("The quick brown")], [chat(undefined, "stop")], { deduplicate: true })
      expect(empty.content).toBe("The quick brown")
    }))

  it.effect("one character per token: held while undecided, then passed through", () =>
    Effect.gen(function*() {
      const outcome = yield* runBoth(["The quick br"], [..."brown fox"], { deduplicate: true })
      expect(outcome.content).toBe("The quick brown fox")
      expect(outcome.after).toEqual([..."own fox"])
    }))
})

describe("trailingWhitespace: \"dropped\" (an Anthropic prefill)", () => {
  const dropped = Continuation.anthropicOptions

  it.effect("the model's own whitespace replaces the checkpoint's; nothing is taken back when they agree", () =>
    Effect.gen(function*() {
      // the prefill was "def f():"; the model writes the line break and indentation again
      const same = yield* runBoth(["def f():\n    "], [..."\n    return 1"], dropped)
      expect(same.content).toBe("def f():\n    return 1")
      expect(same.resets).toEqual([13])
      expect(same.after).toEqual([..."return 1"])
      // it writes different whitespace: only the checkpoint's whitespace is taken back
      const other = yield* runBoth(["Title\n\n"], ["\nBody"], dropped)
      expect(other.content).toBe("Title\nBody")
      expect(other.resets).toEqual([6])
      expect(other.checkpoint).toBe("Title\n")
      const none = yield* runBoth(["Hello, "], ["world"], dropped)
      expect(none.content).toBe("Hello,world")
      expect(none.resets).toEqual([6])
    }))

  it.effect("a checkpoint without trailing whitespace is continued as is; an empty continuation drops the whitespace", () =>
    Effect.gen(function*() {
      expect(yield* continued(["Hello"], [" world"], dropped)).toBe("Hello world")
      const empty = yield* runBoth([chat("Hello ")], [chat(undefined, "stop")], dropped)
      expect(empty.content).toBe("Hello")
      expect(empty.resets).toEqual([5])
    }))

  it.effect("a reset already delivered before the decision is followed by a second one", () =>
    Effect.gen(function*() {
      // reasoning comes first, alone in its batch: it goes out with the reset, before any text is decided
      const thinking = { object: "chat.completion.chunk", choices: [{ index: 0, delta: { reasoning: "hmm" } }] }
      const next = [thinking, TestSource.sleep("1 second"), chat("\nBody"), chat(undefined, "stop")]
      const fiber = yield* Effect.forkChild(runBoth([chat("Title\n\n")], next, dropped))
      yield* advance("1 second")
      const outcome = yield* Fiber.join(fiber)
      expect(outcome.content).toBe("Title\nBody")
      expect(outcome.shown).toBe("Title\nBody")
      expect(outcome.resets).toEqual([7, 6])
      expect(outcome.events.map((e) => e._tag)).toEqual(["Token", "Reset", "Data", "Reset", "Token", "Complete"])
    }))

  it.effect("guardrails see the text the consumer holds: the taken-back whitespace is gone", () =>
    Effect.gen(function*() {
      const seen: Array<readonly [string, string]> = []
      const rule = Guardrail.make({
        name: "recorder",
        check: (input) => void seen.push([input.delta, input.content])
      })
      const source = twoAttempts(["Title\n\n"], ["\nBody"])
      const text = yield* L0.text({ stream: source.stream, retry: noDelay, continuation: dropped, guardrails: [rule] })
      expect(text).toBe("Title\nBody")
      expect(seen.at(-1)).toEqual(["Title\nBody", "Title\nBody"])
    }))

  it.effect("the checkpoint of a further failure keeps only what the consumer holds", () =>
    Effect.gen(function*() {
      const source = TestSource.make(
        ["Title\n\n", TestSource.fail(connectionReset())],
        ["\nBo", TestSource.fail(connectionReset())],
        ["dy"]
      )
      const text = yield* L0.text({ stream: source.stream, retry: noDelay, continuation: dropped })
      expect(text).toBe("Title\nBody")
      expect(source.calls.map((call) => call.context.checkpoint)).toEqual(["", "Title\n\n", "Title\nBo"])
    }))
})

describe("a source that is itself an L0 stream", () => {
  it.effect("its reset while the joint is undecided restarts the decision with the text it keeps", () =>
    Effect.gen(function*() {
      const restated = [L0Event.token("quick"), L0Event.reset(0), L0Event.token("quick brown fox")]
      expect(yield* continued(["The quick br"], restated, { deduplicate: true })).toBe("The quick brown fox")
      const whitespace = [L0Event.token("\n"), L0Event.reset(0), L0Event.token("\nBody")]
      expect(yield* continued(["Title\n\n"], whitespace, Continuation.anthropicOptions)).toBe("Title\nBody")
      // part of the held head is kept by the nested reset
      const kept = [L0Event.token("brXY"), L0Event.reset(2), L0Event.token("own fox")]
      expect(yield* continued(["The quick br"], kept, { deduplicate: true })).toBe("The quick brown fox")
    }))

  it.effect("its reset after the joint is decided applies to this attempt's text only", () =>
    Effect.gen(function*() {
      const outcome = yield* runBoth(
        ["The quick br"],
        [L0Event.token("own fox"), L0Event.reset(3), L0Event.token(" cat")],
        { deduplicate: true }
      )
      expect(outcome.content).toBe("The quick brown cat")
      expect(outcome.resets).toEqual([12, 15])
    }))

  it.effect("its reset into the text the joint removed decides again", () =>
    Effect.gen(function*() {
      const dedup = { deduplicate: true }
      const again = [L0Event.token("quick brown"), L0Event.reset(0), L0Event.token("quick brown fox")]
      const outcome = yield* runBoth(["The quick br"], again, dedup)
      expect(outcome.content).toBe("The quick brown fox")
      expect(outcome.shown).toBe("The quick brown fox")
      expect(outcome.resets).toEqual([12, 12])
      const partly = [L0Event.token("quick brown"), L0Event.reset(3), L0Event.token("ck brown fox")]
      expect(yield* continued(["The quick br"], partly, dedup)).toBe("The quick brown fox")
      const whitespace = [L0Event.token("\nBo"), L0Event.reset(0), L0Event.token("\nBody")]
      expect(yield* continued(["Title\n\n"], whitespace, Continuation.anthropicOptions)).toBe("Title\nBody")
    }))
})

describe("continuation options", () => {
  it.effect("are validated: a FatalError naming the option, before any source is called", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["never"])
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        ["yes", "\"continuation\": expected a boolean or { deduplicate?, trailingWhitespace? }, got a string"],
        [{ dedupe: true }, "\"continuation.dedupe\": unknown option (known: deduplicate, trailingWhitespace)"],
        [{ deduplicate: 3 }, "\"continuation.deduplicate\""],
        [{ deduplicate: { window: 3 } }, "\"continuation.deduplicate.window\": unknown option (known: minOverlap"],
        [{ deduplicate: { minOverlap: 0 } }, "\"continuation.deduplicate.minOverlap\": expected an integer ≥ 1, got 0"],
        [{ deduplicate: { minOverlap: 1.5 } }, "\"continuation.deduplicate.minOverlap\""],
        [{ deduplicate: { minOverlap: 8, maxOverlap: 4 } },
          "\"continuation.deduplicate.maxOverlap\": expected an integer ≥ minOverlap (8), got 4"],
        [{ deduplicate: { maxOverlap: Infinity } }, "\"continuation.deduplicate.maxOverlap\""],
        [{ deduplicate: { boundary: "sentence" } },
          "\"continuation.deduplicate.boundary\": expected one of \"grapheme\""],
        [{ trailingWhitespace: "trim" },
          "\"continuation.trailingWhitespace\": expected one of \"sent\", \"dropped\", got a string"]
      ]
      for (const [continuation, message] of cases) {
        const exit = yield* Effect.exit(L0.text({ stream: source.stream, continuation } as L0.L0Options))
        const error = failureOf(exit)
        expect(error).toBeInstanceOf(L0Error.FatalError)
        expect(error.message).toContain(`Invalid option ${message}`)
      }
      expect(source.calls).toHaveLength(0)
    }))

  it.effect("false, {} and { deduplicate: false } mean what they say", () =>
    Effect.gen(function*() {
      const off = yield* runBoth(["Hello"], [" world"], false)
      expect(off.content).toBe(" world")
      expect(off.resets).toEqual([0])
      expect(off.source.calls[1]!.context.checkpoint).toBe("")
      expect(yield* continued(["ha ha"], ["ha"], {})).toBe("ha haha")
      expect(yield* continued(["ha ha"], ["ha"], { deduplicate: false, trailingWhitespace: "sent" })).toBe("ha haha")
      const exit = yield* Effect.exit(
        L0.text({ stream: twoAttempts(["a"], ["b"]).stream, retry: noDelay, continuation: { deduplicate: {} } })
      )
      expect(Exit.isSuccess(exit) && exit.value).toBe("ab")
    }))
})

describe("request helpers", () => {
  const messages = [{ role: "user" as const, content: "Write a poem" }]

  it("openaiChat: the partial answer as an assistant message, then the instruction", () => {
    const request = { model: "gpt-test", messages, stream: true as const }
    expect(Continuation.openaiChat(request, "")).toBe(request)
    const next = Continuation.openaiChat(request, "Roses are red,\n")
    expect(next).toEqual({
      model: "gpt-test",
      stream: true,
      messages: [
        ...messages,
        { role: "assistant", content: "Roses are red,\n" },
        { role: "user", content: Continuation.defaultInstruction }
      ]
    })
    expect(request.messages).toHaveLength(1)
    expect(Continuation.openaiChat(request, "x", { instruction: "Go on." }).messages.at(-1)).toEqual({
      role: "user",
      content: "Go on."
    })
  })

  it("anthropic: an assistant prefill without trailing whitespace, after your own prefill if any", () => {
    const request = { model: "claude-test", max_tokens: 64, messages }
    expect(Continuation.anthropic(request, "")).toBe(request)
    expect(Continuation.anthropic(request, " \n\t")).toBe(request)
    expect(Continuation.anthropic(request, "Roses are red,\n  ").messages).toEqual([
      ...messages,
      { role: "assistant", content: "Roses are red," }
    ])
    expect(request.messages).toHaveLength(1)
    // whitespace that Python's isspace() knows and JavaScript's trimEnd() does not
    expect(Continuation.anthropic(request, "a\x1f\x85").messages.at(-1)).toEqual({ role: "assistant", content: "a" })
    const prefilled = { ...request, messages: [...messages, { role: "assistant" as const, content: "{" }] }
    expect(Continuation.anthropic(prefilled, "\"a\": 1,\n").messages).toEqual([
      ...messages,
      { role: "assistant", content: "{\"a\": 1," }
    ])
    const blocks = {
      ...request,
      messages: [...messages, { role: "assistant" as const, content: [{ type: "text" as const, text: "{" }] }]
    }
    expect(Continuation.anthropic(blocks, "\"a\"").messages.at(-1)).toEqual({
      role: "assistant",
      content: [{ type: "text", text: "{\"a\"" }]
    })
    const image = { type: "image", source: { type: "url", url: "https://example.com/a.png" } }
    const other = { ...request, messages: [...messages, { role: "assistant" as const, content: [image] }] }
    expect(Continuation.anthropic(other, "b").messages.at(-1)).toEqual({
      role: "assistant",
      content: [image, { type: "text", text: "b" }]
    })
    // an assistant message without content is left alone: the prefill follows it
    const empty = { ...request, messages: [...messages, { role: "assistant" }] }
    expect(Continuation.anthropic(empty, "b").messages.slice(1)).toEqual([
      { role: "assistant" },
      { role: "assistant", content: "b" }
    ])
  })
})
