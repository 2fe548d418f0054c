import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { CheckInput, CheckResult, GuardrailRule, Violation } from "../Guardrail.js"
import { isGuardrailRule, normalize } from "../Guardrail.js"
import { ContentError, FatalError } from "../L0Error.js"
import { describeThrown } from "./classify.js"
import type { L0Event } from "../L0Event.js"
import { refusalOf } from "./guardrails/refusal.js"
import { Transcript } from "./transcript.js"
import { ClosedStruct, decoder, guarded, IntAtLeast, invalidOption, withDefault } from "./optionSchema.js"

/** What one check found, and the error that ends the attempt, if any. */
export interface GuardCheck {
  readonly completed: boolean
  readonly tokenCount: number
  readonly violations: ReadonlyArray<Violation>
  readonly error: ContentError | FatalError | undefined
}

/**
 * The guardrail stage of one attempt: fresh rule state, checks every
 * `interval` tokens and at completion, each fed only the text that arrived
 * since the previous check.
 */
export class Guard {
  private checks: ReadonlyArray<readonly [GuardrailRule, (input: CheckInput) => CheckResult]>
  private checkedParts = 0
  private checkedTokens = 0
  private prefix: string

  /** `base` is text the consumer already holds (a continuation's checkpoint): the rules see it first. */
  constructor(
    private readonly rules: ReadonlyArray<GuardrailRule>,
    private readonly interval: number,
    private base: string
  ) {
    this.checks = rules.map(started)
    this.prefix = base
  }

  /**
   * The attempt's text was replaced (a nested L0 source reset it): the rules
   * start over on `base`, the text the consumer keeps, then the new parts.
   */
  restart(base: string = this.base): void {
    this.checks = this.rules.map(started)
    this.checkedParts = 0
    this.base = base
    this.prefix = base
  }

  /**
   * The consumer keeps less of the checkpoint than it held when the attempt
   * began (the continuation request dropped its trailing whitespace). Called
   * before the first check: held-back text is never checked.
   */
  rebase(base: string): void {
    this.base = base
    this.prefix = base
  }

  /** Whether enough tokens arrived for the next periodic check. */
  due(tokenCount: number): boolean {
    return tokenCount - this.checkedTokens >= this.interval
  }

  /** Runs every rule on the text since the last check. */
  run(
    parts: ReadonlyArray<string>,
    tokenCount: number,
    toolCallCount: number,
    completed: boolean
  ): GuardCheck {
    const delta = this.prefix + (parts.length - this.checkedParts === 1
      ? parts[this.checkedParts]!
      : parts.slice(this.checkedParts).join(""))
    const base = this.base
    this.prefix = ""
    this.checkedParts = parts.length
    this.checkedTokens = tokenCount
    let content: string | undefined
    const input: CheckInput = {
      delta,
      tokenCount,
      toolCallCount,
      completed,
      get content() {
        return content ??= base + parts.join("")
      }
    }
    const violations: Array<Violation> = []
    for (const [rule, check] of this.checks) {
      for (const violation of checked(rule, check, input)) violations.push(violation)
    }
    return { completed, tokenCount, violations, error: failure(violations) }
  }
}

/** A rule's check for one attempt; a rule whose `start` (its `initial`) throws fails its first check as fatal. */
const started = (rule: GuardrailRule): readonly [GuardrailRule, (input: CheckInput) => CheckResult] => {
  try {
    return [rule, rule.start()]
  } catch (error) {
    const message = `the rule's initial state threw: ${describeThrown(error)}`
    return [rule, () => ({ message, severity: "fatal" })]
  }
}

/** A rule that throws is a bug no retry fixes: it ends the run as a fatal violation instead of a defect. */
const checked = (
  rule: GuardrailRule,
  check: (input: CheckInput) => CheckResult,
  input: CheckInput
): ReadonlyArray<Violation> => {
  try {
    return normalize(rule, check(input))
  } catch (error) {
    return [{
      rule: rule.name,
      severity: "fatal",
      message: `the check threw: ${describeThrown(error)}`
    }]
  }
}

const failure = (violations: ReadonlyArray<Violation>): ContentError | FatalError | undefined => {
  const fatal = violations.filter((v) => v.severity === "fatal")
  if (fatal.length > 0) {
    return new FatalError({ reason: "guardrail", message: describe(fatal), violations: fatal })
  }
  const errors = violations.filter((v) => v.severity === "error")
  if (errors.length > 0) {
    return new ContentError({ rule: errors[0]!.rule, message: describe(errors), violations: errors })
  }
  return undefined
}

