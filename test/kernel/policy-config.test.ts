import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isPolicyKernelError, type PolicyKernelError } from "../../src/errors.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../../src/kernel/create-kernel.js";
import { defaultRulesPath } from "../../src/kernel/defaults.js";
import { BUILTIN_POLICY_CONFIG, validatePolicyConfig } from "../../src/kernel/policy-config.js";
import type { PolicySpec } from "../../src/kernel/policies.js";
import { unpackDefaultBundle } from "../helpers/bundle-folder.js";

const root = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "pk-policy-config-"));

/** The load error createPolicyKernel throws for `options`; it must be invalid_config. */
async function loadError(options: PolicyKernelOptions): Promise<PolicyKernelError> {
  try {
    const kernel = await createPolicyKernel(options);
    kernel.close();
  } catch (error) {
    if (isPolicyKernelError(error, "invalid_config")) return error;
    throw error;
  }
  throw new Error(`loaded with ${JSON.stringify(options)}`);
}

/** `{policy_kernel: {config: {<path>: value}}}` for a dotted path. */
function configData(path: string, value: unknown): Record<string, unknown> {
  let node: unknown = value;
  for (const key of path.split(".").reverse()) node = { [key]: node };
  return { policy_kernel: { config: node } };
}

const NOT_A_NUMBER = ["500", null, true, [], {}, "NaN", "Infinity", ""];

/** Each field of each built-in policy, the values it must refuse, and what the error says is expected. */
const FIELDS: ReadonlyArray<{ path: string; bad: readonly unknown[]; expected: string }> = [
  { path: "sql.deny", bad: ["DROP", null, 7, {}, [1], [""], ["  "], [null]], expected: "a list of statement kinds such as DELETE or DROP|a non-empty statement kind" },
  { path: "sql.allow", bad: ["SELECT", null, 7, {}, [1], [""], [null]], expected: "a list of statement kinds such as SELECT|a non-empty statement kind" },
  { path: "sql.deny_functions", bad: ["pg_sleep", null, [2], [""]], expected: "a list of function names|a non-empty function name" },
  { path: "sql.max_sql_length", bad: [0, -1, 1.5, "100", null], expected: "a whole number of characters >= 1" },
  { path: "sql.deny_tables", bad: ["pg_authid", null, [2], [""]], expected: "a list of table names|a non-empty table name" },
  { path: "sql.dialect", bad: ["mysql", "", 1, null], expected: "one of any, postgres, sqlite" },
  { path: "sql.sqlite_schema", bad: [1, null, ["CREATE TABLE t (a)"]], expected: "DDL text \\(CREATE TABLE statements\\)" },
  { path: "cost.max_cost_usd", bad: [...NOT_A_NUMBER, -1, -0.01], expected: "a number >= 0" },
  { path: "tools.allow", bad: ["sql_query", null, [], 1, { analyst: "sql_query" }, { analyst: [1] }, { analyst: [""] }, { analyst: null }], expected: "an object mapping each role to a list of tool names|a list of tool names|a non-empty tool name" },
  { path: "pii.internal_domains", bad: ["example.com", null, {}, [1], [""], [null]], expected: "a list of domains|a non-empty domain" },
  { path: "transactions.approval_threshold_usd", bad: [...NOT_A_NUMBER, -5], expected: "a number >= 0" },
  { path: "transactions.default_limit_usd", bad: [...NOT_A_NUMBER, -5], expected: "a number >= 0" },
  { path: "transactions.role_limits", bad: ["500", null, [], 3], expected: "an object mapping each role to a number >= 0" },
  { path: "transactions.role_limits.analyst", bad: [...NOT_A_NUMBER, -1], expected: "a number >= 0" },
  { path: "business_hours.start_minute_utc", bad: [...NOT_A_NUMBER, -1, 1440, 540.5], expected: "a whole number of minutes from 0 to 1439" },
  { path: "business_hours.end_minute_utc", bad: [...NOT_A_NUMBER, -1, 1441, 0.5], expected: "a whole number of minutes from 0 to 1440" },
  { path: "rate_limit.block_at", bad: [...NOT_A_NUMBER, -1, 1.5], expected: "a whole number >= 0" },
  { path: "rate_limit.warn_at", bad: [...NOT_A_NUMBER, -1, 1.5], expected: "a whole number >= 0" },
];

const SECTIONS = Object.keys(BUILTIN_POLICY_CONFIG).filter((name) => name !== "read_only");

