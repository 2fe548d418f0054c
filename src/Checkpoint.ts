/**
 * Durable checkpoints: with a `sessionId`, `L0.stream` saves the text its
 * consumer holds to a `CheckpointStore` while it streams, and `resume: true`
 * continues a stored session after a crash or a restart, with continuation
 * semantics (the source gets the stored text as `checkpoint`).
 *
 * The store is a `KeyValueStore` from `effect/persistence`: the file system
 * (`layerFileSystem`, with `@effect/platform-node`'s `NodeServices.layer`),
 * Redis (`layerRedis`, with `NodeRedis.layer`) or any other.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as FileSystem from "effect/FileSystem"
import type * as Path from "effect/Path"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Redis from "effect/persistence/Redis"
import type { PlatformError } from "effect/PlatformError"
import * as Schema from "effect/Schema"
import type { Checkpoint, Store } from "./internal/checkpointStore.js"
import { CheckpointError, CheckpointStore } from "./internal/checkpointStore.js"
import { checkKeys } from "./internal/optionSchema.js"
import type { FatalError } from "./L0Error.js"

export {
  /**
   * @category errors
   * @since 0.1.0
   */
  CheckpointError,
  /**
   * @category services
   * @since 0.1.0
   */
  CheckpointStore
} from "./internal/checkpointStore.js"
export type {
  /**
   * @category models
   * @since 0.1.0
   */
  Checkpoint,
  /**
   * @category models
   * @since 0.1.0
   */
  Store
} from "./internal/checkpointStore.js"
export type {
  /**
   * @category models
   * @since 0.1.0
   */
  Boundary,
  /**
   * @category models
   * @since 0.1.0
   */
  CheckpointOptions
} from "./internal/durable.js"

const Stored = Schema.fromJsonString(Schema.Struct({
  text: Schema.String,
  seq: Schema.Int,
  savedAt: Schema.Number,
  // absent in checkpoints stored before generations: still read, as the oldest
  epoch: Schema.optionalKey(Schema.Finite)
}))
const decodeStored = Schema.decodeUnknownExit(Stored)
const encodeStored = Schema.encodeSync(Stored)
/** The stored JSON: without `epoch` when there is none (a session resumed from a checkpoint of an earlier version). */
const encode = ({ epoch, savedAt, seq, text }: Checkpoint): string =>
  encodeStored(epoch === undefined ? { text, seq, savedAt } : { text, seq, savedAt, epoch })

/**
 * Two slots per session, written in turn: a process killed in the middle of
 * a (non-atomic) file write spoils one slot, and the other still holds the
 * previous checkpoint.
 */
const slot = (sessionId: string, seq: number): string => `${sessionId}#${seq % 2}`

/**
 * A store on a `KeyValueStore`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (store: KeyValueStore.KeyValueStore): Store => makeWith(store, Effect.succeed)

/** A later generation wins whatever its `seq`; a checkpoint without one is of the oldest. */
const isNewer = (self: Checkpoint, that: Checkpoint): boolean => {
  const epoch = self.epoch ?? -Infinity
  const other = that.epoch ?? -Infinity
  return epoch !== other ? epoch > other : self.seq > that.seq
}

/** A store on `store`, whose slot keys `keyOf` maps to the store's keys. */
const makeWith = (store: KeyValueStore.KeyValueStore, keyOf: (slot: string) => Effect.Effect<string>): Store => {
  const fail = (operation: CheckpointError["operation"], sessionId: string) => (cause: unknown) =>
    new CheckpointError({
      operation,
      sessionId,
      message: `Checkpoint ${operation} failed for session ${JSON.stringify(sessionId)}`,
      cause
    })
  const get = (sessionId: string, n: number) => Effect.flatMap(keyOf(slot(sessionId, n)), store.get)
  const remove = (sessionId: string, n: number) => Effect.flatMap(keyOf(slot(sessionId, n)), store.remove)
  return {
    load: (sessionId) =>
      Effect.gen(function*() {
        const raw = yield* Effect.all([get(sessionId, 0), get(sessionId, 1)]).pipe(
          Effect.mapError(fail("load", sessionId))
        )
        const found = raw.filter((value): value is string => value !== undefined)
        const readable: Array<Checkpoint> = []
        for (const value of found) {
          const decoded = decodeStored(value)
          if (decoded._tag === "Success") readable.push(decoded.value)
        }
        if (found.length > 0 && readable.length === 0) {
          return yield* new CheckpointError({
            operation: "load",
            sessionId,
            message: `The checkpoint of session ${JSON.stringify(sessionId)} is unreadable (corrupt or truncated)`
          })
        }
        return readable.reduce<Checkpoint | undefined>(
          (newest, checkpoint) => newest === undefined || isNewer(checkpoint, newest) ? checkpoint : newest,
          undefined
        )
      }),
    save: (sessionId, checkpoint) =>
      Effect.flatMap(keyOf(slot(sessionId, checkpoint.seq)), (key) => store.set(key, encode(checkpoint))).pipe(
        Effect.mapError(fail("save", sessionId))
      ),
    remove: (sessionId) =>
      Effect.all([remove(sessionId, 0), remove(sessionId, 1)], { discard: true }).pipe(
        Effect.mapError(fail("remove", sessionId))
      )
  }
}

