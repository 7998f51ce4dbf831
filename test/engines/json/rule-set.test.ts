import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Engine } from "json-rules-engine";
import { describe, expect, it } from "vitest";
import { JSON_RULES_OPERATOR_DECORATORS, JSON_RULES_OPERATORS, parseOperator } from "../../../src/engines/json/operators.js";
import { parsePath, resolveSteps } from "../../../src/engines/json/paths.js";
import { loadRuleSetFile, loadRuleSets, parseRuleSet } from "../../../src/engines/json/rule-set.js";
import { isPolicyKernelError, type ErrorCode } from "../../../src/errors.js";

function violationRule(name: string, conditions: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    conditions,
    event: {
      type: "violation",
      params: { policy: "test", rule: name, severity: "low", effect: "warn", description: `${name} fired` },
    },
    ...extra,
  };
}

const ok = { all: [{ fact: "context", path: "$.actionsInWindow", operator: "greaterThan", value: 1 }] };

function tempTree(files: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmpdir(), "json-rules-"));
  for (const [relative, content] of Object.entries(files)) {
    const file = join(root, relative);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  }
  return root;
}

function expectKernelError(fn: () => unknown, expected: { code: ErrorCode; file?: string; field?: string; message?: RegExp }): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isPolicyKernelError(caught, expected.code), `expected a ${expected.code} PolicyKernelError, got ${String(caught)}`).toBe(true);
  if (!isPolicyKernelError(caught)) return;
  if (expected.file !== undefined) {
    expect(caught.file).toBe(expected.file);
    expect(caught.message.startsWith(`${expected.file}: `)).toBe(true);
  }
  if (expected.field !== undefined) {
    expect(caught.field).toBe(expected.field);
    expect(caught.message).toContain(expected.field);
  }
  if (expected.message) expect(caught.message).toMatch(expected.message);
}

/** Writes one rule-set file and loads it, expecting an invalid_rules error at `field`. */
function expectInvalidFile(content: unknown, field: string | undefined, message: RegExp): void {
  const root = tempTree({ "set.json": content });
  const file = join(root, "set.json");
  expectKernelError(() => loadRuleSetFile(file), { code: "invalid_rules", file, ...(field ? { field } : {}), message });
}

function ruleSet(rules: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: "set", rules, ...extra };
}

describe("operators", () => {
  it("lists exactly the operators and decorators json-rules-engine registers by default", () => {
    // Reads the library's internal OperatorMap: this is the guard against an upgrade changing the set.
    const internals = new Engine() as unknown as { operators: { operators: Map<string, unknown>; decorators: Map<string, unknown> } };
    expect([...internals.operators.operators.keys()].sort()).toEqual([...JSON_RULES_OPERATORS].sort());
    expect([...internals.operators.decorators.keys()].sort()).toEqual([...JSON_RULES_OPERATOR_DECORATORS].sort());
  });

  it("parses decorated operators the way OperatorMap.get does", () => {
    expect(parseOperator("equal")).toEqual({ decorators: [], operator: "equal" });
    expect(parseOperator("not:someValue:in")).toEqual({ decorators: ["not", "someValue"], operator: "in" });
    for (const bad of ["", "eq", "not:", ":equal", "not::equal", "sometimes:equal", "equal:not", "Equal"]) {
      expect(parseOperator(bad), bad).toBeUndefined();
    }
  });
});

