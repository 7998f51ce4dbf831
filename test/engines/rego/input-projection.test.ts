import { describe, expect, it } from "vitest";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { readBuildRecord, type BuildRecord } from "../../../src/engines/rego/build-record.js";
import { inputProjectionFor, readPolicyPaths } from "../../../src/engines/rego/input-projection.js";
import { compileProjection } from "../../../src/engines/rego/projection-tree.js";
import { createRegoEngine, DEFAULT_ENTRYPOINT } from "../../../src/engines/rego/rego-engine.js";
import { defaultBundlePath } from "../../../src/kernel/defaults.js";
import { coversPaths, inputPathsFromDeps } from "../../../scripts/build-record.mjs";
import { policyInputs } from "../../generators/actions.js";
import { bundleDataVariant, stockEvaluate } from "../../helpers/stock-aggregate.js";

const bundle = readBundle(defaultBundlePath());
const record = readBuildRecord(bundle).record!;

/** The projection the engine uses for the aggregate, as `data` leaves the policies on. */
const projectionWith = (data: Record<string, unknown>, source: BuildRecord = record) =>
  inputProjectionFor(source, DEFAULT_ENTRYPOINT, readPolicyPaths(source, data))!;

describe("compileProjection", () => {
  const project = compileProjection([["action"], ["context", "role"], ["facts", "clock", "minute"], ["facts", "sql"]]);

  it("keeps the listed paths whole and drops the rest", () => {
    const input = {
      agentId: "a",
      action: { type: "sql", sql: "SELECT 1", extra: { deep: [1] } },
      context: { role: "analyst", now: "2026-11-21T10:00:00Z", costUsd: 3 },
      facts: { clock: { minute: 5, weekday: 2 }, sql: { statements: [{ kind: "SELECT" }] }, writes: false },
    };
    expect(project(input)).toEqual({
      action: input.action,
      context: { role: "analyst" },
      facts: { clock: { minute: 5 }, sql: input.facts.sql },
    });
  });

  it("leaves missing members missing and sends a non-object whole", () => {
    expect(project({ action: { type: "x" } })).toEqual({ action: { type: "x" } });
    expect(project({ context: { now: "t" }, facts: { clock: undefined } })).toEqual({ context: {}, facts: {} });
    // A policy reading input.context.role of a context that is a string sees the same either way.
    expect(project({ context: "odd", facts: [1, 2] })).toEqual({ context: "odd", facts: [1, 2] });
    expect(project("not an object")).toBe("not an object");
  });

  it("keeps everything for a bare input or a __proto__ path, and a short path covers longer ones", () => {
    const input = { a: { b: 1, c: 2 }, d: 3 };
    expect(compileProjection([["a", "b"], []])(input)).toBe(input);
    expect(compileProjection([["__proto__", "x"]])(input)).toBe(input);
    expect(compileProjection([["a", "b"], ["a"]])(input)).toEqual({ a: { b: 1, c: 2 } });
    expect(compileProjection([["a"], ["a", "b"]])(input)).toEqual({ a: { b: 1, c: 2 } });
  });
});

describe("inputPathsFromDeps (scripts/build-record.mjs)", () => {
  const ref = (...parts: Array<string | { var: string }>) => [
    { type: "var", value: "input" },
    ...parts.map((part) => (typeof part === "string" ? { type: "string", value: part } : { type: "var", value: part.var })),
  ];

  it("cuts each reference at its first variable and drops covered paths", () => {
    const deps = {
      base: [ref("facts", "sql", "statements"), ref("facts", { var: "k" }, "x"), ref("action", "type"), ref("action"), [{ type: "var", value: "data" }, { type: "string", value: "x" }]],
    };
    expect(inputPathsFromDeps(deps)).toEqual([["action"], ["facts"]]);
  });

  it("is null when the whole input is read", () => {
    expect(inputPathsFromDeps({ base: [ref("action"), ref({ var: "k" })] })).toBeNull();
    expect(inputPathsFromDeps({ base: [ref()] })).toBeNull();
    expect(inputPathsFromDeps({})).toEqual([]);
  });
});

