// LineReader on a real stream, fed in awkward chunks: lines across chunks, a character split between
// two chunks, blank lines, a last line without its newline, and lines over the cap.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { LineReader, type LineItem } from "../../src/host/line-reader.js";

async function readAll(chunks: readonly Buffer[], max: number): Promise<LineItem[]> {
  const stream = new PassThrough();
  const reader = new LineReader(stream, max);
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  const items: LineItem[] = [];
  for (let item = await reader.next(); item !== undefined; item = await reader.next()) items.push(item);
  return items;
}

/** `text` as single-byte chunks: every boundary there is. */
const byteByByte = (text: string): Buffer[] => [...Buffer.from(text)].map((b) => Buffer.from([b]));

describe("LineReader", () => {
  it("splits lines whatever the chunks, keeps multi-byte characters whole, skips blank lines", async () => {
    const text = '{"a":"é€😀"}\n\n  \n{"b":2}\r\n{"c":3}';
    const expected = ['{"a":"é€😀"}', '{"b":2}\r', '{"c":3}'].map((t) => ({ kind: "line", text: t }));
    expect(await readAll([Buffer.from(text)], 1000)).toEqual(expected);
    expect(await readAll(byteByByte(text), 1000)).toEqual(expected);
  });

  it("replaces a line over the cap by one too_large item with its size, and reads on", async () => {
    const long = "x".repeat(50);
    const text = `ok1\n${long}\nok2\n${long}`;
    const expected = [
      { kind: "line", text: "ok1" },
      { kind: "too_large", bytes: 50 },
      { kind: "line", text: "ok2" },
      { kind: "too_large", bytes: 50 },
    ];
    expect(await readAll([Buffer.from(text)], 20)).toEqual(expected);
    expect(await readAll(byteByByte(text), 20)).toEqual(expected);
  });

  it("accepts a line of exactly the cap", async () => {
    expect(await readAll([Buffer.from(`${"y".repeat(20)}\n`)], 20)).toEqual([{ kind: "line", text: "y".repeat(20) }]);
  });

  it("stop() ends the items at once", async () => {
    const stream = new PassThrough();
    const reader = new LineReader(stream, 100);
    stream.write("a\nb\n");
    await new Promise((resolve) => setImmediate(resolve));
    reader.stop();
    expect(await reader.next()).toBeUndefined();
  });
});
