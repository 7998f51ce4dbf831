import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createJsonRulesEngine, type JsonRulesEngine } from "../../../src/engines/json/json-engine.js";
import { loadRuleSetFile, loadRuleSets } from "../../../src/engines/json/rule-set.js";
import type { PolicyInput } from "../../../src/schemas.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const RULES_DIR = join(ROOT, "rules");
/** The configuration the kernel passes by default (its defaults merged with the sets' own `config`). */
const CONFIG = { rate_limit: { block_at: 50, warn_at: 40 }, read_only: {}, cost: { max_cost_usd: 100 } };

function policyInput(context: PolicyInput["context"] = {}, facts: Partial<PolicyInput["facts"]> = {}): PolicyInput {
  return { agentId: "agent-1", action: { type: "sql", sql: "UPDATE t SET x = 1" }, context, facts: { costUsdTotal: 0, writes: false, ...facts } };
}

async function rulesFired(engine: JsonRulesEngine, input: PolicyInput): Promise<string[]> {
  return (await engine.evaluate(input)).map((finding) => `${finding.policy}/${finding.rule}`);
}

describe("default rule location", () => {
  it("loads rate_limit and read_only from rules/, not the parity folder", () => {
    const sets = loadRuleSets(RULES_DIR);
    expect(sets.map((set) => set.name)).toEqual(["rate_limit", "read_only"]);
    expect(createJsonRulesEngine({ ruleSets: sets, config: CONFIG }).policyNames).toEqual(["rate_limit", "read_only"]);
  });

  it("ships the defaults its rules read in each set's config", () => {
    const [rateLimit, readOnly] = loadRuleSets(RULES_DIR);
    expect(rateLimit?.config).toEqual({ rate_limit: { block_at: 50, warn_at: 40 } });
    expect(readOnly?.config).toBeUndefined();
    expect(loadRuleSetFile(join(RULES_DIR, "parity", "cost.json")).config).toEqual({ cost: { max_cost_usd: 100 } });
  });
});

describe("rules/rate_limit.json", () => {
  const engine = createJsonRulesEngine({ ruleSets: [loadRuleSetFile(join(RULES_DIR, "rate_limit.json"))], config: CONFIG });

  it("is silent below warn_at and when the count is missing", async () => {
    expect(await rulesFired(engine, policyInput({ actionsInWindow: 0 }))).toEqual([]);
    expect(await rulesFired(engine, policyInput({ actionsInWindow: 39 }))).toEqual([]);
    expect(await rulesFired(engine, policyInput())).toEqual([]);
  });

  it("warns from warn_at up to block_at", async () => {
    for (const count of [40, 45, 49]) {
      const findings = await engine.evaluate(policyInput({ actionsInWindow: count }));
      expect(findings).toEqual([
        { policy: "rate_limit", rule: "approaching_limit", severity: "low", effect: "warn", description: "approaching the rate limit for the window" },
      ]);
    }
  });

  it("blocks from block_at, without also warning", async () => {
    for (const count of [50, 51, 1000]) {
      const findings = await engine.evaluate(policyInput({ actionsInWindow: count }));
      expect(findings).toEqual([
        { policy: "rate_limit", rule: "too_many_actions", severity: "medium", effect: "block", description: "too many actions in the rate-limit window" },
      ]);
    }
  });

  it("takes its thresholds from config", async () => {
    const custom = createJsonRulesEngine({ ruleSets: loadRuleSets(RULES_DIR), config: { rate_limit: { block_at: 10, warn_at: 5 } } });
    expect(await rulesFired(custom, policyInput({ actionsInWindow: 4 }))).toEqual([]);
    expect(await rulesFired(custom, policyInput({ actionsInWindow: 5 }))).toEqual(["rate_limit/approaching_limit"]);
    expect(await rulesFired(custom, policyInput({ actionsInWindow: 10 }))).toEqual(["rate_limit/too_many_actions"]);
  });
});

describe("rules/read_only.json", () => {
  const engine = createJsonRulesEngine({ ruleSets: [loadRuleSetFile(join(RULES_DIR, "read_only.json"))], config: CONFIG });

  it("blocks a write in a read-only context", async () => {
    expect(await engine.evaluate(policyInput({ readOnly: true }, { writes: true }))).toEqual([
      { policy: "read_only", rule: "write_in_read_only", severity: "high", effect: "block", description: "a write was attempted in a read-only context" },
    ]);
  });

  it("allows reads in a read-only context and writes elsewhere", async () => {
    expect(await rulesFired(engine, policyInput({ readOnly: true }, { writes: false }))).toEqual([]);
    expect(await rulesFired(engine, policyInput({ readOnly: false }, { writes: true }))).toEqual([]);
    expect(await rulesFired(engine, policyInput({}, { writes: true }))).toEqual([]);
  });
});

describe("rules/parity/cost.json", () => {
  const set = loadRuleSetFile(join(RULES_DIR, "parity", "cost.json"));
  const engine = createJsonRulesEngine({ ruleSets: [set], config: CONFIG });

  it("blocks strictly above max_cost_usd", async () => {
    expect(await rulesFired(engine, policyInput({}, { costUsdTotal: 99.99 }))).toEqual([]);
    expect(await rulesFired(engine, policyInput({}, { costUsdTotal: 100 }))).toEqual([]);
    expect(await engine.evaluate(policyInput({}, { costUsdTotal: 100.5 }))).toEqual([
      { policy: "cost", rule: "budget_exceeded", severity: "high", effect: "block", description: "total cost exceeds the budget (cost.max_cost_usd)" },
    ]);
  });

  it("takes the budget from config", async () => {
    const custom = createJsonRulesEngine({ ruleSets: [set], config: { cost: { max_cost_usd: 5 } } });
    expect(await rulesFired(custom, policyInput({}, { costUsdTotal: 5 }))).toEqual([]);
    expect(await rulesFired(custom, policyInput({}, { costUsdTotal: 6 }))).toEqual(["cost/budget_exceeded"]);
  });

  it("emits the same finding fields as rego/cost.rego, description byte for byte", () => {
    const rego = readFileSync(join(ROOT, "rego", "cost.rego"), "utf8");
    const params = set.rules[0]?.event.params;
    if (!params) throw new Error("cost.json has one rule");
    for (const [key, value] of Object.entries(params)) {
      expect(rego, `rego/cost.rego should contain "${key}": ${JSON.stringify(value)}`).toContain(`"${key}": ${JSON.stringify(value)}`);
    }
  });
});
