import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import { AnswerBuffer, L0, Sse } from "effect-l0"
import { read, StreamError } from "effect-l0/client"
import { TestSource } from "effect-l0/testing"
import { describe, expect, it } from "vitest"

const SECRET = "a-test-secret-of-the-fleet"
const ANSWER = ["Resumable ", "delivery ", "sends ", "what ", "follows, ", "once."]

const memory = (options?: AnswerBuffer.Options) =>
  Effect.runSync(Effect.scoped(Layer.build(AnswerBuffer.layerMemory({ secret: SECRET, ...options })))).pipe(
    (context) => context.mapUnsafe.get(AnswerBuffer.AnswerBuffer.key) as AnswerBuffer.Buffer
  )

interface Frame {
  readonly event: string | undefined
  readonly data: string | undefined
  readonly id: string | undefined
}

/** The events of an event-stream body, comments left out. */
const framesOf = (body: string): Array<Frame> =>
  body.split("\n\n").filter((block) => block !== "" && !block.startsWith(":")).map((block) => {
    const field = (name: string) =>
      block.split("\n").find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2)
    return { event: field("event"), data: field("data"), id: field("id") }
  })

const answer = (source = TestSource.make(ANSWER)) => L0.stream({ stream: source.stream })

const respond = (
  buffer: AnswerBuffer.Buffer,
  sessionId: string,
  lastEventId?: string,
  source?: TestSource.TestSource
) => Sse.toResponse(answer(source), { resume: { buffer, sessionId, lastEventId }, keepAlive: "Infinity" })

/** The text a list of frames leaves, resets applied. */
const textOf = (frames: ReadonlyArray<Frame>) => {
  let text = ""
  for (const frame of frames) {
    if (frame.event === "token") text += JSON.parse(frame.data!) as string
    if (frame.event === "reset") text = text.slice(0, (JSON.parse(frame.data!) as { kept: number }).kept)
  }
  return text
}

