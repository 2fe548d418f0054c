/**
 * Resumable delivery: the events an answer sent, kept for a while (its TTL)
 * so that a client whose connection dropped gets what follows, exactly once,
 * from any process that reaches the buffer: in memory for one process, on
 * Redis Streams for a fleet.
 *
 * A buffered answer is a list of frames (`token`, `reset`, `complete`,
 * `error`, as `Sse` sends them) under its session id, numbered from 1, of one
 * generation (the time its answer started). Every frame goes out with an id,
 * the resume cursor `generation-number.signature`: the signature binds the
 * cursor to its session id with an HMAC of the buffer's secret, so a cursor
 * of another session or a forged one is refused without reading any data.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redis from "effect/persistence/Redis"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { bounded } from "./internal/bounded.js"
import { checkKeys, invalidOption } from "./internal/optionSchema.js"
import type { FatalError } from "./L0Error.js"

/**
 * Why a resume failed: `expired` (the answer is no longer buffered: its TTL
 * passed, or the session holds a newer answer), `invalid` (a cursor of
 * another session, or one this buffer never signed), `unavailable` (the
 * buffer's store failed for longer than `idleTimeout`), `stalled` (no new
 * event within `idleTimeout`: no process is generating the answer).
 *
 * @category errors
 * @since 0.1.0
 */
export class ResumeError extends Data.TaggedError("ResumeError")<{
  readonly reason: "expired" | "invalid" | "unavailable" | "stalled"
  readonly sessionId: string
  readonly message: string
}> {}

/**
 * A store of the buffer failed or did not answer within `storeTimeout`.
 *
 * @category errors
 * @since 0.1.0
 */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly operation: "open" | "append" | "read"
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * The state of a buffered answer: its generation, the number of its last
 * frame (0 before the first) and whether that frame ended the answer.
 *
 * @category models
 * @since 0.1.0
 */
export interface Head {
  readonly generation: number
  readonly last: number
  readonly done: boolean
}

/**
 * Frames read from a buffered answer, after a given number.
 *
 * @category models
 * @since 0.1.0
 */
export interface Read extends Head {
  /** The frames after the one asked for, in order: `frames[0]` is number `from + 1`. */
  readonly frames: ReadonlyArray<string>
}

/**
 * What a buffer keeps its answers in. `open` creates an answer of
 * `generation` unless the session already holds one (then it returns that
 * one's head); `append` adds frames after frame `after` only if that is the
 * last one and the answer is not done (else it returns `false`: someone
 * else appended); `read` returns the frames after `after`, waiting up to
 * `wait` for one, and `undefined` when the session holds no answer. Every
 * write renews the session's TTL.
 *
 * @category models
 * @since 0.1.0
 */
export interface Store {
  readonly open: (sessionId: string, generation: number) => Effect.Effect<Head, StoreError>
  readonly append: (
    sessionId: string,
    generation: number,
    after: number,
    frames: ReadonlyArray<string>,
    done: boolean
  ) => Effect.Effect<boolean, StoreError>
  readonly read: (
    sessionId: string,
    after: number,
    wait: Duration.Duration
  ) => Effect.Effect<Read | undefined, StoreError>
}

/**
 * A buffer: its store, the settings, and the signing of cursors.
 *
 * @category models
 * @since 0.1.0
 */
export interface Buffer {
  readonly store: Store
  /** How long an answer stays after its last event. */
  readonly ttl: Duration.Duration
  /** How long one store operation may take before it counts as failed. */
  readonly storeTimeout: Duration.Duration
  /** How long a follower waits for the next event before it gives up (`stalled` or `unavailable`). */
  readonly idleTimeout: Duration.Duration
  /** The signature of the cursors of `sessionId` in `generation` (0: the start of whatever answer it holds). */
  readonly sign: (sessionId: string, generation: number) => Effect.Effect<string>
}

/**
 * Options of the buffer layers.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** How long an answer stays after its last event; default 10 minutes. */
  readonly ttl?: Duration.Input | undefined
  /**
   * The key that signs cursors, the same on every process of a fleet (required on Redis). In memory, a random key
   * of the process by default.
   */
  readonly secret?: string | Redacted.Redacted<string> | undefined
  /** How long one store operation may take; default 1 second. */
  readonly storeTimeout?: Duration.Input | undefined
  /** How long a follower waits for the next event; default 1 minute. */
  readonly idleTimeout?: Duration.Input | undefined
}

