import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_VALUE_DEPTH, ValueTextError, parseValueText, writeValueText } from "../../../src/engines/rego/value-text.js";
import { RegoNumber, RegoObject, RegoSet, compareValues, integerOf, regoNumber, toJsonValue } from "../../../src/engines/rego/rego-value.js";
import { regoString } from "../../../src/engines/rego/builtins/go-values.js";

// Rego value text comes out of a module someone else built: the parser must give the model back
// for everything the writer makes, and for anything else fail with a ValueTextError, never loop,
// overflow the stack or throw something else.

const numberTexts = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => (Object.is(value, -0) ? "0" : String(value))),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom("1.0", "1e3", "-0", "0.10", "1e400", "1.", "9007199254740993"),
);
const nonStringLeaf = fc.oneof(fc.constant(null), fc.boolean(), numberTexts.map(regoNumber));
const leaf = fc.oneof(nonStringLeaf, fc.string({ maxLength: 8 }), fc.string({ unit: "binary", maxLength: 4 }));
const { value: regoValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.array(tie("value"), { maxLength: 4 }).map((elements) => new RegoSet(elements)),
    fc.array(fc.tuple(fc.string({ maxLength: 6 }), tie("value")), { maxLength: 3 }).map((entries) => parseValueText(writeValueText(new RegoObject(entries)))),
    // At least one key that is not a string (else it is a plain object).
    fc.tuple(fc.tuple(nonStringLeaf, tie("value")), fc.array(fc.tuple(leaf, tie("value")), { maxLength: 2 })).map(([first, rest]) => new RegoObject([first, ...rest])),
  ),
}));

/** The model as comparable data: class instances tagged, plain objects with own keys only. */
function shape(value: unknown): unknown {
  if (value instanceof RegoNumber) return { number: value.text };
  if (value instanceof RegoSet) return { set: value.elements.map(shape) };
  if (value instanceof RegoObject) return { object: value.entries.map(([key, item]) => [shape(key), shape(item)]) };
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === "object") return { record: Object.entries(value).map(([key, item]) => [key, shape(item)]) };
  return typeof value === "number" ? { number: String(value) } : value;
}

describe("Rego value text (opa_value_dump's format)", () => {
  it("reads back every value the writer writes", () => {
    fc.assert(
      fc.property(regoValue, (value) => {
        expect(shape(parseValueText(writeValueText(value)))).toEqual(shape(value));
      }),
      { numRuns: 400, seed: 22 },
    );
  });

  it("reads the text with OPA's spacing (`, ` and `: `) as without", () => {
    fc.assert(
      fc.property(regoValue, (value) => {
        // Every value text here without its strings' contents spaced: put spaces after separators.
        const spaced = writeValueText(value).replace(/("(?:[^"\\]|\\.)*")|([,:])/g, (match, string: string | undefined) => string ?? `${match} `);
        expect(shape(parseValueText(spaced))).toEqual(shape(value));
      }),
      { numRuns: 200, seed: 23 },
    );
  });

  it("fails only with a ValueTextError on arbitrary or damaged text", () => {
    const damaged = fc.tuple(regoValue, fc.nat(), fc.constantFrom("", "{", "}", "[", "]", ",", ":", '"', "\\", "set(", "-", "e", "\u0000", "\n", "tru")).map(([value, at, insert]) => {
      const text = writeValueText(value);
      const cut = at % (text.length + 1);
      return text.slice(0, cut) + insert + text.slice(cut + (at % 3));
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 30 }), damaged), (text) => {
        try {
          parseValueText(text);
        } catch (error) {
          expect(error).toBeInstanceOf(ValueTextError);
        }
      }),
      { numRuns: 2000, seed: 24 },
    );
  });

  it("refuses text nested deeper than MAX_VALUE_DEPTH, and reads it at that depth", () => {
    const nested = (depth: number, open: string, close: string): string => `${open.repeat(depth)}1${close.repeat(depth)}`;
    expect(() => parseValueText(nested(MAX_VALUE_DEPTH + 1, "[", "]"))).toThrow(ValueTextError);
    expect(() => parseValueText(nested(100_000, "{", "}"))).toThrow(/nest deeper than 1000/);
    expect(() => parseValueText(nested(100_000, '{"a": ', "}"))).toThrow(ValueTextError);
    let value = parseValueText(nested(MAX_VALUE_DEPTH, "[", "]"));
    let depth = 0;
    while (Array.isArray(value)) {
      value = value[0];
      depth++;
    }
    expect({ depth, value }).toEqual({ depth: MAX_VALUE_DEPTH, value: 1 });
    expect(() => writeValueText(JSON.parse(nested(MAX_VALUE_DEPTH + 2, "[", "]")))).toThrow(TypeError);
  });

  it("reads a 16 MiB string and long runs of escapes in linear time", () => {
    const huge = "x".repeat(16 * 1024 * 1024);
    expect((parseValueText(`"${huge}"`) as string).length).toBe(huge.length);
    const escapes = `"${'\\"'.repeat(200_000)}"`;
    const started = performance.now();
    expect((parseValueText(escapes) as string).length).toBe(200_000);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(() => parseValueText(`"${"\\\\".repeat(1000)}`)).toThrow(/not terminated/);
  });

  it("keeps sets, exact numbers, non-string keys and a __proto__ key", () => {
    const value = parseValueText('{"__proto__": {1, set(), "a"}, "n": [12345678901234567890, 1.0, 1e3, 2.5, -0, 7]}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__", "n"]);
    expect(value["__proto__"]).toBeInstanceOf(RegoSet);
    expect(regoString(value)).toBe('{"__proto__": {1, "a", set()}, "n": [12345678901234567890, 1.0, 1e3, 2.5, -0, 7]}');
    expect(regoString(parseValueText('{1: "a", null: 2, [1]: 3, "k": 4}'))).toBe('{null: 2, 1: "a", "k": 4, [1]: 3}');
    expect(toJsonValue(parseValueText('{{"b", "a"}, {1: 2}}'))).toEqual([{ "1": 2 }, ["a", "b"]]);
    expect(integerOf(regoNumber("9223372036854775807"))).toBe(9223372036854775807n);
    expect(integerOf(regoNumber("1.7e18"))).toBe(1_700_000_000_000_000_000n);
    expect([integerOf(regoNumber("1.5")), integerOf(regoNumber("1e999999999")), integerOf("1")]).toEqual([undefined, undefined, undefined]);
  });

  it("orders values as OPA's ast.Compare: kinds, numbers by exact value, sets as sorted lists", () => {
    const texts = ['"b"', "set()", "{1}", "{1, 2}", "[]", "{}", "null", "false", "true", "-1e400", "-1", "-0", "0.5", "1", "1.0", "12345678901234567890", '"a"', "[1]", '{"a": 1}'];
    const sorted = texts.map((text) => ({ text, value: parseValueText(text) })).sort((a, b) => compareValues(a.value, b.value) || (a.text < b.text ? -1 : 1));
    expect(sorted.map(({ text }) => text)).toEqual(["null", "false", "true", "-1e400", "-1", "-0", "0.5", "1", "1.0", "12345678901234567890", '"a"', '"b"', "[]", "[1]", "{}", '{"a": 1}', "set()", "{1}", "{1, 2}"]);
    expect(compareValues(parseValueText("1.0"), parseValueText("1"))).toBe(0);
  });
});
