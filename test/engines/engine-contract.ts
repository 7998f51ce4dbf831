import { describe, expect, it } from "vitest";
import type { PolicyEngine } from "../../src/engines/engine.js";
import { toPolicyInput } from "../../src/kernel/enrich.js";
import { ActionSchema, PolicyFindingSchema, type ActionInput } from "../../src/schemas.js";
import { policyInputs } from "../generators/actions.js";

const input = (action: ActionInput) => toPolicyInput(ActionSchema.parse(action));
const overBudget = input({ agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { costUsd: 80, spentUsd: 30 } });
const withinBudget = input({ agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { costUsd: 80, spentUsd: 20 } });

/**
 * The behaviour every PolicyEngine owes the kernel, run against each implementation
 * (hono's runTest idea). `create` must return an engine loaded with the cost policy.
 */
export function runEngineContract(name: string, create: () => Promise<PolicyEngine>): void {
  describe(`engine contract: ${name}`, () => {
    it("reports the cost policy's finding with the contract's shape", async () => {
      const engine = await create();
      const findings = await engine.evaluate(overBudget);
      const cost = findings.filter((f) => f.policy === "cost");
      expect(cost).toHaveLength(1);
      expect(cost[0]).toMatchObject({ policy: "cost", rule: "budget_exceeded", severity: "high", effect: "block" });
      for (const finding of findings) expect(PolicyFindingSchema.parse(finding)).toEqual(finding);
      expect((await engine.evaluate(withinBudget)).filter((f) => f.policy === "cost")).toEqual([]);
      expect(engine.policyNames).toContain("cost");
    });

    it("is deterministic and safe under concurrency", async () => {
      const engine = await create();
      const inputs = policyInputs(200, 5);
      const sequential = [];
      for (const item of inputs) sequential.push(JSON.stringify(await engine.evaluate(item)));
      const concurrent = await Promise.all(inputs.map(async (item) => JSON.stringify(await engine.evaluate(item))));
      expect(concurrent).toEqual(sequential);
    });

    it("names its source and provenance, and refuses to evaluate after close (twice is fine)", async () => {
      const engine = await create();
      expect(["rego", "json"]).toContain(engine.source);
      expect(Object.values(engine.provenance).some((v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v))).toBe(true);
      engine.close();
      engine.close();
      await expect(Promise.resolve().then(() => engine.evaluate(withinBudget))).rejects.toThrow();
    });
  });
}