/**
 * The buffer of the context.
 *
 * @category services
 * @since 0.1.0
 */
export class AnswerBuffer extends Context.Service<AnswerBuffer, Buffer>()("effect-l0/AnswerBuffer") {}

const OPTION_KEYS = { ttl: true, secret: true, storeTimeout: true, idleTimeout: true } as const

const duration = (name: string, input: Duration.Input | undefined, fallback: Duration.Input) => {
  const decoded = Duration.fromInput(input ?? fallback)
  if (Option.isNone(decoded) || !Duration.isFinite(decoded.value) || Duration.toMillis(decoded.value) <= 0) {
    return Effect.fail(invalidOption(name, "a positive, finite duration", input))
  }
  return Effect.succeed(decoded.value)
}

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

const signer = (secret: string): Buffer["sign"] => {
  const key = globalThis.crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"]
  )
  return (sessionId, generation) =>
    Effect.promise(async () => {
      const mac = await globalThis.crypto.subtle.sign(
        "HMAC",
        await key,
        new TextEncoder().encode(`${sessionId}\n${generation}`)
      )
      // 128 bits: enough that a cursor cannot be guessed
      return base64url(new Uint8Array(mac, 0, 16))
    })
}

const randomSecret = (): string => base64url(globalThis.crypto.getRandomValues(new Uint8Array(32)))

