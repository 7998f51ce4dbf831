import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { costControlPolicy, sqlPolicy, transactionPolicy } from "../../src/kernel/policies.js";
import { DEFAULT_JSON_POLICIES, DEFAULT_REGO_POLICIES, defaultBundlePath } from "../../src/kernel/defaults.js";
import { isPolicyKernelError } from "../../src/errors.js";
import { DecisionSchema } from "../../src/schemas.js";
import type { KernelAuditEvent } from "../../src/kernel/audit-sink.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { unpackDefaultBundle } from "../helpers/bundle-folder.js";
import { buildFixtureBundle, currentCapabilities } from "../helpers/opa.js";

const fixtures = join(import.meta.dirname, "..", "fixtures", "rego");
const sql = (text: string, context: Record<string, unknown> = {}) => ({ agentId: "agent-1", action: { type: "sql", sql: text }, context });

describe("default kernel", () => {
  let kernel: PolicyKernel;
  beforeAll(async () => {
    kernel = await createPolicyKernel();
  });

  it("denies DROP TABLE with a critical sql violation and allows a clean SELECT", async () => {
    const denied = await kernel.evaluate(sql("SELECT 1; DROP TABLE users"));
    expect(denied.allowed).toBe(false);
    expect(denied.violations).toHaveLength(1);
    expect(denied.violations[0]).toMatchObject({ policy: "sql", rule: "denied_statement", severity: "critical", type: "blocked", blocked: true, penalty: 100, source: "rego" });
    const allowed = await kernel.evaluate(sql("SELECT name FROM users WHERE id = 42"));
    expect(allowed).toMatchObject({ allowed: true, violations: [], signals: [] });
    expect(DecisionSchema.parse(allowed)).toEqual(allowed);
  });

  it("shares one frozen provenance: editing a decision's cannot change the next decision's", async () => {
    const first = await kernel.evaluate(sql("SELECT 1"));
    expect(() => {
      (first.provenance as { bundleRevision: string | null }).bundleRevision = "edited";
    }).toThrow(TypeError);
    expect((await kernel.evaluate(sql("SELECT 2"))).provenance).toEqual(kernel.provenance);
    expect(kernel.provenance.bundleRevision).toMatch(/^rego-[0-9a-f]{16}$/);
  });

  it("stamps provenance: bundle revision and hashes of bundle, data and rules", async () => {
    const { provenance } = await kernel.evaluate(sql("SELECT 1"));
    expect(provenance.bundleRevision).toMatch(/^rego-[0-9a-f]{16}$/);
    expect(provenance.bundleSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(provenance.dataSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(provenance.rulesSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(kernel.policyNames).toEqual(["business_hours", "cost", "pii", "rate_limit", "read_only", "sql", "tools", "transactions"]);
    // The Rego names come from the bundle's own data.policy_kernel.policies, as for any bundle.
    expect(kernel.policyNames).toEqual([...DEFAULT_REGO_POLICIES, ...DEFAULT_JSON_POLICIES].sort());
  });

  it("combines Rego and JSON rules with deny-overrides and a deterministic order", async () => {
    const decision = await kernel.evaluate(sql("DELETE FROM users", { readOnly: true, actionsInWindow: 45, costUsd: 150 }));
    expect(decision.allowed).toBe(false);
    expect(decision.violations.map((v) => `${v.severity}:${v.policy}/${v.rule}:${v.source}`)).toEqual([
      "critical:sql/missing_where:rego",
      "high:cost/budget_exceeded:rego",
      "high:read_only/write_in_read_only:json",
      "low:rate_limit/approaching_limit:json",
    ]);
  });

  it("holds a transaction above the approval threshold with SIGSTOP and uses the per-call clock", async () => {
    const action = { agentId: "a", action: { type: "transaction", amountUsd: 250, recipient: "acme" }, context: { role: "finance" } };
    const night = await kernel.evaluate(action, { now: "2026-11-21T22:00:00Z" });
    expect(night.allowed).toBe(false);
    expect(night.signals).toEqual(["SIGSTOP"]);
    expect(night.violations.map((v) => v.rule).sort()).toEqual(["approval_required", "outside_business_hours"]);
    const day = await kernel.evaluate(action, { now: new Date("2026-11-21T10:00:00Z") });
    expect(day.violations.map((v) => v.rule)).toEqual(["approval_required"]);
  });

  it("denies a malformed action naming the field, and never throws", async () => {
    const decision = await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: 42 } });
    expect(decision.allowed).toBe(false);
    expect(decision.violations[0]).toMatchObject({ policy: "kernel", rule: "invalid_action", severity: "critical", source: "kernel" });
    expect(decision.violations[0]?.description).toContain("action.sql");
    const garbage = await kernel.evaluateUntrusted("not an action");
    expect(garbage.allowed).toBe(false);
    const badTime = await kernel.evaluate(sql("SELECT 1"), { now: "yesterday" });
    expect(badTime.violations[0]?.description).toContain("context.now");
  });

  it("gives byte-identical decision JSON for the same action in two kernels", async () => {
    const other = await createPolicyKernel();
    const action = { agentId: "x", action: { type: "message", to: "bob@gmail.com", text: "SSN 123-45-6789" }, context: { role: "support" } };
    expect(JSON.stringify(await other.evaluate(action))).toBe(JSON.stringify(await kernel.evaluate(action)));
    other.close();
    other.close();
    expect((await other.evaluate(action)).violations[0]?.description).toContain("closed");
  });
});

