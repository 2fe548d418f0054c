/**
 * Broken JSON as language models write it, with the value a caller wants
 * back. Truncated text keeps every complete member and drops a key that
 * has no value yet (the same rule as the streamed partial values).
 */
export interface Case {
  readonly name: string
  readonly input: string
  readonly expected: unknown
  /**
   * What the incremental parser gives where it differs: it cannot look ahead
   * to a fenced value after brackets in the prose, as a whole-text parse does.
   */
  readonly streamed?: unknown
}

const nested = (depth: number, leaf: unknown): unknown => {
  let value = leaf
  for (let i = 0; i < depth; i++) value = { child: value }
  return value
}

export const corpus: ReadonlyArray<Case> = [
  // valid JSON stays as it is
  { name: "plain object", input: `{"name": "Ada", "age": 36}`, expected: { name: "Ada", age: 36 } },
  {
    name: "nested object and arrays",
    input: `{"user": {"id": 7, "roles": ["admin", "dev"]}, "active": true, "score": null}`,
    expected: { user: { id: 7, roles: ["admin", "dev"] }, active: true, score: null }
  },
  { name: "top-level array", input: `[{"a": 1}, {"a": 2}]`, expected: [{ a: 1 }, { a: 2 }] },
  { name: "empty object", input: `{}`, expected: {} },
  { name: "empty array", input: `[]`, expected: [] },
  { name: "escaped quotes", input: `{"quote": "He said \\"hi\\" twice"}`, expected: { quote: `He said "hi" twice` } },
  {
    name: "unicode escapes and surrogate pairs",
    input: `{"s": "caf\\u00e9 \\ud83d\\ude00"}`,
    expected: { s: "café 😀" }
  },
  {
    name: "CJK and emoji text",
    input: `{"名前": "山田太郎", "emoji": "👩‍👩‍👧 🇯🇵 𝄞", "ko": "안녕하세요"}`,
    expected: { 名前: "山田太郎", emoji: "👩‍👩‍👧 🇯🇵 𝄞", ko: "안녕하세요" }
  },
  { name: "escaped backslash before the closing quote", input: `{"dir": "C:\\\\"}`, expected: { dir: "C:\\" } },
  { name: "braces inside strings", input: `{"t": "use {name} and [x]"}`, expected: { t: "use {name} and [x]" } },
  { name: "negative exponent", input: `{"x": -1.5e-3}`, expected: { x: -0.0015 } },
  { name: "top-level number", input: `42`, expected: 42 },
  { name: "top-level string", input: `"hello"`, expected: "hello" },
  { name: "top-level literal", input: `true`, expected: true },

  // markdown fences
  { name: "json fence", input: "```json\n{\"a\": 1}\n```", expected: { a: 1 } },
  { name: "fence without language", input: "```\n[1, 2]\n```", expected: [1, 2] },
  { name: "uppercase fence language", input: "```JSON\n{\"ok\": true}\n```", expected: { ok: true } },
  {
    name: "prose around a fence",
    input: "Here is the data you asked for:\n\n```json\n{\"city\": \"Paris\"}\n```\n\nLet me know if you need more!",
    expected: { city: "Paris" }
  },
  { name: "fence never closed", input: "```json\n{\"a\": [1, 2]}", expected: { a: [1, 2] } },
  {
    name: "nested fence inside a string",
    input: "```json\n{\"code\": \"```python\\nprint(1)\\n```\", \"lang\": \"py\"}\n```",
    expected: { code: "```python\nprint(1)\n```", lang: "py" }
  },
  {
    name: "fence inside a fence",
    input: "```json\n```json\n{\"a\": 1}\n```\n```",
    expected: { a: 1 }
  },
  { name: "fenced top-level number", input: "```json\n42\n```", expected: 42 },
  {
    name: "a bracketed number in the prose before a fenced object",
    input: "Here is item [1] as you asked:\n```json\n{\"id\": 1, \"name\": \"bolt\"}\n```",
    expected: { id: 1, name: "bolt" },
    streamed: [1]
  },
  {
    name: "braces in the prose before a fenced object",
    input: "Sure! The {name} field is filled in below:\n\n~~~json\n{\"name\": \"Ada\"}\n~~~\n",
    expected: { name: "Ada" },
    streamed: {}
  },
  {
    name: "bracketed prose before a fenced array",
    input: "Results [as requested]:\n```json\n[\"x\", \"y\"]\n```",
    expected: ["x", "y"]
  },

  // prose
  {
    name: "prose before and after",
    input: `Sure! Here's the JSON: {"a": 1, "b": [true]} Hope this helps.`,
    expected: { a: 1, b: [true] }
  },
  {
    name: "prose after with braces",
    input: `{"a": 1}\n\nNote: replace {a} with your value.`,
    expected: { a: 1 }
  },
  { name: "two values, the first wins", input: `{"a": 1}\n{"b": 2}`, expected: { a: 1 } },
  { name: "function call wrapper", input: `callback({"a": 1});`, expected: { a: 1 } },

  // commas
  { name: "trailing comma in object", input: `{"a": 1, "b": 2,}`, expected: { a: 1, b: 2 } },
  { name: "trailing comma in array", input: `[1, 2, 3,]`, expected: [1, 2, 3] },
  {
    name: "trailing commas on new lines",
    input: "{\n  \"items\": [\n    \"a\",\n    \"b\",\n  ],\n}",
    expected: { items: ["a", "b"] }
  },
  { name: "double commas", input: `[1,,2]`, expected: [1, 2] },
  {
    name: "missing comma between members on new lines",
    input: "{\n  \"a\": \"x\"\n  \"b\": 2\n}",
    expected: { a: "x", b: 2 }
  },
  { name: "missing commas in an array", input: `[1 2 3]`, expected: [1, 2, 3] },
  { name: "missing comma between objects", input: `[{"a": 1} {"b": 2}]`, expected: [{ a: 1 }, { b: 2 }] },
  { name: "missing colon", input: `{"a" 1}`, expected: { a: 1 } },

  // truncation
  { name: "truncated mid-string", input: `{"name": "Ada Lovel`, expected: { name: "Ada Lovel" } },
  { name: "truncated mid-key", input: `{"name": "Ada", "ag`, expected: { name: "Ada" } },
  { name: "truncated after a colon", input: `{"name": "Ada", "age":`, expected: { name: "Ada" } },
  { name: "truncated mid-number", input: `{"a": 1, "pi": 3.14`, expected: { a: 1, pi: 3.14 } },
  { name: "truncated after a decimal point", input: `{"pi": 3.`, expected: { pi: 3 } },
  { name: "truncated in an exponent", input: `{"e": 1e`, expected: { e: 1 } },
  { name: "truncated after a minus sign", input: `[1, -`, expected: [1] },
  { name: "truncated mid-literal", input: `{"ok": tr`, expected: { ok: true } },
  { name: "truncated mid-null", input: `[1, nul`, expected: [1, null] },
  { name: "truncated array", input: `[1, 2, 3`, expected: [1, 2, 3] },
  { name: "truncated after a comma", input: `[1, 2,`, expected: [1, 2] },
  { name: "truncated right after the brace", input: `{`, expected: {} },
  { name: "truncated after an opening quote (real openai-chat-length)", input: `{"`, expected: {} },
  {
    name: "truncated deep inside",
    input: `{"a": {"b": [{"c": "d`,
    expected: { a: { b: [{ c: "d" }] } }
  },
  { name: "truncated in an escape", input: `{"s": "line\\`, expected: { s: "line" } },
  { name: "truncated in a unicode escape", input: `{"s": "x\\u00`, expected: { s: "x" } },
  { name: "truncated between surrogate halves", input: `{"s": "x\\ud83d`, expected: { s: "x" } },
  { name: "truncated string in an array", input: `["alpha", "be`, expected: ["alpha", "be"] },
  { name: "truncated inside a fence", input: "```json\n{\"a\": [1, {\"b\": \"c", expected: { a: [1, { b: "c" }] } },
  { name: "truncated unquoted key", input: `{name: "x", ag`, expected: { name: "x" } },

  // quotes
  { name: "single quotes", input: `{'a': 'b', 'n': 1}`, expected: { a: "b", n: 1 } },
  { name: "apostrophe inside single quotes", input: `{'text': 'it's fine'}`, expected: { text: "it's fine" } },
  { name: "smart double quotes", input: `{“name”: “Ada”, “age”: 36}`, expected: { name: "Ada", age: 36 } },
  { name: "smart single quotes", input: `{‘a’: ‘b’}`, expected: { a: "b" } },
  { name: "smart apostrophe in smart quotes", input: `{“text”: “it’s”}`, expected: { text: "it’s" } },
  { name: "smart quotes inside a string stay", input: `{"q": "“Hi” she said"}`, expected: { q: "“Hi” she said" } },
  { name: "mixed quotes", input: `{"a": 'b', 'c': "d"}`, expected: { a: "b", c: "d" } },
  {
    name: "unescaped quotes inside a string",
    input: `{"quote": "He said "hello" to me", "n": 1}`,
    expected: { quote: `He said "hello" to me`, n: 1 }
  },

  // keys
  { name: "unquoted keys", input: `{name: "Ada", age: 36}`, expected: { name: "Ada", age: 36 } },
  {
    name: "unquoted keys with symbols and digits",
    input: `{_id: 1, $ref: "x", key2: true}`,
    expected: { _id: 1, $ref: "x", key2: true }
  },
  { name: "unquoted CJK key", input: `{名前: "山田"}`, expected: { 名前: "山田" } },

  // literals
  {
    name: "Python literals",
    input: `{"a": True, "b": False, "c": None}`,
    expected: { a: true, b: false, c: null }
  },
  {
    name: "Python dict repr",
    input: `{'ok': True, 'items': [1, 2], 'next': None}`,
    expected: { ok: true, items: [1, 2], next: null }
  },
  { name: "undefined", input: `{"a": undefined}`, expected: { a: null } },
  { name: "unquoted string value", input: `{"status": active, "n": 2}`, expected: { status: "active", n: 2 } },

  // comments
  { name: "line comments", input: "{\n  \"a\": 1, // the first\n  \"b\": 2\n}", expected: { a: 1, b: 2 } },
  { name: "block comments", input: `{/* note */ "a": /* inline */ 1}`, expected: { a: 1 } },
  { name: "hash comments", input: "{\n  # settings\n  \"debug\": false\n}", expected: { debug: false } },
  {
    name: "URL in a string next to a comment",
    input: "{\"url\": \"http://example.com/a\" // link\n}",
    expected: { url: "http://example.com/a" }
  },

  // numbers
  { name: "loose numbers", input: `[+1, .5, 2., 007]`, expected: [1, 0.5, 2, 7] },
  { name: "big integer", input: `{"id": 12345678901234567890}`, expected: { id: 12345678901234567890 } },

  // structure
  { name: "mismatched closer", input: `{"a": [1, 2}`, expected: { a: [1, 2] } },
  { name: "extra closing brace", input: `{"a": 1}}`, expected: { a: 1 } },
  { name: "ellipsis placeholder", input: `{"items": [1, 2, ...]}`, expected: { items: [1, 2] } },
  {
    name: "raw newlines and tabs in a string",
    input: "{\"text\": \"line1\nline2\tend\"}",
    expected: { text: "line1\nline2\tend" }
  },
  { name: "byte order mark and no-break spaces", input: "\uFEFF{\u00a0\"a\":\u00a01}", expected: { a: 1 } },
  {
    name: "unknown escapes kept (Windows path)",
    input: `{"path": "C:\\Users\\ada"}`,
    expected: { path: "C:\\Users\\ada" }
  },
  { name: "unknown escapes kept (regex)", input: `{"re": "\\d+"}`, expected: { re: "\\d+" } },
  {
    name: "deep nesting",
    input: `${`{"child": `.repeat(60)}1${"}".repeat(60)}`,
    expected: nested(60, 1)
  },
  { name: "deep nesting truncated", input: `${`{"child": `.repeat(40)}"end`, expected: nested(40, "end") },
  {
    name: "prototype key dropped",
    input: `{"__proto__": {"polluted": true}, "a": 1}`,
    expected: { a: 1 }
  },
  {
    name: "everything at once",
    input:
      "Sure! Here you go:\n```json\n{\n  // the user\n  name: 'Ada',\n  'langs': [\"en\", \"fr\",],\n  \"admin\": False,\n  “note”: “ok”,\n}\n```\nAnything else?",
    expected: { name: "Ada", langs: ["en", "fr"], admin: false, note: "ok" }
  }
]
