import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { EventBus, Guardrails, L0 } from "effect-l0"
import type { Guardrail } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { checkChunks, messages, verdict } from "./guardrailCheck.js"
import { failureOf, lastErrorOf, noDelay } from "./support.js"

const OFF = {
  metaCommentary: false,
  toneShift: false,
  formatCollapse: false,
  repetition: false,
  entropyCollapse: false,
  hedging: false
} as const

/** The one rule of `kind`, with `options`. */
const kind = (name: keyof Guardrails.DriftOptions, options: object = {}): Guardrail.GuardrailRule =>
  Guardrails.drift({ ...OFF, [name]: options })[0]!

const words = (count: number, word = "plain"): string => Array.from({ length: count }, () => word).join(" ")

/** `count` different words: no loop, no phrase. */
const distinct = (count: number): string => Array.from({ length: count }, (_, i) => `w${i.toString(36)}x`).join(" ")

describe("Guardrails.drift", () => {
  it("is one rule per kind, named drift.<kind>, with its default severity", () => {
    expect(Guardrails.drift().map((rule) => [rule.name, rule.severity])).toEqual([
      ["drift.metaCommentary", "warning"],
      ["drift.toneShift", "warning"],
      ["drift.formatCollapse", "warning"],
      ["drift.repetition", "error"],
      ["drift.entropyCollapse", "error"],
      ["drift.hedging", "warning"]
    ])
  })

  it("turns kinds off with false, on with true, and sets severities", () => {
    const rules = Guardrails.drift({ toneShift: false, hedging: { severity: "error" }, metaCommentary: true })
    expect(rules.map((rule) => [rule.name, rule.severity])).toEqual([
      ["drift.metaCommentary", "warning"],
      ["drift.formatCollapse", "warning"],
      ["drift.repetition", "error"],
      ["drift.entropyCollapse", "error"],
      ["drift.hedging", "error"]
    ])
    expect(Guardrails.drift(OFF)).toEqual([])
  })

  it("refuses invalid options with a fatal violation that names the first", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ repetition: null }, `"Guardrails.drift.repetition": expected a boolean or an options object, got null`],
      [{ hedging: "often" }, `"Guardrails.drift.hedging": expected a boolean or an options object, got a string`],
      [{ toneShift: { window: 0, threshold: -1 } },
        `"Guardrails.drift.toneShift.window": expected an integer from 1 to 10000, got 0`],
      [{ toneShift: { threshold: -1 } }, `"Guardrails.drift.toneShift.threshold": expected a number > 0, got -1`],
      [
        { entropyCollapse: { severity: "loud" } },
        `"Guardrails.drift.entropyCollapse.severity": expected one of "warning", "error", "fatal", got a string`
      ],
      [
        { entropyCollapse: { window: 70_000 } },
        `"Guardrails.drift.entropyCollapse.window": expected an integer from 2 to 65536, got 70000`
      ],
      [3, `"Guardrails.drift": expected an options object, got 3`]
    ]
    for (const [options, message] of cases) {
      const invalid = Guardrails.drift(options as Guardrails.DriftOptions)
      expect(invalid.map((rule) => rule.name)).toEqual(["drift"])
      expect(checkChunks(invalid[0]!, ["x"]).map((v) => [v.severity, v.message])).toEqual([
        ["fatal", `Invalid option ${message}`]
      ])
    }
  })

  it("finds nothing in empty or blank output", () => {
    for (const rule of Guardrails.drift()) {
      expect(verdict(rule, "")).toEqual([])
      expect(verdict(rule, " \n\t ")).toEqual([])
    }
  })

  it("finds a loop after a long answer that came in one piece, at its offset", () => {
    const answer = `${distinct(20_000)} `
    expect(messages(kind("repetition"), [`${answer}${"again and ".repeat(8)}`])).toEqual([
      `repetition loop at offset ${answer.length + 46}: the same 2 words came 5 times in a row: "again and"`
    ])
  })

  it.effect("ends the run with a FatalError when its options are invalid", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(L0.text({
        stream: TestSource.make(["fine"]).stream,
        guardrails: Guardrails.drift({ hedging: { window: 1.5 } })
      }))
      const error = lastErrorOf(failureOf(exit))
      expect(error._tag).toBe("FatalError")
      expect(error.message).toBe(
        `Invalid option "Guardrails.drift.hedging.window": expected an integer from 1 to 10000, got 1.5`
      )
    }))
})

