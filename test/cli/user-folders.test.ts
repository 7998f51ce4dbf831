// `test` and `build` work on the user's current directory, never on the package's own folders
// (which do not ship, or sit inside node_modules): run from a fresh temporary folder here.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { opaPath } from "../helpers/opa.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");

function run(cwd: string, args: string[], path = process.env["PATH"] ?? "") {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: "utf8", env: { ...process.env, PATH: path } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("policy-kernel test in a folder of the user's", () => {
  it("with no PATH and no ./test/cases, exits 1 saying what it needs", () => {
    const cwd = mkdtempSync(join(tmpdir(), "pk-user-"));
    const { code, stdout, stderr } = run(cwd, ["test"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain(`no test/cases/ folder in ${cwd}`);
    expect(stderr).toContain("Pass case files or folders");
    expect(stderr).toContain("expect: {allowed");
  });

  it("with no PATH runs ./test/cases of the current directory", () => {
    const cwd = mkdtempSync(join(tmpdir(), "pk-user-"));
    mkdirSync(join(cwd, "test", "cases"), { recursive: true });
    const cases = [
      { description: "DROP is denied", input: { agentId: "a", action: { type: "sql", sql: "DROP TABLE t" } }, expect: { allowed: false, violations: [{ policy: "sql", rule: "denied_statement", severity: "critical" }] } },
      { description: "SELECT is allowed", input: { agentId: "a", action: { type: "sql", sql: "SELECT 1" } }, expect: { allowed: true } },
    ];
    writeFileSync(join(cwd, "test", "cases", "sql.json"), JSON.stringify(cases));
    const { code, stdout } = run(cwd, ["test"]);
    expect(stdout.trim()).toBe(`${cases.length} passed, 0 failed`);
    expect(code).toBe(0);
  });
});

describe("policy-kernel build in a folder of the user's", () => {
  it("builds ./rego to ./bundle.tar.gz without writing into the folder, and --check compares with it", () => {
    const cwd = mkdtempSync(join(tmpdir(), "pk-user-"));
    cpSync(join(root, "rego"), join(cwd, "rego"), { recursive: true });
    const before = readdirSync(join(cwd, "rego")).sort();
    // The pinned OPA on PATH, as a user who has it installed; no go install here.
    const path = `${dirname(opaPath())}:${process.env["PATH"] ?? ""}`;
    const built = run(cwd, ["build"], path);
    expect(built.stderr).not.toContain("ensure-opa: installing");
    expect(built.code).toBe(0);
    expect(built.stdout).toContain(`wrote ${join(cwd, "bundle.tar.gz")}`);
    expect(readdirSync(join(cwd, "rego")).sort()).toEqual(before);
    // The same sources build the same bytes as the shipped bundle, wherever they live.
    expect(readFileSync(join(cwd, "bundle.tar.gz")).equals(readFileSync(join(root, "bundle", "default.tar.gz")))).toBe(true);
    expect(run(cwd, ["build", "--check"], path).code).toBe(0);

    const stale = run(cwd, ["build", "rego", "--check", "--out", "other.tar.gz"], path);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("run policy-kernel build rego --out other.tar.gz to build it");
    expect(stale.stderr).not.toContain("scripts/build-bundle.sh");
  });

  it("without a folder, exits 1 naming what to pass", () => {
    const cwd = mkdtempSync(join(tmpdir(), "pk-user-"));
    const { code, stderr } = run(cwd, ["build"]);
    expect(code).toBe(1);
    expect(stderr).toContain(`no ./rego/ in ${cwd}`);
    expect(stderr).toContain("policy-kernel build --help");
  });
});
