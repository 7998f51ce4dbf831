import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createJsonRulesEngine } from "../../../src/engines/json/json-engine.js";
import { loadRuleSetFile, parseRuleSet, type RuleSet } from "../../../src/engines/json/rule-set.js";
import { createRng, type Rng } from "../../../src/env/rng.js";
import type { PolicyInput } from "../../../src/schemas.js";

// The compiled fast path against json-rules-engine itself (the same adapter with fastPath: false):
// 100,000 generated inputs per rule set, zero differences in findings, order or errors.
const RULES_DIR = join(import.meta.dirname, "..", "..", "..", "rules");
const RUNS = 100_000;
const CONFIG = { rate_limit: { block_at: 50, warn_at: 40 }, cost: { max_cost_usd: 100 }, limits: { low: 7, tags: ["urgent", "x"] } };

const rule = (name: string, conditions: unknown, priority?: number) => ({
  name,
  ...(priority === undefined ? {} : { priority }),
  conditions,
  event: { type: "violation", params: { policy: "ops", rule: name, severity: "low", effect: "warn", description: `${name} fired` } },
});
const at = (fact: string, path: string | undefined, operator: string, value: unknown) => ({ fact, ...(path === undefined ? {} : { path }), operator, value });

/** Every operator, all/any/not, named conditions, fact-valued right sides, index and quoted paths, priorities. */
const OPERATORS_SET = parseRuleSet(
  {
    name: "ops",
    conditions: { busy: { all: [at("context", "$.actionsInWindow", "greaterThan", 10)] } },
    rules: [
      rule("equal_or_not_equal", { any: [at("action", "$.type", "equal", "sql"), at("context", "$.role", "notEqual", "admin")] }),
      rule("in_not_in", { all: [at("context", "$.role", "in", ["analyst", "support", 3, null]), at("action", "$.tool", "notIn", ["rm_rf"])] }, 3),
      rule("contains", { all: [at("action", "$.tags", "contains", "urgent")] }, 2),
      rule("not_does_not_contain", { not: at("action", "$.tags", "doesNotContain", "x") }),
      rule("less_than_config", { all: [at("facts", "$.costUsdTotal", "lessThan", { fact: "config", path: "$.limits.low" }), at("context", "$.costUsd", "lessThanInclusive", 5)] }),
      rule("named_and_fact_ref", { all: [{ condition: "busy" }, at("context", "$.actionsInWindow", "greaterThanInclusive", { fact: "context", path: "$.limit" })] }, 2),
      rule("index_path", { any: [at("facts", "$.sql.statements[0].kind", "equal", "DROP"), at("facts", "$.sql.statements[1].hasWhere", "equal", false)] }),
      rule("in_string_from_fact", { all: [at("action", '$["odd-key"]', "in", { fact: "context", path: "$.role" })] }),
      rule("path_on_non_object", { all: [at("agentId", undefined, "in", ["agent-1", "agent-2"]), at("agentId", "$.x", "equal", "agent-1")] }),
      rule("config_left", { all: [at("config", "$.limits.low", "lessThan", { fact: "facts", path: "$.costUsdTotal" })] }),
      rule("tags_in_config", { any: [at("config", "$.limits.tags", "contains", { fact: "action", path: "$.tags[0]" }), at("context", "$.readOnly", "greaterThanInclusive", 1)] }, 4),
      rule("nested", { not: { any: [{ all: [at("context", "$.readOnly", "equal", true), at("facts", "$.writes", "notEqual", false)] }, at("context", "$.spentUsd", "greaterThan", -1)] } }),
    ],
  },
  "generated:ops",
);

const SCALARS: readonly unknown[] = [0, 1, -1, 5, 6.5, 7, 7.0001, 10, 11, 39, 40, 49, 50, 51, 100, 100.01, 1e21, "5", "50", "7abc", "abc", "", " ", "sql", "admin", "analyst", "support", "rm_rf", "DROP", "agent-1", true, false, null, Number.NaN, Number.POSITIVE_INFINITY];

function value(rng: Rng, depth = 0): unknown {
  const roll = rng.int(10);
  if (roll < 6 || depth > 1) return rng.pick(SCALARS);
  if (roll < 7) return undefined;
  if (roll < 9) return Array.from({ length: rng.int(4) }, () => (rng.int(3) === 0 ? value(rng, depth + 1) : rng.pick(["urgent", "x", "y", 3, null])));
  return { x: value(rng, depth + 1), kind: rng.pick(["DROP", "SELECT", 1]) };
}

function maybe(rng: Rng, out: Record<string, unknown>, key: string, pick: () => unknown): void {
  if (rng.int(5) === 0) return;
  const v = pick();
  if (v !== undefined) out[key] = v;
}