describe("Sse with resume: one process, the memory buffer", () => {
  it("gives every event an id, and a reconnect with any of them gets exactly what follows", async () => {
    const buffer = memory()
    const frames = framesOf(await respond(buffer, "s-1").text())
    // the first id is a cursor before any event, so that even a drop before the first token resumes
    expect(frames[0]).toMatchObject({ event: undefined, data: undefined })
    expect(frames.every((frame) => frame.id !== undefined)).toBe(true)
    expect(frames.at(-1)!.event).toBe("complete")
    expect(textOf(frames)).toBe(ANSWER.join(""))
    for (let i = 0; i < frames.length - 1; i++) {
      // from the cursor before the first event, the answer from its start (after that cursor again)
      const rest = framesOf(await respond(buffer, "s-1", frames[i]!.id).text()).filter((frame) => frame.event)
      expect(rest.map((frame) => frame.id)).toEqual(frames.slice(i + 1).map((frame) => frame.id))
      expect(textOf(frames.slice(0, i + 1)) + textOf(rest)).toBe(ANSWER.join(""))
    }
  })

  it("a second request of the same session replays the answer and never generates it again", async () => {
    const buffer = memory()
    const source = TestSource.make(ANSWER)
    const first = await respond(buffer, "s-2", undefined, source).text()
    const second = await respond(buffer, "s-2", undefined, source).text()
    expect(textOf(framesOf(second))).toBe(ANSWER.join(""))
    expect(framesOf(second).slice(1)).toEqual(framesOf(first).slice(1))
    expect(source.calls).toHaveLength(1)
  })

  it("follows an answer that is still being generated", async () => {
    const buffer = memory()
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const source: TestSource.TestSource = {
      calls: [],
      stream: () =>
        Effect.succeed(Stream.concat(
          Stream.make("first "),
          Stream.fromEffect(Effect.promise(() => gate)).pipe(Stream.flatMap(() => Stream.make("second")))
        ))
    }
    const origin = respond(buffer, "s-3", undefined, source).body!.getReader()
    const decoder = new TextDecoder()
    let seen = ""
    // bounded: the first token arrives within a few reads
    for (let i = 0; i < 50 && !seen.includes("first"); i++) seen += decoder.decode((await origin.read()).value)
    await origin.cancel()
    const tokenId = framesOf(seen).find((frame) => frame.event === "token")!.id!
    const follower = respond(buffer, "s-3", tokenId).text()
    release()
    const rest = framesOf(await follower)
    expect(textOf(rest)).toBe("second")
    expect(rest.at(-1)!.event).toBe("complete")
  })

  it("refuses a cursor of another session and a forged one with a ResumeError, sending no data", async () => {
    const buffer = memory()
    const frames = framesOf(await respond(buffer, "alice").text())
    await respond(buffer, "bob").text()
    const alice = frames[2]!.id!
    const forged = alice.replace(/\.(.)/, (_, c: string) => `.${c === "A" ? "B" : "A"}`)
    for (
      const [session, cursor] of [["bob", alice], ["alice", forged], ["alice", "1-1"], ["alice", "x".repeat(5000)]]
    ) {
      const got = framesOf(await respond(buffer, session!, cursor).text())
      expect(got).toHaveLength(1)
      expect(got[0]!.event).toBe("error")
      expect(JSON.parse(got[0]!.data!)).toMatchObject({ tag: "ResumeError", reason: "invalid", category: "fatal" })
    }
    // a cursor past the end of the answer (a number changed, the signature kept) is refused too
    const [generation, rest] = alice.split("-")
    const past = `${generation}-99.${rest!.split(".")[1]}`
    expect(JSON.parse(framesOf(await respond(buffer, "alice", past).text())[0]!.data!)).toMatchObject({
      reason: "invalid"
    })
  })

  it("a reconnect after the TTL gets a ResumeError that says the answer expired", async () => {
    await Effect.runPromise(
      Effect.gen(function*() {
        const buffer = yield* AnswerBuffer.AnswerBuffer
        const response = yield* Sse.toResponseEffect(answer(), {
          resume: { buffer, sessionId: "s-ttl" },
          keepAlive: "Infinity"
        })
        const frames = framesOf(yield* Effect.promise(() => response.text()))
        yield* TestClock.adjust("11 minutes")
        const late = yield* Sse.toResponseEffect(answer(), {
          resume: { buffer, sessionId: "s-ttl", lastEventId: frames[1]!.id },
          keepAlive: "Infinity"
        })
        const got = framesOf(yield* Effect.promise(() => late.text()))
        expect(got).toHaveLength(1)
        expect(JSON.parse(got[0]!.data!)).toMatchObject({ tag: "ResumeError", reason: "expired" })
        expect(JSON.parse(got[0]!.data!).message).toMatch(/no longer buffered/)
      }).pipe(
        Effect.provide(AnswerBuffer.layerMemory({ secret: SECRET, ttl: "10 minutes" })),
        Effect.provide(TestClock.layer())
      )
    )
  })

  it("falls back to a plain stream, without ids, when the buffer's store is down at the start", async () => {
    const down = new AnswerBuffer.StoreError({ operation: "open", message: "down" })
    const buffer = await Effect.runPromise(AnswerBuffer.make({
      open: () => Effect.fail(down),
      append: () => Effect.fail(down),
      read: () => Effect.fail(down)
    }, { secret: SECRET }))
    const frames = framesOf(await respond(buffer, "s-down").text())
    expect(frames.every((frame) => frame.id === undefined)).toBe(true)
    expect(textOf(frames)).toBe(ANSWER.join(""))
    expect(frames.at(-1)!.event).toBe("complete")
  })

  it("a store that never answers counts as down after storeTimeout", async () => {
    const buffer = await Effect.runPromise(AnswerBuffer.make({
      open: () => Effect.never,
      append: () => Effect.never,
      read: () => Effect.never
    }, { secret: SECRET, storeTimeout: "20 millis" }))
    const frames = framesOf(await respond(buffer, "s-hung").text())
    expect(textOf(frames)).toBe(ANSWER.join(""))
    expect(frames.every((frame) => frame.id === undefined)).toBe(true)
  })

  it("rejects a secret that is too short and misspelt options", async () => {
    const short = await Effect.runPromiseExit(Effect.scoped(Layer.build(AnswerBuffer.layerMemory({ secret: "short" }))))
    expect(JSON.stringify(short)).toMatch(/secret/)
    expect(JSON.stringify(short)).not.toMatch(/"short"/)
    const misspelt = await Effect.runPromiseExit(
      Effect.scoped(Layer.build(AnswerBuffer.layerMemory({ secret: SECRET, tll: "1 minute" } as AnswerBuffer.Options)))
    )
    expect(JSON.stringify(misspelt)).toMatch(/tll/)
  })
})