describe("built-in policy configuration is validated at load", () => {
  const cases = FIELDS.flatMap(({ path, bad, expected }) => bad.map((value) => ({ path, value, expected })));

  it.each(cases)("refuses $path = $value", async ({ path, value, expected }) => {
    const error = await loadError({ data: configData(path, value) });
    expect(error.file).toBe("createPolicyKernel.data");
    // The field named is the bad one or, for a bad member of a list or table, inside it.
    expect(error.field?.startsWith(`policy_kernel.config.${path}`), error.message).toBe(true);
    expect(error.message).toMatch(new RegExp(`: expected (${expected}), got `));
  });

  it("says what it got, as the issue's example reads", async () => {
    const error = await loadError({ data: configData("transactions.role_limits.analyst", "500") });
    expect(error.message).toBe('createPolicyKernel.data: policy_kernel.config.transactions.role_limits.analyst: expected a number >= 0, got string "500"');
    const sql = await loadError({ data: configData("sql.deny", "DROP") });
    expect(sql.message).toBe('createPolicyKernel.data: policy_kernel.config.sql.deny: expected a list of statement kinds such as DELETE or DROP, got string "DROP"');
  });

  it.each(SECTIONS)("refuses the %s section as a string, a list or null", async (name) => {
    for (const value of ["x", [], null]) {
      const error = await loadError({ data: configData(name, value) });
      expect(error.field).toBe(`policy_kernel.config.${name}`);
      expect(error.message).toMatch(/: expected an object \{/);
    }
  });

  it.each([...SECTIONS, "read_only"])("refuses an unknown key in the %s section", async (name) => {
    const error = await loadError({ data: configData(`${name}.max_cost`, 5) });
    expect(error.field).toBe(`policy_kernel.config.${name}.max_cost`);
    expect(error.message).toMatch(/unknown key \(expected (one of|no keys)/);
  });

  it("names a missing field and the bundle that left it out", async () => {
    const dir = mkdtempSync(join(work, "bundle-"));
    unpackDefaultBundle(dir, (path, bytes) => {
      if (path !== "/data.json") return bytes;
      const data = JSON.parse(bytes.toString("utf8"));
      delete data.policy_kernel.config.cost.max_cost_usd;
      return Buffer.from(JSON.stringify(data));
    });
    const error = await loadError({ bundle: dir });
    expect(error.message).toBe(`${dir}: policy_kernel.config.cost.max_cost_usd: expected a number >= 0, got nothing (the field is missing)`);
  });

  it("names the bundle, the rule-set file or the policy helper a bad value came from", async () => {
    const dir = mkdtempSync(join(work, "bundle-"));
    unpackDefaultBundle(dir, (path, bytes) => {
      if (path !== "/data.json") return bytes;
      const data = JSON.parse(bytes.toString("utf8"));
      data.policy_kernel.config.cost.max_cost_usd = "100";
      return Buffer.from(JSON.stringify(data));
    });
    expect((await loadError({ bundle: dir })).file).toBe(dir);

    const rules = mkdtempSync(join(work, "rules-"));
    const rateLimit = JSON.parse(readFileSync(join(defaultRulesPath(), "rate_limit.json"), "utf8"));
    rateLimit.config.rate_limit.block_at = "50";
    const file = join(rules, "rate_limit.json");
    writeFileSync(file, JSON.stringify(rateLimit));
    const fromRules = await loadError({ rules: [file] });
    expect(fromRules.message).toBe(`${file}: policy_kernel.config.rate_limit.block_at: expected a whole number >= 0, got string "50"`);

    const spec: PolicySpec = { name: "cost", config: { max_cost_usd: "5" } };
    expect((await loadError({ policies: [spec] })).file).toBe("createPolicyKernel.policies[0].config");
    expect((await loadError({ data: configData("cost.max_cost_usd", null), dataSource: "limits.json" })).file).toBe("limits.json");
  });

  it("checks only active policies, and still loads every valid shape", async () => {
    // cost is off, so its bad value cannot let anything through.
    const kernel = await createPolicyKernel({ policies: [{ name: "sql", config: {} }], data: configData("cost.max_cost_usd", "x") });
    expect(kernel.policyNames).toEqual(["sql"]);
    kernel.close();
    const edge = await createPolicyKernel({
      data: {
        policy_kernel: {
          config: {
            cost: { max_cost_usd: 0 },
            business_hours: { start_minute_utc: 1439, end_minute_utc: 1440 },
            transactions: { role_limits: {} },
            tools: { allow: {} },
            sql: { deny: [] },
          },
        },
      },
    });
    const decision = await edge.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { costUsd: 1 } });
    expect(decision.violations.map((v) => `${v.policy}/${v.rule}`)).toContain("cost/budget_exceeded");
    edge.close();
  });

  it("is a pure check usable without a kernel", () => {
    expect(() => validatePolicyConfig({ cost: { max_cost_usd: 1 } }, ["cost", "custom"])).not.toThrow();
    expect(() => validatePolicyConfig({}, ["read_only"])).not.toThrow();
    expect(() => validatePolicyConfig({}, ["cost"])).toThrow(/policy_kernel\.config\.cost: expected an object \{max_cost_usd\}, got nothing/);
  });
});

describe("the CLI exits 1 with the load error", () => {
  it("for a mistyped value in --data", () => {
    const data = join(work, "data.json");
    writeFileSync(data, JSON.stringify(configData("transactions.role_limits.analyst", "500")));
    const action = JSON.stringify({ agentId: "a", action: { type: "transaction", amountUsd: 400, recipient: "x" }, context: { role: "analyst" } });
    const result = spawnSync(process.execPath, [join(root, "dist", "src", "cli", "main.js"), "eval", "--data", data], { input: action, encoding: "utf8" });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim()).toBe(`policy-kernel eval: ${data}: policy_kernel.config.transactions.role_limits.analyst: expected a number >= 0, got string "500"`);
  });
});