/**
 * A buffer on `store`, with `options` checked.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  store: Store,
  options?: Options & { readonly secret: string | Redacted.Redacted<string> }
): Effect.Effect<Buffer, FatalError> =>
  Effect.gen(function*() {
    const unknown = checkKeys(options, OPTION_KEYS)
    if (unknown !== undefined) return yield* unknown
    const secret = options?.secret
    const value = Redacted.isRedacted(secret) ? Redacted.value(secret) : secret
    if (typeof value !== "string" || value.length < 16) {
      // the secret itself is never printed
      return yield* invalidOption("secret", "a string of at least 16 characters", typeof value)
    }
    return {
      store,
      ttl: yield* duration("ttl", options?.ttl, "10 minutes"),
      storeTimeout: yield* duration("storeTimeout", options?.storeTimeout, "1 second"),
      idleTimeout: yield* duration("idleTimeout", options?.idleTimeout, "1 minute"),
      sign: signer(value)
    }
  })

interface Entry {
  generation: number
  frames: Array<string>
  done: boolean
  expiresAt: number
  waiters: Array<() => void>
}

/**
 * A store in the memory of this process, with the TTL on the `Clock`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemoryStore = (ttl: Duration.Duration): Effect.Effect<Store> =>
  Effect.map(Effect.clockWith(Effect.succeed), (clock: Clock.Clock): Store => {
    const entries = new Map<string, Entry>()
    const ttlMs = Duration.toMillis(ttl)
    const live = (sessionId: string): Entry | undefined => {
      const entry = entries.get(sessionId)
      if (entry === undefined) return undefined
      if (entry.expiresAt <= clock.currentTimeMillisUnsafe()) {
        entries.delete(sessionId)
        return undefined
      }
      return entry
    }
    const sweep = () => {
      const now = clock.currentTimeMillisUnsafe()
      for (const [id, entry] of entries) if (entry.expiresAt <= now) entries.delete(id)
    }
    const headOf = (entry: Entry): Head => ({
      generation: entry.generation,
      last: entry.frames.length,
      done: entry.done
    })
    return {
      open: (sessionId, generation) =>
        Effect.sync(() => {
          sweep()
          let entry = live(sessionId)
          if (entry === undefined) {
            entry = { generation, frames: [], done: false, expiresAt: 0, waiters: [] }
            entries.set(sessionId, entry)
          }
          entry.expiresAt = clock.currentTimeMillisUnsafe() + ttlMs
          return headOf(entry)
        }),
      append: (sessionId, generation, after, frames, done) =>
        Effect.sync(() => {
          const entry = live(sessionId)
          if (entry === undefined || entry.generation !== generation || entry.frames.length !== after || entry.done) {
            return false
          }
          entry.frames.push(...frames)
          entry.done = done
          entry.expiresAt = clock.currentTimeMillisUnsafe() + ttlMs
          const waiting = entry.waiters
          entry.waiters = []
          for (const wake of waiting) wake()
          return true
        }),
      read: (sessionId, after, wait) => {
        const now = (): Read | undefined => {
          const entry = live(sessionId)
          return entry === undefined ? undefined : { ...headOf(entry), frames: entry.frames.slice(after) }
        }
        return Effect.suspend(() => {
          const first = now()
          if (first === undefined || first.frames.length > 0 || first.done) return Effect.succeed(first)
          const entry = entries.get(sessionId)!
          return Effect.callback<void>((resume) => {
            const wake = () => resume(Effect.void)
            entry.waiters.push(wake)
            return Effect.sync(() => {
              entry.waiters = entry.waiters.filter((w) => w !== wake)
            })
          }).pipe(Effect.timeoutOption(wait), Effect.map(now))
        })
      }
    }
  })

/**
 * A buffer in the memory of this process: resumes reach the process that
 * served the answer. The secret is random unless given.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory = (options?: Options): Layer.Layer<AnswerBuffer, FatalError> =>
  Layer.effect(
    AnswerBuffer,
    Effect.gen(function*() {
      const ttl = yield* duration("ttl", options?.ttl, "10 minutes")
      return yield* make(yield* makeMemoryStore(ttl), { ...options, secret: options?.secret ?? randomSecret() })
    })
  )

const OPEN = Redis.script(
  (key: string, generation: number, ttlMs: number) => [key, generation, ttlMs],
  {
    numberOfKeys: 1,
    lua: `
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #first == 0 then
  redis.call('XADD', KEYS[1], ARGV[1] .. '-0', 'o', '1')
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {ARGV[1], '0', '0'}
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local dash = string.find(last[1], '-', 1, true)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {string.sub(last[1], 1, dash - 1), string.sub(last[1], dash + 1), last[2][1] == 'd' and '1' or '0'}
`
  }
).withReturnType<[string, string, string]>()

const APPEND = Redis.script(
  (key: string, generation: number, after: number, ttlMs: number, done: boolean, frames: ReadonlyArray<string>) => [
    key,
    generation,
    after,
    ttlMs,
    done ? 1 : 0,
    ...frames
  ],
  {
    numberOfKeys: 1,
    lua: `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if last == nil or last[1] ~= (ARGV[1] .. '-' .. ARGV[2]) or last[2][1] == 'd' then return 0 end
local n = tonumber(ARGV[2])
for i = 5, #ARGV do
  n = n + 1
  local field = (i == #ARGV and ARGV[4] == '1') and 'd' or 'f'
  redis.call('XADD', KEYS[1], ARGV[1] .. '-' .. n, field, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`
  }
).withReturnType<number>()

type XEntry = readonly [string, ReadonlyArray<string>]

/** The entries of an `XREAD` reply for one stream: an array of `[key, entries]` (RESP2) or a map by key. */
const entriesOf = (reply: unknown): ReadonlyArray<XEntry> => {
  if (reply === null || reply === undefined) return []
  const streams = Array.isArray(reply) ? reply.map((stream) => (stream as [string, unknown])[1]) : Object.values(reply)
  const entries = streams[0]
  return Array.isArray(entries) ? entries as ReadonlyArray<XEntry> : []
}

const parseId = (id: string): readonly [number, number] => {
  const dash = id.indexOf("-")
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}

