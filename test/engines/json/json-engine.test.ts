import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Engine } from "json-rules-engine";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createJsonRulesEngine, type JsonRulesCustomFact } from "../../../src/engines/json/json-engine.js";
import { loadRuleSetFile, loadRuleSets, parseRuleSet, type RuleSet } from "../../../src/engines/json/rule-set.js";
import { isPolicyKernelError } from "../../../src/errors.js";
import type { PolicyFinding, PolicyInput } from "../../../src/schemas.js";

const RULES_DIR = join(import.meta.dirname, "..", "..", "..", "rules");
const CONFIG = { rate_limit: { block_at: 50, warn_at: 40 }, read_only: {}, cost: { max_cost_usd: 100 } };

function policyInput(context: PolicyInput["context"] = {}, facts: Partial<PolicyInput["facts"]> = {}, agentId = "agent-1"): PolicyInput {
  return { agentId, action: { type: "tool_call", tool: "search_docs" }, context, facts: { costUsdTotal: 0, writes: false, ...facts } };
}

function violationRule(name: string, conditions: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    conditions,
    event: { type: "violation", params: { policy: "test", rule: name, severity: "low", effect: "warn", description: `${name} fired` } },
    ...extra,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Yields to the event loop `turns` times: reorders async completion without waiting on the clock. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A custom fact that resolves `params.value` after `params.ms` milliseconds. */
const slow: JsonRulesCustomFact = async (_input, params) => {
  await delay(Number(params.ms ?? 0));
  return params.value ?? true;
};

/** `slow` with per-rule delay: true after `ms`. */
function slowIsTrue(ms: number): Record<string, unknown> {
  return { all: [{ fact: "slow", params: { ms }, operator: "equal", value: true }] };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("reporting order", () => {
  it("reports same-priority rules in declaration order although they complete in another order", async () => {
    const rules = [violationRule("a_slowest", slowIsTrue(30)), violationRule("b_fast", slowIsTrue(0)), violationRule("c_medium", slowIsTrue(10))];
    const set = parseRuleSet({ name: "order", rules }, "order.json", { customFacts: ["slow"] });

    // The defect being neutralised: plain json-rules-engine reports completion order.
    const raw = new Engine(set.rules.map((rule) => ({ ...rule, conditions: rule.conditions as never })));
    raw.addFact("slow", (params: Record<string, unknown>) => slow(policyInput(), params));
    const { events } = await raw.run({});
    expect(events.map((event) => (event.params as PolicyFinding).rule)).toEqual(["b_fast", "c_medium", "a_slowest"]);

    const engine = createJsonRulesEngine({ ruleSets: [set], config: {}, customFacts: { slow } });
    const findings = await engine.evaluate(policyInput());
    expect(findings.map((f) => f.rule)).toEqual(["a_slowest", "b_fast", "c_medium"]);
  });

  it("orders by priority first, then file order, then rule order, for any completion timing", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 6, maxLength: 6 }), async (delays) => {
        const [d0 = 0, d1 = 0, d2 = 0, d3 = 0, d4 = 0, d5 = 0] = delays;
        const first = parseRuleSet(
          { name: "first", rules: [violationRule("f1", slowIsTrue(d0)), violationRule("f2", slowIsTrue(d1), { priority: 5 }), violationRule("f3", slowIsTrue(d2))] },
          "first.json",
          { customFacts: ["slow"] },
        );
        const second = parseRuleSet(
          { name: "second", rules: [violationRule("s1", slowIsTrue(d3), { priority: 5 }), violationRule("s2", slowIsTrue(d4)), violationRule("s3", slowIsTrue(d5), { priority: 2 })] },
          "second.json",
          { customFacts: ["slow"] },
        );
        const engine = createJsonRulesEngine({ ruleSets: [first, second], config: {}, customFacts: { slow } });
        const findings = await engine.evaluate(policyInput());
        expect(findings.map((f) => f.rule)).toEqual(["f2", "s1", "s3", "f1", "f3", "s2"]);
        engine.close();
      }),
      { numRuns: 25 },
    );
  });
});

