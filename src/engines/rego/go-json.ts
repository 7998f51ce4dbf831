// JSON as OPA's Go code reads and writes it, for bundle signatures: Go's encoding/json keeps a
// number's literal text (OPA decodes with UseNumber), lets the last of two equal keys win, sorts
// object keys by their UTF-8 bytes and escapes strings its own way. JSON.parse keeps none of that,
// and a signature's file digest is computed over exactly that form.
import { MAX_JSON_DEPTH, jsonTextDepth } from "../../safe-json.js";

/** A JSON value as Go's encoding/json decodes it with UseNumber: numbers keep their literal, objects their members in document order. */
export type GoJsonValue =
  | { readonly kind: "object"; readonly entries: readonly (readonly [string, GoJsonValue])[] }
  | { readonly kind: "array"; readonly items: readonly GoJsonValue[] }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly literal: string }
  | { readonly kind: "literal"; readonly literal: "true" | "false" | "null" };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Parses one whole JSON document (surrounding whitespace allowed) keeping what Go keeps; throws
 * an Error saying why when it is not JSON or nests deeper than MAX_JSON_DEPTH.
 */
export function parseGoJson(text: string): GoJsonValue {
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) throw new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  // JSON.parse is the validator: the walk below may then assume well-formed text.
  JSON.parse(text);
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const readString = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const readValue = (): GoJsonValue => {
    skipSpace();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [string, GoJsonValue][] = [];
      skipSpace();
      if (text[i] === "}") {
        i++;
        return { kind: "object", entries };
      }
      for (;;) {
        skipSpace();
        const key = readString();
        skipSpace();
        i++; // ':'
        entries.push([key, readValue()]);
        skipSpace();
        if (text[i++] === "}") return { kind: "object", entries };
      }
    }
    if (c === "[") {
      i++;
      const items: GoJsonValue[] = [];
      skipSpace();
      if (text[i] === "]") {
        i++;
        return { kind: "array", items };
      }
      for (;;) {
        items.push(readValue());
        skipSpace();
        if (text[i++] === "]") return { kind: "array", items };
      }
    }
    if (c === '"') return { kind: "string", value: readString() };
    for (const literal of ["true", "false", "null"] as const) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return { kind: "literal", literal };
      }
    }
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match) throw new Error(`unexpected character at offset ${i}`);
    i += match[0].length;
    return { kind: "number", literal: match[0] };
  };
  return readValue();
}

/**
 * Parses the first JSON value of `text` and ignores what follows it, as a Go json.Decoder's one
 * Decode call does (OPA reads `.signatures.json` and `.manifest` that way).
 */
export function parseFirstGoJsonValue(text: string): GoJsonValue {
  return parseGoJson(text.slice(0, firstValueEnd(text)));
}

/** Where the first JSON value of `text` ends (its length when it cannot tell: the parse then says why). */
function firstValueEnd(text: string): number {
  let i = 0;
  while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  if (text[i] !== "{" && text[i] !== "[") {
    const rest = /^("(?:[^"\\]|\\.)*"|[^\s{}[\],:]*)/s.exec(text.slice(i));
    return i + (rest?.[0].length ?? 0);
  }
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/**
 * The bytes OPA's signature hasher feeds its hash for a structured value (bundle/hash.go `walk`):
 * objects with keys in byte order, no whitespace, primitives as Go's json.Encoder writes them
 * with HTML escaping off.
 */
export function goHashInput(value: GoJsonValue): Buffer {
  const parts: string[] = [];
  const walk = (node: GoJsonValue): void => {
    switch (node.kind) {
      case "object": {
        // The last of two equal keys wins, as when Go decodes into a map.
        const members = new Map<string, GoJsonValue>();
        for (const [key, member] of node.entries) members.set(key, member);
        const keys = [...members.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
        parts.push("{");
        keys.forEach((key, index) => {
          if (index > 0) parts.push(",");
          parts.push(goJsonString(key), ":");
          walk(members.get(key)!);
        });
        parts.push("}");
        return;
      }
      case "array":
        parts.push("[");
        node.items.forEach((item, index) => {
          if (index > 0) parts.push(",");
          walk(item);
        });
        parts.push("]");
        return;
      case "string":
        parts.push(goJsonString(node.value));
        return;
      case "number":
      case "literal":
        parts.push(node.literal);
        return;
    }
  };
  walk(value);
  return Buffer.from(parts.join(""), "utf8");
}

/**
 * A string as Go's json.Encoder writes it with SetEscapeHTML(false): `"` and `\` escaped, \b \f
 * \n \r \t by name, other control characters as \u00xx, U+2028 and U+2029 as escapes, and a lone
 * surrogate becomes U+FFFD when the result is encoded as UTF-8, as Go's decoder reads it.
 */
export function goJsonString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === "\\") out += `\\${char}`;
    else if (code < 0x20) out += NAMED_ESCAPES[code] ?? `\\u00${code.toString(16).padStart(2, "0")}`;
    else if (code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16)}`;
    else out += char;
  }
  return `${out}"`;
}

const NAMED_ESCAPES: Readonly<Record<number, string>> = { 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t" };