/**
 * A store on Redis Streams under `prefix`, through the `Redis` service of
 * `effect/persistence` (`NodeRedis.layer` from `@effect/platform-node`). A
 * session is one stream whose entry ids are `generation-number`; waiting
 * reads (`XREAD BLOCK`) run on a reserved connection of the pool.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeRedisStore = (
  redis: Redis.Redis["Service"],
  ttl: Duration.Duration,
  prefix: string
): Store => {
  const ttlMs = Math.ceil(Duration.toMillis(ttl))
  const failed = (operation: StoreError["operation"]) => (cause: unknown) =>
    new StoreError({ operation, message: `The answer buffer's ${operation} on Redis failed`, cause })
  const open = redis.eval(OPEN)
  const append = redis.eval(APPEND)
  const toRead = (entries: ReadonlyArray<XEntry>, after: number): Read | undefined => {
    const frames: Array<string> = []
    let generation = 0
    let last = after
    let done = false
    for (const [id, fields] of entries) {
      const [g, n] = parseId(id)
      generation = g
      if (n === 0) continue
      last = n
      frames.push(fields[1]!)
      done = fields[0] === "d"
    }
    return { generation, last, done, frames }
  }
  const head = (sessionId: string) =>
    Effect.map(
      redis.send<ReadonlyArray<XEntry>>("XREVRANGE", prefix + sessionId, "+", "-", "COUNT", "1"),
      (entries): Read | undefined => {
        const entry = entries[0]
        if (entry === undefined) return undefined
        const [generation, last] = parseId(entry[0])
        return { generation, last, done: entry[1][0] === "d", frames: [] }
      }
    )
  return {
    open: (sessionId, generation) =>
      Effect.map(open(prefix + sessionId, generation, ttlMs), ([g, n, d]) => ({
        generation: Number(g),
        last: Number(n),
        done: d === "1"
      })).pipe(Effect.mapError(failed("open"))),
    append: (sessionId, generation, after, frames, done) =>
      Effect.map(append(prefix + sessionId, generation, after, ttlMs, done, frames), (ok) => ok === 1).pipe(
        Effect.mapError(failed("append"))
      ),
    read: (sessionId, after, wait) =>
      Effect.gen(function*() {
        const current = yield* head(sessionId)
        if (current === undefined) return undefined
        const from = after === 0 ? "0-0" : `${current.generation}-${after}`
        const range = entriesOf
        const now = yield* redis.send<unknown>(
          "XREAD",
          "COUNT",
          "1024",
          "STREAMS",
          prefix + sessionId,
          from
        )
        const ready = range(now)
        if (ready.length > 0 || current.done) {
          return { ...current, ...toRead(ready, after), generation: current.generation }
        }
        const waited = yield* Effect.scoped(Effect.flatMap(
          redis.reserve,
          (connection) =>
            connection.send<unknown>(
              "XREAD",
              "BLOCK",
              String(Math.max(1, Math.ceil(Duration.toMillis(wait)))),
              "COUNT",
              "1024",
              "STREAMS",
              prefix + sessionId,
              from
            )
        ))
        const entries = range(waited)
        return { ...current, ...toRead(entries, after), generation: current.generation }
      }).pipe(Effect.mapError(failed("read")), Effect.catchDefect((defect) => Effect.fail(failed("read")(defect))))
  }
}

/**
 * A buffer on Redis Streams, shared by every process on the same Redis and
 * `prefix` (default `"effect-l0:answer:"`): any of them can serve any
 * resume. Needs the `Redis` service (`NodeRedis.layer({ url })`) and a
 * `secret` shared by the fleet. Create the client with
 * `disableOfflineQueue: true`, so that a Redis outage fails operations at
 * once instead of queueing them.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRedis = (
  options: Options & { readonly secret: string | Redacted.Redacted<string>; readonly prefix?: string | undefined }
): Layer.Layer<AnswerBuffer, FatalError, Redis.Redis> =>
  Layer.effect(
    AnswerBuffer,
    Effect.gen(function*() {
      const { prefix, ...rest } = options ?? {}
      if (prefix !== undefined && (typeof prefix !== "string" || prefix.length === 0)) {
        return yield* invalidOption("prefix", "a non-empty string", prefix)
      }
      const ttl = yield* duration("ttl", rest.ttl, "10 minutes")
      return yield* make(makeRedisStore(yield* Redis.Redis, ttl, prefix ?? "effect-l0:answer:"), rest)
    })
  )

/** A store operation bounded by `storeTimeout`: one that takes longer fails like a store that is down. */
export const timed = <A>(
  buffer: Buffer,
  operation: StoreError["operation"],
  effect: Effect.Effect<A, StoreError>
): Effect.Effect<A, StoreError> =>
  Effect.flatMap(
    bounded(effect, buffer.storeTimeout),
    (answered) =>
      answered._tag === "Some" ? Effect.succeed(answered.value) : Effect.fail(
        new StoreError({
          operation,
          message: `The answer buffer's ${operation} did not answer within ${Duration.format(buffer.storeTimeout)}`
        })
      )
  )

