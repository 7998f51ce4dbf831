import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { describe, expect, it } from "vitest";
import { readBundle } from "../../../src/engines/rego/bundle.js";
import { readScopes } from "../../../src/engines/rego/action-scopes.js";
import { createRegoEngine } from "../../../src/engines/rego/rego-engine.js";
import { canonicalJson } from "../../../src/canonical-json.js";
import { DEFAULT_REGO_POLICIES, defaultBundlePath } from "../../../src/kernel/defaults.js";
import { type PolicyInput } from "../../../src/schemas.js";
import { actionScopes, actionTypeGuards, parseModules } from "../../../scripts/action-scopes.mjs";
import { policyInputs } from "../../generators/actions.js";
import { opaPath } from "../../helpers/opa.js";
import { bundleDataVariant, stockAggregate as stockAggregateOf } from "../../helpers/stock-aggregate.js";
import { withBuildRecord } from "../../helpers/build-record.js";

const root = join(import.meta.dirname, "..", "..", "..");
const bundle = readBundle(defaultBundlePath());

const stockAggregate = (data: Record<string, unknown>) => stockAggregateOf(bundle, data);
const withDisabled = (disabled: readonly string[]) => bundleDataVariant(bundle, {}, disabled);

/** Valid actions, then the same inputs with the action's type replaced by odd values or the action gone. */
const validInputs: PolicyInput[] = policyInputs(2000, 71);
const oddType = fc.constantFrom<unknown>("other", "SQL", "sql ", "", "__proto__", "constructor", "toString", 7, null, ["sql"], { sql: true });
const oddInputs: unknown[] = fc.sample(fc.tuple(fc.constantFrom(...validInputs.slice(0, 200)), oddType, fc.boolean()), { numRuns: 1000, seed: 73 }).map(
  ([input, type, drop]) => (drop ? { ...input, action: undefined } : { ...input, action: { ...input.action, type } }),
);

describe("per-action-type entrypoints (the generated aggregate's action scopes)", () => {
  it("are used for the default bundle: one entrypoint per scoped type, one for every other type", async () => {
    const engine = await createRegoEngine({ bundle });
    expect(engine.actionTypeEntrypoints).toEqual({
      message: "kernel/violations_of_type/message",
      sql: "kernel/violations_of_type/sql",
      tool_call: "kernel/violations_of_type/tool_call",
      transaction: "kernel/violations_of_type/transaction",
      "*": "kernel/violations_of_other_types",
    });
  });

  it("give kernel/violations' findings on 3,000 generated inputs, odd types and no action included, with policies switched off", async () => {
    const disabledSets = [[], ...fc.sample(fc.uniqueArray(fc.constantFrom(...DEFAULT_REGO_POLICIES), { minLength: 1, maxLength: 4 }), { numRuns: 3, seed: 79 })];
    let found = 0;
    for (const disabled of disabledSets) {
      const data = withDisabled(disabled);
      const engine = await createRegoEngine({ bundle, data });
      expect(engine.actionTypeEntrypoints).not.toBeNull();
      const oracle = await stockAggregate(data);
      for (const input of [...validInputs, ...oddInputs]) {
        const findings = (await engine.evaluate(input as PolicyInput)).map(canonicalJson).sort();
        expect(findings).toEqual(oracle(input));
        found += findings.length;
      }
    }
    expect(found).toBeGreaterThan(1000); // the inputs make the policies fire, not only pass
  });

  it("are not used when the data holds a policies document, whose base data the guards do not cover", async () => {
    const data = { ...bundle.data, policies: {} };
    const engine = await createRegoEngine({ bundle, data });
    expect(engine.actionTypeEntrypoints).toBeNull();
    expect(engine.decisionEntrypoint).toBe("kernel/policy_violations");
    const oracle = await stockAggregate(data);
    for (const input of validInputs.slice(0, 100)) expect((await engine.evaluate(input)).map(canonicalJson).sort()).toEqual(oracle(input));
  });

  it("are not used without the build's trusted split record (kernel.rego may not match the policies)", async () => {
    expect((await createRegoEngine({ bundle: withBuildRecord(bundle, () => undefined) })).actionTypeEntrypoints).toBeNull();
    expect((await createRegoEngine({ bundle: withBuildRecord(bundle, ({ split: _dropped, ...record }) => record) })).actionTypeEntrypoints).toBeNull();
    expect((await createRegoEngine({ bundle: { ...bundle, modulesSha256: "f".repeat(64) } })).actionTypeEntrypoints).toBeNull();
  });

  it("reads only well-formed scopes", () => {
    const good = { types: { sql: ["cost", "sql"] }, other: ["cost"] };
    expect(readScopes([{ result: good }])).toEqual(good);
    for (const bad of [[], [{ result: good }, { result: good }], [{}], [{ result: [] }], [{ result: { ...good, extra: 1 } }], [{ result: { types: { sql: "sql" }, other: [] } }], [{ result: { types: {}, other: [1] } }], [{ result: { types: [], other: [] } }]]) {
      expect(readScopes(bad)).toBeUndefined();
    }
  });
});

