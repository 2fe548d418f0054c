/**
 * What an error keeps of a thrown value as its `cause`: the value itself
 * when every printed form of it works, else an `Error` that describes it.
 * A user callback may throw anything (a revoked `Proxy`, an object whose
 * getter throws, a cycle, a `BigInt`); kept raw, it would make
 * `JSON.stringify(error)`, `Cause.pretty`, `Effect.logError` and
 * `util.inspect` throw long after the run ended.
 *
 * @internal
 */
import { describe } from "./describe.js"

/** Nesting and values read before a value is judged too big to check, and replaced. */
const MAX_DEPTH = 16
const MAX_NODES = 2_000

/** Read where `Cause.pretty` reads them, whether enumerable or not. */
const PRINTED = ["message", "name", "stack", "toString"] as const

class Budget {
  nodes = 0
}

/**
 * Whether `JSON.stringify`, `String`, `Cause.pretty` and `util.inspect` can
 * print `u` without throwing: no property read throws, no cycle, no
 * `BigInt`, a `toJSON` that works.
 */
const isPrintable = (u: unknown, ancestors: Array<object>, budget: Budget): boolean => {
  if (typeof u === "bigint") return false
  if ((typeof u !== "object" && typeof u !== "function") || u === null || ArrayBuffer.isView(u)) return true
  if (ancestors.includes(u) || ancestors.length >= MAX_DEPTH || ++budget.nodes > MAX_NODES) return false
  ancestors.push(u)
  try {
    const record = u as Record<string, unknown>
    for (const key of PRINTED) void record[key]
    const toJSON = record.toJSON
    if (typeof toJSON === "function") {
      if (!isPrintable(toJSON.call(u, ""), ancestors, budget)) return false
    } else {
      for (const key of Object.keys(u)) {
        if (!isPrintable(record[key], ancestors, budget)) return false
      }
    }
    // `cause` is printed even when not enumerable, as `Error`'s own is
    return Object.prototype.propertyIsEnumerable.call(u, "cause") || isPrintable(record.cause, ancestors, budget)
  } catch {
    return false
  } finally {
    ancestors.pop()
  }
}

const read = (u: object, key: string): unknown => {
  try {
    return (u as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

const primitive = (u: unknown): string | number | undefined =>
  typeof u === "string" || (typeof u === "number" && Number.isFinite(u)) ? u : undefined

/** A symbol, a `BigInt` or a function, as text. */
const textOf = (u: unknown): string => {
  try {
    return typeof u === "symbol" ? u.toString() : typeof u === "bigint" ? `${u.toString()}n` : describe(u)
  } catch {
    return `a ${typeof u}`
  }
}

/**
 * An `Error` that says what `u` was: its message, name, stack, `code`,
 * `status` and cause where they can be read, each read on its own.
 */
const described = (u: unknown, depth: number): Error => {
  if (typeof u !== "object" || u === null) return new Error(textOf(u))
  const message = read(u, "message")
  const error = new Error(
    typeof message === "string" ? message
      : `${describe(u)}, which cannot be printed (its properties throw when read, or it holds a cycle)`
  )
  const name = read(u, "name")
  if (typeof name === "string") error.name = name
  const stack = read(u, "stack")
  error.stack = typeof stack === "string" ? stack : `${error.name}: ${error.message}`
  const fields = error as Error & { code?: string | number; status?: string | number }
  const code = primitive(read(u, "code"))
  if (code !== undefined) fields.code = code
  const status = primitive(read(u, "status"))
  if (status !== undefined) fields.status = status
  const cause = read(u, "cause")
  if (cause !== undefined && cause !== u && depth < 4) {
    Object.defineProperty(error, "cause", {
      value: isPrintable(cause, [], new Budget()) ? cause : described(cause, depth + 1),
      enumerable: false,
      writable: true,
      configurable: true
    })
  }
  return error
}

/**
 * `u` itself when it prints safely; otherwise an `Error` describing it.
 * Never throws.
 *
 * @internal
 */
export const safeCause = (u: unknown): unknown => {
  if (u === undefined || (typeof u !== "object" && typeof u !== "function" && typeof u !== "bigint")) return u
  try {
    return isPrintable(u, [], new Budget()) ? u : described(u, 0)
  } catch {
    return new Error("a thrown value that cannot be read")
  }
}

/**
 * The `cause` field of error fields made safe; the fields themselves when
 * there is nothing to change.
 *
 * @internal
 */
export const withSafeCause = <F extends { readonly cause?: unknown }>(fields: F): F => {
  if (fields === undefined || fields.cause === undefined) return fields
  const cause = safeCause(fields.cause)
  return cause === fields.cause ? fields : { ...fields, cause }
}
