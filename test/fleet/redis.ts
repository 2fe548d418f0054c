import { afterAll, beforeAll } from "vitest"
import { type RedisServer, startRedis } from "../../examples/fleet/redis.js"

export { hasRedis, type RedisServer, startRedis } from "../../examples/fleet/redis.js"

/**
 * A throwaway `redis-server` for the tests of the calling `describe` block:
 * started before them, stopped after them; `url` reads its address.
 */
export const useRedis = (): { readonly url: string } => {
  let redis: RedisServer | undefined
  beforeAll(async () => {
    redis = await startRedis()
  }, 30_000)
  afterAll(() => redis?.stop())
  return {
    get url() {
      return redis!.url
    }
  }
}
