// The kernel computes, for each action, only the facts its engines read for that action's type:
// what toPolicyInput is asked for is observed here, on the real kernel and bundle.
import { afterAll, describe, expect, it, vi } from "vitest";
import type { PolicyInput } from "../../src/schemas.js";

const inputs: PolicyInput[] = [];
vi.mock("../../src/kernel/enrich.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/kernel/enrich.js")>();
  return {
    ...original,
    toPolicyInput: (...args: Parameters<typeof original.toPolicyInput>) => {
      const input = original.toPolicyInput(...args);
      inputs.push(input);
      return input;
    },
  };
});

const { createPolicyKernel } = await import("../../src/kernel/create-kernel.js");
const kernel = await createPolicyKernel();
afterAll(() => kernel.close());

const context = { role: "admin", now: "2026-11-21T22:30:00Z" };
const facts = async (action: Record<string, unknown>): Promise<string[]> => {
  inputs.length = 0;
  await kernel.evaluateUntrusted({ agentId: "a1", action, context });
  expect(inputs).toHaveLength(1);
  return Object.keys(inputs[0]!.facts).sort();
};

describe("facts by action type (default kernel: Rego per-type entrypoints and the JSON rules)", () => {
  it("computes the clock for a transaction, whose business-hours policy reads it, and for no other type", async () => {
    expect(await facts({ type: "transaction", amountUsd: 50, recipient: "acct-1" })).toEqual(["clock", "costUsdTotal", "writes"]);
    expect(await facts({ type: "sql", sql: "SELECT 1" })).toEqual(["costUsdTotal", "sql", "writes"]);
    expect(await facts({ type: "message", to: "a@example.com", text: "hi" })).toEqual(["costUsdTotal", "message", "writes"]);
    expect(await facts({ type: "tool_call", tool: "search_docs" })).toEqual(["costUsdTotal", "writes"]);
  });

  it("computes nothing for an undeclared action type: it is denied before any policy runs", async () => {
    inputs.length = 0;
    const decision = await kernel.evaluate({ agentId: "a1", action: { type: "browse", url: "https://example.com" }, context });
    expect(inputs).toHaveLength(0);
    expect(decision.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["kernel/unknown_action_type"]);
  });

  it("blocks an out-of-hours transaction, so the clock it computes reaches the policy", async () => {
    const decision = await kernel.evaluate({ agentId: "a1", action: { type: "transaction", amountUsd: 50, recipient: "acct-1" }, context });
    expect(decision.violations.map((v) => `${v.policy}/${v.rule}`)).toContain("business_hours/outside_business_hours");
  });
});