const describe = (violations: ReadonlyArray<Violation>): string =>
  `Guardrail ${violations.map((v) => `${v.rule}: ${v.message}`).join("; ")}`

/** Options of a guardrail stage. */
export interface StageOptions {
  readonly checkInterval?: number | undefined
}

const decodeRules = decoder(
  Schema.Array(guarded(isGuardrailRule, "a guardrail rule (Guardrail.make)")).annotate({
    expected: "an array of guardrail rules"
  }),
  "guardrails",
  true
)

const decodeStageOptions = decoder(
  ClosedStruct({ checkInterval: withDefault(IntAtLeast(1), 10) }, "{ checkInterval? }")
)

/**
 * Rules and interval as a stage takes them, or the error naming what is
 * invalid; a rule built from invalid options is refused up front, as
 * `L0.stream` does.
 */
const stageSettings = (
  rules: unknown,
  options: unknown
): { readonly rules: ReadonlyArray<GuardrailRule>; readonly interval: number } | FatalError => {
  const decoded = decodeRules(rules)
  if (Result.isFailure(decoded)) return decoded.failure
  const refused = decoded.success.map(refusalOf).find((error) => error !== undefined)
  if (refused !== undefined) return refused
  const settings = decodeStageOptions(options ?? {})
  if (Result.isFailure(settings)) return settings.failure
  return { rules: decoded.success, interval: settings.success.checkInterval }
}

/**
 * The guardrails of a whole stream: the attempt's engine and its
 * transcript, fed the events as they pass. A `Reset` restarts the rules on
 * the text the consumer keeps.
 */
class Staged {
  private readonly transcript: Transcript
  private toolCallCount = 0
  /** The text as it stands passed a completion check: the end of the stream needs none. */
  private complete = false

  constructor(rules: ReadonlyArray<GuardrailRule>, interval: number) {
    this.transcript = new Transcript("", undefined, new Guard(rules, interval, ""), false)
  }

  /** Checks one array of events before it passes; returns the error that ends the stream, if any. */
  receive(events: Arr.NonEmptyReadonlyArray<L0Event>): ContentError | FatalError | undefined {
    const transcript = this.transcript
    for (const event of events) {
      switch (event._tag) {
        case "Token": {
          transcript.token(event.value)
          this.complete = false
          break
        }
        case "ToolCall": {
          this.toolCallCount++
          break
        }
        case "Reset": {
          transcript.reset(event.kept)
          this.complete = false
          break
        }
        case "Complete": {
          const error = this.end()
          if (error !== undefined) return error
        }
      }
    }
    transcript.flush()
    return transcript.guard!.due(transcript.tokenCount) ? this.run(false) : undefined
  }

  /** The completion check, unless the text already passed one. */
  end(): ContentError | FatalError | undefined {
    if (this.complete) return undefined
    this.complete = true
    return this.run(true)
  }

  private run(completed: boolean): ContentError | FatalError | undefined {
    return this.transcript.check(this.toolCallCount, completed).error
  }
}

/** The body of `Guardrails.stage`: each received array is checked before it passes on, unchanged. */
export const stage = <E, R>(
  self: Stream.Stream<L0Event, E, R>,
  rules: ReadonlyArray<GuardrailRule>,
  options?: StageOptions
): Stream.Stream<L0Event, E | ContentError | FatalError, R> =>
  Stream.suspend(() => {
    const settings = stageSettings(rules, options)
    if (settings instanceof FatalError) return Stream.fail(settings)
    return Stream.transformPull(self, (pull) =>
      Effect.sync(() => {
        const staged = new Staged(settings.rules, settings.interval)
        return pull.pipe(
          Effect.flatMap((events) => {
            const error = staged.receive(events)
            return error === undefined ? Effect.succeed(events) : Effect.fail(error)
          }),
          Pull.catchDone((): Pull.Pull<never, ContentError | FatalError, void> => {
            const error = staged.end()
            return error === undefined ? Cause.done() : Effect.fail(error)
          })
        )
      }))
  })

/** Every violation of `rules` in a finished `text`, seen as one completed check; invalid input is a fatal violation. */
export const check = (text: string, rules: ReadonlyArray<GuardrailRule>): ReadonlyArray<Violation> => {
  const settings = stageSettings(rules, undefined)
  if (settings instanceof FatalError) return [{ rule: "guardrails", severity: "fatal", message: settings.message }]
  if (typeof text !== "string") {
    return [{ rule: "guardrails", severity: "fatal", message: invalidOption("text", "a string", text).message }]
  }
  return new Guard(settings.rules, 1, "").run([text], text.length === 0 ? 0 : 1, 0, true).violations
}