describe("quick-start policy helpers", () => {
  it("switches on only the named policies; deny adds to the default list", async () => {
    const kernel = await createPolicyKernel({ policies: [sqlPolicy({ deny: ["DROP", "DELETE"] }), costControlPolicy({ maxCostUsd: 100 })] });
    expect(kernel.policyNames).toEqual(["cost", "sql"]);
    expect((await kernel.evaluate(sql("DELETE FROM users WHERE id = 1"))).allowed).toBe(false);
    expect((await kernel.evaluate(sql("TRUNCATE users"))).allowed).toBe(false);
    expect((await kernel.evaluate(sql("SELECT 1", { costUsd: 60, spentUsd: 50 }))).violations[0]?.rule).toBe("budget_exceeded");
    const transfer = { agentId: "a", action: { type: "transaction", amountUsd: 1_000_000, recipient: "x" } };
    expect((await kernel.evaluate(transfer)).allowed).toBe(true);
  });

  it("replaceDefaults makes the helper's lists the whole lists", async () => {
    const widened = await createPolicyKernel({ rules: false, policies: [sqlPolicy({ allow: ["drop  table"] })] });
    expect((await widened.evaluate(sql("DROP TABLE users"))).allowed).toBe(true);
    expect((await widened.evaluate(sql("SELECT 1"))).allowed).toBe(true);
    const only = await createPolicyKernel({ rules: false, policies: [sqlPolicy({ allow: ["SELECT"], replaceDefaults: true })] });
    expect((await only.evaluate(sql("SELECT 1"))).allowed).toBe(true);
    expect((await only.evaluate(sql("DELETE FROM users WHERE id = 1"))).violations.map((v) => v.description)).toEqual(["DELETE statement is not allowed (statement 1)"]);
  });

  it("rejects invalid configuration with the field and what was expected", async () => {
    expect(() => costControlPolicy({ maxCostUsd: -1 })).toThrow(/costControlPolicy.maxCostUsd/);
    expect(() => transactionPolicy({ approvalThreshold: 5 } as never)).toThrow(/approvalThreshold/);
    await expect(createPolicyKernel({ bogus: true } as never)).rejects.toThrow(/bogus/);
    await expect(createPolicyKernel({ policies: [{ name: "nope", config: {} }] })).rejects.toThrow(/unknown policy "nope".*expected one of/);
    await expect(createPolicyKernel({ failOpen: "yes" } as never)).rejects.toThrow(/createPolicyKernel.failOpen/);
    // A recorder without record(), or a logger that is not a pino logger, would silently record or log nothing.
    await expect(createPolicyKernel({ recorder: {} } as never)).rejects.toThrow(/createPolicyKernel.recorder/);
    await expect(createPolicyKernel({ logger: { level: "info" } } as never)).rejects.toThrow(/createPolicyKernel.logger/);
  });

  it("takes only JSON data as policy data: Rego sees JSON, and the JSON rules must see the same", async () => {
    const data = (value: unknown) => ({ policy_kernel: { config: { rate_limit: { max: value } } } });
    await expect(createPolicyKernel({ data: data(() => 1) })).rejects.toThrow(
      "createPolicyKernel.data.policy_kernel.config.rate_limit.max: a function is not JSON data (expected JSON data: objects, arrays, strings, finite numbers, booleans, null)",
    );
    await expect(createPolicyKernel({ data: data(Number.NaN) })).rejects.toThrow(/config\.rate_limit\.max: NaN is not JSON data/);
    await expect(createPolicyKernel({ data: { list: [1, new Date(0)] } })).rejects.toThrow(/createPolicyKernel\.data\.list\[1\]: a Date object/);
    const loop: Record<string, unknown> = {};
    loop["self"] = loop;
    await expect(createPolicyKernel({ data: { loop } })).rejects.toThrow(/data\.loop\.self: a circular reference/);
    await expect(createPolicyKernel({ policies: [{ name: "cost", config: { max_cost_usd: 10n } }] })).rejects.toThrow(
      /createPolicyKernel\.policies\[0\]\.config\.max_cost_usd: a bigint is not JSON data/,
    );
    // What JSON drops is fine: an undefined member, a null prototype.
    const kernel = await createPolicyKernel({ data: { policy_kernel: { config: { cost: Object.assign(Object.create(null), { max_cost_usd: 5 }), extra: undefined } } } });
    expect((await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { costUsd: 6 } })).allowed).toBe(false);
  });
});