describe("paths", () => {
  it("accepts member and index steps only", () => {
    expect(parsePath("$")).toEqual([]);
    expect(parsePath("$.a.b_2[0]['odd-key'][\"x y\"]")).toEqual([
      { kind: "member", name: "a" },
      { kind: "member", name: "b_2" },
      { kind: "index", index: 0 },
      { kind: "member", name: "odd-key" },
      { kind: "member", name: "x y" },
    ]);
    for (const bad of ["", "a.b", "$.", "$..a", "$.*", "$[*]", "$.a[?(@>1)]", "$[0:2]", "$.[", "$[01]", "$.a b"]) {
      expect(parsePath(bad), bad).toBeUndefined();
    }
  });

  it("follows own members and in-range indexes, never built-in properties", () => {
    const value = { a: { list: [10, 20] }, s: "text" };
    const at = (path: string): unknown => resolveSteps(value, parsePath(path) ?? []);
    expect(at("$.a.list[1]")).toBe(20);
    expect(at("$.a.list[2]")).toBeUndefined();
    expect(at("$.a.list.length")).toBeUndefined();
    expect(at("$.s.length")).toBeUndefined();
    // Refused at load, and never followed even when a step is built by hand.
    expect(parsePath("$.constructor")).toBeUndefined();
    expect(resolveSteps(value, [{ kind: "member", name: "constructor" }])).toBeUndefined();
    expect(at("$.missing.deeper")).toBeUndefined();
  });
});

