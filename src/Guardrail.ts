/**
 * Guardrail rules: checks that run inside `L0.stream` while tokens arrive.
 * A rule value only describes the check; its state is created fresh for
 * every attempt, so retries and concurrent runs never share it.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"

/**
 * `warning` is only reported; `error` fails the attempt with a
 * `ContentError` (which retries); `fatal` ends the run with a `FatalError`.
 *
 * @category models
 * @since 0.1.0
 */
export type Severity = "warning" | "error" | "fatal"

/**
 * A problem a guardrail found in the output: the rule, a message for people,
 * and the severity that decides what L0 does (`warning` is recorded, `error`
 * retries, `fatal` ends the run).
 *
 * @category models
 * @since 0.1.0
 */
export interface Violation {
  readonly rule: string
  readonly message: string
  readonly severity: Severity
}

/**
 * What a rule sees at each check.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckInput {
  /** Text that arrived since the previous check. */
  readonly delta: string
  /** All text of the attempt so far. Built on first read: incremental rules should use `delta`. */
  readonly content: string
  readonly tokenCount: number
  /** Tool calls received so far: a reply can be tool calls and no text. */
  readonly toolCallCount: number
  /** True for the final check, when the stream has ended. */
  readonly completed: boolean
}

/**
 * What a check returns: nothing, one violation message, a violation, or
 * several. Messages and partial violations take the rule's name and
 * severity.
 *
 * @category models
 * @since 0.1.0
 */
export type CheckResult =
  | undefined
  | void
  | string
  | Partial<Violation> & { readonly message: string }
  | ReadonlyArray<string | Partial<Violation> & { readonly message: string }>

/**
 * A check of the output as it streams, passed in `L0Options.guardrails`.
 * Build one with `make`, or take one of `Guardrails`.
 *
 * @category models
 * @since 0.1.0
 */
export interface GuardrailRule {
  readonly name: string
  readonly severity: Severity
  /** Creates the check of one attempt, with its own state. */
  readonly start: () => (input: CheckInput) => CheckResult
}

/**
 * Builds a rule. `initial` creates per-attempt state that `check` may
 * mutate, so a rule can look at each `delta` once.
 *
 * **Example** (A rule that rejects a forbidden word, incrementally)
 * ```ts
 * const noSecrets = Guardrail.make({
 *   name: "no-secrets",
 *   severity: "fatal",
 *   check: ({ delta }) => delta.includes("BEGIN PRIVATE KEY") ? "private key in output" : undefined
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = <S = undefined>(options: {
  readonly name: string
  readonly severity?: Severity | undefined
  readonly initial?: (() => S) | undefined
  readonly check: (input: CheckInput, state: S) => CheckResult
}): GuardrailRule => ({
  name: options.name,
  severity: options.severity ?? "error",
  start: () => {
    const state = options.initial === undefined ? undefined as S : options.initial()
    return (input) => options.check(input, state)
  }
})

/**
 * Returns `rule` with a different severity. Violations that name their own
 * severity keep it.
 *
 * **Example** (Retrying on refusal phrases instead of only reporting them)
 * ```ts
 * const refusals = pipe(Guardrails.pattern(), Guardrail.withSeverity("error"))
 * const same = Guardrail.withSeverity(Guardrails.pattern(), "error")
 * ```
 * @category combinators
 * @since 0.1.0
 */
export const withSeverity: {
  (severity: Severity): (rule: GuardrailRule) => GuardrailRule
  (rule: GuardrailRule, severity: Severity): GuardrailRule
} = dual(2, (rule: GuardrailRule, severity: Severity): GuardrailRule => ({ ...rule, severity }))

/**
 * @category guards
 * @since 0.1.0
 */
export const isGuardrailRule = (u: unknown): u is GuardrailRule =>
  typeof u === "object" && u !== null && typeof (u as GuardrailRule).name === "string" &&
  typeof (u as GuardrailRule).start === "function"

/**
 * Turns a check's result into violations carrying the rule's name and
 * severity where the check gave none: the violations L0 would record. Use
 * it to unit-test a rule of your own by calling its check directly.
 *
 * **Example** (Testing a rule without a run)
 * ```ts
 * const rule = Guardrail.make({ name: "short", check: ({ content }) => content.length > 5 ? "too long" : undefined })
 * const check = rule.start()
 * const found = Guardrail.normalize(rule, check({ delta: "abcdefg", content: "abcdefg", tokenCount: 1, toolCallCount: 0, completed: true }))
 * // [{ rule: "short", message: "too long", severity: "error" }]
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const normalize = (rule: GuardrailRule, result: CheckResult): ReadonlyArray<Violation> => {
  if (result === undefined || result === null) return []
  const one = (item: string | Partial<Violation> & { readonly message: string }): Violation => {
    if (typeof item === "string") return { rule: rule.name, message: item, severity: rule.severity }
    // a violation built by hand in JavaScript may hold anything: only strings and known severities are kept
    const { message, rule: name, severity } = item
    return {
      rule: typeof name === "string" ? name : rule.name,
      message: typeof message === "string" ? message : `a violation whose message is ${typeof message}, not a string`,
      severity: severity === "warning" || severity === "error" || severity === "fatal" ? severity : rule.severity
    }
  }
  return typeof result === "string" || !Array.isArray(result)
    ? [one(result as string | Violation)]
    : result.map(one)
}
