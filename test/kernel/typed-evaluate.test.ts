// The two entry points: `evaluate` takes the ActionInput type, so a misspelt field or a number is a
// compile error (the @ts-expect-error lines below fail `make typecheck` when they stop being errors);
// `evaluateUntrusted` takes anything. Both still validate at run time, for JavaScript callers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import type { ActionInput } from "../../src/schemas.js";

const NOW = "2026-11-23T10:00:00Z";

describe("PolicyKernel entry points", () => {
  let kernel: PolicyKernel;
  beforeAll(async () => {
    kernel = await createPolicyKernel();
  });
  afterAll(() => kernel.close());

  it("evaluate takes a typed action and decides as evaluateUntrusted does", async () => {
    const action: ActionInput = { agentId: "a1", action: { type: "sql", sql: "DELETE FROM users" }, context: { role: "analyst", now: NOW } };
    const typed = await kernel.evaluate(action);
    expect(typed.allowed).toBe(false);
    expect(JSON.stringify(typed)).toBe(JSON.stringify(await kernel.evaluateUntrusted(JSON.parse(JSON.stringify(action)))));
  });

  it("rejects misspelt fields and non-objects at compile time, and denies them at run time", async () => {
    // @ts-expect-error -- agentid/acton are not ActionInput's agentId/action
    const misspelt = await kernel.evaluate({ agentid: "a1", acton: { type: "sql", sql: "SELECT 1" } });
    // @ts-expect-error -- a number is not an action
    const number = await kernel.evaluate(42);
    // @ts-expect-error -- the action body needs its type
    const untyped = await kernel.evaluate({ agentId: "a1", action: { sql: "SELECT 1" } });
    for (const decision of [misspelt, number, untyped]) {
      expect(decision.allowed).toBe(false);
      expect(decision.violations[0]).toMatchObject({ policy: "kernel", rule: "invalid_action", severity: "critical" });
    }
  });

  it("evaluateUntrusted takes raw input and names the malformed field", async () => {
    const raw: unknown = JSON.parse('{"agentId": "a1", "action": {"type": "sql", "sql": 7}}');
    const decision = await kernel.evaluateUntrusted(raw, { now: NOW });
    expect(decision.allowed).toBe(false);
    expect(decision.violations[0]?.description).toContain("action.sql");
  });
});