describe("rule-set validation", () => {
  it("accepts a well-formed set and keeps its source", () => {
    const set = parseRuleSet(ruleSet([violationRule("r", ok)]), "inline");
    expect(set.source).toBe("inline");
    expect(set.rules[0]?.event.params.rule).toBe("r");
  });

  it("reports bad JSON with the file", () => {
    expectInvalidFile('{"name": "x", "rules": [', undefined, /invalid JSON/);
  });

  it("reports an unknown operator with its field path and the operators it could be", () => {
    const rules = [
      violationRule("first", ok),
      violationRule("second", { all: [{ fact: "context", path: "$.actionsInWindow", operator: "gte", value: 50 }] }),
    ];
    expectInvalidFile(ruleSet(rules), "rules[1].conditions.all[0].operator", /unknown operator "gte" \(expected one of equal, .*greaterThanInclusive.*everyFact:/);
  });

  it("reports an unknown decorator", () => {
    const rules = [violationRule("r", { any: [{ fact: "context", operator: "sometimes:equal", value: 1 }] })];
    expectInvalidFile(ruleSet(rules), "rules[0].conditions.any[0].operator", /unknown operator "sometimes:equal"/);
  });

  it("accepts every decorator form json-rules-engine resolves", () => {
    const conditions = {
      all: [
        { fact: "action", path: "$.tags", operator: "someFact:equal", value: "x" },
        { fact: "action", path: "$.tags", operator: "everyFact:notEqual", value: "y" },
        { fact: "action", path: "$.tool", operator: "someValue:equal", value: ["a", "b"] },
        { fact: "action", path: "$.tool", operator: "everyValue:notEqual", value: ["a", "b"] },
        { fact: "action", path: "$.tool", operator: "swap:contains", value: ["a"] },
        { fact: "action", path: "$.tool", operator: "not:in", value: ["a"] },
        { fact: "action", path: "$.tool", operator: "not:someValue:in", value: [["a"], ["b"]] },
      ],
    };
    expect(() => parseRuleSet(ruleSet([violationRule("r", conditions)]), "inline")).not.toThrow();
  });

  it("reports a missing event param", () => {
    const rule = violationRule("r", ok);
    const event = rule.event as { params: Record<string, unknown> };
    delete event.params.description;
    expectInvalidFile(ruleSet([rule]), "rules[0].event.params.description", /expected string, received undefined/);
  });

  it("reports a wrong severity with the allowed values", () => {
    const rule = violationRule("r", ok);
    (rule.event as { params: Record<string, unknown> }).params.severity = "severe";
    expectInvalidFile(ruleSet([rule]), "rules[0].event.params.severity", /expected one of "critical"\|"high"\|"medium"\|"low"/);
  });

  it("reports a misspelt event param instead of dropping it", () => {
    const rule = violationRule("r", ok);
    (rule.event as { params: Record<string, unknown> }).params.penality = 5;
    expectInvalidFile(ruleSet([rule]), "rules[0].event.params", /Unrecognized key: "penality"/);
  });

  it("reports a signal effect without a signal", () => {
    const rule = violationRule("r", ok);
    (rule.event as { params: Record<string, unknown> }).params.effect = "signal";
    expectInvalidFile(ruleSet([rule]), "rules[0].event.params.signal", /signal name/);
  });

  it("reports an event type other than violation", () => {
    const rule = { ...violationRule("r", ok), event: { type: "alert", params: (violationRule("r", ok).event as { params: unknown }).params } };
    expectInvalidFile(ruleSet([rule]), "rules[0].event.type", /expected "violation"/);
  });

  it("reports an unknown fact with the facts the adapter provides", () => {
    const rules = [violationRule("r", { any: [ok.all[0], { fact: "ctx", operator: "equal", value: 1 }] })];
    expectInvalidFile(ruleSet(rules), "rules[0].conditions.any[1].fact", /unknown fact "ctx" \(expected one of agentId, action, context, facts, config\)/);
  });

  it("reports an unknown fact inside a fact-valued comparison", () => {
    const rules = [violationRule("r", { all: [{ fact: "context", operator: "equal", value: { fact: "settings", path: "$.x" } }] })];
    expectInvalidFile(ruleSet(rules), "rules[0].conditions.all[0].value.fact", /unknown fact "settings"/);
  });

  it("accepts custom facts when the loader is told their names", () => {
    const rules = [violationRule("r", { all: [{ fact: "riskScore", operator: "greaterThan", value: 3 }] })];
    expect(() => parseRuleSet(ruleSet(rules), "inline")).toThrow(/unknown fact "riskScore"/);
    expect(() => parseRuleSet(ruleSet(rules), "inline", { customFacts: ["riskScore"] })).not.toThrow();
  });

  it("reports paths outside the supported JSONPath subset", () => {
    const rules = [violationRule("r", { all: [{ fact: "context", path: "$..actionsInWindow", operator: "equal", value: 1 }] })];
    expectInvalidFile(ruleSet(rules), "rules[0].conditions.all[0].path", /unsupported path "\$\.\.actionsInWindow" \(expected a JSONPath of member and index steps/);
  });

  it("reports literal values that do not suit the operator", () => {
    const inScalar = [violationRule("r", { all: [{ fact: "action", path: "$.tool", operator: "in", value: "sql_query" }] })];
    expectInvalidFile(ruleSet(inScalar), "rules[0].conditions.all[0].value", /expected an array value for operator "in"/);
    const numericText = [violationRule("r", { all: [{ fact: "context", path: "$.actionsInWindow", operator: "greaterThan", value: "50" }] })];
    expectInvalidFile(ruleSet(numericText), "rules[0].conditions.all[0].value", /expected a number value for operator "greaterThan"/);
    const everyValue = [violationRule("r", { all: [{ fact: "context", operator: "everyValue:lessThan", value: [1, "2"] }] })];
    expectInvalidFile(ruleSet(everyValue), "rules[0].conditions.all[0].value", /number value .* in each element/);
  });

  it("reports structural condition mistakes json-rules-engine would accept or only fail on at run time", () => {
    const cases: [unknown, string, RegExp][] = [
      [{ fact: "context", operator: "equal", value: 1 }, "rules[0].conditions", /root condition of a rule must be all, any, not/],
      [{ all: [] }, "rules[0].conditions.all", /non-empty array/],
      [{ any: [ok.all[0]], all: [ok.all[0]] }, "rules[0].conditions", /has all and any/],
      [{ all: [{ fact: "context", operator: "equal" }] }, "rules[0].conditions.all[0].value", /value is missing/],
      [{ all: [{ fact: "context", operater: "equal", value: 1 }] }, "rules[0].conditions.all[0].operater", /unknown key "operater"/],
      [{ not: [ok.all[0]] }, "rules[0].conditions.not", /one condition, not an array/],
      [{ all: [{ condition: "nope" }] }, "rules[0].conditions.all[0].condition", /unknown condition reference "nope"/],
      [{ all: [{ ...ok.all[0], priority: 0 }] }, "rules[0].conditions.all[0].priority", /integer >= 1/],
      [{ all: ["context"] }, "rules[0].conditions.all[0]", /must be an object/],
    ];
    for (const [conditions, field, message] of cases) expectInvalidFile(ruleSet([violationRule("r", conditions)]), field, message);
  });

  it("reports rule-level mistakes", () => {
    expectInvalidFile(ruleSet([{ ...violationRule("r", ok), priorty: 2 }]), "rules[0]", /Unrecognized key: "priorty"/);
    expectInvalidFile(ruleSet([violationRule("r", ok, { priority: 0 })]), "rules[0].priority", /expected number to be >=1/);
    expectInvalidFile(ruleSet([violationRule("r", ok), violationRule("r", ok)]), "rules[1].name", /duplicate rule name "r" \(also rules\[0\]\)/);
    expectInvalidFile({ rules: [] }, "name", /expected string/);
    expectInvalidFile([], "(root)", /expected object/);
  });

  it("resolves named conditions and refuses reference cycles", () => {
    const named = { isBusy: { all: [ok.all[0]] }, loop: { any: [{ condition: "loop2" }] }, loop2: { not: { condition: "loop" } } };
    expectInvalidFile(ruleSet([violationRule("r", { condition: "isBusy" })], { conditions: named }), "conditions.loop", /cycle: loop -> loop2 -> loop/);
    const { loop: _loop, loop2: _loop2, ...acyclic } = named;
    expect(() => parseRuleSet(ruleSet([violationRule("r", { condition: "isBusy" })], { conditions: acyclic }), "inline")).not.toThrow();
  });
});

describe("loading files and folders", () => {
  it("loads a folder's *.json files sorted by name, without recursing", () => {
    const root = tempTree({
      "b.json": ruleSet([violationRule("r", ok)], { name: "b" }),
      "a.json": ruleSet([violationRule("r", ok)], { name: "a" }),
      "C.json": ruleSet([violationRule("r", ok)], { name: "C" }),
      "notes.txt": "not a rule set",
      "sub/d.json": ruleSet([violationRule("r", ok)], { name: "d" }),
    });
    const sets = loadRuleSets(root);
    expect(sets.map((s) => s.name)).toEqual(["C", "a", "b"]);
    expect(sets.map((s) => s.source)).toEqual([join(root, "C.json"), join(root, "a.json"), join(root, "b.json")]);
  });

  it("loads files and folders in the order given", () => {
    const root = tempTree({
      "x/one.json": ruleSet([violationRule("r", ok)], { name: "one" }),
      "two.json": ruleSet([violationRule("r", ok)], { name: "two" }),
    });
    expect(loadRuleSets([join(root, "two.json"), join(root, "x")]).map((s) => s.name)).toEqual(["two", "one"]);
  });

  it("loads nothing when one file is bad", () => {
    const root = tempTree({
      "a.json": ruleSet([violationRule("r", ok)], { name: "a" }),
      "b.json": ruleSet([violationRule("r", { all: [{ fact: "nope", operator: "equal", value: 1 }] })], { name: "b" }),
    });
    expectKernelError(() => loadRuleSets(root), { code: "invalid_rules", file: join(root, "b.json"), field: "rules[0].conditions.all[0].fact" });
  });

  it("refuses two sets with the same name", () => {
    const root = tempTree({ "a.json": ruleSet([violationRule("r", ok)]), "b.json": ruleSet([violationRule("r", ok)]) });
    expectKernelError(() => loadRuleSets(root), { code: "invalid_rules", file: join(root, "b.json"), field: "name", message: /duplicate rule set name "set"/ });
  });

  it("reports a missing path as an io_error", () => {
    const missing = join(tmpdir(), "no-such-rules-folder-for-json-engine-tests");
    expectKernelError(() => loadRuleSets(missing), { code: "io_error", file: missing });
    // One readable reason and what to pass, not Node's raw "ENOENT: ..., stat '...'" text.
    expect(() => loadRuleSets(missing)).toThrow(/cannot read rule sets \(ENOENT: no such file or folder\).*a rule-set JSON file or a folder of them/);
    expectKernelError(() => loadRuleSetFile(missing), { code: "io_error", file: missing });
  });
});
