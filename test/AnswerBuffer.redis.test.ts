import { NodeRedis } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { AnswerBuffer, L0, Sse } from "effect-l0"
import { TestSource } from "effect-l0/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hasRedis, type RedisServer, startRedis } from "./fleet/redis.js"

const SECRET = "a-test-secret-of-the-fleet"
const ANSWER = ["Redis ", "keeps ", "the ", "answer ", "for ", "any ", "instance."]

const framesOf = (body: string) =>
  body.split("\n\n").filter((block) => block !== "" && !block.startsWith(":")).map((block) => {
    const field = (name: string) =>
      block.split("\n").find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2)
    return { event: field("event"), data: field("data"), id: field("id") }
  })

const textOf = (frames: ReadonlyArray<{ event?: string | undefined; data?: string | undefined }>) => {
  let text = ""
  for (const frame of frames) {
    if (frame.event === "token") text += JSON.parse(frame.data!) as string
    if (frame.event === "reset") text = text.slice(0, (JSON.parse(frame.data!) as { kept: number }).kept)
  }
  return text
}

describe.skipIf(!hasRedis)("AnswerBuffer on Redis Streams (skipped where redis-server is not installed)", () => {
  let redis: RedisServer
  let runtime: ManagedRuntime.ManagedRuntime<AnswerBuffer.AnswerBuffer, unknown>
  let other: ManagedRuntime.ManagedRuntime<AnswerBuffer.AnswerBuffer, unknown>
  const layer = () =>
    AnswerBuffer.layerRedis({ secret: SECRET, ttl: "2 seconds" }).pipe(
      Layer.provide(NodeRedis.layer({ url: redis.url, disableOfflineQueue: true }))
    )
  beforeAll(async () => {
    redis = await startRedis()
    runtime = ManagedRuntime.make(layer())
    // a second process's view: its own client, the same Redis
    other = ManagedRuntime.make(layer())
  }, 30_000)
  afterAll(async () => {
    await runtime?.dispose()
    await other?.dispose()
    await redis?.stop()
  })

  const respond = (
    on: typeof runtime,
    sessionId: string,
    lastEventId?: string,
    source = TestSource.make(ANSWER)
  ) =>
    on.runPromise(
      Effect.flatMap(AnswerBuffer.AnswerBuffer, (buffer) =>
        Sse.toResponseEffect(L0.stream({ stream: source.stream }), {
          resume: { buffer, sessionId, lastEventId },
          keepAlive: "Infinity"
        }))
    ).then((response) => response.text())

  it("any instance resumes from any cursor of another, exactly once", async () => {
    const frames = framesOf(await respond(runtime, "r-1"))
    expect(textOf(frames)).toBe(ANSWER.join(""))
    expect(frames.at(-1)!.event).toBe("complete")
    for (let i = 1; i < frames.length - 1; i++) {
      const rest = framesOf(await respond(other, "r-1", frames[i]!.id))
      expect(rest.map((frame) => frame.id)).toEqual(frames.slice(i + 1).map((frame) => frame.id))
      expect(textOf(frames.slice(0, i + 1)) + textOf(rest)).toBe(ANSWER.join(""))
    }
  })

  it("the same session on another instance replays, never generates again; another session's cursor is refused", async () => {
    const source = TestSource.make(ANSWER)
    const first = framesOf(await respond(runtime, "r-2", undefined, source))
    const again = framesOf(await respond(other, "r-2", undefined, source))
    expect(textOf(again)).toBe(ANSWER.join(""))
    expect(source.calls).toHaveLength(1)
    const refused = framesOf(await respond(other, "r-other", first[2]!.id))
    expect(refused).toHaveLength(1)
    expect(JSON.parse(refused[0]!.data!)).toMatchObject({ tag: "ResumeError", reason: "invalid" })
  })

  it("a reconnect after the TTL is refused as expired", async () => {
    const frames = framesOf(await respond(runtime, "r-3"))
    // the TTL is Redis's own clock: bounded polling until the key is gone
    const deadline = Date.now() + 10_000
    let got = framesOf(await respond(other, "r-3", frames[1]!.id))
    while (got[0]?.event !== "error" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      got = framesOf(await respond(other, "r-3", frames[1]!.id))
    }
    expect(JSON.parse(got[0]!.data!)).toMatchObject({ tag: "ResumeError", reason: "expired" })
  })

  it("needs a secret shared by the fleet", async () => {
    const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(
      AnswerBuffer.layerRedis({} as { secret: string }).pipe(Layer.provide(NodeRedis.layer({ url: redis.url })))
    )))
    expect(JSON.stringify(exit)).toMatch(/secret/)
  })
})
