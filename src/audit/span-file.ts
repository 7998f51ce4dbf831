import type { Span } from "./span.js";

/**
 * The text of `JSON.stringify(spans, null, 2)` plus a final newline, in pieces, one span at a
 * time: a span file as large as its audit log is written without holding every span in memory.
 */
export async function* spanArrayJson(spans: Iterable<Span> | AsyncIterable<Span>): AsyncGenerator<string, void, undefined> {
  let first = true;
  for await (const span of spans) {
    // Nested lines gain the two spaces of the array's own indentation; a JSON string holds no raw newline.
    yield `${first ? "[\n  " : ",\n  "}${JSON.stringify(span, null, 2).replaceAll("\n", "\n  ")}`;
    first = false;
  }
  yield first ? "[]\n" : "\n]\n";
}
