import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { describe, expect, it } from "vitest";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { createRegoEngine, DEFAULT_ENTRYPOINT } from "../../../src/engines/rego/rego-engine.js";
import { createWasmEvaluate } from "../../../src/engines/rego/wasm-eval.js";
import { defaultBundlePath } from "../../../src/kernel/defaults.js";
import { PolicyFindingSchema } from "../../../src/schemas.js";
import { policyInputs } from "../../generators/actions.js";

const bundle = readBundle(defaultBundlePath());
const inputs = policyInputs(3_000, 23);

describe("direct opa_eval (wasm-eval.ts) against the stock LoadedPolicy.evaluate", () => {
  it("returns the same result set for every input, on its own instance", async () => {
    const stock = await loadPolicy(bundle.wasm);
    stock.setData(bundle.data);
    const mine = await loadPolicy(bundle.wasm);
    mine.setData(bundle.data);
    const id = (stock.entrypoints as Record<string, number>)[DEFAULT_ENTRYPOINT]!;
    const fast = createWasmEvaluate(mine, id);
    expect(fast).toBeDefined();
    for (const input of inputs) expect(fast!(input)).toEqual(stock.evaluate(input, id));
    // Non-ASCII text and a large input that needs the memory to grow.
    const wide = { ...inputs[0]!, action: { type: "message", to: "ü@example.com", text: "é😀 ssn 123-45-6789 ".repeat(20_000) } };
    expect(fast!(wide)).toEqual(stock.evaluate(wide, id));
  });

  it("keeps the Wasm memory flat over many evaluations", async () => {
    const policy = await loadPolicy(bundle.wasm);
    policy.setData(bundle.data);
    const fast = createWasmEvaluate(policy, (policy.entrypoints as Record<string, number>)[DEFAULT_ENTRYPOINT]!)!;
    for (const input of inputs) fast(input);
    const size = policy.mem.buffer.byteLength;
    for (let round = 0; round < 10; round++) for (const input of inputs) fast(input);
    expect(policy.mem.buffer.byteLength).toBe(size);
  });

  it("the engine's findings are the schema-parsed stock findings", async () => {
    const engine = await createRegoEngine({ bundle });
    const stock = await loadPolicy(bundle.wasm);
    stock.setData(bundle.data);
    const id = (stock.entrypoints as Record<string, number>)[DEFAULT_ENTRYPOINT]!;
    for (const input of inputs.slice(0, 500)) {
      const expected = (stock.evaluate(input, id) as [{ result: unknown[] }])[0].result.map((f) => PolicyFindingSchema.parse(f));
      expect(JSON.stringify(engine.evaluate(input))).toBe(JSON.stringify(expected));
    }
  });
});
