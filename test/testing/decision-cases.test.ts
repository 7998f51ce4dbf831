// Decision case files: real files in a temporary folder, run against the real default kernel. The
// expectations that must hold are derived from the kernel's own decision, not written down by hand.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPolicyKernelError } from "../../src/errors.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import type { Decision } from "../../src/schemas.js";
import { MAX_CASE_FILE_BYTES, loadDecisionCases, runDecisionCases } from "../../src/testing/decision-cases.js";
import { expectPrototypeClean } from "../helpers/prototype-clean.js";

// Two denied_statement violations that differ only by description, and one of another rule.
const GRANT_AND_DROP = { agentId: "a", action: { type: "sql", sql: "GRANT ALL ON users TO mallory; DROP TABLE x" } };
const SELECT = { agentId: "a", action: { type: "sql", sql: "SELECT name FROM users WHERE id = 42" } };

let kernel: PolicyKernel;
let decision: Decision;
beforeAll(async () => {
  kernel = await createPolicyKernel();
  decision = await kernel.evaluateUntrusted(GRANT_AND_DROP);
});
afterAll(() => kernel.close());

function folder(): string {
  return mkdtempSync(join(tmpdir(), "pk-cases-"));
}

function caseFile(cases: unknown, name = "cases.json"): string {
  const file = join(folder(), name);
  writeFileSync(file, typeof cases === "string" ? cases : JSON.stringify(cases));
  return file;
}

/** Loads `cases` (one expectation each, on GRANT_AND_DROP) and runs them: one passed flag per case. */
async function outcomes(...expects: unknown[]): Promise<{ passed: boolean; diff: readonly string[] }[]> {
  const cases = expects.map((expectation, i) => ({ description: `case ${i}`, input: GRANT_AND_DROP, expect: expectation }));
  return (await runDecisionCases(kernel, loadDecisionCases([caseFile(cases)]))).map(({ passed, diff }) => ({ passed, diff }));
}

