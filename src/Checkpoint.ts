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

const Stored = Schema.fromJsonString(Schema.Struct({
  text: Schema.String,
  seq: Schema.Int,
  savedAt: Schema.Number
}))
const decodeStored = Schema.decodeUnknownExit(Stored)
const encodeStored = Schema.encodeSync(Stored)

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
export const make = (store: KeyValueStore.KeyValueStore): Store => {
  const fail = (operation: CheckpointError["operation"], sessionId: string) => (cause: unknown) =>
    new CheckpointError({
      operation,
      sessionId,
      message: `Checkpoint ${operation} failed for session ${JSON.stringify(sessionId)}`,
      cause
    })
  return {
    load: (sessionId) =>
      Effect.gen(function*() {
        const raw = yield* Effect.all([store.get(slot(sessionId, 0)), store.get(slot(sessionId, 1))]).pipe(
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
          (newest, checkpoint) => newest === undefined || checkpoint.seq > newest.seq ? checkpoint : newest,
          undefined
        )
      }),
    save: (sessionId, checkpoint) =>
      store.set(slot(sessionId, checkpoint.seq), encodeStored(checkpoint)).pipe(
        Effect.mapError(fail("save", sessionId))
      ),
    remove: (sessionId) =>
      Effect.all([store.remove(slot(sessionId, 0)), store.remove(slot(sessionId, 1))], { discard: true }).pipe(
        Effect.mapError(fail("remove", sessionId))
      )
  }
}

/**
 * Checkpoints in the `KeyValueStore` of the context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<never, never, KeyValueStore.KeyValueStore> = Layer.effect(
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
export const layerMemory: Layer.Layer<never> = layer.pipe(Layer.provide(KeyValueStore.layerMemory))

/**
 * Checkpoints as files in `directory` (one or two small files per session),
 * through the `FileSystem` and `Path` services, for example
 * `NodeServices.layer` from `@effect/platform-node`.
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
): Layer.Layer<never, PlatformError, FileSystem.FileSystem | Path.Path> =>
  layer.pipe(Layer.provide(KeyValueStore.layerFileSystem(directory)))

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
): Layer.Layer<never, FatalError, Redis.Redis> =>
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
