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
import { actionArbitrary } from "../../generators/actions.js";
import { bundleDataVariant, stockAggregate } from "../../helpers/stock-aggregate.js";

const bundle = readBundle(defaultBundlePath());
const inputs: PolicyInput[] = fc.sample(actionArbitrary, { numRuns: 400, seed: 71 }).map((a) => toPolicyInput(ActionSchema.parse(a)));
const input = (action: Record<string, unknown>, context: Record<string, unknown> = {}): PolicyInput =>
  toPolicyInput(ActionSchema.parse({ agentId: "a1", action, context: { role: "analyst", ...context } }));

const sorted = (findings: readonly unknown[]): string[] => findings.map(canonicalJson).sort();

/** Configs the three `prepare` entrypoints derive values from: odd spacing and case, wrapped windows, empty lists. */
const preparedConfig = fc.record({
  sql: fc.record({ deny: fc.array(fc.constantFrom("DROP", " drop ", "create   user", "Truncate", "DELETE", "update", "", "  "), { maxLength: 5 }) }),
  pii: fc.record({ internal_domains: fc.array(fc.constantFrom("example.com", " EU.Example.com ", "gmail.com", "", " "), { maxLength: 3 }) }),
  business_hours: fc.record({ start_minute_utc: fc.integer({ min: 0, max: 1439 }), end_minute_utc: fc.integer({ min: 0, max: 1439 }) }),
});

describe("prepared values: data-only values evaluated once per engine", () => {
  it("prepares sql, pii and business_hours in the default bundle", async () => {
    const engine = await createRegoEngine({ bundle });
    expect(engine.preparedPolicies).toEqual(["business_hours", "pii", "sql"]);
  });

  it("gives the stock SDK's findings (which computes them on every call) on generated configs and actions", async () => {
    const configs = fc.sample(preparedConfig, { numRuns: 12, seed: 73 });
    let findings = 0;
    for (const config of configs) {
      const data = bundleDataVariant(bundle, config, []);
      const engine = await createRegoEngine({ bundle, data });
      expect(engine.preparedPolicies).toEqual(["business_hours", "pii", "sql"]);
      const oracle = await stockAggregate(bundle, data);
      for (const each of inputs) {
        const got = sorted(await engine.evaluate(each));
        expect(got).toEqual(oracle(each));
        findings += got.length;
      }
    }
    expect(findings).toBeGreaterThan(1000); // the actions reach the policies, not only empty sets
  });

  it("reads what it prepared: a config given at load changes the decisions", async () => {
    const data = bundleDataVariant(bundle, { sql: { deny: ["  select "] }, business_hours: { start_minute_utc: 1320, end_minute_utc: 360 } }, []);
    const engine = await createRegoEngine({ bundle, data });
    expect(sorted(await engine.evaluate(input({ type: "sql", sql: "SELECT 1" })))).toEqual([
      canonicalJson({ policy: "sql", rule: "denied_statement", severity: "critical", effect: "block", description: "SELECT statement denied (statement 1)" }),
    ]);
    const atNoon = await engine.evaluate(input({ type: "transaction", amountUsd: 5, recipient: "acme" }, { now: "2026-03-02T12:00:00Z" }));
    expect(atNoon.map((f) => f.description)).toEqual(["transaction at 12:00 UTC is outside business hours 22:00-06:00 UTC"]);
  });

  it("ignores a prepared value the caller's data brings", async () => {
    const plain = bundleDataVariant(bundle, {}, []);
    const kernel = plain["policy_kernel"] as Record<string, unknown>;
    const forged = { ...plain, policy_kernel: { ...kernel, prepared: { sql: { deny: ["SELECT"] }, tools: { anything: true } } } };
    const engine = await createRegoEngine({ bundle, data: forged });
    expect(engine.preparedPolicies).toEqual(["business_hours", "pii", "sql"]);
    expect(await engine.evaluate(input({ type: "sql", sql: "SELECT 1" }))).toEqual([]);
    expect((await engine.evaluate(input({ type: "sql", sql: "DROP TABLE t" }))).map((f) => f.rule)).toEqual(["denied_statement"]);
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

describe("loadPreparedData", () => {
  it("loads each prepare's value into the Wasm at data.policy_kernel.prepared.<name>, leaving the caller's data as it was", async () => {
    const policy = await loadPolicy(bundle.wasm);
    const data = bundleDataVariant(bundle, { sql: { deny: ["drop", "create  user"] }, pii: { internal_domains: [" Example.COM "] } }, []);
    const before = structuredClone(data);
    const prepared = loadPreparedData(policy, policy.entrypoints as Record<string, number>, data);
    expect(prepared.policies).toEqual(["business_hours", "pii", "sql"]);
    const values = {
      business_hours: { window: "09:00-17:00" },
      pii: { internal_domains: ["example.com"], internal_suffixes: [".example.com"] },
      sql: { deny: ["DROP", "CREATE USER"] },
    };
    expect((prepared.data["policy_kernel"] as Record<string, unknown>)["prepared"]).toEqual(values);
    expect(dataInWasm(policy)).toEqual(prepared.data);
    expect(data).toEqual(before);
  });

  it("drops what the caller put at data.policy_kernel.prepared, even when nothing is prepared", async () => {
    const policy = await loadPolicy(bundle.wasm);
    const plain = bundleDataVariant(bundle, {}, []);
    const forged = { ...plain, policy_kernel: { ...(plain["policy_kernel"] as object), prepared: { sql: { deny: ["SELECT"] } } } };
    const withoutPrepare = Object.fromEntries(Object.entries(policy.entrypoints as Record<string, number>).filter(([name]) => !name.endsWith("/prepare")));
    const prepared = loadPreparedData(policy, withoutPrepare, forged);
    expect(prepared.policies).toEqual([]);
    expect(prepared.data).toEqual(plain);
    expect(dataInWasm(policy)).toEqual(plain);
  });
});
