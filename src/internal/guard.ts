import type { CheckInput, CheckResult, GuardrailRule, Violation } from "../Guardrail.js"
import { normalize } from "../Guardrail.js"
import type { CategoryError } from "../L0Error.js"
import { ContentError, FatalError } from "../L0Error.js"

/** What one check found, and the error that ends the attempt, if any. */
export interface GuardCheck {
  readonly completed: boolean
  readonly tokenCount: number
  readonly violations: ReadonlyArray<Violation>
  readonly error: CategoryError | undefined
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
    this.checks = rules.map((rule) => [rule, rule.start()] as const)
    this.prefix = base
  }

  /** The attempt's text was replaced (a nested L0 source reset it): the rules start over on the new parts. */
  restart(): void {
    this.checks = this.rules.map((rule) => [rule, rule.start()] as const)
    this.checkedParts = 0
    this.prefix = this.base
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
      message: `the check threw: ${error instanceof Error ? error.message : String(error)}`
    }]
  }
}

const failure = (violations: ReadonlyArray<Violation>): CategoryError | undefined => {
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
