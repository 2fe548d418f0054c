import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Sse from "effect/encoding/Sse"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Predicate from "effect/Predicate"
import * as Pull from "effect/Pull"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { HttpOptions } from "../adapters/http.js"
import type { AttemptContext } from "./l0Types.js"
import type { L0Error } from "../L0Error.js"
import { FatalError, fromUnknown, ModelError, NetworkError } from "../L0Error.js"
import { isJsonContentType, isRecord } from "./decode.js"
import { ClosedStruct, decoder, Fn, guarded, invalidOption, meant, Secret } from "./optionSchema.js"
import * as Redact from "./redact.js"

/** What differs between providers: where to send and how to authenticate. */
export interface Provider {
  readonly label: string
  readonly factory: string
  readonly baseUrl: string
  readonly path: string
  readonly auth: (
    request: HttpClientRequest.HttpClientRequest,
    key: Redacted.Redacted<string>
  ) => HttpClientRequest.HttpClientRequest
  readonly headers: Readonly<Record<string, string>>
}

interface Resolved {
  readonly url: string
  readonly key: Redacted.Redacted<string>
  readonly body: HttpOptions["body"]
  readonly headers: Readonly<Record<string, string>>
  /** Removes the key, should the server echo it. */
  readonly removeKey: Redact.Scrub
  /** `removeKey`, then anything else shaped like a key: for error messages and causes. */
  readonly scrub: Redact.Scrub
}

/** At most this much of an error response body is kept (as the error's cause). */
const ERROR_BODY_LIMIT = 16 * 1024

const HttpOptionsSchema = ClosedStruct(
  {
    apiKey: Secret,
    baseUrl: Schema.optional(guarded(Predicate.isString, "a URL")),
    path: Schema.optional(guarded(Predicate.isString, "a path such as \"/responses\"")),
    body: Schema.Union([guarded(isRecord, "a request body object"), Fn()]).annotate({
      expected: "a request body object or a function of the attempt returning one"
    }),
    headers: Schema.optional(Schema.Record(Schema.String, Schema.String).annotate({ expected: "a record of strings" }))
  },
  "an options object",
  { url: meant("baseUrl"), key: meant("apiKey") }
)

/** Decodes the options once, when the adapter factory is called; errors name them `Adapters.<factory>.<option>`. */
const resolve = (provider: Provider, options: unknown): Result.Result<Resolved, FatalError> =>
  Result.flatMap(
    decoder(HttpOptionsSchema, `Adapters.${provider.factory}`, true)(options),
    ({ apiKey, baseUrl, body, headers, path }) => {
      const key = Redacted.isRedacted(apiKey) ? Redacted.value(apiKey) : apiKey
      const url = `${(baseUrl ?? provider.baseUrl).replace(/\/+$/, "")}/${(path ?? provider.path).replace(/^\/+/, "")}`
      if (!URL.canParse(url)) {
        return Result.fail(invalidOption(`Adapters.${provider.factory}.baseUrl`, "a URL", baseUrl))
      }
      const removeKey = Redact.exact([key]) ?? identity
      return Result.succeed({
        url,
        key: Redacted.make(key),
        body: body as HttpOptions["body"],
        headers: headers ?? {},
        removeKey,
        scrub: (text: string) => Redact.redactSecrets(removeKey(text))
      })
    }
  )

const request = (
  provider: Provider,
  config: Resolved,
  ctx: AttemptContext
): Effect.Effect<HttpClientRequest.HttpClientRequest, FatalError> =>
  Effect.try({
    try: () => {
      const body = typeof config.body === "function" ? config.body(ctx) : config.body
      return provider.auth(
        HttpClientRequest.post(config.url).pipe(
          HttpClientRequest.setHeaders({ ...provider.headers, ...config.headers }),
          HttpClientRequest.accept("text/event-stream"),
          HttpClientRequest.bodyText(JSON.stringify({ ...body, stream: true }), "application/json")
        ),
        config.key
      )
    },
    catch: () => invalidOption(`Adapters.${provider.factory}.body`, "a body that can be sent as JSON", config.body)
  })

/** Connection failures, before or during the body: always network errors. */
const transportError = (
  provider: Provider,
  error: HttpClientError.HttpClientError,
  now: number,
  scrub: Redact.Scrub
): NetworkError => {
  const cause = "cause" in error.reason ? error.reason.cause : undefined
  const detail = cause instanceof Error ? cause.message : error.reason._tag
  const classified = fromUnknown(cause ?? error.reason, now)
  return Redact.error(
    new NetworkError({
      reason: classified._tag === "NetworkError" ? classified.reason ?? "socket" : "socket",
      message: `The ${provider.label} request failed: ${detail}`,
      cause
    }),
    scrub
  )
}

/** A non-2xx response: categorized by the provider's error type, then the status; keeps `Retry-After`. */
const statusError = (
  provider: Provider,
  response: HttpClientResponse.HttpClientResponse,
  scrub: Redact.Scrub
): Effect.Effect<L0Error> =>
  Effect.gen(function*() {
    const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
    // a provider or proxy may echo the key in its error page
    const body = scrub(text.slice(0, ERROR_BODY_LIMIT))
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      parsed = undefined
    }
    const error = isRecord(parsed) ? parsed.error : undefined
    const detail = isRecord(error) && typeof error.message === "string" ? `: ${error.message}` : ""
    const now = yield* Clock.currentTimeMillis
    return Redact.error(
      fromUnknown({
        message: `${provider.label} responded ${response.status}${detail}`,
        status: response.status,
        headers: response.headers,
        error,
        body
      }, now),
      scrub
    )
  })