describe("concurrency", () => {
  // Rules over several priority levels with input-dependent async facts, so concurrent runs
  // overlap and finish in a different order than they started.
  const concurrencySet = parseRuleSet(
    {
      name: "concurrency",
      rules: [
        violationRule("high_even", { all: [{ fact: "jitter", params: { salt: 1 }, operator: "equal", value: 0 }] }, { priority: 3 }),
        violationRule("mid_busy", { all: [{ fact: "context", path: "$.actionsInWindow", operator: "greaterThan", value: 20 }] }, { priority: 2 }),
        violationRule("low_odd", { all: [{ fact: "jitter", params: { salt: 2 }, operator: "equal", value: 1 }] }),
        violationRule("low_any", { any: [{ fact: "jitter", params: { salt: 3 }, operator: "equal", value: 1 }, { fact: "facts", path: "$.writes", operator: "equal", value: true }] }),
      ],
    },
    "concurrency.json",
    { customFacts: ["jitter"] },
  );
  /**
   * Parity of (actionsInWindow + salt), resolved after an input-dependent number of event-loop
   * turns: the high-priority fact takes up to 4 turns, the others at most 1, so some runs finish
   * while others are still at their first priority level (the shape that makes a shared
   * json-rules-engine Engine skip levels).
   */
  const jitter: JsonRulesCustomFact = async (input, params) => {
    const n = (input.context.actionsInWindow ?? 0) + Number(params.salt);
    await turns(Number(params.salt) === 1 ? n % 5 : n % 2);
    return n % 2;
  };
  const inputs = Array.from({ length: 1000 }, (_, i) =>
    policyInput({ actionsInWindow: (i * 7) % 60, readOnly: i % 3 === 0 }, { writes: i % 2 === 0, costUsdTotal: (i * 13) % 150 }, `agent-${i}`),
  );

  it("gives 1,000 concurrent evaluations on one engine exactly the sequential results", async () => {
    const ruleSets = [...loadRuleSets(RULES_DIR), loadRuleSetFile(join(RULES_DIR, "parity", "cost.json")), concurrencySet];
    const engine = createJsonRulesEngine({ ruleSets, config: CONFIG, customFacts: { jitter } });
    const sequential: (readonly PolicyFinding[])[] = [];
    for (const input of inputs) sequential.push(await engine.evaluate(input));
    const concurrent = await Promise.all(inputs.map((input) => engine.evaluate(input)));
    const differences = inputs.filter((_, i) => JSON.stringify(concurrent[i]) !== JSON.stringify(sequential[i]));
    expect(differences).toHaveLength(0);
    // The inputs exercise every rule, so "no differences" is not "nothing fired".
    const fired = new Set(sequential.flat().map((f) => f.rule));
    expect([...fired].sort()).toEqual(
      ["approaching_limit", "budget_exceeded", "high_even", "low_any", "low_odd", "mid_busy", "too_many_actions", "write_in_read_only"].sort(),
    );
  });

  it("(the defect being neutralised) one shared json-rules-engine Engine drops events under concurrent runs", async () => {
    const raw = new Engine(concurrencySet.rules.map((rule) => ({ ...rule, conditions: rule.conditions as never })));
    let current = 0;
    raw.addFact("jitter", async (params: Record<string, unknown>) => {
      // Stand-in for input-dependent latency on a shared Engine.
      const n = current++ + Number(params.salt);
      await turns(n % 3);
      return n % 2;
    });
    const runs = await Promise.all(inputs.slice(0, 200).map((input) => raw.run({ ...input })));
    const sharedEvents = runs.reduce((sum, run) => sum + run.results.length + run.failureResults.length, 0);
    // Every run should report on all 4 rules; a shared Engine skips priority levels of runs still in flight.
    expect(sharedEvents).toBeLessThan(200 * 4);
  });

  it("prepares each pooled Engine once, not once per evaluation", async () => {
    const addRule = vi.spyOn(Engine.prototype, "addRule");
    // fastPath: false, so every rule runs on json-rules-engine and the pool is what is measured.
    const engine = createJsonRulesEngine({ ruleSets: loadRuleSets(RULES_DIR), config: CONFIG, maxIdleEngines: 2, fastPath: false });
    for (let i = 0; i < 20; i += 1) await engine.evaluate(policyInput({ actionsInWindow: i }));
    expect(addRule).toHaveBeenCalledTimes(3); // one Engine, three rules
    await Promise.all(Array.from({ length: 5 }, (_, i) => engine.evaluate(policyInput({ actionsInWindow: i }))));
    expect(addRule.mock.calls.length).toBeLessThanOrEqual(3 * 5);
    const afterBurst = addRule.mock.calls.length;
    for (let i = 0; i < 5; i += 1) await engine.evaluate(policyInput());
    expect(addRule.mock.calls.length).toBe(afterBurst); // idle Engines were kept and reused
  });
});

