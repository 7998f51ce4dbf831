import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadRuleSetFile, loadRuleSets, parseRuleSet } from "../../../src/engines/json/rule-set.js";
import { isPolicyKernelError, type PolicyKernelError } from "../../../src/errors.js";
import { createPolicyKernel } from "../../../src/kernel/create-kernel.js";
import { defaultRulesPath } from "../../../src/kernel/defaults.js";
import { expectPrototypeClean } from "../../helpers/prototype-clean.js";

const work = mkdtempSync(join(tmpdir(), "pk-hostile-rules-"));
let counter = 0;

/** The shipped rate_limit rule set plus a named condition, so every level a rule set has is present. */
function baseRuleSet(): Record<string, unknown> {
  const set = JSON.parse(readFileSync(join(defaultRulesPath(), "rate_limit.json"), "utf8")) as Record<string, unknown>;
  set["conditions"] = { busy: { all: [{ fact: "context", path: "$.actionsInWindow", operator: "greaterThan", value: 1000 }] } };
  return set;
}

/** The member at a dotted path with [i] indexes (`rules[0].conditions.all[0]`). */
function at(value: unknown, path: string): Record<string, unknown> {
  let current = value;
  for (const step of path.split(/\.|(?=\[)/).filter(Boolean)) {
    const index = /^\[(\d+)\]$/.exec(step);
    current = index ? (current as unknown[])[Number(index[1])] : (current as Record<string, unknown>)[step];
  }
  return current as Record<string, unknown>;
}

function writeRules(set: unknown): string {
  const file = join(work, `rules-${counter++}.json`);
  writeFileSync(file, JSON.stringify(set));
  return file;
}

function rulesError(fn: () => unknown): PolicyKernelError {
  try {
    fn();
  } catch (error) {
    if (isPolicyKernelError(error, "invalid_rules")) return error;
    throw error;
  }
  throw new Error("accepted");
}

afterEach(expectPrototypeClean);

const LEVELS = [
  "",
  "config",
  "config.rate_limit",
  "conditions",
  "conditions.busy",
  "rules[0]",
  "rules[0].conditions",
  "rules[0].conditions.all[0]",
  "rules[0].conditions.all[0].value",
  "rules[0].event",
  "rules[0].event.params",
];
const KEYS = ["__proto__", "constructor", "prototype"];

describe("prototype keys in a rule-set file", () => {
  const cases = LEVELS.flatMap((level) => KEYS.map((key) => ({ level, key })));

  it.each(cases)("refuses $key at '$level', naming the file and key path", async ({ level, key }) => {
    const set = baseRuleSet();
    // An own key, as JSON.parse makes one: JSON.stringify writes it out.
    Object.defineProperty(at(set, level), key, { value: { polluted: "yes", block_at: 0 }, enumerable: true, configurable: true, writable: true });
    const file = writeRules(set);
    expect(readFileSync(file, "utf8")).toContain(`"${key}":`);
    const field = level ? `${level}.${key}` : key;
    const error = rulesError(() => loadRuleSetFile(file));
    expect(error.file).toBe(file);
    expect(error.field).toBe(field);
    expect(error.message).toBe(`${file}: ${field}: forbidden key "${key}" (expected no __proto__, constructor or prototype keys)`);
    expect(() => loadRuleSets([file])).toThrow(`forbidden key "${key}"`);
    await expect(createPolicyKernel({ rules: [file] })).rejects.toThrow(`${file}: ${field}: forbidden key`);
  });

  it("refuses the same keys in a rule set built in memory", () => {
    const set = JSON.parse('{"name": "x", "rules": [], "config": {"__proto__": {"polluted": 1}}}');
    expect(rulesError(() => parseRuleSet(set, "in-memory")).field).toBe("config.__proto__");
  });

  it.each(["$.__proto__", "$.constructor.name", '$["prototype"]', "$.a.__proto__.b"])("refuses the condition path %s", (path) => {
    const set = baseRuleSet();
    at(set, "rules[0].conditions.all[0]")["path"] = path;
    const error = rulesError(() => loadRuleSetFile(writeRules(set)));
    expect(error.field).toBe("rules[0].conditions.all[0].path");
    expect(error.message).toContain("no __proto__, constructor or prototype steps");
  });

  it("refuses a rule set nested 100,000 levels deep with a clear error", () => {
    const file = join(work, "deep.json");
    writeFileSync(file, `{"name": "deep", "rules": [], "config": {"x": ${"[".repeat(100_000)}${"]".repeat(100_000)}}}`);
    expect(rulesError(() => loadRuleSetFile(file)).message).toBe(
      `${file}: JSON nested deeper than 100 levels (expected at most 100 levels of arrays and objects)`,
    );
  });
});