function loadError(paths: string[]): string {
  try {
    loadDecisionCases(paths);
  } catch (error) {
    expect(isPolicyKernelError(error, "invalid_case_file") || isPolicyKernelError(error, "io_error")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected loadDecisionCases to throw");
}

describe("what a case can assert", () => {
  it("the decision under test has two violations of one rule, told apart by description", () => {
    const denied = decision.violations.filter((v) => v.rule === "denied_statement");
    expect(denied).toHaveLength(2);
    expect(new Set(denied.map((v) => v.description)).size).toBe(2);
    expect(decision.violations.length).toBeGreaterThan(denied.length);
  });

  it("includes: the listed violations must be present, others are allowed", async () => {
    const [first] = decision.violations;
    const results = await outcomes(
      { allowed: false, includes: [{ policy: first!.policy, rule: first!.rule, severity: first!.severity }] },
      { allowed: false, includes: [{ rule: first!.rule }] },
      { allowed: false, includes: [{ severity: first!.severity }] },
      { allowed: false, includes: [{ rule: "no_such_rule" }] },
    );
    expect(results.map((r) => r.passed)).toEqual([true, true, true, false]);
    expect(results[3]!.diff).toContain("- violation */no_such_rule (any severity)");
    // What was there instead is shown, so the failure explains itself.
    expect(results[3]!.diff.filter((line) => line.startsWith("+ violation"))).toHaveLength(decision.violations.length);
  });

  it("includes counts: one actual violation satisfies one listed entry", async () => {
    const denied = decision.violations.filter((v) => v.rule === "denied_statement");
    const entry = { rule: "denied_statement" };
    const results = await outcomes(
      { allowed: false, includes: denied.map(() => entry) },
      { allowed: false, includes: [...denied.map(() => entry), entry] },
    );
    expect(results.map((r) => r.passed)).toEqual([true, false]);
  });

  it("a broad entry listed first does not take the violation a narrower entry needs", async () => {
    const denied = decision.violations.filter((v) => v.rule === "denied_statement");
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // Both orders of broad and narrow, and each narrow one: all must pair up.
    const results = await outcomes(
      ...denied.map((v) => ({ allowed: false, includes: [{ rule: "denied_statement" }, { descriptionMatches: `^${escape(v.description)}$` }] })),
      ...denied.map((v) => ({ allowed: false, includes: [{ descriptionMatches: `^${escape(v.description)}$` }, { rule: "denied_statement" }] })),
    );
    expect(results.every((r) => r.passed)).toBe(true);
  });

  it("description is exact and descriptionMatches is an unanchored pattern", async () => {
    const target = decision.violations[0]!;
    const results = await outcomes(
      { allowed: false, includes: [{ rule: target.rule, description: target.description }] },
      { allowed: false, includes: [{ rule: target.rule, description: `${target.description} ` }] },
      { allowed: false, includes: [{ descriptionMatches: target.description.slice(2, 8).replace(/[.*+?^${}()|[\]\\]/g, "\\$&") }] },
      { allowed: false, includes: [{ descriptionMatches: "^statement" }] },
    );
    expect(results.map((r) => r.passed)).toEqual([true, false, true, false]);
    expect(results[1]!.diff[0]).toBe(`- violation */${target.rule} (any severity) — ${JSON.stringify(`${target.description} `)}`);
    expect(results[3]!.diff[0]).toBe("- violation */* (any severity) — /^statement/");
  });

  it("violations is the exact multiset, and may name descriptions too", async () => {
    const exact = decision.violations.map(({ policy, rule, severity, description }) => ({ policy, rule, severity, description }));
    const keys = exact.map(({ policy, rule, severity }) => ({ policy, rule, severity }));
    const results = await outcomes(
      { allowed: false, violations: exact },
      { allowed: false, violations: keys },
      { allowed: false, violations: keys.slice(1) },
      { allowed: false, violations: [...keys, keys[0]] },
      { allowed: false, violations: [{ ...exact[0]!, description: "something else" }, ...exact.slice(1)] },
    );
    expect(results.map((r) => r.passed)).toEqual([true, true, false, false, false]);
    const [k] = keys;
    // An unexpected violation is a + line with its description.
    // (which of two same-key violations is left over is either: both are listed as candidates)
    const sameKey = exact.filter((v) => v.policy === k!.policy && v.rule === k!.rule && v.severity === k!.severity);
    expect(sameKey.map((v) => [`+ violation ${k!.policy}/${k!.rule} (${k!.severity}) — ${v.description}`])).toContainEqual(results[2]!.diff);
    expect(results[3]!.diff).toEqual([`- violation ${k!.policy}/${k!.rule} (${k!.severity})`]);
  });

  it("allowed alone compares only allowed; violations: [] still means none", async () => {
    const file = caseFile([
      { description: "denied, whatever the violations", input: GRANT_AND_DROP, expect: { allowed: false } },
      { description: "allowed, none", input: SELECT, expect: { allowed: true, violations: [] } },
      { description: "wrongly allowed", input: GRANT_AND_DROP, expect: { allowed: true } },
      { description: "wrongly none", input: GRANT_AND_DROP, expect: { allowed: false, violations: [] } },
    ]);
    const results = await runDecisionCases(kernel, loadDecisionCases([file]));
    expect(results.map((r) => r.passed)).toEqual([true, true, false, false]);
    expect(results[2]!.diff).toEqual(["- allowed: true", "+ allowed: false"]);
    expect(results[3]!.diff).toHaveLength(decision.violations.length);
  });
});

describe("loading reports every problem, case numbers one-based", () => {
  it("lists each problem of each case and field, in every file", () => {
    const a = caseFile(
      [
        { description: "fine", input: SELECT, expect: { allowed: true } },
        { description: "two wrong fields", input: SELECT, expect: { allowed: "yes", violations: [{ policy: "sql", rule: "r", severity: "huge" }] } },
        { input: SELECT, expct: { allowed: true } },
      ],
      "a.json",
    );
    const b = caseFile("cases:\n  - description: bad pattern\n    input: {}\n    expect: { allowed: false, includes: [{ descriptionMatches: '(' }] }\n", "b.yaml");
    const message = loadError([a, b]);
    expect(message).toMatch(/^6 problems in the case files:/);
    const lines = message.split("\n").slice(1).map((line) => line.trim());
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${a}: case 2 \\("two wrong fields"\\): expect\\.allowed: .*expected boolean`)),
      expect.stringMatching(new RegExp(`^${a}: case 2 \\("two wrong fields"\\): expect\\.violations\\[0\\]\\.severity: .*"critical"`)),
      `${a}: case 3: description: missing (expected string)`,
      `${a}: case 3: expect: missing (expected object)`,
      `${a}: case 3: Unrecognized key: "expct"`,
      expect.stringMatching(new RegExp(`^${b}: case 1 \\("bad pattern"\\): expect\\.includes\\[0\\]\\.descriptionMatches: does not compile as a regular expression`)),
    ]);
  });

  it("refuses contradictory or empty expectations, naming the case", () => {
    const message = loadError([
      caseFile([
        { description: "both lists", input: {}, expect: { allowed: false, violations: [], includes: [{ rule: "x" }] } },
        { description: "both descriptions", input: {}, expect: { allowed: false, includes: [{ description: "a", descriptionMatches: "a" }] } },
        { description: "empty entry", input: {}, expect: { allowed: false, includes: [{}] } },
      ]),
    ]);
    expect(message).toContain('case 1 ("both lists"): expect.includes: give violations (the exact set) or includes (a subset), not both');
    expect(message).toContain('case 2 ("both descriptions"): expect.includes[0]: give description (exact) or descriptionMatches (a pattern), not both');
    expect(message).toContain('case 3 ("empty entry"): expect.includes[0]: an included violation needs at least one of');
  });

  it("DecisionCase.index stays the zero-based position (reports print index + 1)", async () => {
    const cases = loadDecisionCases([caseFile([{ description: "x", input: SELECT, expect: { allowed: true } }, { description: "y", input: SELECT, expect: { allowed: true } }])]);
    expect(cases.map((c) => c.index)).toEqual([0, 1]);
  });

  it("an empty folder, a folder of other files and a file with no cases are errors with a reason", () => {
    const empty = folder();
    expect(loadError([empty])).toContain(`${empty}: no case files in this folder (nothing named *.json, *.yaml, *.yml, at any depth)`);
    const others = folder();
    writeFileSync(join(others, "notes.txt"), "cases: []");
    mkdirSync(join(others, "sub"));
    expect(loadError([others])).toContain("no case files in this folder");
    for (const text of ["[]", '{"cases": []}']) expect(loadError([caseFile(text)])).toContain("no cases in this file");
    expect(loadError([caseFile("", "empty.yaml")])).toContain("the file is empty");
    expect(loadError([join(empty, "missing.yaml")])).toContain("no such file or folder");
  });

  it("a folder is searched recursively, in code-unit order", () => {
    const root = folder();
    mkdirSync(join(root, "b"));
    const one = (description: string) => JSON.stringify({ description, input: SELECT, expect: { allowed: true } });
    writeFileSync(join(root, "b", "z.json"), one("b/z"));
    writeFileSync(join(root, "a.yaml"), one("a"));
    writeFileSync(join(root, "B.json"), one("B"));
    expect(loadDecisionCases([root]).map((c) => c.description)).toEqual(["B", "a", "b/z"]);
  });
});

describe("adversarial case files", () => {
  it("wrong types are named errors, not crashes", () => {
    const bad: [string, string][] = [
      ["42", "the file holds a number"],
      ['"text"', "the file holds a string"],
      ["null", "the file is empty"],
      ['{"cases": "x"}', "cases: is string, not a list"],
      ['{"cases": null}', "cases: is null, not a list"],
      ['{"cases": [], "extra": 1}', 'unknown key "extra" beside cases:'],
      ["[1]", "case 1: Invalid input: expected object, received number"],
      ['[{"description": "d", "input": {}, "expect": []}]', 'case 1 ("d"): expect: Invalid input: expected object, received array'],
      ['[{"description": "d", "input": {}, "expect": {"allowed": true, "includes": {"rule": "x"}}}]', 'case 1 ("d"): expect.includes: Invalid input: expected array'],
      ['[{"description": "d", "input": {}, "now": 5, "expect": {"allowed": true}}]', 'case 1 ("d"): now: Invalid input: expected string'],
      ["{not json", "cannot parse as JSON"],
    ];
    for (const [text, want] of bad) expect(loadError([caseFile(text)])).toContain(want);
    expect(loadError([caseFile("a: [", "bad.yaml")])).toContain("cannot parse as YAML");
  });

  it("prototype keys are unknown keys at every level, and an input holding them pollutes nothing", async () => {
    const json = '[{"description": "p", "__proto__": {"polluted": 1}, "input": {}, "expect": {"allowed": true, "constructor": 1}}]';
    const message = loadError([caseFile(json)]);
    expect(message).toContain('case 1 ("p"): Unrecognized key: "__proto__"');
    expect(message).toContain('case 1 ("p"): expect: Unrecognized key: "constructor"');
    const yaml = "- description: p\n  input: { agentId: a, action: { type: sql, sql: SELECT 1 }, __proto__: { polluted: 1 }, context: { constructor: { prototype: { polluted: 1 } } } }\n  expect: { allowed: false, includes: [{ __proto__: { polluted: 1 }, rule: x }] }\n";
    expect(loadError([caseFile(yaml, "p.yaml")])).toContain('case 1 ("p"): expect.includes[0]: Unrecognized key: "__proto__"');
    const input = caseFile("- description: p\n  input: { agentId: a, action: { type: sql, sql: SELECT 1 }, __proto__: { polluted: 1 } }\n  expect: { allowed: false }\n", "input.yaml");
    await runDecisionCases(kernel, loadDecisionCases([input]));
    await expectPrototypeClean();
  });

  it("a file over the size limit is refused before it is read", () => {
    const file = caseFile("[]");
    writeFileSync(file, Buffer.alloc(MAX_CASE_FILE_BYTES + 1, 0x20));
    expect(loadError([file])).toContain(`${MAX_CASE_FILE_BYTES + 1} bytes is over the ${MAX_CASE_FILE_BYTES}-byte limit of a case file`);
  });

  it("a file with thousands of problems lists the first 50 and counts the rest", () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ description: `c${i}`, input: {}, expect: { allowed: "no" } }));
    const message = loadError([caseFile(many)]);
    expect(message.split("\n")[0]).toBe("1000 problems in the case files:");
    expect(message.split("\n")).toHaveLength(1 + 50 + 1);
    expect(message.split("\n").at(-1)!.trim()).toBe("(+950 more)");
  });

  it("a YAML alias bomb is refused by the parser's alias limit, not expanded", () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    expect(loadError([caseFile(lines.join("\n"), "bomb.yaml")])).toContain("cannot parse as YAML");
  });
});
