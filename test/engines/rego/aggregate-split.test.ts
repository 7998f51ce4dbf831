import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { readBuildRecord } from "../../../src/engines/rego/build-record.js";
import { createRegoEngine, DEFAULT_ENTRYPOINT } from "../../../src/engines/rego/rego-engine.js";
import { canonicalJson } from "../../../src/canonical-json.js";
import { DEFAULT_REGO_POLICIES, defaultBundlePath } from "../../../src/kernel/defaults.js";
import { type PolicyInput } from "../../../src/schemas.js";
import { isDataOnlyRule } from "../../../scripts/build-record.mjs";
import { policyInputs } from "../../generators/actions.js";
import { bundleDataVariant, stockAggregate as stockAggregateOf } from "../../helpers/stock-aggregate.js";
import { withBuildRecord } from "../../helpers/build-record.js";

const bundle = readBundle(defaultBundlePath());
const inputs: PolicyInput[] = policyInputs(300, 53);

const stockAggregate = (data: Record<string, unknown>) => stockAggregateOf(bundle, data);
const variant = (config: Record<string, unknown>, disabled: readonly string[]) => bundleDataVariant(bundle, config, disabled);

const policyName = fc.constantFrom(...DEFAULT_REGO_POLICIES);
const dataVariant = fc.record({
  config: fc.dictionary(policyName, fc.constantFrom(undefined, null, "text", [], 7), { maxKeys: 3 }),
  disabled: fc.uniqueArray(policyName, { maxLength: 3 }),
});

describe("the aggregate split: config half once per engine, input half per decision", () => {
  it("is recorded for the default bundle, whose config half reads no input", async () => {
    expect(readBuildRecord(bundle).record?.split).toEqual({ aggregate: DEFAULT_ENTRYPOINT, policies: "kernel/policy_violations", config: "kernel/config_violations" });
    const engine = await createRegoEngine({ bundle });
    expect(engine.decisionEntrypoint).toBe("kernel/policy_violations");
    expect(engine.configFindings).toEqual([]);
  });

  it("gives kernel/violations' findings with configs missing or malformed and policies off, on generated data", async () => {
    const variants = fc.sample(dataVariant, { numRuns: 24, seed: 59 });
    let missing = 0;
    for (const { config, disabled } of variants) {
      const data = variant(config, disabled);
      const engine = await createRegoEngine({ bundle, data });
      const oracle = await stockAggregate(data);
      for (const input of inputs.slice(0, 60)) {
        expect((await engine.evaluate(input)).map(canonicalJson).sort()).toEqual(oracle(input));
      }
      missing += engine.configFindings.length;
    }
    expect(missing).toBeGreaterThan(10); // the variants reach the config half, not only the policies
  });

  it("blocks every decision when a config is missing, naming it", async () => {
    const engine = await createRegoEngine({ bundle, data: variant({ sql: undefined }, []) });
    expect(engine.configFindings).toEqual([
      { policy: "kernel", rule: "missing_config", severity: "critical", effect: "block", description: "configuration data.policy_kernel.config.sql is missing" },
    ]);
    for (const input of inputs.slice(0, 20)) expect(await engine.evaluate(input)).toContainEqual(engine.configFindings[0]);
  });

  it("evaluates the whole aggregate per decision when the recorded halves are not in the module", async () => {
    const absent = withBuildRecord(bundle, (record) => ({ ...record, split: { aggregate: DEFAULT_ENTRYPOINT, policies: "kernel/nope", config: "kernel/config_violations" } }));
    const engine = await createRegoEngine({ bundle: absent, data: variant({ pii: undefined }, []) });
    expect(engine.decisionEntrypoint).toBe(DEFAULT_ENTRYPOINT);
    expect(engine.configFindings).toEqual([]);
    const oracle = await stockAggregate(variant({ pii: undefined }, []));
    for (const input of inputs.slice(0, 40)) expect((await engine.evaluate(input)).map(canonicalJson).sort()).toEqual(oracle(input));
    expect(readBuildRecord(withBuildRecord(bundle, (record) => ({ ...record, split: { policies: 3 } }))).note).toMatch(/malformed/);
  });
});

describe("isDataOnlyRule (build script)", () => {
  const term = (value: string, type = "string") => ({ type, value });
  const ref = (...parts: string[]) => [term(parts[0]!, "var"), ...parts.slice(1).map((part) => term(part))];

  it("is true only for a rule that exists and reads no input", () => {
    const rule = ref("data", "kernel", "config_violations");
    expect(isDataOnlyRule({ base: [ref("data", "policy_kernel", "config")], virtual: [rule] }, "kernel/config_violations")).toBe(true);
    expect(isDataOnlyRule({ base: [ref("input", "context", "role")], virtual: [rule] }, "kernel/config_violations")).toBe(false);
    // An undefined rule shows up as a base document, not a virtual one.
    expect(isDataOnlyRule({ base: [rule] }, "kernel/config_violations")).toBe(false);
  });
});
