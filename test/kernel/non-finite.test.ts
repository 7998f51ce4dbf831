import { describe, expect, it } from "vitest";
import { createPolicyKernel, type PolicyKernelOptions } from "../../src/kernel/create-kernel.js";
import { nonFiniteFact, toPolicyInput } from "../../src/kernel/enrich.js";
import { ActionSchema } from "../../src/schemas.js";

const HUGE = Number.MAX_VALUE;
const overflowing = { agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { costUsd: HUGE, spentUsd: HUGE } };

async function decide(options: PolicyKernelOptions, action: unknown) {
  const kernel = await createPolicyKernel(options);
  try {
    return await kernel.evaluateUntrusted(action);
  } finally {
    kernel.close();
  }
}

describe("non-finite arithmetic denies", () => {
  it("two finite amounts really do overflow to Infinity, which JSON writes as null", () => {
    const input = toPolicyInput(ActionSchema.parse(overflowing));
    expect(input.facts.costUsdTotal).toBe(Number.POSITIVE_INFINITY);
    expect(JSON.parse(JSON.stringify(input.facts)).costUsdTotal).toBeNull();
    expect(nonFiniteFact(input.facts)).toBe("context.costUsd + context.spentUsd is Infinity, not a finite number");
  });

  it.each<[string, PolicyKernelOptions]>([
    ["the default kernel", {}],
    ["a kernel failing open", { failOpen: true }],
    ["a JSON-rules-only kernel", { bundle: false }],
    ["a kernel without the cost policy", { policies: [{ name: "sql", config: {} }] }],
  ])("%s denies it with kernel/non_finite_value", async (_name, options) => {
    const decision = await decide(options, overflowing);
    expect(decision.allowed).toBe(false);
    expect(decision.violations).toEqual([
      {
        type: "blocked",
        policy: "kernel",
        rule: "non_finite_value",
        severity: "critical",
        description: "context.costUsd + context.spentUsd is Infinity, not a finite number",
        blocked: true,
        penalty: expect.any(Number),
        source: "kernel",
      },
    ]);
  });

  it("a huge but finite total is judged by the budget as usual", async () => {
    const decision = await decide({}, { ...overflowing, context: { costUsd: HUGE, spentUsd: 0 } });
    expect(decision.allowed).toBe(false);
    expect(decision.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["cost/budget_exceeded"]);
    // Past 2^53 a sum rounds, but never below the larger term, so a total over the budget stays over it.
    const rounded = await decide({}, { ...overflowing, context: { costUsd: 2 ** 60, spentUsd: 1 } });
    expect(rounded.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["cost/budget_exceeded"]);
  });

  it("an ordinary total is not touched", async () => {
    const decision = await decide({}, { ...overflowing, context: { costUsd: 1, spentUsd: 2 } });
    expect(decision.allowed).toBe(true);
  });
});
