import { readdirSync, readFileSync } from "node:fs"
import * as Sse from "effect/encoding/Sse"

const DIR = new URL("./fixtures/", import.meta.url)

/** The sidecar `<name>.expected.json` of a fixture (see test/fixtures/README.md). */
export interface Expected {
  readonly protocol: "openai-chat" | "openai-responses" | "anthropic"
  readonly text: string
  readonly toolCalls: ReadonlyArray<{ readonly id: string; readonly name: string; readonly arguments: string }>
  readonly finishReason: string | null
  readonly usage: Record<string, unknown> | null
  readonly error: { readonly type: string; readonly message: string } | null
  readonly reasoning?: string
  readonly refusal?: string
}

export interface Fixture {
  readonly name: string
  readonly bytes: Uint8Array
  readonly expected: Expected
  /** The JSON of every event's data, as an SDK yields it (`[DONE]` left out). */
  readonly chunks: ReadonlyArray<unknown>
}

const parse = (text: string): Array<unknown> => {
  const chunks: Array<unknown> = []
  const parser = Sse.makeParser((event) => {
    if (event._tag === "Event" && event.data !== "[DONE]") chunks.push(JSON.parse(event.data))
  })
  parser.feed(text)
  return chunks
}

export const fixtureNames: ReadonlyArray<string> = readdirSync(DIR)
  .filter((file) => file.endsWith(".sse"))
  .map((file) => file.slice(0, -4))
  .sort()

export const loadFixture = (name: string): Fixture => {
  const bytes = readFileSync(new URL(`${name}.sse`, DIR))
  return {
    name,
    bytes,
    expected: JSON.parse(readFileSync(new URL(`${name}.expected.json`, DIR), "utf8")) as Expected,
    chunks: parse(new TextDecoder().decode(bytes))
  }
}
