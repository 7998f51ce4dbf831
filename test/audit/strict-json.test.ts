import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findDuplicateKey, parseStrictJson } from "../../src/audit/strict-json.js";

describe("parseStrictJson: JSON.parse, refusing duplicate member names at any depth", () => {
  it.each([
    ['{"a":1,"a":2}', "a", "$"],
    ['{"a":1,"\\u0061":2}', "a", "$"],
    ['{"x":{"b":[1,{"c":1,"c":2}]}}', "c", "$.x.b[1]"],
    ['[{"k":"a\\"k"},{"k":1,"k":2}]', "k", "$[1]"],
    ['{"s":"{\\"a\\":1,\\"a\\":2}","t":{"u":1,"u":1}}', "u", "$.t"],
  ])("%s repeats %j in %s", (text, key, path) => {
    expect(findDuplicateKey(text)).toEqual({ key, path });
    expect(() => parseStrictJson(text)).toThrow(`duplicate key ${JSON.stringify(key)} at ${path}`);
  });

  it("accepts the same name in different objects, and names inside strings", () => {
    expect(parseStrictJson('{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":"\\"a\\":"}')).toEqual({ a: { a: 1 }, b: [{ a: 1 }, { a: 2 }], c: '"a":' });
  });

  it("agrees with a reference check on any JSON value (no duplicates there) and on one with a member repeated", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(findDuplicateKey(text)).toBeUndefined();
        const first = value !== null && typeof value === "object" && !Array.isArray(value) ? Object.keys(value)[0] : undefined;
        if (first !== undefined) {
          // The object's first member once more, in front (JSON.stringify writes members in Object.keys order).
          const doubled = `{${JSON.stringify(first)}:null,${text.slice(1)}`;
          expect(findDuplicateKey(doubled)).toEqual({ key: first, path: "$" });
        }
      }),
    );
  });

  it("says when the text is not JSON", () => {
    expect(() => parseStrictJson("{oops")).toThrow(/^not valid JSON/);
  });
});
