/**
 * The inputs every workload shares: pre-built arrays of string tokens shaped
 * like a model's JSON answer (an array of records whose strings hold prose),
 * cut the way tokenizers cut it, and the async generator that replays them.
 * JSON, so that every guardrail preset (`strict` includes `strictJson`)
 * accepts the same tokens as the other workloads.
 */

const WORDS = (
  "the of and to in is that for it as with was on be by this are or from at an which have not but can all their " +
  "more one has been its also other when there were these than into only some time would about after them first " +
  "new most used two may over such could through between each many then where both under while those during " +
  "should well because people before same very made world system state number part however found known often " +
  "small large order water since data group field value result model stream token reply request network client " +
  "server answer query record report method signal buffer window engine layer schema simple common stable public"
).split(" ")

/** A deterministic PRNG (mulberry32), so every run measures the same text. */
const random = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The tokens of one record: `{"id":1,"title":"…","body":"…","tags":["…","…"]}`. */
const record = (id: number, next: () => number, out: Array<string>): void => {
  const word = (): string => WORDS[Math.floor(next() * WORDS.length)]!
  const words = (count: number): void => {
    out.push(word())
    for (let i = 1; i < count; i++) out.push(` ${word()}`)
  }
  out.push("{\"", "id", "\":", String(id), ",\"", "title", "\":\"")
  words(3 + Math.floor(next() * 4))
  out.push("\",\"", "body", "\":\"")
  const sentences = 2 + Math.floor(next() * 3)
  for (let s = 0; s < sentences; s++) {
    if (s > 0) out.push(" ")
    words(6 + Math.floor(next() * 9))
    out.push(next() < 0.8 ? "." : next() < 0.5 ? "!" : "?")
  }
  out.push("\",\"", "tags", "\":[\"", word(), "\",\"", word(), "\"]}")
}

/** About `count` tokens (a few more, to close the JSON) of a JSON array of records. */
export const answer = (count: number, seed = 1): ReadonlyArray<string> => {
  const next = random(seed)
  const out: Array<string> = ["["]
  for (let id = 1; out.length < count - 1; id++) {
    if (id > 1) out.push(",")
    record(id, next, out)
  }
  out.push("]")
  return out
}

/** Replays `tokens[from, to)` as a provider SDK stream would: one `next()` per token. */
export async function* replay(tokens: ReadonlyArray<string>, from = 0, to = tokens.length): AsyncGenerator<string> {
  for (let i = from; i < to; i++) yield tokens[i]!
}

/**
 * About `count` tokens of a markdown answer in prose: sections with a
 * heading, paragraphs of sentences and bulleted lists, none of which any
 * drift kind reports, so that every rule reads the whole stream.
 */
export const prose = (count: number, seed = 1): ReadonlyArray<string> => {
  const next = random(seed)
  const word = (): string => WORDS[Math.floor(next() * WORDS.length)]!
  const sentence = (out: Array<string>, capital: boolean): void => {
    const first = word()
    out.push(capital ? first[0]!.toUpperCase() + first.slice(1) : first)
    const length = 6 + Math.floor(next() * 12)
    for (let i = 1; i < length; i++) {
      if (next() < 0.08) out.push(",")
      out.push(` ${word()}`)
    }
    out.push(next() < 0.9 ? "." : "?")
  }
  const out: Array<string> = []
  while (out.length < count) {
    out.push("## ", word(), " ", word(), "\n\n")
    for (let paragraph = 1 + Math.floor(next() * 3); paragraph > 0; paragraph--) {
      for (let s = 2 + Math.floor(next() * 4); s > 0; s--) {
        sentence(out, true)
        out.push(" ")
      }
      out.push("\n\n")
    }
    for (let item = 2 + Math.floor(next() * 4); item > 0; item--) {
      out.push("- ")
      sentence(out, true)
      out.push("\n")
    }
    out.push("\n")
  }
  return out
}