/** Writes the modules to a fresh folder and parses them with the real OPA. */
function guardsOf(modules: Record<string, string>, names: readonly string[]): Record<string, string[] | null> {
  const dir = mkdtempSync(join(tmpdir(), "pk-scopes-"));
  for (const [file, text] of Object.entries(modules)) writeFileSync(join(dir, file), text);
  return actionTypeGuards(parseModules(opaPath(), dir), names);
}

const guarded = (type: string, extra = ""): string => `violations contains "x" if {\n\tinput.action.type == "${type}"\n${extra}}\n`;

describe("scripts/action-scopes.mjs reads a policy's action types from its guards", () => {
  it("scopes the default library's policies to the types their rules check, and leaves cost for every type", () => {
    const guards = actionTypeGuards(parseModules(opaPath(), join(root, "rego")), DEFAULT_REGO_POLICIES);
    expect(guards).toEqual({ business_hours: ["transaction"], cost: null, pii: ["message"], sql: ["sql"], tools: ["tool_call"], transactions: ["transaction"] });
    expect(actionScopes(guards)).toEqual({
      types: { message: ["cost", "pii"], sql: ["cost", "sql"], tool_call: ["cost", "tools"], transaction: ["business_hours", "cost", "transactions"] },
      other: ["cost"],
    });
  });

  it("scopes a policy only when every violations rule has the guard, in any package that writes there", () => {
    const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"];
    const guards = guardsOf(
      {
        "a.rego": `package policies.a\n\n${guarded("sql")}\nviolations contains "y" if {\n\t"message" == input.action.type\n}\n`,
        "b.rego": `package policies.b\n\n${guarded("sql")}\nviolations contains "y" if input.x == 1\n`,
        "c.rego": `package policies.c\n\nviolations contains "x" if {\n\tnot input.action.type == "sql"\n}\n`,
        "d.rego": `package policies.d\n\nviolations contains "x" if {\n\tinput.action.type == "sql" with input.action as {"type": "sql"}\n}\n`,
        "e.rego": `package policies.e\n\nviolations := {"x"} if input.action.type == "sql"\n`,
        "f.rego": `package policies.f\n\n${guarded("odd-type")}`,
        "g.rego": `package policies.g\n\n${guarded("sql")}`,
        "g2.rego": `package policies\n\ng.violations contains "z" if input.y == 2\n`,
        "h.rego": `package policies\n\nh := {"violations": {"x"}}\n`,
        "i.rego": `package policies.i\n\nviolations contains "x" if {\n\tinput.x == 1\n\tinput.action.type == "tool_call"\n}\n`,
        "j.rego": `package policies.j\n\nt := input.action.type\n\nviolations contains "x" if t == "sql"\n`,
      },
      names,
    );
    expect(guards).toEqual({
      a: ["message", "sql"], // both rules guarded, either order of the comparison
      b: null, // one rule without the guard
      c: null, // negated
      d: null, // under `with`
      e: null, // a complete rule
      f: null, // a type that cannot name an entrypoint
      g: null, // another package adds an unguarded rule to the same set
      h: null, // defined whole as data of another package
      i: ["tool_call"], // the guard need not come first
      j: null, // read through another rule: not recognised, so not trusted
      k: null, // defined nowhere
    });
    expect(actionScopes({ a: null, b: null })).toBeNull();
  });
});