describe("effect-l0/client: reconnecting", () => {
  /** A fetch that cuts each response after `cut(n)` bytes of the n-th connection. */
  const flaky = (buffer: AnswerBuffer.Buffer, sessionId: string, cut: (connection: number) => number) => {
    const cursors: Array<string | undefined> = []
    const request = (lastEventId: string | undefined) => {
      cursors.push(lastEventId)
      const limit = cut(cursors.length)
      const response = respond(buffer, sessionId, lastEventId)
      const reader = response.body!.getReader()
      let sent = 0
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read()
          if (done) return controller.close()
          if (sent + value.length > limit) {
            controller.enqueue(value.slice(0, limit - sent))
            await reader.cancel()
            return controller.error(new TypeError("network error"))
          }
          sent += value.length
          controller.enqueue(value)
        }
      })
      return new Response(body, { headers: response.headers })
    }
    return { request, cursors }
  }

  it("resumes after every drop and shows the whole answer exactly once", async () => {
    const buffer = memory()
    const { cursors, request } = flaky(buffer, "c-1", (n) => n < 4 ? 90 + n * 7 : Infinity)
    const texts: Array<string> = []
    const reply = read(request, { onText: (text) => texts.push(text), reconnect: { delay: 0 } })
    const { complete, text } = await reply.result
    expect(text).toBe(ANSWER.join(""))
    expect(complete.state.content).toBe(ANSWER.join(""))
    // never more than the answer: each text shown is a prefix of it
    expect(texts.every((shown) => ANSWER.join("").startsWith(shown))).toBe(true)
    expect(cursors[0]).toBeUndefined()
    expect(cursors.slice(1).every((cursor) => cursor !== undefined)).toBe(true)
    expect(cursors.length).toBe(4)
  })

  it("gives up after `attempts` reconnections in a row without progress, with the NetworkError", async () => {
    const buffer = memory()
    await respond(buffer, "c-2").text()
    let calls = 0
    const reconnects: Array<number> = []
    const reply = read((lastEventId) => {
      calls++
      if (lastEventId !== undefined) return Promise.reject(new TypeError("fetch failed"))
      return flaky(buffer, "c-2", () => 60).request(undefined)
    }, { reconnect: { attempts: 3, delay: 0 }, onReconnect: (attempt) => reconnects.push(attempt) })
    const error = await reply.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StreamError)
    expect((error as StreamError).tag).toBe("NetworkError")
    expect(reconnects).toEqual([1, 2, 3])
    expect(calls).toBe(4)
  })

  it("does not reconnect a stream without ids (no resume), nor after a server error event", async () => {
    let calls = 0
    const plain = read(() => {
      calls++
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`event: token\ndata: "a"\n\n`))
          controller.error(new TypeError("network error"))
        }
      })
      return new Response(body, { headers: { "content-type": "text/event-stream" } })
    }, { reconnect: { delay: 0 } })
    expect(((await plain.result.catch((e: unknown) => e)) as StreamError).tag).toBe("NetworkError")
    expect(calls).toBe(1)
    const buffer = memory()
    const refused = read(() => respond(buffer, "c-3", "1-1.AAAAAAAAAAAAAAAAAAAAAA"), { reconnect: { delay: 0 } })
    const error = (await refused.result.catch((e: unknown) => e)) as StreamError
    expect(error.tag).toBe("ResumeError")
    expect(error.reason).toBe("invalid")
  })

  it("rejects invalid reconnect options", async () => {
    const reply = read(new Response(""), { reconnect: { attempts: -1 } })
    expect(((await reply.result.catch((e: unknown) => e)) as StreamError).message).toMatch(/reconnect.attempts/)
  })
})
