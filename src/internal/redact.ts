import * as Redacted from "effect/Redacted"

/** Removes secrets from a piece of text. */
export type Scrub = (text: string) => string

const REDACTED = "<redacted>"

const SECRET =
  /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}|\bBearer\s+[^\s"',]+|\b(?:api[-_]?key|authorization|x-api-key)(["']?\s*[:=]\s*["']?)(?:Bearer\s+)?[^\s"',}]+/gi

/**
 * Removes what looks like an API key or a bearer token: `sk-…` keys, `Bearer`
 * tokens and the values of `api_key` / `authorization` fields.
 *
 * @internal
 */
export const redactSecrets: Scrub = (text) =>
  text.replace(SECRET, (match, separator: string | undefined) =>
    separator === undefined
      ? match.startsWith("Bearer") || match.startsWith("bearer") ? `Bearer ${REDACTED}` : REDACTED
      : `${match.slice(0, match.indexOf(separator) + separator.length)}${REDACTED}`)

/**
 * Removes the exact values of `secrets`, also as they appear escaped inside
 * JSON text; `undefined` when there is nothing to remove.
 *
 * @internal
 */
export const exact = (secrets: ReadonlyArray<string | Redacted.Redacted<string>>): Scrub | undefined => {
  const needles = new Set<string>()
  for (const secret of secrets) {
    const value = Redacted.isRedacted(secret) ? Redacted.value(secret) : secret
    if (value.length === 0) continue
    needles.add(value)
    needles.add(JSON.stringify(value).slice(1, -1))
  }
  // longer first, so that a secret containing another is removed whole
  const ordered = [...needles].sort((a, b) => b.length - a.length)
  if (ordered.length === 0) return undefined
  return (text) => {
    let out = text
    for (const needle of ordered) {
      if (out.includes(needle)) out = out.replaceAll(needle, REDACTED)
    }
    return out
  }
}

/** Nesting deeper than this is left as it is: error causes are shallow. */
const MAX_DEPTH = 8

type Key = string | symbol

/** Reads a property without ever throwing: a throwing getter or a revoked Proxy gives `Unreadable`. */
const Unreadable: unique symbol = Symbol("effect-l0/Unreadable")

const read = (u: object, key: Key): unknown => {
  try {
    return Reflect.get(u, key)
  } catch {
    return Unreadable
  }
}

const ownKeys = (u: object): ReadonlyArray<Key> | typeof Unreadable => {
  try {
    return Reflect.ownKeys(u)
  } catch {
    return Unreadable
  }
}

const isEntries = (u: object): u is Headers | Map<unknown, unknown> =>
  (typeof Headers !== "undefined" && u instanceof Headers) || u instanceof Map

const entriesOf = (u: Headers | Map<unknown, unknown>): Array<readonly [unknown, unknown]> => {
  const entries: Array<readonly [unknown, unknown]> = []
  u.forEach((value: unknown, key: unknown) => void entries.push([key, value]))
  return entries
}

/** Whether `u` holds a string that `scrub` changes, or a part that cannot be read. */
const leaks = (u: unknown, scrub: Scrub, depth: number, seen: Set<object>): boolean => {
  if (typeof u === "string") return scrub(u) !== u
  if (typeof u !== "object" || u === null || depth > MAX_DEPTH || seen.has(u)) return false
  seen.add(u)
  try {
    if (isEntries(u)) return entriesOf(u).some((entry) => leaks(entry, scrub, depth + 1, seen))
    const keys = ownKeys(u)
    if (keys === Unreadable) return true
    for (const key of keys) {
      const value = read(u, key)
      if (value === Unreadable || leaks(value, scrub, depth + 1, seen)) return true
    }
    return false
  } catch {
    return true
  }
}

/**
 * `u` with every string scrubbed and unreadable parts left out: the parts
 * with nothing to scrub are kept as they are, the others are copied with
 * their prototypes.
 */
const copy = (u: unknown, scrub: Scrub, depth: number, seen: Map<object, unknown>): unknown => {
  if (typeof u === "string") return scrub(u)
  if (typeof u !== "object" || u === null || !leaks(u, scrub, depth, new Set())) return u
  const done = seen.get(u)
  if (done !== undefined) return done
  try {
    if (Array.isArray(u)) {
      const out: Array<unknown> = []
      seen.set(u, out)
      for (const item of u) out.push(copy(item, scrub, depth + 1, seen))
      return out
    }
    if (isEntries(u)) {
      const entries = entriesOf(u).map(([key, value]) =>
        [copy(key, scrub, depth + 1, seen), copy(value, scrub, depth + 1, seen)] as const
      )
      return u instanceof Map ? new Map(entries)
        : new Headers(entries.map(([key, value]) => [String(key), String(value)]))
    }
    const out: Record<Key, unknown> = Object.create(Object.getPrototypeOf(u))
    seen.set(u, out)
    const keys = ownKeys(u)
    if (keys === Unreadable) return out
    for (const key of keys) {
      const value = read(u, key)
      if (value === Unreadable) continue
      const enumerable = Object.getOwnPropertyDescriptor(u, key)?.enumerable ?? true
      Object.defineProperty(out, key, {
        value: copy(value, scrub, depth + 1, seen),
        enumerable,
        writable: true,
        configurable: true
      })
    }
    return out
  } catch {
    return undefined
  }
}

/**
 * `u` itself when `scrub` finds nothing in it (nested objects included),
 * otherwise a copy with every string scrubbed. The copy keeps prototypes, so
 * an SDK error is still `instanceof` its class; parts that throw when read
 * are left out.
 *
 * @internal
 */
export const value = (u: unknown, scrub: Scrub): unknown => copy(u, scrub, 0, new Map())

/** What `error` must offer to be rebuilt by its own constructor. */
interface Rebuildable {
  readonly message: string
  readonly cause?: unknown
  readonly violations?: unknown
}

/**
 * The same error with `scrub` applied to its message, cause and violations:
 * `error` itself when nothing changes, else a new instance of its class.
 *
 * @internal
 */
export const error = <E extends Rebuildable>(self: E, scrub: Scrub): E => {
  const message = scrub(self.message)
  const cause = value(self.cause, scrub)
  const violations = value(self.violations, scrub)
  if (message === self.message && cause === self.cause && violations === self.violations) return self
  const fields: { [key: string]: unknown } = { ...self as object, message }
  if (self.cause !== undefined) fields.cause = cause
  if (self.violations !== undefined) fields.violations = violations
  const Class = Object.getPrototypeOf(self).constructor as new(fields: object) => E
  return new Class(fields)
}