/** The longest file name, in bytes, of common file systems (ext4, XFS, APFS, NTFS). */
const NAME_MAX = 255

/** A key's UTF-16 code units, two bytes each: unlike UTF-8, it tells every string apart, lone surrogates included. */
const codeUnits = (key: string): Uint8Array<ArrayBuffer> => {
  const bytes = new Uint8Array(key.length * 2)
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i)
    bytes[2 * i] = unit & 0xff
    bytes[2 * i + 1] = unit >> 8
  }
  return bytes
}

/** The URI-encoded key, the file name `KeyValueStore.layerFileSystem` gives it; `undefined` if it cannot be encoded. */
const encoded = (key: string): string | undefined => {
  try {
    return encodeURIComponent(key)
  } catch {
    // a lone surrogate
    return undefined
  }
}

/**
 * The key of a slot in the file store. A key whose file name fits in
 * `NAME_MAX` bytes stays as it is, the name checkpoints were always stored
 * under. A longer one (or one with a lone surrogate) becomes a readable
 * prefix, `~` and the SHA-256 of the key: its name has no `%`, so it never
 * collides with an encoded one (whose `#` is `%23`), and it never is `.`,
 * `..` or a path.
 */
const fileKey = (key: string): Effect.Effect<string> => {
  const name = encoded(key)
  if (name !== undefined && name.length <= NAME_MAX) return Effect.succeed(key)
  return Effect.map(
    Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", codeUnits(key))),
    (digest) => {
      const hash = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("")
      return `${key.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 64)}~${hash}`
    }
  )
}

/**
 * Checkpoints in the `KeyValueStore` of the context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<CheckpointStore, never, KeyValueStore.KeyValueStore> = Layer.effect(
  CheckpointStore,
  Effect.gen(function*() {
    return make(yield* KeyValueStore.KeyValueStore)
  })
)

/**
 * Checkpoints in memory: they survive an interrupted run, not the process.
 * For tests and single-process retries.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<CheckpointStore> = layer.pipe(Layer.provide(KeyValueStore.layerMemory))

/**
 * Checkpoints as files in `directory` (one or two small files per session),
 * through the `FileSystem` and `Path` services, for example
 * `NodeServices.layer` from `@effect/platform-node`. A file is named after
 * its session id, URI-encoded; an id whose name would pass 255 bytes (long
 * or multi-byte ids, up to the 200 characters a `sessionId` may have) gets
 * a readable prefix and the SHA-256 of the id instead. Every name stays
 * inside `directory`.
 *
 * **Example** (Resuming a session after a restart)
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 *
 * const Checkpoints = Checkpoint.layerFileSystem("/var/lib/my-app/l0").pipe(Layer.provide(NodeServices.layer))
 * const text = yield* L0.text({ stream, continuation: true, sessionId: "order-42", resume: true }).pipe(
 *   Effect.provide(Checkpoints)
 * )
 * ```
 * @category layers
 * @since 0.1.0
 */
export const layerFileSystem = (
  directory: string
): Layer.Layer<CheckpointStore, PlatformError, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    CheckpointStore,
    Effect.gen(function*() {
      return makeWith(yield* KeyValueStore.KeyValueStore, fileKey)
    })
  ).pipe(Layer.provide(KeyValueStore.layerFileSystem(directory)))

/**
 * Checkpoints in Redis under `prefix` (default `"effect-l0:checkpoint:"`),
 * through the `Redis` service of `effect/persistence`, for example
 * `NodeRedis.layer({ url })` from `@effect/platform-node`. Any process of a
 * fleet can then resume any session.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRedis = (
  options?: { readonly prefix?: string | undefined }
): Layer.Layer<CheckpointStore, FatalError, Redis.Redis> =>
  Layer.effect(
    CheckpointStore,
    Effect.gen(function*() {
      const unknown = checkKeys(options, { prefix: true })
      if (unknown !== undefined) return yield* unknown
      return make(redisKeyValueStore(yield* Redis.Redis, options?.prefix ?? "effect-l0:checkpoint:"))
    })
  )

/** The commands a checkpoint needs, on `effect/persistence`'s Redis service. */
const redisKeyValueStore = (redis: Redis.Redis["Service"], prefix: string): KeyValueStore.KeyValueStore => {
  const failed = (method: string, key: string) => (cause: Redis.RedisError) =>
    new KeyValueStore.KeyValueStoreError({ method, key, message: `Redis ${method} failed`, cause })
  return KeyValueStore.makeStringOnly({
    get: (key) =>
      redis.send<string | null>("GET", prefix + key).pipe(
        Effect.map((value) => value ?? undefined),
        Effect.mapError(failed("get", key))
      ),
    set: (key, value) =>
      redis.send("SET", prefix + key, value).pipe(Effect.asVoid, Effect.mapError(failed("set", key))),
    remove: (key) => redis.send("DEL", prefix + key).pipe(Effect.asVoid, Effect.mapError(failed("remove", key))),
    clear: Effect.fail(unsupported("clear")),
    size: Effect.fail(unsupported("size")),
    keys: Effect.fail(unsupported("keys"))
  })
}

/** Listing or clearing a shared Redis would scan every key of the fleet: checkpoints never need it. */
const unsupported = (method: string) =>
  new KeyValueStore.KeyValueStoreError({
    method,
    message: `${method} is not supported by the checkpoint store on Redis`
  })