describe("drift.metaCommentary", () => {
  const rule = kind("metaCommentary")

  it("finds the model talking about itself or its progress, in any case and either apostrophe", () => {
    expect(verdict(rule, "Sure. As an AI, I have no feelings.")).toEqual([`meta commentary at offset 6: "As an AI"`])
    expect(verdict(rule, "Step one is done.\nI’ll NOW write step two")).toEqual([
      `meta commentary at offset 18: "I’ll NOW"`
    ])
    expect(verdict(rule, "Based on my   training\ndata, yes")).toEqual([
      `meta commentary at offset 9: "my training data"`
    ])
  })

  it("reports only the first finding", () => {
    expect(verdict(rule, "As an AI... well, as an AI, and now let me continue.")).toEqual([
      `meta commentary at offset 0: "As an AI"`
    ])
  })

  it("matches whole words across blanks only", () => {
    expect(verdict(rule, "He spoke as an aide would. Now, let me-now go.")).toEqual([])
    expect(verdict(rule, "It works as an. AI needs data; i'll, now")).toEqual([])
    expect(verdict(rule, "ias an ai")).toEqual([])
  })

  it("leaves JSON output alone", () => {
    expect(verdict(rule, ` {"reply": "As an AI, I'll now answer"}`)).toEqual([])
    expect(verdict(rule, `["as an ai"]`)).toEqual([])
  })
})

describe("drift.hedging", () => {
  const rule = kind("hedging")

  it("finds more than four hedges within fifty words", () => {
    const text = "Perhaps it works. It might, I think, and it seems fine, but maybe not."
    expect(verdict(rule, text)).toEqual([`hedging at offset 60: 5 hedges within 13 words, the last "maybe"`])
    expect(verdict(rule, "Perhaps it works. It might, I think, and it seems fine.")).toEqual([])
  })

  it("lets hedges spread over longer text pass, and counts a phrase once at its last word", () => {
    const spread = Array.from({ length: 8 }, () => `perhaps ${distinct(12)}`).join(" ")
    expect(verdict(rule, spread)).toEqual([])
    expect(verdict(kind("hedging", { maxHedges: 0 }), "Well, as far as I know, yes.")).toEqual([
      `hedging at offset 6: 1 hedge within 6 words, the last "as far as I know"`
    ])
  })

  it("follows its window and limit", () => {
    const strict = kind("hedging", { window: 5, maxHedges: 1 })
    expect(verdict(strict, "Maybe a b c d e f probably")).toEqual([])
    expect(verdict(strict, "Maybe a b c probably")).toEqual([
      `hedging at offset 12: 2 hedges within 5 words, the last "probably"`
    ])
  })
})

describe("drift.toneShift", () => {
  const rule = kind("toneShift")
  const formal = `Therefore ${words(59, "analysis")}, the results hold.`

  it("finds a formal answer turning chatty", () => {
    const chatty = " lol yeah this is gonna be awesome!!! 😂 haha dude".repeat(8)
    const found = verdict(rule, formal + chatty)
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(/^tone shift at offset \d+: the last 50 words score \+\d+, the first 50 -1 /)
  })

  it("finds a chatty answer turning formal", () => {
    const chatty = "hey yeah lol ".repeat(17)
    const found = verdict(rule, chatty + " therefore hence thus moreover".repeat(13))
    expect(found[0]).toMatch(/^tone shift at offset \d+: the last 50 words score -\d+, the first 50 \+\d+/)
  })

  it("lets a steady register pass, chatty or formal, and judges nothing before two windows", () => {
    expect(verdict(rule, "hey yeah lol awesome ".repeat(40))).toEqual([])
    expect(verdict(rule, `${formal} ${formal} ${formal}`)).toEqual([])
    expect(verdict(rule, `${words(50)} lol yeah gonna haha omg`)).toEqual([])
  })

  it("counts a ! before a blank, not !=, and each emoji", () => {
    const tight = kind("toneShift", { window: 2, threshold: 1 })
    expect(verdict(tight, "a b a!=b c!=d")).toEqual([])
    expect(verdict(tight, "a b c! d! e")).toEqual([
      `tone shift at offset 10: the last 2 words score +2, the first 2 0 (informal words and markers +1, formal words -1)`
    ])
    expect(verdict(tight, "a b c 👍 d 👍 e")).toHaveLength(1)
  })
})