/**
 * A cursor as sent in an event id: `generation-number.signature`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Cursor {
  readonly generation: number
  readonly number: number
}

const CURSOR = /^(\d{1,16})-(\d{1,16})\.([A-Za-z0-9_-]{22})$/

/**
 * The cursor of frame `number` of `sessionId`'s answer of `generation`.
 *
 * @category cursors
 * @since 0.1.0
 */
export const cursor = (buffer: Buffer, sessionId: string, generation: number, number: number): Effect.Effect<string> =>
  Effect.map(buffer.sign(sessionId, generation), (signature) => `${generation}-${number}.${signature}`)

/**
 * Checks a cursor received from a client (the `Last-Event-ID` header): its
 * form, and its signature for `sessionId`. A cursor of another session, or
 * one the buffer never signed, fails with `ResumeError` (`invalid`).
 *
 * @category cursors
 * @since 0.1.0
 */
export const verify = (buffer: Buffer, sessionId: string, value: string): Effect.Effect<Cursor, ResumeError> =>
  Effect.gen(function*() {
    const match = CURSOR.exec(value)
    const invalid = new ResumeError({
      reason: "invalid",
      sessionId,
      message: `The resume cursor is not one of session ${JSON.stringify(sessionId)}`
    })
    if (match === null) return yield* invalid
    const generation = Number(match[1])
    const number = Number(match[2])
    const expected = yield* buffer.sign(sessionId, generation)
    let diff = expected.length ^ match[3]!.length
    for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ match[3]!.charCodeAt(i)
    if (diff !== 0 || (generation === 0 && number !== 0)) return yield* invalid
    return { generation, number }
  })

/**
 * One event of a followed answer: a frame (without its blank line) and the
 * cursor that points after it; `undefined` frame: a keep-alive.
 *
 * @category models
 * @since 0.1.0
 */
export interface Delivered {
  readonly frame: string | undefined
  readonly cursor: string
}

/**
 * The frames of `sessionId`'s answer after `from` (the start when
 * `undefined`): those already buffered, then the new ones as they are
 * appended, until the answer's last frame. Waiting longer than the buffer's
 * `idleTimeout` for a frame fails with `ResumeError` (`stalled`, or
 * `unavailable` when the store is failing); a cursor whose answer is gone
 * fails with `expired`, one past the answer's end with `invalid`. A
 * keep-alive (`frame: undefined`) is emitted after each `keepAlive` without
 * a frame.
 *
 * @category following
 * @since 0.1.0
 */
