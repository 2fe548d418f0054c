import * as Sharding from "effect/cluster/Sharding"
import * as TestRunner from "effect/cluster/TestRunner"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { AnswerBuffer, Checkpoint, Fleet } from "effect-l0"
import { read } from "effect-l0/client"
import { TestSource } from "effect-l0/testing"
import { describe, expect, it } from "vitest"

const SECRET = "a-test-secret-of-the-fleet"

const chat = (source: TestSource.TestSource, seen: Array<string>) =>
  Fleet.make({
    input: Schema.Struct({ question: Schema.String }),
    answer: ({ input, sessionId }) => {
      seen.push(`${sessionId}: ${input.question}`)
      return { stream: source.stream }
    }
  })

describe("Fleet on an in-memory cluster (TestRunner)", () => {
  it("respond starts the answer on its entity and follows it from the buffer; a second request replays it", async () => {
    const source = TestSource.make(["One ", "answer ", "per ", "session."])
    const seen: Array<string> = []
    const Chat = chat(source, seen)
    const program = Effect.gen(function*() {
      const first = yield* Chat.respond({ sessionId: "f-1", input: { question: "why?" }, keepAlive: "Infinity" })
      const reply = read(first)
      const again = yield* Chat.respond({ sessionId: "f-1", input: { question: "why?" }, keepAlive: "Infinity" })
      return [yield* Effect.promise(() => reply.result), yield* Effect.promise(() => read(again).result)] as const
    })
    const [first, again] = await Effect.runPromise(program.pipe(
      Effect.provide(Chat.layer.pipe(
        Layer.provideMerge(TestRunner.layer),
        Layer.provideMerge(AnswerBuffer.layerMemory({ secret: SECRET })),
        Layer.provideMerge(Checkpoint.layerMemory)
      ))
    ))
    expect(first.text).toBe("One answer per session.")
    expect(again.text).toBe(first.text)
    // one generation, on the entity; the second request only read the buffer
    expect(seen).toEqual(["f-1: why?"])
    expect(source.calls).toHaveLength(1)
  })

  it("when the cluster cannot take the message, the answer is generated here, still resumable", async () => {
    const source = TestSource.make(["Generated ", "locally."])
    const seen: Array<string> = []
    const Chat = chat(source, seen)
    // a cluster that cannot take anything: every operation of its Sharding fails (its storage is down)
    const Down = Layer.succeed(Sharding.Sharding)(
      new Proxy({}, { get: () => () => Effect.fail(new Error("the message storage is down")) }) as never
    )
    const program = Effect.gen(function*() {
      const response = yield* Chat.respond({ sessionId: "f-2", input: { question: "q" }, keepAlive: "Infinity" })
      const body = yield* Effect.promise(() => response.text())
      return body
    })
    const body = await Effect.runPromise(program.pipe(
      Effect.provide(Layer.mergeAll(
        Down,
        AnswerBuffer.layerMemory({ secret: SECRET }),
        Checkpoint.layerMemory
      ))
    ))
    // the send failed: the answer comes from here, with ids
    expect(body).toMatch(/id: \d+-1\./)
    expect(body).toContain("Generated locally.")
    expect(seen).toEqual(["f-2: q"])
  })
})
