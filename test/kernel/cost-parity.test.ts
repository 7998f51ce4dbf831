import fc from "fast-check";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { costControlPolicy } from "../../src/kernel/policies.js";
import { defaultRulesPath } from "../../src/kernel/defaults.js";
import type { Decision } from "../../src/schemas.js";
import { actionArbitrary } from "../generators/actions.js";

/** The decision without what legitimately differs between engines: source and provenance. */
function comparable(decision: Decision): unknown {
  return { allowed: decision.allowed, signals: decision.signals, violations: decision.violations.map(({ source: _source, ...rest }) => rest) };
}

describe("cost policy parity: Rego and JSON rules", () => {
  it("gives identical decisions on a generated corpus of 2,000 actions, also with a configured budget", async () => {
    for (const maxCostUsd of [100, 37.5]) {
      const rego = await createPolicyKernel({ rules: false, policies: [costControlPolicy({ maxCostUsd })] });
      const json = await createPolicyKernel({ bundle: false, rules: [join(defaultRulesPath(), "parity", "cost.json")], data: { policy_kernel: { config: { cost: { max_cost_usd: maxCostUsd } } } } });
      const corpus: unknown[] = fc.sample(actionArbitrary, { numRuns: 1000, seed: 11 });
      // Budget edges: exactly at the limit must be allowed by both, just above denied by both.
      corpus.push(
        { agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { costUsd: maxCostUsd, spentUsd: 0 } },
        { agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { costUsd: maxCostUsd, spentUsd: 0.01 } },
      );
      let denied = 0;
      for (const action of corpus) {
        const a = await rego.evaluateUntrusted(action);
        const b = await json.evaluateUntrusted(action);
        expect(comparable(b), JSON.stringify(action)).toEqual(comparable(a));
        if (!a.allowed) denied++;
      }
      expect(denied).toBeGreaterThan(50);
      expect(denied).toBeLessThan(corpus.length - 50);
    }
  });
});
