// Rego value text, as OPA's Wasm writes it with opa_value_dump (wasm/src/json.c): JSON, plus
// sets (`{1, 2}`, the empty one `set()`), object keys of any type (`{1: "a"}`) and numbers kept as
// written (`12345678901234567890`, `1.0`). The text comes out of a module someone else built,
// so it is parsed as hostile input: bounded depth, every malformation a ValueTextError, never a
// loop or a stack overflow.

import { RegoNumber, RegoObject, RegoSet, defineMember, numberText, regoNumber } from "./rego-value.js";

/** How deeply values may nest: deeper text is refused (no stack overflow on hostile text). */
export const MAX_VALUE_DEPTH = 1000;

/** Rego value text that is malformed, too deep, or not what the writer makes. */
export class ValueTextError extends Error {
  constructor(message: string, at: number) {
    super(`value text at offset ${at}: ${message}`);
    this.name = "ValueTextError";
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d*)?(?:[eE][+-]?\d+)?/y;

/** Parses Rego value text (JSON is a subset) into the host's value model (rego-value.ts). */
export function parseValueText(text: string): unknown {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.space();
  if (parser.at < text.length) throw new ValueTextError("unexpected text after the value", parser.at);
  return value;
}

class Parser {
  at = 0;

  constructor(private readonly text: string) {}

  space(): void {
    const { text } = this;
    while (this.at < text.length) {
      const code = text.charCodeAt(this.at);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return;
      this.at++;
    }
  }

  value(depth: number): unknown {
    if (depth > MAX_VALUE_DEPTH) throw new ValueTextError(`values nest deeper than ${MAX_VALUE_DEPTH}`, this.at);
    this.space();
    const { text } = this;
    const char = text[this.at];
    switch (char) {
      case "[":
        return this.array(depth);
      case "{":
        return this.objectOrSet(depth);
      case '"':
        return this.string();
      case "n":
        return this.word("null", null);
      case "t":
        return this.word("true", true);
      case "f":
        return this.word("false", false);
      case "s":
        return this.word("set()", new RegoSet([]));
      case undefined:
        throw new ValueTextError("the text ends where a value should be", this.at);
      default:
        return this.number();
    }
  }

  private word<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.at)) throw new ValueTextError(`expected a value, found ${JSON.stringify(this.text.slice(this.at, this.at + 8))}`, this.at);
    this.at += word.length;
    return value;
  }

  private number(): number | RegoNumber {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match || match[0] === "") throw new ValueTextError(`expected a value, found ${JSON.stringify(this.text.slice(this.at, this.at + 8))}`, this.at);
    this.at += match[0].length;
    return regoNumber(match[0]);
  }

  private string(): string {
    const { text } = this;
    const start = this.at;
    let index = start + 1;
    // The end is the first quote not escaped; JSON.parse then checks and decodes the escapes.
    for (;;) {
      const quote = text.indexOf('"', index);
      if (quote < 0) throw new ValueTextError("a string is not terminated", start);
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
      index = quote + 1;
      if (backslashes % 2 === 0) break;
    }
    this.at = index;
    try {
      return JSON.parse(text.slice(start, index)) as string;
    } catch {
      throw new ValueTextError("a string has a bad escape or a raw control character", start);
    }
  }

  private expect(char: string): void {
    this.space();
    if (this.text[this.at] !== char) throw new ValueTextError(`expected "${char}"`, this.at);
    this.at++;
  }

  /** True (and past it) when the next character is `char`. */
  private take(char: string): boolean {
    this.space();
    if (this.text[this.at] !== char) return false;
    this.at++;
    return true;
  }

  private array(depth: number): unknown[] {
    this.at++;
    const items: unknown[] = [];
    if (this.take("]")) return items;
    do items.push(this.value(depth + 1));
    while (this.take(","));
    this.expect("]");
    return items;
  }

  private objectOrSet(depth: number): unknown {
    this.at++;
    if (this.take("}")) return {};
    const first = this.value(depth + 1);
    if (this.take(":")) return this.object(depth, first);
    const elements = [first];
    while (this.take(",")) elements.push(this.value(depth + 1));
    this.expect("}");
    return new RegoSet(elements);
  }

  private object(depth: number, firstKey: unknown): unknown {
    const entries: [unknown, unknown][] = [[firstKey, this.value(depth + 1)]];
    while (this.take(",")) {
      const key = this.value(depth + 1);
      this.expect(":");
      entries.push([key, this.value(depth + 1)]);
    }
    this.expect("}");
    if (!entries.every(([key]) => typeof key === "string")) return new RegoObject(entries);
    const record: Record<string, unknown> = {};
    for (const [key, value] of entries) defineMember(record, key as string, value);
    return record;
  }
}

/**
 * A host value as Rego value text, for opa_value_parse: the model above, plus what builtins
 * return (bigint for an exact integer). Fails (a TypeError) on anything Rego cannot hold.
 */
export function writeValueText(value: unknown, depth = 0): string {
  if (depth > MAX_VALUE_DEPTH) throw new TypeError(`a builtin result nests deeper than ${MAX_VALUE_DEPTH}`);
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return String(value);
    case "string":
      return JSON.stringify(value);
    case "bigint":
      return value.toString();
    case "number":
      // As JSON.stringify writes it (what the SDK sent): a non-finite number is null.
      return Number.isFinite(value) ? numberText(value) : "null";
    case "object":
      break;
    default:
      throw new TypeError(`a builtin returned a ${typeof value}, which is not a Rego value`);
  }
  if (value instanceof RegoNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map((item) => writeValueText(item, depth + 1)).join(",")}]`;
  if (value instanceof RegoSet) return value.elements.length === 0 ? "set()" : `{${value.elements.map((item) => writeValueText(item, depth + 1)).join(",")}}`;
  const entries = value instanceof RegoObject ? value.entries : Object.entries(value);
  return `{${entries.map(([key, item]) => `${writeValueText(key, depth + 1)}:${writeValueText(item, depth + 1)}`).join(",")}}`;
}
