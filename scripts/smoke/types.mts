// Compiled with moduleResolution node16 and skipLibCheck off, as an ES module.
import type * as Stream from "effect/Stream"
import { Guardrails, L0, L0Error } from "effect-l0"
import * as L0Subpath from "effect-l0/L0"
import type { L0Event } from "effect-l0/L0Event"
import { ProviderServer, TestSource } from "effect-l0/testing"

export const stream: Stream.Stream<L0Event, L0Error.L0Error> = L0Subpath.stream({
  stream: TestSource.make(["a"]).stream,
  guardrails: Guardrails.recommended
})
export const same: typeof L0.stream = L0Subpath.stream
export const server: Promise<ProviderServer.AsyncProviderServer> = ProviderServer.listen(["Hello"])
