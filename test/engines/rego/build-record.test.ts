import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { readBuildRecord } from "../../../src/engines/rego/build-record.js";
import { createRegoEngine, DEFAULT_ENTRYPOINT } from "../../../src/engines/rego/rego-engine.js";
import { canonicalJson } from "../../../src/canonical-json.js";
import { defaultBundlePath } from "../../../src/kernel/defaults.js";
import { type PolicyInput } from "../../../src/schemas.js";
import { buildRecord, modulesSha256 } from "../../../scripts/build-record.mjs";
import { policyInputs } from "../../generators/actions.js";
import { withBuildRecord } from "../../helpers/build-record.js";
import { unpackDefaultBundle } from "../../helpers/bundle-folder.js";
import { bundleDataVariant, stockAggregate } from "../../helpers/stock-aggregate.js";

const bundle = readBundle(defaultBundlePath());
const inputs: PolicyInput[] = policyInputs(400, 83);
const sorted = (findings: readonly unknown[]): string[] => findings.map(canonicalJson).sort();
const PREPARED = ["business_hours", "pii", "sql"];
const INPUT_HALF = "kernel/policy_violations";

describe("the build record (data.policy_kernel.build)", () => {
  it("is recorded for the default bundle and verified against the modules it holds", () => {
    const { record, note } = readBuildRecord(bundle);
    expect(note).toBeUndefined();
    expect(Object.keys(record!.inputPaths).sort()).toEqual(["kernel/config_violations", INPUT_HALF, DEFAULT_ENTRYPOINT]);
    expect(record!.inputPaths["kernel/config_violations"]).toEqual([]);
    expect(record!.prepare).toEqual(PREPARED.map((name) => `policies/${name}/prepare`));
  });

  it("records the modules hash the kernel computes (script and kernel hash alike, archive and folder alike)", () => {
    const recorded = (bundle.data["policy_kernel"] as { build: { modules_sha256: string } }).build.modules_sha256;
    expect(bundle.modulesSha256).toBe(recorded);
    const dir = mkdtempSync(join(tmpdir(), "build-record-"));
    try {
      unpackDefaultBundle(dir);
      expect(modulesSha256(dir)).toBe(recorded);
      expect(readBundle(dir).modulesSha256).toBe(recorded);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is not trusted for other modules or when malformed, and says so; a bundle without one has nothing to say", () => {
    expect(readBuildRecord({ ...bundle, modulesSha256: "f".repeat(64) })).toEqual({ record: null, note: expect.stringMatching(/other Rego modules/) });
    const malformed = [
      (r: Record<string, unknown>) => ({ ...r, input_paths: { [DEFAULT_ENTRYPOINT]: "action" } }),
      (r: Record<string, unknown>) => ({ ...r, input_paths: undefined }),
      (r: Record<string, unknown>) => ({ ...r, policy_paths: { sql: "facts" } }),
      (r: Record<string, unknown>) => ({ ...r, prepare: ["policies/sql/prepare", ""] }),
      (r: Record<string, unknown>) => ({ ...r, split: { policies: INPUT_HALF, config: "kernel/config_violations" } }),
      (r: Record<string, unknown>) => ({ ...r, modules_sha256: "F".repeat(64) }),
      (r: Record<string, unknown>) => ({ ...r, extra: 1 }),
      () => "build",
    ];
    for (const change of malformed) {
      expect(readBuildRecord(withBuildRecord(bundle, change))).toEqual({ record: null, note: expect.stringMatching(/data\.policy_kernel\.build is malformed \(expected \{modules_sha256/) });
    }
    expect(readBuildRecord(withBuildRecord(bundle, () => undefined))).toEqual({ record: null });
  });

  it("names a record from a build before it, so the bundle gets rebuilt", () => {
    const old = withBuildRecord(bundle, () => undefined);
    const kernel = old.data["policy_kernel"] as Record<string, unknown>;
    const withOld = { ...old, data: { ...old.data, policy_kernel: { ...kernel, input_projection: { entrypoint: DEFAULT_ENTRYPOINT } } } };
    expect(readBuildRecord(withOld).note).toMatch(/older scripts\/build-bundle\.sh; rebuild the bundle/);
  });
});

describe("each part of the build record stands alone", () => {
  it("an aggregate reading the whole input (no paths recorded) keeps its split, per-type entrypoints and prepared values", async () => {
    const wholeInput = withBuildRecord(bundle, ({ input_paths: _paths, policy_paths: _policies, ...record }) => ({ ...record, input_paths: {} }));
    const engine = await createRegoEngine({ bundle: wholeInput });
    expect(engine.buildRecordNote).toBeUndefined();
    expect(engine.inputPaths).toBeNull();
    expect(engine.decisionEntrypoint).toBe(INPUT_HALF);
    expect(engine.actionTypeEntrypoints).not.toBeNull();
    expect(engine.preparedPolicies).toEqual(PREPARED);
    expect(engine.factsRead).toBe("all");
    const oracle = await stockAggregate(bundle, bundle.data);
    for (const input of inputs) expect(sorted(await engine.evaluate(input))).toEqual(oracle(input));
  });

  it("a kernel on the input half keeps its per-type entrypoints, input paths and prepared values, and adds no config findings", async () => {
    const data = bundleDataVariant(bundle, { cost: undefined }, ["tools"]);
    const engine = await createRegoEngine({ bundle, data, entrypoint: INPUT_HALF });
    expect(engine.decisionEntrypoint).toBe(INPUT_HALF);
    expect(engine.actionTypeEntrypoints).not.toBeNull();
    expect(engine.preparedPolicies).toEqual(PREPARED);
    expect(engine.inputPaths).not.toContainEqual(["action", "tool"]); // tools is off, and only it reads the tool
    expect(engine.configFindings).toEqual([]);
    const oracle = await stockAggregate(bundle, data, INPUT_HALF);
    let found = 0;
    for (const input of inputs) {
      const findings = sorted(await engine.evaluate(input));
      expect(findings).toEqual(oracle(input));
      found += findings.length;
    }
    expect(found).toBeGreaterThan(100);
  });

  it("a kernel on an entrypoint the record has no paths for keeps the prepared values and sends the whole input", async () => {
    const entrypoint = "kernel/violations_of_type/sql";
    const engine = await createRegoEngine({ bundle, entrypoint });
    expect(engine.inputPaths).toBeNull();
    expect(engine.actionTypeEntrypoints).toBeNull();
    expect(engine.preparedPolicies).toEqual(PREPARED);
    const oracle = await stockAggregate(bundle, bundle.data, entrypoint);
    for (const input of inputs) expect(sorted(await engine.evaluate(input))).toEqual(oracle(input));
  });
});

describe("buildRecord (build script)", () => {
  const policies = ["cost", "wide"];
  const deps = (readsInput: Record<string, string[][] | null>) => ({
    depsOf: (query: string) => (Object.hasOwn(readsInput, query) ? readsInput[query]! : []),
    // The config half and every prepare read data only; the prepare of `wide` does not exist.
    rawDeps: (query: string) => ({
      base: [],
      virtual: query === "data.policies.wide.prepare" ? [] : [query.split(".").map((part, i) => ({ type: i === 0 ? "var" : "string", value: part }))],
    }),
  });
  const entrypoints = [DEFAULT_ENTRYPOINT, INPUT_HALF, "kernel/config_violations"];

  it("records each part on its own: a policy reading the whole input costs the paths, not the split or the prepare list", () => {
    const record = buildRecord({
      entrypoints,
      policies,
      modulesSha256: "a".repeat(64),
      ...deps({ "data.kernel.violations": null, "data.kernel.policy_violations": null, "data.policies.wide.violations": null, "data.policies.cost.violations": [["facts", "cost"]] }),
    });
    expect(record).toEqual({
      modules_sha256: "a".repeat(64),
      input_paths: { "kernel/config_violations": [] },
      whole_input: [INPUT_HALF, DEFAULT_ENTRYPOINT].sort(),
      split: { aggregate: DEFAULT_ENTRYPOINT, policies: INPUT_HALF, config: "kernel/config_violations" },
      prepare: ["policies/cost/prepare"],
    });
  });

  it("lists the entrypoints that read the whole input, so a binding can be checked against them too", () => {
    const record = buildRecord({ entrypoints: ["strict/deny", "strict/warn"], policies: undefined, modulesSha256: "a".repeat(64), ...deps({ "data.strict.deny": null, "data.strict.warn": [["method"]] }) });
    expect(record.whole_input).toEqual(["strict/deny"]);
    expect(record.input_paths).toEqual({ "strict/warn": [["method"]] });
  });

  it("records per-policy paths only with the split, when every policy has some and together they cover the input half's", () => {
    const both = { "data.policies.cost.violations": [["facts", "cost"]], "data.policies.wide.violations": [["action", "type"]] };
    const halves = (paths: string[][]) => ({ "data.kernel.violations": paths, "data.kernel.policy_violations": paths });
    const covered = buildRecord({ entrypoints, policies, modulesSha256: "a".repeat(64), ...deps({ ...both, ...halves([["action", "type"], ["facts", "cost"]]) }) });
    expect(covered.policy_paths).toEqual({ cost: [["facts", "cost"]], wide: [["action", "type"]] });
    const beyond = buildRecord({ entrypoints, policies, modulesSha256: "a".repeat(64), ...deps({ ...both, ...halves([["action"], ["context", "role"]]) }) });
    expect(beyond.policy_paths).toBeUndefined();
    // Built without its halves, the aggregate has no split to record, and so no per-policy paths.
    const alone = buildRecord({ entrypoints: [DEFAULT_ENTRYPOINT], policies, modulesSha256: "a".repeat(64), ...deps({ ...both, ...halves([["action", "type"], ["facts", "cost"]]) }) });
    expect(alone.split).toBeUndefined();
    expect(alone.policy_paths).toBeUndefined();
  });

  it("refuses an entrypoint that is no rule of the modules, which would read no input", () => {
    const { rawDeps, depsOf } = deps({});
    const misspelt = (query: string) => (query === "data.kernel.violation" ? { base: [] } : rawDeps(query));
    expect(() => buildRecord({ entrypoints: ["kernel/violation"], policies, modulesSha256: "a".repeat(64), rawDeps: misspelt, depsOf })).toThrow(/entrypoint kernel\/violation is not a rule/);
  });
});