export const follow = (
  buffer: Buffer,
  sessionId: string,
  from: Cursor | undefined,
  keepAlive: Duration.Duration
): Stream.Stream<Delivered, ResumeError> => {
  const wait = Duration.min(keepAlive, Duration.seconds(1))
  const idleMs = Duration.toMillis(buffer.idleTimeout)
  return Stream.unwrap(Effect.gen(function*() {
    let generation = from?.generation ?? 0
    let after = from?.number ?? 0
    let signature = from === undefined ? yield* buffer.sign(sessionId, 0) : yield* buffer.sign(sessionId, generation)
    let idleSince = yield* Clock.currentTimeMillis
    let lastKeepAlive = idleSince
    let failing = false
    let finished = false
    const fail = (reason: ResumeError["reason"], message: string) =>
      Effect.fail(new ResumeError({ reason, sessionId, message }))
    const step: Effect.Effect<ReadonlyArray<Delivered>, ResumeError> = Effect.gen(function*() {
      const read = yield* timed(buffer, "read", buffer.store.read(sessionId, after, wait)).pipe(
        Effect.map((read) => ({ ok: true as const, read })),
        Effect.catch(() => Effect.succeed({ ok: false as const, read: undefined }))
      )
      const now = yield* Clock.currentTimeMillis
      if (read.ok) failing = false
      else failing = true
      if (read.ok && read.read === undefined && from !== undefined) {
        return yield* fail("expired", `The answer of session ${JSON.stringify(sessionId)} is no longer buffered`)
      }
      const got = read.read
      if (got !== undefined) {
        if (from !== undefined && got.generation !== from.generation) {
          return yield* fail(
            "expired",
            `The answer of session ${JSON.stringify(sessionId)} that the cursor points into is no longer buffered`
          )
        }
        if (after > got.last) return yield* fail("invalid", `The resume cursor is past the end of the answer`)
        if (generation !== got.generation) {
          generation = got.generation
          signature = yield* buffer.sign(sessionId, generation)
        }
        if (got.frames.length > 0) {
          const out = got.frames.map((frame, i) => ({ frame, cursor: `${generation}-${after + i + 1}.${signature}` }))
          after += got.frames.length
          idleSince = now
          lastKeepAlive = now
          if (got.done) finished = true
          return out
        }
        if (got.done) {
          finished = true
          return []
        }
      }
      if (now - idleSince >= idleMs) {
        return yield* failing
          ? fail("unavailable", `The answer buffer failed for ${Duration.format(buffer.idleTimeout)}`)
          : fail(
            "stalled",
            `No event of session ${JSON.stringify(sessionId)} within ${Duration.format(buffer.idleTimeout)}`
          )
      }
      if (failing) yield* Effect.sleep(wait)
      if (now - lastKeepAlive >= Duration.toMillis(keepAlive)) {
        lastKeepAlive = now
        return [{ frame: undefined, cursor: "" }]
      }
      return []
    })
    const start: ReadonlyArray<Delivered> = from === undefined ? [{ frame: undefined, cursor: `0-0.${signature}` }] : []
    return Stream.concat(
      Stream.fromIterable(start),
      Stream.flatMap(
        Stream.repeat(
          Stream.fromEffect(Effect.suspend(() => finished ? Effect.succeed(undefined) : step)),
          Schedule.forever
        ).pipe(
          Stream.takeWhile((items) => items !== undefined)
        ),
        (items) => Stream.fromIterable(items!)
      )
    )
  }))
}

/**
 * A running answer's frames appended to the buffer. Internal to `publish`.
 */
class Publisher {
  private pending: Array<string> = []
  private warned = false
  constructor(
    readonly buffer: Buffer,
    readonly sessionId: string,
    readonly generation: number,
    public last: number
  ) {}

  /** Appends the pending frames and `frames`; `false` once another writer owns the answer. */
  push(frames: ReadonlyArray<string>, done: boolean): Effect.Effect<boolean> {
    this.pending.push(...frames)
    if (this.pending.length === 0) return Effect.succeed(true)
    const batch = this.pending
    return timed(
      this.buffer,
      "append",
      this.buffer.store.append(this.sessionId, this.generation, this.last, batch, done)
    ).pipe(
      Effect.map((ok) => {
        if (ok) {
          this.last += batch.length
          this.pending = []
        }
        return ok
      }),
      Effect.catch((error) => {
        // the frames stay pending: the next array appends them, in order, when the store is back
        if (this.warned) return Effect.succeed(true)
        this.warned = true
        return Effect.as(
          Effect.logWarning(`effect-l0: ${error.message}; frames of session ${JSON.stringify(this.sessionId)} wait`),
          true
        )
      })
    )
  }

  /** The last frames: tried again a few times, since no later array will carry them. */
  finish(frames: ReadonlyArray<string>): Effect.Effect<void> {
    return Effect.asVoid(
      this.push(frames, true).pipe(
        Effect.flatMap((ok) => ok && this.pending.length > 0 ? Effect.fail("pending" as const) : Effect.void),
        Effect.retry({ times: 3, schedule: Schedule.spaced(this.buffer.storeTimeout) }),
        Effect.ignore
      )
    )
  }
}

/** The text a list of frames leaves the client with. */
export const textOf = (frames: ReadonlyArray<string>): string => {
  let text = ""
  for (const frame of frames) {
    const [event, data] = frame.split("\n", 2)
    if (event === "event: token") text += JSON.parse(data!.slice(6)) as string
    else if (event === "event: reset") text = text.slice(0, (JSON.parse(data!.slice(6)) as { kept: number }).kept)
  }
  return text
}

