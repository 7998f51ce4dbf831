import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPolicy, type LoadedPolicy } from "@open-policy-agent/opa-wasm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { createRegoEngine } from "../../../src/engines/rego/rego-engine.js";
import { loadPreparedData } from "../../../src/engines/rego/prepared-values.js";
import { canonicalJson } from "../../../src/canonical-json.js";
import { defaultBundlePath } from "../../../src/kernel/defaults.js";
import { toPolicyInput } from "../../../src/kernel/enrich.js";
import { ActionSchema, type PolicyInput } from "../../../src/schemas.js";
import { createPolicyKernel } from "../../../src/kernel/create-kernel.js";
import { dataOnlyPrepares } from "../../../scripts/build-record.mjs";
import { policyInputs } from "../../generators/actions.js";
import { opaPath } from "../../helpers/opa.js";
import { bundleDataVariant, stockAggregate } from "../../helpers/stock-aggregate.js";
import { withBuildRecord } from "../../helpers/build-record.js";

const bundle = readBundle(defaultBundlePath());
const inputs: PolicyInput[] = policyInputs(400, 71);
const input = (action: Record<string, unknown>, context: Record<string, unknown> = {}): PolicyInput =>
  toPolicyInput(ActionSchema.parse({ agentId: "a1", action, context: { role: "analyst", ...context } }));

const sorted = (findings: readonly unknown[]): string[] => findings.map(canonicalJson).sort();

/**
 * Configs the three `prepare` entrypoints derive values from: odd spacing and case, wrapped
 * windows, empty lists, and malformed values (a string for a list, numbers in a list of names,
 * minutes as text or fractions), which must come out as the stock SDK computes them.
 */
const odd = fc.constantFrom<unknown>("DROP", 7, null, {}, [1, null]);
const preparedConfig = fc.record({
  sql: fc.record({
    deny: fc.oneof(fc.array(fc.constantFrom<unknown>("DROP", " drop ", "create   user", "Truncate", "DELETE", "update", "", "  ", 3), { maxLength: 5 }), odd),
  }),
  pii: fc.record({ internal_domains: fc.oneof(fc.array(fc.constantFrom<unknown>("example.com", " EU.Example.com ", "gmail.com", "", " ", 7), { maxLength: 3 }), odd) }),
  business_hours: fc.record(
    {
      start_minute_utc: fc.oneof(fc.integer({ min: 0, max: 1439 }), fc.constantFrom<unknown>("540", 61.5, -1, null)),
      end_minute_utc: fc.integer({ min: 0, max: 1439 }),
    },
    { requiredKeys: ["start_minute_utc"] },
  ),
});

describe("prepared values: data-only values evaluated once per engine", () => {
  it("prepares sql, pii and business_hours in the default bundle", async () => {
    const engine = await createRegoEngine({ bundle });
    expect(engine.preparedPolicies).toEqual(["business_hours", "pii", "sql"]);
  });

  it("gives the stock SDK's findings (which computes them on every call) on generated configs and actions", async () => {
    const configs = fc.sample(preparedConfig, { numRuns: 16, seed: 73 });
    let findings = 0;
    let prepared = 0;
    for (const config of configs) {
      const data = bundleDataVariant(bundle, config, []);
      const engine = await createRegoEngine({ bundle, data });
      prepared += engine.preparedPolicies.length;
      const oracle = await stockAggregate(bundle, data);
      for (const each of inputs) {
        const got = sorted(await engine.evaluate(each));
        expect(got).toEqual(oracle(each));
        findings += got.length;
      }
    }
    expect(findings).toBeGreaterThan(1000); // the actions reach the policies, not only empty sets
    expect(prepared).toBeGreaterThan(configs.length * 2); // most configs give values to prepare
  });

  it("prepares from the data it is given: a config passed at load shows in the decisions", async () => {
    const data = bundleDataVariant(bundle, { sql: { allow: ["SELECT"], deny: ["  select "], deny_functions: [], deny_tables: [] }, business_hours: { start_minute_utc: 1320, end_minute_utc: 360 } }, []);
    const engine = await createRegoEngine({ bundle, data });
    expect(sorted(await engine.evaluate(input({ type: "sql", sql: "SELECT 1" })))).toEqual([
      canonicalJson({ policy: "sql", rule: "denied_statement", severity: "critical", effect: "block", description: "SELECT statement is not allowed (statement 1)" }),
    ]);
    const atNoon = await engine.evaluate(input({ type: "transaction", amountUsd: 5, recipient: "acme" }, { now: "2026-03-02T12:00:00Z" }));
    expect(atNoon.map((f) => f.description)).toEqual(["transaction at 12:00 UTC is outside business hours 22:00-06:00 UTC"]);
  });

  it("rejects data that already holds data.policy_kernel.prepared, naming the field", async () => {
    const plain = bundleDataVariant(bundle, {}, []);
    const forged = { ...plain, policy_kernel: { ...(plain["policy_kernel"] as object), prepared: { sql: { deny: ["SELECT"] } } } };
    await expect(createRegoEngine({ bundle, data: forged })).rejects.toMatchObject({ code: "invalid_config", field: "data.policy_kernel.prepared" });
    await expect(createPolicyKernel({ data: { policy_kernel: { prepared: {} } } })).rejects.toMatchObject({
      code: "invalid_config",
      field: "createPolicyKernel.data.policy_kernel.prepared",
      message: expect.stringContaining("reserved"),
    });
  });

  it("prepares nothing for a bundle whose build did not prove its prepare entrypoints read no input", async () => {
    const unrecorded = withBuildRecord(bundle, ({ prepare: _unproven, ...record }) => record);
    const engine = await createRegoEngine({ bundle: unrecorded });
    expect(engine.preparedPolicies).toEqual([]);
    expect(engine.actionTypeEntrypoints).not.toBeNull(); // the rest of the record is still used
    const oracle = await stockAggregate(bundle, bundle.data);
    for (const each of inputs.slice(0, 100)) expect(sorted(await engine.evaluate(each))).toEqual(oracle(each));
  });

  it("leaves out a policy whose prepare is undefined, which then computes it per decision and fails closed as before", async () => {
    const data = bundleDataVariant(bundle, { business_hours: undefined }, []);
    const engine = await createRegoEngine({ bundle, data });
    expect(engine.preparedPolicies).toEqual(["pii", "sql"]);
    const oracle = await stockAggregate(bundle, data);
    for (const each of inputs.slice(0, 100)) expect(sorted(await engine.evaluate(each))).toEqual(oracle(each));
    expect(engine.configFindings.map((f) => f.rule)).toEqual(["missing_config"]);
  });

  it("loads data without a policy_kernel object as it is, preparing nothing", async () => {
    const data = { ...bundle.data, policy_kernel: "not an object" };
    const engine = await createRegoEngine({ bundle, data });
    expect(engine.preparedPolicies).toEqual([]);
    const oracle = await stockAggregate(bundle, data);
    for (const each of inputs.slice(0, 50)) expect(sorted(await engine.evaluate(each))).toEqual(oracle(each));
  });
});

