/**
 * The page of examples/ai-sdk-use-chat.ts: a React chat with the AI SDK's
 * `useChat`, unchanged from what an AI SDK app writes. It sends one message
 * when it loads and shows the assistant's text parts; `body[data-state]`
 * says when the answer is done, for the browser test.
 */
import { useChat } from "@ai-sdk/react"
import { createElement as h, useEffect, useRef } from "react"
import { createRoot } from "react-dom/client"

/** `?mode=model`: the endpoint whose model is wrapped with `AiSdk.middleware`; default: an L0 run. */
const mode = new URLSearchParams(location.search).get("mode") ?? "run"

const Chat = () => {
  const { messages, sendMessage, status, error } = useChat()
  const sent = useRef(false)
  useEffect(() => {
    if (sent.current) return
    sent.current = true
    void sendMessage({ text: "Tell me about the fox" }, { body: { mode } })
  }, [sendMessage])
  const answer = messages.filter((message) => message.role === "assistant").at(-1)
  const text = answer?.parts.map((part) => part.type === "text" ? part.text : "").join("") ?? ""
  useEffect(() => {
    if (status === "ready" && answer !== undefined) document.body.dataset.state = "done"
    if (status === "error") {
      document.body.dataset.state = "error"
      document.body.dataset.error = error?.message ?? ""
    }
  }, [status, answer, error])
  return h(
    "main",
    null,
    h("h1", null, "effect-l0 with useChat"),
    h("p", { id: "status" }, status),
    h("p", { id: "answer" }, text)
  )
}

createRoot(document.getElementById("root")!).render(h(Chat))