describe("scripts/gen-kernel-rego.mjs with action scopes", () => {
  it("writes per-type entrypoints that OPA compiles and that add up to policy_violations", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-gen-"));
    writeFileSync(join(dir, "data.json"), JSON.stringify({ policy_kernel: { policies: ["any", "only_sql", "sql_or_mail"] } }));
    writeFileSync(join(dir, "any.rego"), `package policies.any\n\nviolations contains "any" if input.flag == true\n`);
    writeFileSync(join(dir, "only_sql.rego"), `package policies.only_sql\n\n${guarded("sql", '\tinput.flag == true\n').replace('"x"', '"only_sql"')}`);
    writeFileSync(
      join(dir, "sql_or_mail.rego"),
      `package policies.sql_or_mail\n\n${guarded("sql").replace('"x"', '"som_sql"')}\n${guarded("mail").replace('"x"', '"som_mail"')}`,
    );
    execFileSync(process.execPath, [join(root, "scripts", "gen-kernel-rego.mjs"), "--dir", dir, "--opa", opaPath()], { stdio: "pipe" });
    const kernelRego = readFileSync(join(dir, "kernel.rego"), "utf8");
    expect(kernelRego).toContain("violations_of_type.sql contains v if");
    expect(execFileSync(opaPath(), ["fmt", "--list", dir], { encoding: "utf8" })).toBe(""); // rego-check's fmt gate passes
    execFileSync(process.execPath, [join(root, "scripts", "gen-kernel-rego.mjs"), "--dir", dir, "--opa", opaPath(), "--check"], { stdio: "pipe" });

    const out = mkdtempSync(join(tmpdir(), "pk-gen-build-"));
    execFileSync(opaPath(), ["build", "-t", "wasm", "-e", "kernel/policy_violations", "-o", join(out, "b.tar.gz"), dir], { cwd: out, stdio: "pipe" });
    const policy = await loadPolicy(readBundle(join(out, "b.tar.gz")).wasm);
    policy.setData(JSON.parse(readFileSync(join(dir, "data.json"), "utf8")));
    const ids = policy.entrypoints as Record<string, number>;
    const result = (entrypoint: string, input: unknown): unknown => (policy.evaluate(input, ids[entrypoint]) as Array<{ result: unknown }>)[0]!.result;
    const run = (entrypoint: string, input: unknown): string[] => [...(result(entrypoint, input) as string[])].sort();
    expect(result("kernel/action_scopes", {})).toEqual({ types: { mail: ["any", "sql_or_mail"], sql: ["any", "only_sql", "sql_or_mail"] }, other: ["any"] });
    for (const type of ["sql", "mail", "other", "shell"]) {
      for (const flag of [true, false]) {
        const input = { action: { type }, flag };
        const entrypoint = type === "sql" || type === "mail" ? `kernel/violations_of_type/${type}` : "kernel/violations_of_other_types";
        expect(run(entrypoint, input)).toEqual(run("kernel/policy_violations", input));
      }
    }
    expect(run("kernel/violations_of_type/sql", { action: { type: "sql" }, flag: true })).toEqual(["any", "only_sql", "som_sql"]);

    // In the engine, with a trusted split record: these policies' findings are bare strings, and the
    // error names the entrypoint the action's type went to, not the input half it stands in for.
    const built = readBundle(join(out, "b.tar.gz"));
    const split = { aggregate: "kernel/violations", policies: "kernel/policy_violations", config: "kernel/config_violations" };
    const record = { modules_sha256: built.modulesSha256, input_paths: {}, split };
    const data = { ...built.data, policy_kernel: { ...(built.data["policy_kernel"] as object), build: record } };
    const engine = await createRegoEngine({ bundle: { ...built, data }, entrypoint: "kernel/policy_violations" });
    expect(engine.actionTypeEntrypoints).not.toBeNull();
    expect(() => engine.evaluate({ action: { type: "sql" }, flag: true } as never)).toThrow(/unexpected result shape from kernel\/violations_of_type\/sql: /);
    expect(() => engine.evaluate({ action: { type: "shell" }, flag: true } as never)).toThrow(/unexpected result shape from kernel\/violations_of_other_types: /);
  });
});