/** The frames that turn text `shown` into `text`: a reset to their common prefix, then the rest. */
export const reconcile = (shown: string, text: string): Array<string> => {
  let common = 0
  const max = Math.min(shown.length, text.length)
  while (common < max && shown.charCodeAt(common) === text.charCodeAt(common)) common++
  // never cut a surrogate pair in two
  if (common > 0 && common < shown.length && (shown.charCodeAt(common - 1) & 0xfc00) === 0xd800) common--
  const frames: Array<string> = []
  if (common < shown.length) frames.push(`event: reset\ndata: ${JSON.stringify({ kept: common })}\n`)
  if (common < text.length) frames.push(`event: token\ndata: ${JSON.stringify(text.slice(common))}\n`)
  return frames
}

/**
 * How `publish` turns the stream into frames: `frames` gives the frames of
 * an array of items and the text they lead to; `last` tells whether an
 * array ended the answer.
 */
export interface Framing<A> {
  readonly frames: (items: ReadonlyArray<A>) => ReadonlyArray<string>
  readonly isLast: (frame: string) => boolean
  /** The last frame of a stream that failed; `undefined` for an interruption, which a takeover continues. */
  readonly failure: (cause: Cause.Cause<unknown>) => string | undefined
}

/**
 * Runs `stream` into the buffer as `sessionId`'s answer of `generation`.
 * A session that already holds that generation's answer is continued (a
 * takeover: the stream is expected to resume from a checkpoint) — its first
 * frames first bring the buffered text to the stream's own; a finished
 * answer, or one of another generation, is left alone and `stream` is not
 * run. A store that fails keeps the frames pending (the next array appends
 * them); a writer that finds another one appended stops the stream.
 *
 * @category publishing
 * @since 0.1.0
 */
export const publish = <A, E, R>(
  buffer: Buffer,
  sessionId: string,
  generation: number,
  stream: Stream.Stream<A, E, R>,
  framing: Framing<A>
): Effect.Effect<"published" | "done" | "taken" | "unavailable", never, R> =>
  Effect.gen(function*() {
    const head = yield* timed(buffer, "open", buffer.store.open(sessionId, generation)).pipe(
      Effect.map(Option.some),
      Effect.catch((error) =>
        Effect.as(Effect.logWarning(`effect-l0: ${error.message}; the answer is not buffered`), Option.none())
      )
    )
    if (Option.isNone(head)) return "unavailable" as const
    if (head.value.generation !== generation) return "taken" as const
    if (head.value.done) return "done" as const
    const publisher = new Publisher(buffer, sessionId, generation, head.value.last)
    let shown = head.value.last === 0 ? undefined : textOf(yield* readAll(buffer, sessionId))
    let taken = false
    let ended = false
    yield* stream.pipe(
      Stream.mapArray((items) => [framing.frames(items)] as const),
      Stream.runForEachWhile((frames) => {
        let out: ReadonlyArray<string> = frames
        if (shown !== undefined) {
          // a takeover: the first frames say how the text differs from what the client holds
          out = [...reconcile(shown, textOf(frames)), ...frames.filter((frame) =>
            !frame.startsWith("event: token") && !frame.startsWith("event: reset")
          )]
          shown = undefined
        }
        const last = out.length > 0 && framing.isLast(out[out.length - 1]!)
        const pushed = last ? Effect.as(publisher.finish(out), true) : publisher.push(out, false)
        return Effect.map(pushed, (ok) => {
          if (last) ended = true
          if (!ok) taken = true
          return ok && !last
        })
      }),
      Effect.catchCause((cause) =>
        Effect.suspend(() => {
          const last = ended ? undefined : framing.failure(cause)
          return last === undefined ? Effect.void : publisher.finish([last])
        })
      )
    )
    return taken ? "taken" as const : "published" as const
  })

const readAll = (buffer: Buffer, sessionId: string): Effect.Effect<Array<string>> =>
  Effect.gen(function*() {
    const frames: Array<string> = []
    for (let round = 0; round < 10_000; round++) {
      const read = yield* timed(buffer, "read", buffer.store.read(sessionId, frames.length, Duration.millis(1))).pipe(
        Effect.orElseSucceed(() => undefined)
      )
      if (read === undefined || read.frames.length === 0) break
      frames.push(...read.frames)
    }
    return frames
  })