describe("fail closed", () => {
  it("denies when the Wasm module aborts (conflict error) and lets through only with failOpen", async () => {
    const bundle = buildFixtureBundle(join(fixtures, "conflict"), { entrypoint: "kernel/violations" });
    const closed = await createPolicyKernel({ bundle, rules: false });
    const decision = await closed.evaluate(sql("SELECT 1"));
    expect(decision.allowed).toBe(false);
    expect(decision.violations[0]).toMatchObject({ policy: "kernel", rule: "engine_error", severity: "critical", blocked: true, source: "rego" });
    const open = await createPolicyKernel({ bundle, rules: false, failOpen: true });
    const lenient = await open.evaluate(sql("SELECT 1"));
    expect(lenient.allowed).toBe(true);
    expect(lenient.violations[0]).toMatchObject({ rule: "engine_error", type: "warned", blocked: false });
  });

  it("denies on an unexpected result shape, naming the field", async () => {
    const bundle = buildFixtureBundle(join(fixtures, "bad-shape"), { entrypoint: "kernel/violations" });
    const kernel = await createPolicyKernel({ bundle, rules: false });
    const decision = await kernel.evaluate(sql("SELECT 1"));
    expect(decision.allowed).toBe(false);
    expect(decision.violations[0]?.description).toMatch(/unexpected result shape.*violations\[0\]/);
  });

  it("refuses at load an entrypoint the bundle lacks, also one named like a member of every object", async () => {
    for (const entrypoint of ["no/such/rule", "constructor", "__proto__", "toString"]) {
      const error = await createPolicyKernel({ entrypoint, rules: false }).catch((e: unknown) => e);
      expect(isPolicyKernelError(error, "invalid_config"), entrypoint).toBe(true);
      expect(String(error)).toContain(`entrypoint "${entrypoint}" is not in`);
    }
  });

  it("refuses at load a module that needs a builtin the host lacks, naming it", async () => {
    const capabilities = currentCapabilities();
    capabilities.builtins.push({ name: "custom.score", decl: { type: "function", args: [{ type: "string" }], result: { type: "number" } } });
    const bundle = buildFixtureBundle(join(fixtures, "custom-builtin"), { entrypoint: "kernel/violations", capabilities });
    const error = await createPolicyKernel({ bundle, rules: false }).catch((e: unknown) => e);
    expect(isPolicyKernelError(error, "invalid_bundle")).toBe(true);
    expect(String(error)).toContain("custom.score: OPA's Wasm leaves it to the host and this host does not implement it");
  });
});