describe("evaluation failures", () => {
  const failing: JsonRulesCustomFact = async (_input, params) => {
    await delay(Number(params.ms));
    throw new Error(`boom after ${String(params.ms)}ms`);
  };

  it("rejects naming the rule set, the rule and the failing fact; the first in report order wins", async () => {
    const set = parseRuleSet(
      {
        name: "fragile",
        rules: [
          violationRule("fine", slowIsTrue(0)),
          violationRule("fails_late", { all: [{ fact: "failing", params: { ms: 15 }, operator: "equal", value: 1 }] }),
          violationRule("fails_early", { all: [{ fact: "failing", params: { ms: 0 }, operator: "equal", value: 1 }] }),
        ],
      },
      "rules/fragile.json",
      { customFacts: ["slow", "failing"] },
    );
    const engine = createJsonRulesEngine({ ruleSets: [set], config: {}, customFacts: { slow, failing } });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const error: unknown = await engine.evaluate(policyInput()).catch((e: unknown) => e);
      expect(isPolicyKernelError(error, "engine_error")).toBe(true);
      expect((error as Error).message).toBe(
        'rules/fragile.json: rule set "fragile", rule "fails_late" failed: custom fact "failing" failed: boom after 15ms',
      );
    }
  });

  it("reports a fact that throws synchronously, and keeps working afterwards", async () => {
    let explode = true;
    const flaky: JsonRulesCustomFact = () => {
      if (explode) throw new TypeError("lookup table missing");
      return 1;
    };
    const set = parseRuleSet({ name: "flaky", rules: [violationRule("uses_flaky", { all: [{ fact: "flaky", operator: "equal", value: 1 }] }, { priority: 2 }), violationRule("other", slowIsTrue(1))] }, "flaky.json", {
      customFacts: ["flaky", "slow"],
    });
    const engine = createJsonRulesEngine({ ruleSets: [set], config: {}, customFacts: { flaky, slow } });
    await expect(engine.evaluate(policyInput())).rejects.toThrow('rule set "flaky", rule "uses_flaky" failed: custom fact "flaky" failed: lookup table missing');
    explode = false;
    // Concurrent runs after a failure: a half-finished Engine must not be handed out again.
    const results = await Promise.all(Array.from({ length: 20 }, () => engine.evaluate(policyInput())));
    for (const findings of results) expect(findings.map((f) => f.rule)).toEqual(["uses_flaky", "other"]);
  });
});

