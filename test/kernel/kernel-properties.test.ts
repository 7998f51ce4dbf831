import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { DecisionSchema } from "../../src/schemas.js";
import { actionArbitrary, anyInputArbitrary } from "../generators/actions.js";

describe("kernel properties (fast-check)", () => {
  let kernel: PolicyKernel;
  let twin: PolicyKernel;
  beforeAll(async () => {
    kernel = await createPolicyKernel();
    twin = await createPolicyKernel();
  });

  it("same input gives byte-identical Decision JSON, in the same kernel and in another", async () => {
    await fc.assert(
      fc.asyncProperty(actionArbitrary, async (action) => {
        const first = JSON.stringify(await kernel.evaluate(action));
        expect(JSON.stringify(await kernel.evaluate(structuredClone(action)))).toBe(first);
        expect(JSON.stringify(await twin.evaluate(structuredClone(action)))).toBe(first);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it("no generated input makes evaluate throw; every result is a valid Decision", async () => {
    await fc.assert(
      fc.asyncProperty(anyInputArbitrary, async (input) => {
        const decision = await kernel.evaluateUntrusted(input);
        DecisionSchema.parse(decision);
        // Deny-overrides: allowed exactly when nothing blocks.
        expect(decision.allowed).toBe(!decision.violations.some((v) => v.blocked));
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it("1,000 concurrent evaluations equal a sequential run, one by one", async () => {
    const actions = fc.sample(actionArbitrary, { numRuns: 1000, seed: 3 });
    const sequential: string[] = [];
    for (const action of actions) sequential.push(JSON.stringify(await kernel.evaluate(action)));
    const concurrent = await Promise.all(actions.map((action) => kernel.evaluate(action)));
    expect(concurrent.map((d) => JSON.stringify(d))).toEqual(sequential);
    // The corpus exercises both outcomes and both engines.
    expect(concurrent.some((d) => d.allowed)).toBe(true);
    expect(concurrent.some((d) => d.violations.some((v) => v.source === "json"))).toBe(true);
    expect(concurrent.some((d) => d.violations.some((v) => v.source === "rego"))).toBe(true);
  });
});
