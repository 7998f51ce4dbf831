import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyJsonl } from "../../src/audit/jsonl.js";
import { unpackDefaultBundle } from "../helpers/bundle-folder.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "pk-cli-"));

function run(args: string[], stdin?: string) {
  const result = spawnSync(process.execPath, [cli, ...args], { input: stdin, encoding: "utf8", cwd: root });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, content: string): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

describe("policy-kernel eval", () => {
  it("exits 0 and prints the Decision for an allowed action", () => {
    const { code, stdout } = run(["eval"], JSON.stringify({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } }));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ allowed: true, violations: [] });
  });

  it("exits 2 for a denied action, using --input and --now", () => {
    const input = file("tx.json", JSON.stringify({ agentId: "a", action: { type: "transaction", amountUsd: 20, recipient: "x" }, context: { readOnly: true } }));
    const { code, stdout } = run(["eval", "--input", input, "--now", "2026-11-21T03:00:00Z"]);
    expect(code).toBe(2);
    const decision = JSON.parse(stdout);
    expect(decision.violations.map((v: { rule: string }) => v.rule).sort()).toEqual(["outside_business_hours", "write_in_read_only"]);
  });

  it("exits 1 with one line naming file, field and expectation for a malformed action", () => {
    const input = file("bad.json", JSON.stringify({ agentId: "a", action: { type: "transaction", amountUsd: "lots", recipient: "x" } }));
    const { code, stdout, stderr } = run(["eval", "--input", input]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain(`${input}: action.amountUsd`);
    expect(stderr).toMatch(/expected number/);
  });

  it("exits 1 for invalid JSON, a missing file and a broken rule set", () => {
    expect(run(["eval", "--input", file("x.json", "{oops")]).stderr).toMatch(/x\.json: invalid JSON/);
    expect(run(["eval", "--input", join(work, "none.json")]).stderr).toMatch(/none\.json: --input: cannot read file \(ENOENT: file not found\)/);
    expect(run(["eval", "--data", work], JSON.stringify({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } })).stderr).toContain(`${work}: --data: cannot read file (EISDIR: is a folder, not a file)`);
    const rules = file("r.json", JSON.stringify({ name: "r", rules: [{ name: "big", conditions: { all: [{ fact: "context", path: "$.x", operator: "isBig", value: 1 }] }, event: { type: "violation", params: { policy: "p", rule: "r", severity: "low", effect: "warn", description: "d" } } }] }));
    const result = run(["eval", "--rules", rules], JSON.stringify({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("r.json");
    expect(result.stderr).toContain("operator");
  });

  it("exits 1 naming the --data file when it holds policy_kernel.prepared, which the engine fills", () => {
    const data = file("forged.json", JSON.stringify({ policy_kernel: { prepared: { sql: { deny: ["SELECT"] } } } }));
    const { code, stdout, stderr } = run(["eval", "--data", data], JSON.stringify({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } }));
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain(`${data}: policy_kernel.prepared: data.policy_kernel.prepared is reserved`);
  });

  it("warns on stderr when the bundle's build record is not for its modules, unless --log-level silent", () => {
    // The default bundle unpacked, with one module edited: the record's hash no longer matches.
    const folder = mkdtempSync(join(work, "edited-"));
    unpackDefaultBundle(folder, (path, bytes) => (path.endsWith("/cost.rego") ? Buffer.concat([bytes, Buffer.from("# edited\n")]) : bytes));
    const action = JSON.stringify({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } });
    const warned = run(["eval", "--bundle", folder, "--no-rules"], action);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain("the build record was computed from other Rego modules than the bundle holds");
    const silent = run(["eval", "--bundle", folder, "--no-rules", "--log-level", "silent"], action);
    expect(silent.stderr).toBe("");
    expect(run(["eval", "--no-rules"], action).stderr).toBe(""); // the default bundle has nothing to say
    // train builds one kernel to evaluate and one per arm from the same bundle: it says so once.
    const trained = run(["train", "--episodes", "2", "--bundle", folder, "--out", join(work, "edited-run"), "--no-progress"]);
    expect(trained.code).toBe(0);
    expect(trained.stderr.split("the build record was computed from other Rego modules")).toHaveLength(2);
  });

  it("runs a user bundle folder and user rules instead of the defaults", () => {
    const rules = file("only.json", JSON.stringify({ name: "only", rules: [{ name: "any_sql", conditions: { all: [{ fact: "action", path: "$.type", operator: "equal", value: "sql" }] }, event: { type: "violation", params: { policy: "no_sql", rule: "any_sql", severity: "medium", effect: "warn", description: "SQL seen" } } }] }));
    const { code, stdout } = run(["eval", "--no-bundle", "--rules", rules], JSON.stringify({ agentId: "a", action: { type: "sql", sql: "DROP TABLE x" } }));
    expect(code).toBe(0);
    const decision = JSON.parse(stdout);
    expect(decision.violations).toEqual([expect.objectContaining({ policy: "no_sql", type: "warned", source: "json" })]);
    expect(decision.provenance.bundleRevision).toBeNull();
  });
});