describe("load-time notes in the log", () => {
  it("are said once to a logger the kernels share, and by each kernel that has its own", async () => {
    // A bundle whose build record no longer matches its modules: a note (the record is not used), not an error.
    const folder = mkdtempSync(join(tmpdir(), "pk-note-"));
    unpackDefaultBundle(folder, (path, bytes) => (path.endsWith("/sql.rego") ? Buffer.concat([bytes, Buffer.from("\n# edited\n")]) : bytes));
    const noted = (line: string) => line.includes("build record");
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    for (let i = 0; i < 3; i++) (await createPolicyKernel({ bundle: folder, rules: false, logger })).close();
    expect(lines.filter(noted)).toHaveLength(1);
    const own: string[] = [];
    for (let i = 0; i < 2; i++) {
      const each = pino({ level: "warn" }, { write: (line: string) => void own.push(line) });
      (await createPolicyKernel({ bundle: folder, rules: false, logger: each })).close();
    }
    expect(own.filter(noted)).toHaveLength(2);
  });
});

describe("bad bundles are clear errors at load", () => {
  const work = mkdtempSync(join(tmpdir(), "pk-bad-"));

  it("rejects a truncated policy.wasm", async () => {
    const tar = Buffer.from(gunzipSync(readFileSync(defaultBundlePath())));
    // Cut the archive in the middle of the last file so an entry is truncated.
    const truncated = join(work, "truncated.tar.gz");
    writeFileSync(truncated, gzipSync(tar.subarray(0, Math.floor(tar.length * 0.6))));
    const error = await createPolicyKernel({ bundle: truncated }).catch((e: unknown) => e);
    expect(isPolicyKernelError(error, "invalid_bundle")).toBe(true);
    expect(String(error)).toContain(truncated);
  });

  it("rejects bytes that are not a bundle, and a missing file", async () => {
    const junk = join(work, "junk.tar.gz");
    writeFileSync(junk, "definitely not gzip");
    await expect(createPolicyKernel({ bundle: junk })).rejects.toThrow(/junk.tar.gz: not a gzip archive/);
    await expect(createPolicyKernel({ bundle: join(work, "missing.tar.gz") })).rejects.toThrow(/missing.tar.gz: cannot read bundle/);
  });

  it("rejects a bundle folder whose wasm is corrupt", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-dir-"));
    writeFileSync(join(dir, "policy.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 9, 9]));
    writeFileSync(join(dir, "data.json"), "{}");
    await expect(createPolicyKernel({ bundle: dir })).rejects.toThrow(/not a valid WebAssembly module/);
    copyFileSync(defaultBundlePath(), join(dir, "copy.tar.gz"));
  });
});

describe("audit sink", () => {
  it("receives one policy_check per decision and one event per signal", async () => {
    const events: KernelAuditEvent[] = [];
    const kernel = await createPolicyKernel({ recorder: { record: (event) => events.push(event) } });
    await kernel.evaluate({ agentId: "a", action: { type: "transaction", amountUsd: 200, recipient: "r" }, context: { now: "2026-11-21T10:00:00Z" } });
    expect(events.map((e) => e.type)).toEqual(["policy_check", "signal"]);
    expect(events[1]).toMatchObject({ signal: "SIGSTOP", policy: "transactions", now: "2026-11-21T10:00:00Z" });
  });

  it("keeps deciding when the sink throws", async () => {
    const kernel = await createPolicyKernel({ recorder: { record: () => { throw new Error("disk full"); } } });
    expect((await kernel.evaluate(sql("SELECT 1"))).allowed).toBe(true);
  });
});