const malformed = (provider: Provider, detail: string): ModelError =>
  new ModelError({ message: `${provider.label} sent malformed SSE: ${detail}` })

const preview = (data: string): string => JSON.stringify(data.length > 40 ? `${data.slice(0, 40)}…` : data)

/**
 * SSE text to the JSON value of each event's data, without `[DONE]`.
 * Invalid JSON is a `ModelError` (after the events before it); an event
 * cut off by the end of the body is a `NetworkError`. `key` removes the API
 * key from the data, should the server echo it (in an error event, say).
 */
const sseEvents = <E>(
  provider: Provider,
  text: Stream.Stream<string, E>,
  key: Redact.Scrub
): Stream.Stream<unknown, E | L0Error> =>
  Stream.transformPull(text, (upstream) =>
    Effect.sync(() => {
      let parsed: Array<unknown> = []
      let failure: L0Error | undefined
      let ended = false
      let done = false
      const parser = Sse.makeParser((event) => {
        if (event._tag !== "Event" || done || failure !== undefined) return
        if (event.data === "[DONE]") {
          done = true
          return
        }
        const data = key(event.data)
        try {
          parsed.push(JSON.parse(data))
        } catch {
          failure = ended
            ? new NetworkError({
              reason: "eof",
              message: `The ${provider.label} stream ended in the middle of an event`
            })
            : malformed(provider, `the data of event "${event.event}" is not JSON: ${preview(data)}`)
        }
      })
      const feed = (chunks: ReadonlyArray<string>): void => {
        for (const chunk of chunks) {
          const error = parser.feed(chunk)
          if (error !== undefined) failure ??= malformed(provider, error.message)
        }
      }
      const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<unknown>, E | L0Error, void> = Effect.suspend(() => {
        if (parsed.length > 0) {
          const out = parsed as unknown as Arr.NonEmptyReadonlyArray<unknown>
          parsed = []
          return Effect.succeed(out)
        }
        if (failure !== undefined) return Effect.fail(failure)
        if (ended) return Cause.done()
        return upstream.pipe(
          Effect.map(feed),
          // a body that ends without the blank line after its last event still dispatches it
          Pull.catchDone(() =>
            Effect.sync(() => {
              ended = true
              feed(["\n\n"])
            })
          ),
          Effect.flatMap(() => pull)
        )
      })
      return pull
    }))

/**
 * The JSON body of a gateway that ignored `stream: true`: the whole
 * completion, one chunk for the adapters. An empty body gives no chunk.
 */
const wholeAnswer = (provider: Provider) => (text: string): Stream.Stream<unknown, ModelError> => {
  if (text.trim().length === 0) return Stream.empty
  try {
    return Stream.succeed(JSON.parse(text))
  } catch {
    return Stream.fail(
      new ModelError({ message: `${provider.label} answered with JSON instead of a stream, and it is not valid JSON` })
    )
  }
}

const aborted = (signal: AbortSignal): Effect.Effect<never, FatalError> =>
  Effect.callback<never, FatalError>((resume) => {
    const onAbort = () =>
      resume(Effect.fail(new FatalError({ reason: "aborted", message: "The request was aborted by its AbortSignal" })))
    if (signal.aborted) return onAbort()
    signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })

/**
 * A source factory that POSTs `options.body` (with `stream: true`) and
 * streams the JSON of each SSE event.
 *
 * @internal
 */
export const sseSource = (provider: Provider, options: HttpOptions) => {
  const resolved = resolve(provider, options)
  return (ctx: AttemptContext): Stream.Stream<unknown, L0Error> => {
    if (Result.isFailure(resolved)) return Stream.fail(resolved.failure)
    const config = resolved.success
    return Stream.unwrap(Effect.gen(function*() {
      const client = HttpClient.withScope(yield* HttpClient.HttpClient)
      const failed = (error: HttpClientError.HttpClientError) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => Effect.fail(transportError(provider, error, now, config.scrub))
        )
      const response = yield* client.execute(yield* request(provider, config, ctx)).pipe(
        Effect.catchTag("HttpClientError", failed)
      )
      if (response.status < 200 || response.status >= 300) {
        return yield* Effect.flip(statusError(provider, response, config.scrub))
      }
      if (isJsonContentType(response.headers["content-type"])) {
        const text = Effect.catchTag(response.text, "HttpClientError", failed)
        return Stream.unwrap(Effect.map(text, (whole) => wholeAnswer(provider)(config.removeKey(whole))))
      }
      const body = response.stream.pipe(
        Stream.catchTag("HttpClientError", (error) => Stream.fromEffect(failed(error))),
        Stream.decodeText
      )
      return sseEvents(provider, body, config.removeKey)
    })).pipe(
      Stream.interruptWhen(aborted(ctx.signal)),
      Stream.provide(FetchHttpClient.layer)
    )
  }
}