/** The data document the Wasm holds, read back from its memory. */
function dataInWasm(policy: LoadedPolicy): unknown {
  const exports = (policy.wasmInstance as WebAssembly.Instance).exports as unknown as { opa_json_dump(address: number): number };
  const bytes = new Uint8Array(policy.mem.buffer);
  const start = exports.opa_json_dump(policy.dataAddr);
  return JSON.parse(Buffer.from(bytes.subarray(start, bytes.indexOf(0, start))).toString("utf8"));
}

const PREPARES = ["policies/business_hours/prepare", "policies/pii/prepare", "policies/sql/prepare"];

describe("loadPreparedData", () => {
  it("loads each listed prepare's value into the Wasm at data.policy_kernel.prepared.<name>, leaving the caller's data as it was", async () => {
    const policy = await loadPolicy(bundle.wasm);
    const data = bundleDataVariant(bundle, { sql: { allow: [" select"], deny: ["drop", "create  user"], deny_functions: [" PG_SLEEP "], deny_tables: ["PG_Authid "] }, pii: { internal_domains: [" Example.COM "] } }, []);
    const before = structuredClone(data);
    const prepared = loadPreparedData(policy, policy.entrypoints as Record<string, number>, PREPARES, data);
    expect(prepared.policies).toEqual(["business_hours", "pii", "sql"]);
    expect(prepared.problems).toEqual([]);
    const values = {
      business_hours: { window: "09:00-17:00" },
      pii: { internal_domains: ["example.com"], internal_suffixes: [".example.com"] },
      sql: { allow: ["SELECT"], deny: ["DROP", "CREATE USER"], deny_functions: ["pg_sleep"], deny_tables: ["pg_authid"] },
    };
    expect((prepared.data["policy_kernel"] as Record<string, unknown>)["prepared"]).toEqual(values);
    expect(dataInWasm(policy)).toEqual(prepared.data);
    expect(data).toEqual(before);
  });

  it("evaluates only the listed entrypoints, and loads the data as it is when none gives a value", async () => {
    const policy = await loadPolicy(bundle.wasm);
    const data = bundleDataVariant(bundle, { business_hours: undefined }, []);
    const onlySql = loadPreparedData(policy, policy.entrypoints as Record<string, number>, ["policies/sql/prepare", "policies/nope/prepare", "kernel/violations"], data);
    expect(onlySql.policies).toEqual(["sql"]);
    const undefinedOnly = loadPreparedData(policy, policy.entrypoints as Record<string, number>, ["policies/business_hours/prepare"], data);
    expect(undefinedOnly).toEqual({ data, policies: [], problems: [] });
    expect(dataInWasm(policy)).toEqual(data);
  });
});

describe("dataOnlyPrepares (build script)", () => {
  it("lists a policy's prepare only when opa deps shows it exists and reads no input", () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-prepare-"));
    writeFileSync(join(dir, "a.rego"), 'package policies.a\n\nprepare := {"n": count(input.action.items)}\n');
    writeFileSync(join(dir, "b.rego"), 'package policies.b\n\nprepare := {"deny": [upper(d) | some d in data.policy_kernel.config.b.deny]}\n');
    writeFileSync(join(dir, "c.rego"), "package policies.c\n\nviolations := set()\n");
    writeFileSync(join(dir, "d.rego"), 'package policies.d\n\nitems := input.action.items\n\nprepare := {"n": count(items)}\n');
    const opa = opaPath();
    const depsOf = (entrypoint: string) =>
      JSON.parse(execFileSync(opa, ["deps", "--format", "json", "-d", dir, `data.${entrypoint.split("/").join(".")}`], { encoding: "utf8" }));
    expect(dataOnlyPrepares(["d", "c", "b", "a"], depsOf)).toEqual(["policies/b/prepare"]);
    expect(dataOnlyPrepares(undefined, depsOf)).toEqual([]);
  });
});
