// Compiled with moduleResolution node16 and skipLibCheck off, as CommonJS.
import { Guardrails, L0, L0Error } from "effect-l0"
import * as L0Subpath from "effect-l0/L0"
import type { L0Event } from "effect-l0/L0Event"
import { ProviderServer, TestSource } from "effect-l0/testing"

export const stream = L0Subpath.stream({
  stream: TestSource.make(["a"]).stream,
  guardrails: Guardrails.recommended
})
export const tagOf = (error: L0Error.L0Error): string => error._tag
export const isToken = (event: L0Event): boolean => event._tag === "Token"
export const same: typeof L0.stream = L0Subpath.stream
export const server: Promise<ProviderServer.AsyncProviderServer> = ProviderServer.listen(["Hello"])