/** Well-typed inputs most of the time, and the odd wrong type, missing field or non-object fact. */
function generateInput(rng: Rng): PolicyInput {
  const action: Record<string, unknown> = { type: rng.pick(["sql", "tool_call", "message", "transaction", "browse"]) };
  maybe(rng, action, "tool", () => rng.pick(["rm_rf", "search_docs", value(rng)]));
  maybe(rng, action, "tags", () => (rng.int(4) === 0 ? value(rng) : rng.shuffle(["urgent", "x", "y"]).slice(0, rng.int(4))));
  maybe(rng, action, "odd-key", () => rng.pick(["a", "na", "nal", "ana", "analyst", "", value(rng)]));
  const context: Record<string, unknown> = {};
  maybe(rng, context, "role", () => rng.pick(["admin", "analyst", "support", "intern", value(rng)]));
  maybe(rng, context, "actionsInWindow", () => (rng.int(4) === 0 ? value(rng) : rng.int(60)));
  maybe(rng, context, "limit", () => (rng.int(4) === 0 ? value(rng) : rng.int(60)));
  maybe(rng, context, "costUsd", () => (rng.int(4) === 0 ? value(rng) : rng.int(12)));
  maybe(rng, context, "spentUsd", () => value(rng));
  maybe(rng, context, "readOnly", () => (rng.int(3) === 0 ? value(rng) : rng.int(2) === 0));
  const facts: Record<string, unknown> = {};
  maybe(rng, facts, "costUsdTotal", () => (rng.int(4) === 0 ? value(rng) : rng.int(240) / 2));
  maybe(rng, facts, "writes", () => (rng.int(4) === 0 ? value(rng) : rng.int(2) === 0));
  maybe(rng, facts, "sql", () =>
    rng.int(4) === 0 ? value(rng) : { statements: Array.from({ length: rng.int(3) }, () => ({ kind: rng.pick(["DROP", "SELECT", "DELETE"]), target: "", hasWhere: rng.pick([true, false, value(rng)]) })), readOnly: false },
  );
  const agentId = rng.int(8) === 0 ? (value(rng) as string) : rng.pick(["agent-1", "agent-2", "agent-3"]);
  const whole = <T>(v: T): T => (rng.int(40) === 0 ? (value(rng) as T) : v);
  return { agentId, action: whole(action) as PolicyInput["action"], context: whole(context), facts: whole(facts) as PolicyInput["facts"] };
}

async function outcome(run: () => unknown): Promise<string> {
  try {
    return JSON.stringify(await run());
  } catch (error) {
    return `error: ${error instanceof Error ? error.message : String(error)}`;
  }
}

const SETS: readonly [string, () => RuleSet][] = [
  ["rate_limit", () => loadRuleSetFile(join(RULES_DIR, "rate_limit.json"))],
  ["read_only", () => loadRuleSetFile(join(RULES_DIR, "read_only.json"))],
  ["parity cost", () => loadRuleSetFile(join(RULES_DIR, "parity", "cost.json"))],
  ["every operator and condition form", () => OPERATORS_SET],
];

describe("compiled JSON rules against json-rules-engine (the oracle)", () => {
  for (const [name, load] of SETS) {
    it(`decides ${RUNS.toLocaleString("en-US")} generated inputs exactly alike: ${name}`, async () => {
      const ruleSets = [load()];
      const fast = createJsonRulesEngine({ ruleSets, config: CONFIG });
      const oracle = createJsonRulesEngine({ ruleSets, config: CONFIG, fastPath: false, maxIdleEngines: 64 });
      expect(fast.evaluateSync(generateInput(createRng(0)))).toBeDefined(); // every rule compiled
      const rng = createRng(`differential:${name}`);
      let differences = 0;
      let fired = 0;
      const BATCH = 64;
      for (let done = 0; done < RUNS; done += BATCH) {
        const inputs = Array.from({ length: BATCH }, () => generateInput(rng));
        const expected = await Promise.all(inputs.map((input) => outcome(() => oracle.evaluate(input))));
        for (let i = 0; i < BATCH; i++) {
          const actual = await outcome(() => fast.evaluateSync(inputs[i]!));
          const viaPromise = await outcome(() => fast.evaluate(inputs[i]!));
          if (actual !== expected[i] || viaPromise !== expected[i]) {
            differences++;
            if (differences <= 3) expect({ input: inputs[i], actual, viaPromise }).toEqual({ input: inputs[i], actual: expected[i], viaPromise: expected[i] });
          }
          if (actual !== "[]") fired++;
        }
      }
      expect(differences).toBe(0);
      // The corpus exercises both outcomes.
      expect(fired).toBeGreaterThan(RUNS / 20);
      expect(fired).toBeLessThan(RUNS);
    }, 300_000);
  }

  it("keeps rules with decorators or custom facts on json-rules-engine, and still agrees", async () => {
    const set = parseRuleSet(
      {
        name: "mixed",
        rules: [
          rule("decorated", { all: [at("action", "$.tags", "everyFact:in", ["urgent", "x", "y"])] }),
          rule("custom", { all: [at("lookup", undefined, "equal", true)] }, 2),
          rule("plain", { all: [at("context", "$.actionsInWindow", "greaterThan", 10)] }),
        ],
      },
      "generated:mixed",
      { customFacts: ["lookup"] },
    );
    const customFacts = { lookup: (input: PolicyInput) => (input.context as Record<string, unknown>)["role"] === "admin" };
    const fast = createJsonRulesEngine({ ruleSets: [set], config: CONFIG, customFacts });
    const oracle = createJsonRulesEngine({ ruleSets: [set], config: CONFIG, customFacts, fastPath: false });
    expect(fast.evaluateSync(generateInput(createRng(1)))).toBeUndefined();
    const rng = createRng("mixed");
    for (let i = 0; i < 2_000; i++) {
      const input = generateInput(rng);
      expect(await outcome(() => fast.evaluate(input))).toBe(await outcome(() => oracle.evaluate(input)));
    }
  });
});