describe("drift.formatCollapse", () => {
  const rule = kind("formatCollapse")
  const structured = "# Plan\n\n- first\n- second\n\n1. third\n"

  it("finds a line growing past 1000 characters after three structured lines", () => {
    const long = `${structured}${"x".repeat(1001)}`
    expect(messages(rule, [long])).toEqual([
      `format collapse at offset ${
        structured.length + 1000
      }: line 7 grows past 1000 characters after 4 structured lines`
    ])
    expect(messages(rule, [`${structured}${"x".repeat(1000)}\nshort`])).toEqual([])
  })

  it("finds a heading marker in the middle of a line", () => {
    expect(verdict(rule, `${structured}The plan is set. ## Next steps follow`)).toEqual([
      `format collapse at offset ${structured.length + 17}: a "##" heading in the middle of line 7`
    ])
    expect(verdict(rule, `${structured}Use C## or #hashtags, ####### is not a heading`)).toEqual([])
  })

  it("judges nothing before the answer showed structure", () => {
    expect(messages(rule, [`Plain prose. ## Not a heading yet\n${"y".repeat(1200)}`])).toEqual([])
  })

  it("does not judge lines inside code blocks", () => {
    const code = `${structured}\`\`\`js\n${"m".repeat(1500)} ## x\n\`\`\`\nafter`
    expect(messages(rule, [code])).toEqual([])
  })

  it("leaves JSON output alone", () => {
    expect(messages(rule, [`{"a": "# x\\n- y\\n- z", "b": "${"q".repeat(1200)}"}`])).toEqual([])
  })
})

describe("drift.repetition", () => {
  const rule = kind("repetition")

  it("finds a word or block of words looping", () => {
    expect(verdict(rule, "the ".repeat(20))).toEqual([
      `repetition loop at offset 48: the same word came 13 times in a row: "the"`
    ])
    expect(verdict(rule, "And then we went. ".repeat(6))).toEqual([
      `repetition loop at offset 84: the same 4 words came 5 times in a row: "And then we went"`
    ])
  })

  it("quotes a long looping block shortened", () => {
    const sentence = "This sentence is long enough to be shortened when it is quoted in the message. "
    expect(verdict(kind("repetition", { maxRepeats: 1 }), sentence.repeat(2))).toEqual([
      `repetition loop at offset 149: the same 15 words came 2 times in a row: "${sentence.slice(0, 60)}…"`
    ])
  })

  it("compares words case-folded, across any punctuation", () => {
    expect(verdict(rule, "Go on, GO ON! go on; go on. gO On... go on")).toEqual([])
    expect(verdict(kind("repetition", { maxRepeats: 2, minLength: 1 }), "Go on, GO ON! go on")).toEqual([
      `repetition loop at offset 17: the same 2 words came 3 times in a row: "go on"`
    ])
  })

  it("lets counting, numbered rows and short repeats pass", () => {
    expect(verdict(rule, "0, ".repeat(60))).toEqual([])
    expect(verdict(rule, Array.from({ length: 30 }, (_, i) => `row ${i}`).join(" "))).toEqual([])
    expect(verdict(rule, "no, no, no, no, no, no")).toEqual([])
  })

  it("judges JSON too: the same object over and over is a loop", () => {
    const item = `{"status": "pending"}, `
    expect(verdict(rule, `[${item.repeat(6)}`)).toHaveLength(1)
  })

  it("reads letters outside the Basic Multilingual Plane as letters, and a lone surrogate as a separator", () => {
    const twice = kind("repetition", { maxRepeats: 1, minLength: 1 })
    expect(verdict(kind("repetition", { maxRepeats: 2, minLength: 1 }), "𝒜𝒷 𝒜𝒷 𝒜𝒷")).toEqual([
      `repetition loop at offset 10: the same word came 3 times in a row: "𝒜𝒷"`
    ])
    expect(verdict(twice, "go\ud83dgo")).toEqual([
      `repetition loop at offset 3: the same word came 2 times in a row: "go"`
    ])
    expect(verdict(twice, "go\udc00go")).toEqual([
      `repetition loop at offset 3: the same word came 2 times in a row: "go"`
    ])
    expect(verdict(twice, "é\ud83dé")).toEqual([
      `repetition loop at offset 2: the same word came 2 times in a row: "é"`
    ])
  })
})

