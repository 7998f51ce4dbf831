import { expect } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";

/**
 * After a pollution attempt: Object.prototype is untouched, and a fresh default kernel still loads
 * its policies and denies DROP TABLE (the silent failure a polluted prototype caused).
 */
export async function expectPrototypeClean(): Promise<void> {
  expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("policy_kernel");
  const kernel = await createPolicyKernel();
  try {
    const decision = await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: "DROP TABLE users" } });
    expect(decision.allowed).toBe(false);
    expect(kernel.policyNames.length).toBeGreaterThan(0);
  } finally {
    kernel.close();
  }
}