describe("missing facts and config", () => {
  it("does not match (and does not throw) when a path is missing, on either side of a comparison", async () => {
    const set = parseRuleSet(
      {
        name: "missing",
        rules: [
          violationRule("busy", { all: [{ fact: "context", path: "$.actionsInWindow", operator: "greaterThanInclusive", value: 1 }] }),
          violationRule("listed", { all: [{ fact: "action", path: "$.tool", operator: "in", value: { fact: "context", path: "$.allowedTools" } }] }),
          violationRule("unlisted", { all: [{ fact: "action", path: "$.tool", operator: "notIn", value: { fact: "context", path: "$.allowedTools" } }] }),
          violationRule("some_value", { all: [{ fact: "action", path: "$.tool", operator: "someValue:equal", value: { fact: "context", path: "$.allowedTools" } }] }),
          violationRule("sql_read_only", { all: [{ fact: "facts", path: "$.sql.readOnly", operator: "equal", value: false }] }),
        ],
      },
      "missing.json",
    );
    const engine = createJsonRulesEngine({ ruleSets: [set], config: {} });
    expect(await engine.evaluate(policyInput())).toEqual([]);
    const listed = await engine.evaluate(policyInput({ actionsInWindow: 3, allowedTools: ["search_docs"] } as PolicyInput["context"]));
    expect(listed.map((f) => f.rule)).toEqual(["busy", "listed", "some_value"]);
  });

  it("refuses to build when a rule reads a config value the configuration lacks", () => {
    const ruleSets = loadRuleSets(RULES_DIR);
    let caught: unknown;
    try {
      createJsonRulesEngine({ ruleSets, config: { rate_limit: { block_at: 50 } } });
    } catch (error) {
      caught = error;
    }
    expect(isPolicyKernelError(caught, "invalid_config")).toBe(true);
    expect((caught as Error).message).toBe(
      `${join(RULES_DIR, "rate_limit.json")}: rules[1].conditions.all[0].value.path: the configuration has no value at $.rate_limit.warn_at (config.rate_limit.warn_at)` +
        " (expected the kernel configuration to define every config value the rules read)",
    );
  });

  it("is not affected by later changes to the config object it was given", async () => {
    const config = structuredClone(CONFIG);
    const engine = createJsonRulesEngine({ ruleSets: loadRuleSets(RULES_DIR), config });
    config.rate_limit.block_at = 1000;
    expect((await engine.evaluate(policyInput({ actionsInWindow: 50 }))).map((f) => f.rule)).toEqual(["too_many_actions"]);
  });

  it("re-validates in-memory rule sets against its custom facts", () => {
    const set = { name: "x", rules: [violationRule("r", { all: [{ fact: "risk", operator: "equal", value: 1 }] })] } as unknown as RuleSet;
    expect(() => createJsonRulesEngine({ ruleSets: [set], config: {} })).toThrow(/ruleSets\[0\]: rules\[0\]\.conditions\.all\[0\]\.fact: unknown fact "risk"/);
    expect(() => createJsonRulesEngine({ ruleSets: [set], config: {}, customFacts: { risk: () => 1 } })).not.toThrow();
    expect(() => createJsonRulesEngine({ ruleSets: [set], config: {}, customFacts: { context: () => 1 } })).toThrow(/custom fact "context" cannot be used/);
  });

  it("names the field of a config value that is not JSON data (not a DataCloneError)", () => {
    expect(() => createJsonRulesEngine({ ruleSets: [], config: { rate_limit: { block_at: () => 50 } } })).toThrow(
      "config.rate_limit.block_at: a function is not JSON data (expected JSON data: objects, arrays, strings, finite numbers, booleans, null)",
    );
  });
});

describe("engine surface", () => {
  it("exposes source, sorted policy names and returns fresh findings", async () => {
    const ruleSets = [...loadRuleSets(RULES_DIR), loadRuleSetFile(join(RULES_DIR, "parity", "cost.json"))];
    const engine = createJsonRulesEngine({ ruleSets, config: CONFIG });
    expect(engine.source).toBe("json");
    expect(engine.policyNames).toEqual(["cost", "rate_limit", "read_only"]);
    const first = await engine.evaluate(policyInput({ actionsInWindow: 60 }));
    (first[0] as { description: string }).description = "tampered";
    expect((await engine.evaluate(policyInput({ actionsInWindow: 60 })))[0]?.description).toBe("too many actions in the rate-limit window");
  });

  it("rejects evaluations after close, and close twice is fine", async () => {
    const engine = createJsonRulesEngine({ ruleSets: loadRuleSets(RULES_DIR), config: CONFIG });
    engine.close();
    engine.close();
    await expect(engine.evaluate(policyInput())).rejects.toThrow(/closed/);
  });
});

describe("rulesSha256", () => {
  function hashOf(ruleSets: readonly RuleSet[]): string | null {
    return createJsonRulesEngine({ ruleSets, config: CONFIG }).provenance.rulesSha256;
  }

  it("is stable across loads, formatting and file location, and null without rule sets", () => {
    const loaded = hashOf(loadRuleSets(RULES_DIR));
    expect(loaded).toMatch(/^[0-9a-f]{64}$/);
    expect(hashOf(loadRuleSets(RULES_DIR))).toBe(loaded);
    // Same content, compact formatting, another folder: same hash.
    const copy = mkdtempSync(join(tmpdir(), "json-rules-copy-"));
    for (const set of loadRuleSets(RULES_DIR)) {
      const { source: _source, ...content } = set;
      writeFileSync(join(copy, `${set.name}.json`), JSON.stringify(content));
    }
    expect(hashOf(loadRuleSets(copy))).toBe(loaded);
    expect(hashOf([])).toBeNull();
  });

  it("changes when a rule changes or the load order changes", () => {
    const sets = loadRuleSets(RULES_DIR);
    const base = hashOf(sets);
    const edited = structuredClone(sets);
    const firstRule = edited[0]?.rules[0];
    if (!firstRule) throw new Error("rate_limit has rules");
    firstRule.event.params.severity = "high";
    expect(hashOf(edited)).not.toBe(base);
    expect(hashOf([...sets].reverse())).not.toBe(base);
  });
});
