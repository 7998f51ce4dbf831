import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { canonicalJson, sha256Hex } from "../src/canonical-json.js";

/** The implementation before the audit-path speed-up, kept as the reference. */
function reference(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return JSON.stringify(value);
    case "object": {
      // Array.from, not map: map skips holes, which gave "[,1]", not JSON.
      if (Array.isArray(value)) return `[${Array.from(value, (item) => (item === undefined ? "null" : reference(item))).join(",")}]`;
      const withToJson = value as { toJSON?: () => unknown };
      if (typeof withToJson.toJSON === "function") return reference(withToJson.toJSON());
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        if (member === undefined || typeof member === "function") continue;
        members.push(`${JSON.stringify(key)}:${reference(member)}`);
      }
      return `{${members.join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}

function outcome(encode: (value: unknown) => string, value: unknown): string {
  try {
    return encode(value);
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

describe("canonicalJson", () => {
  it("is byte-identical to the reference implementation, errors included", () => {
    const keys = fc.oneof(fc.string(), fc.constantFrom('a"b', "a\\b", "\u0000", "\ud800", "é", "__proto__", "toJSON", "$.x", "a/b@c"));
    const values = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: "small" },
        fc.anything({ withBoxedValues: true, withNullPrototype: true, withSparseArray: true, withObjectString: true, withDate: true, withMap: true }),
        fc.dictionary(keys, tie("any"), { maxKeys: 5 }),
        fc.array(tie("any"), { maxLength: 4 }),
        fc.constantFrom(undefined, () => 1, Number.NaN, -0, 1e21, new Date(0), { toJSON: () => ({ b: 1, a: [2] }) }),
      ),
    })).any;
    fc.assert(
      fc.property(values, (value) => {
        const encoded = outcome(canonicalJson, value);
        expect(encoded).toBe(outcome(reference, value));
        // Whatever encodes is JSON (an error outcome reads "TypeError: …", which no JSON text does).
        if (!/^\w*Error: /.test(encoded)) expect(() => JSON.parse(encoded)).not.toThrow();
      }),
      { numRuns: 20_000, seed: 7 },
    );
  });
});

describe("canonicalJson of a sparse array", () => {
  it("writes holes as null, like JSON.stringify", () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(canonicalJson([, 1, undefined])).toBe("[null,1,null]");
  });
});

describe("sha256Hex", () => {
  it("gives the standard digest of text (as UTF-8) and of bytes", () => {
    // FIPS 180-2 test vector for "abc".
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(new Uint8Array([0x61, 0x62, 0x63]))).toBe(sha256Hex("abc"));
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(sha256Hex(text)).toBe(createHash("sha256").update(text, "utf8").digest("hex"));
      }),
      { numRuns: 2_000, seed: 3 },
    );
  });
});
