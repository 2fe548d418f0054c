/**
 * A short description of a chunk for error messages: its type and keys,
 * never its content.
 *
 * @internal
 */
export const describe = (chunk: unknown): string => {
  try {
    return shape(chunk)
  } catch {
    // a revoked Proxy, or a getter that throws
    return "an unreadable object"
  }
}

const shape = (chunk: unknown): string => {
  if (chunk === null) return "null"
  if (Array.isArray(chunk)) return `an array of ${chunk.length}`
  if (typeof chunk !== "object") return `a ${typeof chunk}`
  const keys = Object.keys(chunk)
  const shown = keys.slice(0, 8).join(", ")
  const type = (chunk as { type?: unknown }).type
  return `an object with keys {${shown}${keys.length > 8 ? ", …" : ""}}${
    typeof type === "string" ? ` and type "${type.slice(0, 64)}"` : ""
  }`
}
