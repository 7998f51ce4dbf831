import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { readBuildRecord } from "../../../src/engines/rego/build-record.js";
import { inputProjectionFor } from "../../../src/engines/rego/input-projection.js";
import { compileProjectedJson, compileProjection } from "../../../src/engines/rego/projection-tree.js";
import { DEFAULT_ENTRYPOINT } from "../../../src/engines/rego/rego-engine.js";
import { defaultBundlePath } from "../../../src/kernel/defaults.js";
import { toPolicyInput } from "../../../src/kernel/enrich.js";
import { ActionSchema } from "../../../src/schemas.js";
import { actionArbitrary } from "../../generators/actions.js";

/** What the Wasm got before compileProjectedJson: the projected copy, stringified. */
function viaCopy(paths: readonly (readonly string[])[]): (input: unknown) => string {
  const project = compileProjection(paths);
  return (input) => (input ? (JSON.stringify(project(input)) ?? "") : "");
}

// Few keys, so generated paths and generated inputs meet; integer-like ones test member order.
const key = fc.constantFrom("a", "b", "type", "10", "2", "0", "toJSON", "__proto__");
const paths = fc.array(fc.array(key, { maxLength: 3 }), { maxLength: 5 });
const input = fc.anything({
  key,
  maxDepth: 3,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withBoxedValues: true,
  withSparseArray: true,
});

describe("compileProjectedJson", () => {
  it("writes exactly the text of the stringified projected copy, on any input and any paths", () => {
    fc.assert(
      fc.property(paths, fc.array(input, { minLength: 1, maxLength: 4 }), (ps, inputs) => {
        const direct = compileProjectedJson(ps);
        const copy = viaCopy(ps);
        for (const value of inputs) expect(direct(value)).toBe(copy(value));
      }),
      { numRuns: 3000, seed: 41 },
    );
  });

  it("orders members as JSON.stringify does (integer-like keys first) and leaves out what it leaves out", () => {
    const direct = compileProjectedJson([["b"], ["10"], ["a", "x"], ["2"], ["f"], ["u"]]);
    const value = { a: { x: 1, y: 2 }, b: "s", 2: true, 10: null, f: () => 1, u: undefined, z: 9 };
    expect(direct(value)).toBe('{"2":true,"10":null,"b":"s","a":{"x":1}}');
    expect(direct(value)).toBe(viaCopy([["b"], ["10"], ["a", "x"], ["2"], ["f"], ["u"]])(value));
    expect(direct(0)).toBe("");
    expect(direct([1, { a: 2 }])).toBe("[1,{\"a\":2}]");
  });

  it("sends the default bundle's policies the same text as before on generated actions", () => {
    const { record } = readBuildRecord(readBundle(defaultBundlePath()));
    const projection = inputProjectionFor(record!, DEFAULT_ENTRYPOINT, undefined);
    expect(projection).not.toBeNull();
    const copy = viaCopy(projection!.paths);
    fc.assert(
      fc.property(actionArbitrary, (raw) => {
        const policyInput = toPolicyInput(ActionSchema.parse(raw));
        expect(projection!.projectedJson(policyInput)).toBe(copy(policyInput));
      }),
      { numRuns: 2000, seed: 43 },
    );
  });
});
