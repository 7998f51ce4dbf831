import { describe, expect, it } from "vitest";
import { factsReadByPaths, unionFactsRead } from "../../src/engines/facts-read.js";
import { factsReadByCondition } from "../../src/engines/json/fact-reads.js";
import { createJsonRulesEngine } from "../../src/engines/json/index.js";
import { loadRuleSets, parseRuleSet } from "../../src/engines/json/rule-set.js";
import { factNeedsByActionType, factNeedsOf } from "../../src/kernel/enrich.js";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { createRegoEngine } from "../../src/engines/rego/rego-engine.js";
import { defaultBundlePath, defaultRulesPath } from "../../src/kernel/defaults.js";

// What rules/rate_limit.json reads from the kernel configuration.
const CONFIG = { rate_limit: { block_at: 50, warn_at: 40 } };
const FINDING = { policy: "custom", rule: "admin", severity: "low", effect: "warn", description: "an admin" };
const names = (read: ReturnType<typeof factsReadByPaths>): string[] | "all" => (read === "all" ? "all" : [...read].sort());

describe("factsReadByPaths (the Rego engine's input projection)", () => {
  it("names the facts under input.facts and ignores other paths", () => {
    expect(names(factsReadByPaths([["action", "type"], ["facts", "sql"], ["facts", "clock", "minuteOfDayUtc"], ["context", "role"]]))).toEqual(["clock", "sql"]);
    expect(names(factsReadByPaths([["action"]]))).toEqual([]);
  });

  it("is all for the whole input, all of input.facts, or a fact it does not know", () => {
    expect(factsReadByPaths(null)).toBe("all");
    expect(factsReadByPaths([[]])).toBe("all");
    expect(factsReadByPaths([["facts"]])).toBe("all");
    expect(factsReadByPaths([["facts", "weather"]])).toBe("all");
  });
});

describe("factsReadByCondition (JSON rules)", () => {
  it("reads fact paths on both sides of a comparison, through all, any and not", () => {
    const read = factsReadByCondition({
      all: [
        { fact: "context", path: "$.readOnly", operator: "equal", value: true },
        { any: [{ fact: "facts", path: "$.writes", operator: "equal", value: true }] },
        { not: { fact: "config", path: "$.x", operator: "equal", value: { fact: "facts", path: "$['costUsdTotal']" } } },
      ],
    });
    expect(names(read)).toEqual(["costUsdTotal", "writes"]);
  });

  it("is all for facts read whole, an index step, a named-condition reference or a custom fact's tree it cannot see", () => {
    expect(factsReadByCondition({ all: [{ fact: "facts", operator: "equal", value: 1 }] })).toBe("all");
    expect(factsReadByCondition({ all: [{ fact: "facts", path: "$[0]", operator: "equal", value: 1 }] })).toBe("all");
    expect(factsReadByCondition({ all: [{ condition: "named" }] })).toBe("all");
    expect(factsReadByCondition({ all: [{ fact: "context", operator: "equal", value: { fact: 7 } }] })).toBe("all");
    // A custom fact's function is handed the whole input.
    expect(factsReadByCondition({ all: [{ fact: "lookup", operator: "equal", value: true }] })).toBe("all");
    expect(factsReadByCondition({ all: [{ fact: "context", path: "$.role", operator: "equal", value: { fact: "lookup" } }] })).toBe("all");
  });

  it("reads what a decorated operator's condition names, like any other", () => {
    expect(names(factsReadByCondition({ all: [{ fact: "facts", path: "$.costUsdTotal", operator: "not:greaterThan", value: 5 }] }))).toEqual(["costUsdTotal"]);
  });

  it("gives the default rules' engine {writes}, also when its rules run on json-rules-engine; all with a custom fact", () => {
    const ruleSets = loadRuleSets([defaultRulesPath()]);
    expect(names(createJsonRulesEngine({ ruleSets, config: CONFIG }).factsRead!)).toEqual(["writes"]);
    expect(names(createJsonRulesEngine({ ruleSets, config: CONFIG, fastPath: false }).factsRead!)).toEqual(["writes"]);
    const custom = parseRuleSet(
      { name: "custom", rules: [{ name: "admin", conditions: { all: [{ fact: "lookup", operator: "equal", value: true }] }, event: { type: "violation", params: FINDING } }] },
      "custom.json",
      { customFacts: ["lookup"] },
    );
    expect(createJsonRulesEngine({ ruleSets: [...ruleSets, custom], config: CONFIG, customFacts: { lookup: () => true } }).factsRead).toBe("all");
  });
});

describe("unionFactsRead and factNeedsOf (the kernel)", () => {
  it("unites the engines' facts; an engine that does not say reads all", () => {
    expect(names(unionFactsRead([new Set(["sql"] as const), new Set(["writes"] as const)]))).toEqual(["sql", "writes"]);
    expect(unionFactsRead([new Set(["sql"] as const), undefined])).toBe("all");
    expect(unionFactsRead([new Set(["sql"] as const), "all"])).toBe("all");
    expect(names(unionFactsRead([]))).toEqual([]);
  });

  it("computes the SQL analysis for writes, and everything for all", () => {
    expect(factNeedsOf(new Set(["writes"] as const))).toEqual({ sql: true, message: false, clock: false });
    expect(factNeedsOf(new Set(["costUsdTotal", "message"] as const))).toEqual({ sql: false, message: true, clock: false });
    expect(factNeedsOf("all")).toEqual({ sql: true, message: true, clock: true });
  });
});

describe("facts by action type", () => {
  it("the default Rego engine reads the clock for transactions only, and the SQL and message facts for their types", async () => {
    const engine = await createRegoEngine({ bundle: readBundle(defaultBundlePath()) });
    const byType = engine.factsReadByActionType!;
    expect(Object.fromEntries(Object.entries(byType.types).map(([type, read]) => [type, names(read)]))).toEqual({
      message: ["costUsdTotal", "message"],
      sql: ["costUsdTotal", "sql"],
      tool_call: ["costUsdTotal"],
      transaction: ["clock", "costUsdTotal"],
    });
    expect(names(byType.other)).toEqual(["costUsdTotal"]);
    expect(names(engine.factsRead!)).toEqual(["clock", "costUsdTotal", "message", "sql"]);
  });

  it("unites the engines per type: one without types counts for every type, one that says nothing reads all", () => {
    const rego = { factsReadByActionType: { types: { sql: new Set(["sql"] as const), transaction: new Set(["clock"] as const) }, other: new Set(["costUsdTotal"] as const) } };
    const json = { factsRead: new Set(["writes"] as const) };
    const needs = factNeedsByActionType([rego, json]);
    expect(Object.fromEntries(needs.types)).toEqual({
      sql: { sql: true, message: false, clock: false },
      transaction: { sql: true, message: false, clock: true },
    });
    expect(needs.other).toEqual({ sql: true, message: false, clock: false });
    const silent = factNeedsByActionType([rego, {}]);
    expect([...silent.types.values(), silent.other]).toEqual([ALL, ALL, ALL]);
    expect(factNeedsByActionType([json]).types.size).toBe(0);
  });
});

const ALL = { sql: true, message: true, clock: true };

