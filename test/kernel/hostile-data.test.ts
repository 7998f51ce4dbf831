import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isPolicyKernelError, type PolicyKernelError } from "../../src/errors.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../../src/kernel/create-kernel.js";
import { mergeData } from "../../src/kernel/merge.js";
import { effectiveData } from "../../src/kernel/effective-data.js";
import { expectPrototypeClean } from "../helpers/prototype-clean.js";

const root = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "pk-hostile-data-"));

async function loadError(options: PolicyKernelOptions): Promise<PolicyKernelError> {
  try {
    (await createPolicyKernel(options)).close();
  } catch (error) {
    if (isPolicyKernelError(error, "invalid_config")) return error;
    throw error;
  }
  throw new Error("loaded");
}

afterEach(expectPrototypeClean);

/** What an agent's JSON would parse to: `__proto__` as an own key, not a prototype. */
const parsed = (json: string): Record<string, unknown> => JSON.parse(json) as Record<string, unknown>;

describe("the kernel's data option", () => {
  it.each([
    ['{"__proto__": {"polluted": "yes"}}', "createPolicyKernel.data.__proto__"],
    ['{"policy_kernel": {"__proto__": {"policies": []}}}', "createPolicyKernel.data.policy_kernel.__proto__"],
    ['{"policy_kernel": {"config": {"cost": {"__proto__": {"max_cost_usd": 1e9}}}}}', "createPolicyKernel.data.policy_kernel.config.cost.__proto__"],
    ['{"policy_kernel": {"config": {"constructor": {"prototype": {"polluted": 1}}}}}', "createPolicyKernel.data.policy_kernel.config.constructor"],
    ['{"x": [{"prototype": 1}]}', "createPolicyKernel.data.x[0].prototype"],
  ])("refuses %s, naming the key path", async (json, field) => {
    const error = await loadError({ data: parsed(json) });
    expect(error.field).toBe(field);
    expect(error.message).toMatch(/forbidden key "(__proto__|constructor|prototype)"/);
  });

  it("refuses an object whose prototype was set by a literal __proto__", async () => {
    const data = { __proto__: { polluted: "yes" } } as unknown as Record<string, unknown>;
    await expect(createPolicyKernel({ data })).rejects.toThrow(/createPolicyKernel\.data/);
  });

  it("refuses a __proto__ key in a policy helper's configuration", async () => {
    const error = await loadError({ policies: [{ name: "cost", config: parsed('{"__proto__": {"max_cost_usd": 1}}') }] });
    expect(error.field).toBe("createPolicyKernel.policies[0].config.__proto__");
  });

  it("refuses data nested deeper than 100 levels with a clear error, not a stack overflow", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const error = await loadError({ data: { deep } as Record<string, unknown> });
    expect(error.message).toContain("nested deeper than 100 levels");
  });
});

describe("an action with a __proto__ key", () => {
  it.each([
    ['{"agentId": "a", "action": {"type": "sql", "sql": "SELECT 1"}, "context": {"__proto__": {"role": "admin", "readOnly": false}}}', "context.__proto__"],
    ['{"agentId": "a", "action": {"type": "tool_call", "tool": "read_file", "__proto__": {"tool": "issue_refund"}}, "context": {"role": "analyst"}}', "action.__proto__"],
  ])("is denied as malformed, not parsed into an object with the agent's prototype (%#)", async (json, field) => {
    // What zod would make of it: a loose object assigns the key, so the copy inherits the agent's values.
    const kernel = await createPolicyKernel();
    const decision = await kernel.evaluateUntrusted(parsed(json));
    kernel.close();
    expect(decision.allowed).toBe(false);
    expect(decision.violations).toMatchObject([{ policy: "kernel", rule: "invalid_action", blocked: true, description: `malformed action: ${field}: forbidden key "__proto__"` }]);
  });

  it("at the top level is dropped like any unknown key (the kernel builds a fresh object)", async () => {
    const kernel = await createPolicyKernel();
    const tx = '"action": {"type": "transaction", "amountUsd": 5000, "recipient": "x"}, "context": {"role": "analyst"}';
    const withKey = await kernel.evaluateUntrusted(parsed(`{"agentId": "a", "__proto__": {"context": {"role": "admin"}}, ${tx}}`));
    const without = await kernel.evaluateUntrusted(parsed(`{"agentId": "a", ${tx}}`));
    kernel.close();
    expect(withKey).toEqual(without);
    expect(withKey.allowed).toBe(false);
  });
});

describe("merges keep every key an own member", () => {
  it("mergeData writes a __proto__ key as an own property, never a prototype", () => {
    const out = mergeData({ a: 1 }, parsed('{"__proto__": {"polluted": "yes"}, "b": 2}'));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, "__proto__")).toBe(true);
    expect((out as Record<string, unknown>)["polluted"]).toBeUndefined();
    const nested = mergeData({ x: { a: 1 } }, parsed('{"x": {"__proto__": {"polluted": 1}}}'));
    expect((nested["x"] as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("effectiveData writes a policy named __proto__ as an own key", () => {
    const data = effectiveData({}, [], [{ name: "__proto__", config: { polluted: "yes" } }], ["__proto__", "cost"], {});
    const section = data["policy_kernel"] as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(section["config"])).toBe(Object.prototype);
    expect(Object.hasOwn(section["config"]!, "__proto__")).toBe(true);
    expect(section["disabled"]).toEqual({ cost: true });
  });
});

describe("--data FILE through the real CLI", () => {
  const cli = join(root, "dist", "src", "cli", "main.js");
  const drop = JSON.stringify({ agentId: "a", action: { type: "sql", sql: "DROP TABLE users" } });

  it.each([
    ['{"__proto__": {"polluted": "yes", "policy_kernel": {"policies": []}}}', "__proto__"],
    ['{"policy_kernel": {"config": {"sql": {"constructor": {"prototype": {"deny": []}}}}}}', "policy_kernel.config.sql.constructor"],
  ])("exits 1 for %s and names the file and key", (json, field) => {
    const file = join(work, `data-${field.length}.json`);
    writeFileSync(file, json);
    const result = spawnSync(process.execPath, [cli, "eval", "--data", file], { input: drop, encoding: "utf8" });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim()).toBe(`policy-kernel eval: ${file}: ${field}: forbidden key "${field.split(".").pop()}" (expected no __proto__, constructor or prototype keys)`);
  });

  it("still denies DROP TABLE with a benign --data file", () => {
    const file = join(work, "benign.json");
    writeFileSync(file, '{"policy_kernel": {"config": {"cost": {"max_cost_usd": 5}}}}');
    const result = spawnSync(process.execPath, [cli, "eval", "--data", file], { input: drop, encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout).allowed).toBe(false);
  });
});