describe("the default bundle's input projection", () => {
  it("is recorded, verified and used", async () => {
    const engine = await createRegoEngine({ bundle });
    expect(engine.buildRecordNote).toBeUndefined();
    expect(engine.inputPaths).toContainEqual(["action", "type"]);
    expect(engine.inputPaths).toContainEqual(["action", "tool"]);
    expect(engine.inputPaths).toContainEqual(["context", "role"]);
    expect(engine.inputPaths).not.toContainEqual(["agentId"]);
    // The policies read the SQL and the message through their facts: the raw text never crosses into the Wasm.
    expect(engine.inputPaths).not.toContainEqual(["action"]);
    expect((engine.inputPaths ?? []).filter((path) => path[0] === "action")).toEqual([["action", "amountUsd"], ["action", "tool"], ["action", "type"]]);
  });

  it("gives the findings of the whole input, on 3,000 generated actions and odd shapes", async () => {
    const projected = await createRegoEngine({ bundle });
    const stock = await stockEvaluate(bundle, bundle.data);
    const inputs = policyInputs(3_000, 31);
    const odd = [{ ...inputs[0]!, context: "a string" }, { ...inputs[1]!, facts: [] }, { ...inputs[2]!, facts: { sql: { statements: "x" } } }];
    let blocked = 0;
    for (const input of [...inputs, ...odd]) {
      const whole = stock(input);
      const findings = await projected.evaluate(input as never);
      expect(findings).toEqual(whole);
      if (findings.length > 0) blocked++;
    }
    expect(blocked).toBeGreaterThan(500); // the corpus reaches the policies, not only allows
  });

  it("is used only for an entrypoint the record has paths for", () => {
    expect(inputProjectionFor(record, DEFAULT_ENTRYPOINT, undefined)?.paths).toEqual(record.inputPaths[DEFAULT_ENTRYPOINT]);
    expect(inputProjectionFor(record, "kernel/violations_of_type/sql", undefined)).toBeNull();
    expect(inputProjectionFor(record, "__proto__", undefined)).toBeNull();
  });
});

describe("per-policy input projection", () => {
  const policies = record.policyPaths!;
  const disabling = (...names: string[]): Record<string, unknown> => bundleDataVariant(bundle, {}, names);

  it("is recorded for every policy of the default library, and together they cover the entrypoint's paths", () => {
    expect(Object.keys(policies).sort()).toEqual(["business_hours", "cost", "pii", "sql", "tools", "transactions"]);
    expect(policies["cost"]).toEqual([["facts", "costUsdTotal"]]);
    expect(coversPaths(Object.values(policies).flat(), record.inputPaths[DEFAULT_ENTRYPOINT]!)).toBe(true);
  });

  it("sends only what the policies left on read, as data.policy_kernel.disabled decides", () => {
    const three = projectionWith(disabling("sql", "pii", "business_hours"));
    expect(three.paths).toEqual([["action", "amountUsd"], ["action", "tool"], ["action", "type"], ["context", "role"], ["facts", "costUsdTotal"]]);
    // Anything but `true` leaves a policy on, as kernel.rego's `disabled[name] == true` does.
    const kernel = bundle.data["policy_kernel"] as Record<string, unknown>;
    const notReally = { ...bundle.data, policy_kernel: { ...kernel, disabled: { sql: "yes", pii: 1, tools: false } } };
    expect(projectionWith(notReally).paths).toEqual(record.inputPaths[DEFAULT_ENTRYPOINT]);
  });

  it("falls back to the entrypoint's paths when the per-policy record does not cover them", () => {
    const partial: BuildRecord = { ...record, policyPaths: { cost: [["facts", "costUsdTotal"]] } };
    expect(readPolicyPaths(partial, disabling("sql"))).toBeUndefined();
    expect(projectionWith(disabling("sql"), partial).paths).toEqual(record.inputPaths[DEFAULT_ENTRYPOINT]);
  });

  it("are used only with the split, and narrow an entrypoint only when they cover its recorded paths", () => {
    expect(readPolicyPaths({ ...record, split: undefined }, disabling("sql"))).toBeUndefined();
    const wider: BuildRecord = { ...record, inputPaths: { ...record.inputPaths, [DEFAULT_ENTRYPOINT]: [...record.inputPaths[DEFAULT_ENTRYPOINT]!, ["agentId"]] } };
    expect(projectionWith(disabling("sql"), wider).paths).toEqual(wider.inputPaths[DEFAULT_ENTRYPOINT]);
    expect(inputProjectionFor(wider, "kernel/policy_violations", readPolicyPaths(wider, disabling("sql")))?.paths).not.toContainEqual(["facts", "sql"]);
  });

  it("gives the findings of the whole input with policies switched off, on 3,000 generated actions", async () => {
    const inputs = policyInputs(1_000, 37);
    for (const off of [["sql", "pii", "business_hours"], ["tools", "transactions"], ["cost", "sql", "tools", "transactions", "business_hours"]]) {
      const data = disabling(...off);
      const projected = await createRegoEngine({ bundle, data });
      const stock = await stockEvaluate(bundle, data);
      let found = 0;
      for (const input of inputs) {
        const whole = stock(input);
        const findings = await projected.evaluate(input);
        expect(findings).toEqual(whole);
        found += findings.length;
      }
      expect(found).toBeGreaterThan(50);
    }
  });
});