describe("drift.entropyCollapse", () => {
  const rule = kind("entropyCollapse")

  it("finds text collapsing to a character or two", () => {
    const text = `Fine so far. ${"a".repeat(200)}`
    expect(messages(rule, [text])).toEqual([
      `entropy collapse at offset 130: the last 128 non-whitespace characters carry 0.59 bits per character (below 1): "${
        "a".repeat(60)
      }"`
    ])
  })

  it("finds whitespace flooding the output", () => {
    expect(verdict(rule, `{"a": 1,${"\n".repeat(130)}`)).toEqual([
      "entropy collapse at offset 135: 128 whitespace characters in a row"
    ])
  })

  it("lets indentation, zero vectors and prose pass", () => {
    let nested = "x"
    for (let depth = 0; depth < 20; depth++) {
      nested = `{\n${"  ".repeat(depth + 1)}"k": ${nested}\n${"  ".repeat(depth)}}`
    }
    expect(messages(rule, [nested])).toEqual([])
    expect(messages(rule, [`[${"0,".repeat(300)}0]`])).toEqual([])
    expect(messages(rule, [distinct(200)])).toEqual([])
    expect(messages(rule, ["我们今天讨论的是流式输出的可靠性问题。".repeat(20)])).toEqual([])
  })

  it("never counts a window exactly at the threshold as below it, whatever its size", () => {
    for (let window = 2; window <= 300; window += 2) {
      const exact = kind("entropyCollapse", { window, threshold: 1 })
      expect(messages(exact, ["ab".repeat(window * 2)])).toEqual([])
      expect(messages(exact, ["a".repeat(window)])).toHaveLength(1)
    }
  })

  it("follows its window and threshold", () => {
    const wide = kind("entropyCollapse", { window: 8, threshold: 2 })
    expect(verdict(wide, "abcabcab")).toEqual([
      `entropy collapse at offset 7: the last 8 non-whitespace characters carry 1.56 bits per character (below 2): "abcabcab"`
    ])
    expect(verdict(wide, "abcdabcd")).toEqual([])
  })
})

describe("drift in L0.run", () => {
  it.effect("retries a looping attempt with fresh state, and reports the violations of every attempt", () =>
    Effect.gen(function*() {
      const source = TestSource.make(["Sure! ", "the ".repeat(30)], ["As an AI, ", "here is a clean answer."])
      const result = yield* L0.run({
        stream: source.stream,
        guardrails: Guardrails.drift(),
        retry: noDelay
      }).pipe(Effect.provide(EventBus.layerCollect))
      expect(result.text).toBe("As an AI, here is a clean answer.")
      expect(result.state.attempt).toBe(2)
      expect(result.state.violations.map((v) => [v.rule, v.severity, v.attempt])).toEqual([
        ["drift.repetition", "error", 1],
        ["drift.metaCommentary", "warning", 2]
      ])
    }))

  it.effect("fails with a ContentError named after the kind when every attempt loops", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(L0.text({
        stream: TestSource.make(["ha ".repeat(40)], ["ha ".repeat(40)]).stream,
        guardrails: Guardrails.drift(),
        retry: { ...noDelay, maxAttempts: 2 }
      }))
      const error = lastErrorOf(failureOf(exit))
      expect(error._tag).toBe("ContentError")
      expect(error.message).toContain("drift.repetition: repetition loop at offset")
    }))
})