describe("policy-kernel test", () => {
  it("runs the repository's cases and ends with the summary line", () => {
    const { code, stdout } = run(["test"]);
    expect(code).toBe(0);
    expect(stdout.trim().split("\n").at(-1)).toMatch(/^\d+ passed, 0 failed$/);
  });

  it("prints each failure with a diff and exits non-zero", () => {
    const cases = file("wrong.yaml", [
      "- description: expects the wrong thing",
      "  input: { agentId: a, action: { type: sql, sql: 'DROP TABLE t' } }",
      "  expect: { allowed: true, violations: [] }",
      "- description: right",
      "  input: { agentId: a, action: { type: sql, sql: 'SELECT 1' } }",
      "  expect: { allowed: true }",
    ].join("\n"));
    const { code, stdout } = run(["test", cases]);
    expect(code).toBe(1);
    // Case numbers are one-based: the first case of the file is [1].
    expect(stdout).toContain(`FAIL ${cases} [1] expects the wrong thing`);
    expect(stdout).toContain("- allowed: true");
    expect(stdout).toContain("+ allowed: false");
    expect(stdout).toContain("+ violation sql/denied_statement (critical)");
    expect(stdout.trim().split("\n").at(-1)).toBe("1 passed, 1 failed");
  });

  it("rejects a malformed case file naming the case and field", () => {
    const cases = file("bad.json", JSON.stringify([{ description: "x", input: {}, expect: { allowed: "yes" } }]));
    const { code, stderr } = run(["test", cases]);
    expect(code).toBe(1);
    expect(stderr).toContain(`bad.json: case 1 ("x"): expect.allowed`);
  });
});

describe("policy-kernel train, stopped by a signal", () => {
  for (const [signal, exitCode] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`${signal} stops after the current episode, exit ${exitCode}, every audit entry written and verifiable`, async () => {
      const out = mkdtempSync(join(tmpdir(), "pk-cli-stop-"));
      const partial = join(out, "audit-governed.jsonl.partial");
      const child = spawn(process.execPath, [cli, "train", "--episodes", "200000", "--arms", "governed", "--out", out, "--no-progress"], { cwd: root });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      try {
        // Training has started once the quiet-time flush wrote the first audit lines.
        while (!existsSync(partial) || statSync(partial).size === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        child.kill(signal);
        expect(await exited).toBe(exitCode);
      } finally {
        child.kill("SIGKILL"); // a no-op once it exited; never a stray run when the test fails
      }
      const [, entries] = /its audit trail so far \((\d+) entries, hash-chained\) is (?:.+)\n$/.exec(stderr) ?? [];
      expect(stderr).toContain(`${signal}: the governed arm stopped after `);
      expect(await verifyJsonl(partial, { expectedCount: Number(entries) })).toMatchObject({ valid: true, count: Number(entries) });
    });
  }
});

describe("policy-kernel", () => {
  it("explains unknown commands and flags", () => {
    expect(run(["frobnicate"]).stderr).toMatch(/unknown command "frobnicate"/);
    expect(run(["eval", "--bogus"]).stderr).toMatch(/bogus/);
    expect(run(["--help"]).stdout).toMatch(/^ {2}eval +evaluate one action/m);
  });
});
