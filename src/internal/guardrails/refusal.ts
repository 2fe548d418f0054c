/**
 * Rules built from invalid options. They still fail their first check (for
 * callers that check rules themselves), and `L0.stream` refuses them up
 * front, so that a run with one never calls a source.
 *
 * @internal
 */
import type { GuardrailRule } from "../../Guardrail.js"
import type { FatalError } from "../../L0Error.js"

const refusals = new WeakMap<GuardrailRule, FatalError>()

/** @internal */
export const refuse = (rule: GuardrailRule, error: FatalError): GuardrailRule => {
  refusals.set(rule, error)
  return rule
}

/**
 * The options error of a rule built from invalid options, if it is one.
 *
 * @internal
 */
export const refusalOf = (rule: GuardrailRule): FatalError | undefined => refusals.get(rule)
