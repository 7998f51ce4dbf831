// `policy-kernel build DIR... --entrypoint`: any Rego folders, built by the pinned OPA through the
// real CLI (dist/), then evaluated from the bundle and compared with `opa eval` over the sources.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { createRegoEngine } from "../../src/engines/rego/rego-engine.js";
import { PolicyInputSchema } from "../../src/schemas.js";
import { opaPath } from "../helpers/opa.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
let path = "";

function run(cwd: string, args: string[]) {
  const result = spawnSync(process.execPath, [cli, "build", ...args], { cwd, encoding: "utf8", env: { ...process.env, PATH: path } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Lists the members of a .tar.gz as stored. */
function members(bundle: string): string[] {
  return execFileSync("tar", ["-tzPf", bundle], { encoding: "utf8" }).trim().split("\n").sort();
}

/** A platform team's layout: policies in two packages, a helper library in another folder, data in JSON and YAML. */
function regoProject(): string {
  const project = mkdtempSync(join(tmpdir(), "pk-build-"));
  mkdirSync(join(project, "policies", "teams"), { recursive: true });
  mkdirSync(join(project, "lib"));
  writeFileSync(
    join(project, "policies", "authz.rego"),
    [
      "package httpapi.authz",
      "",
      "import data.lib.users",
      "",
      "default allow := false",
      "",
      'allow if {',
      '\tinput.method == "GET"',
      "\tusers.is_admin(input.user)",
      "}",
      "",
      "deny contains msg if {",
      '\tinput.method == "DELETE"',
      '\tmsg := sprintf("DELETE by %s is not allowed", [input.user])',
      "}",
      "",
      "deny contains msg if {",
      "\tcount(input.path) > data.teams.limits.max_depth",
      '\tmsg := sprintf("path deeper than %d", [data.teams.limits.max_depth])',
      "}",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(project, "policies", "guard.rego"),
    [
      "package agent.guard",
      "",
      "violations contains v if {",
      '\tinput.action.type == "http_request"',
      '\tinput.action.method == "DELETE"',
      '\tv := {"policy": "guard", "rule": "no_delete", "severity": "high", "effect": "block", "description": sprintf("DELETE %s", [input.action.url])}',
      "}",
      "",
    ].join("\n"),
  );
  writeFileSync(join(project, "policies", "authz_test.rego"), "package httpapi.authz_test\n\ntest_nothing if true\n");
  writeFileSync(join(project, "policies", "data.json"), JSON.stringify({ admins: ["alice"] }));
  writeFileSync(join(project, "policies", "teams", "limits.yaml"), "limits:\n  max_depth: 3\n");
  writeFileSync(join(project, "policies", "README.md"), "not loaded by OPA\n");
  writeFileSync(join(project, "lib", "users.rego"), "package lib.users\n\nis_admin(user) if data.admins[_] == user\n");
  return project;
}

const ENTRYPOINTS = ["httpapi/authz/allow", "httpapi/authz/deny"];
const flags = (out: string, extra: string[] = []) => ["policies", "lib", ...ENTRYPOINTS.flatMap((e) => ["--entrypoint", e]), "--out", out, ...extra];

beforeAll(() => {
  // The pinned OPA on PATH, as a user who has it installed.
  path = `${dirname(opaPath())}:${process.env["PATH"] ?? ""}`;
});

describe("policy-kernel build DIR... --entrypoint", () => {
  it("builds two folders with two entrypoints and the given revision, without the tests", () => {
    const project = regoProject();
    const built = run(project, flags("out/authz.tar.gz", ["--revision", "v1.4.2"]));
    expect(built.stderr).toBe("");
    expect(built.code).toBe(0);
    const out = join(project, "out", "authz.tar.gz");
    expect(built.stdout).toBe(`policy-kernel build: wrote ${out} (v1.4.2, sha256 ${sha256(out)}, OPA ${readFileSync(join(root, "scripts", "opa-version.txt"), "utf8").trim().replace(/^v/, "")}; entrypoints ${ENTRYPOINTS.join(", ")})\n`);
    const bundle = readBundle(out);
    expect(bundle.manifest.revision).toBe("v1.4.2");
    expect(bundle.manifest.wasm?.map((w) => w.entrypoint)).toEqual(ENTRYPOINTS);
    expect(members(out)).toEqual(["/.manifest", "/data.json", "/lib/users.rego", "/policies/authz.rego", "/policies/guard.rego", "/policy.wasm"]);
  });

  it("is reproducible: twice, elsewhere, spelled differently, the same sha256; --check agrees", () => {
    const first = regoProject();
    expect(run(first, flags("a.tar.gz")).code).toBe(0);
    expect(run(first, flags("b.tar.gz")).code).toBe(0);
    expect(sha256(join(first, "b.tar.gz"))).toBe(sha256(join(first, "a.tar.gz")));
    const moved = join(mkdtempSync(join(tmpdir(), "pk-build-moved-")), "elsewhere");
    cpSync(first, moved, { recursive: true });
    const absolute = [join(moved, "policies") + "/", `./lib`, ...ENTRYPOINTS.flatMap((e) => ["-e", e]), "--out", "c.tar.gz"];
    expect(run(moved, absolute).code).toBe(0);
    expect(sha256(join(moved, "c.tar.gz"))).toBe(sha256(join(first, "a.tar.gz")));
    expect(run(first, flags("a.tar.gz", ["--check"])).code).toBe(0);

    // The default revision is a content hash: it moves when a source changes, and --check then fails.
    const before = readBundle(join(first, "a.tar.gz")).manifest.revision;
    expect(before).toMatch(/^rego-[0-9a-f]{16}$/);
    writeFileSync(join(first, "policies", "data.json"), JSON.stringify({ admins: ["alice", "bob"] }));
    const stale = run(first, flags("a.tar.gz", ["--check"]));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`${join(first, "a.tar.gz")} is stale`);
    expect(run(first, flags("d.tar.gz")).code).toBe(0);
    expect(readBundle(join(first, "d.tar.gz")).manifest.revision).toMatch(/^rego-[0-9a-f]{16}$/);
    expect(readBundle(join(first, "d.tar.gz")).manifest.revision).not.toBe(before);
  });

  it("the bundle's Wasm answers as opa eval does over the sources", async () => {
    const project = regoProject();
    expect(run(project, flags("authz.tar.gz")).code).toBe(0);
    const bundle = readBundle(join(project, "authz.tar.gz"));
    const policy = await loadPolicy(bundle.wasm);
    policy.setData(bundle.data);
    const inputs = [
      { method: "GET", user: "alice", path: ["a"] },
      { method: "GET", user: "mallory", path: ["a"] },
      { method: "DELETE", user: "alice", path: ["a", "b", "c", "d"] },
      { method: "POST", user: "bob", path: [] },
    ];
    for (const input of inputs) {
      for (const entrypoint of ENTRYPOINTS) {
        const query = `data.${entrypoint.replaceAll("/", ".")}`;
        const opa = JSON.parse(
          execFileSync(opaPath(), ["eval", "--format", "json", "--stdin-input", "-d", "policies", "-d", "lib", "--ignore", "*_test.rego", query], { cwd: project, input: JSON.stringify(input), encoding: "utf8" }),
        );
        const want = opa.result?.[0]?.expressions?.[0]?.value;
        const got = policy.evaluate(input, entrypoint)[0]?.result;
        // opa eval prints a set as a sorted array, as the Wasm returns it.
        expect({ input, entrypoint, got }).toEqual({ input, entrypoint, got: want });
      }
    }
    // The answers differ across the inputs, so the comparison can fail.
    expect(new Set(inputs.map((input) => JSON.stringify(policy.evaluate(input, "httpapi/authz/allow")[0]?.result))).size).toBe(2);
  });

  it("a typed-violations entrypoint of another package is evaluated by the kernel's Rego engine", async () => {
    const project = regoProject();
    expect(run(project, ["policies", "lib", "-e", "agent/guard/violations", "--out", "guard.tar.gz"]).code).toBe(0);
    const engine = await createRegoEngine({ bundle: readBundle(join(project, "guard.tar.gz")), entrypoint: "agent/guard/violations", policyNames: ["guard"] });
    const input = (method: string) =>
      PolicyInputSchema.parse({ agentId: "a", action: { type: "http_request", method, url: "https://api/users/7" }, context: {}, facts: { costUsdTotal: 0, writes: method !== "GET" } });
    const findings = await engine.evaluate(input("DELETE"));
    expect(findings).toEqual([expect.objectContaining({ policy: "guard", rule: "no_delete", severity: "high", description: "DELETE https://api/users/7" })]);
    expect(await engine.evaluate(input("GET"))).toEqual([]);
  });
});

describe("policy-kernel build errors", () => {
  it("an entrypoint that does not exist is exit 1 and one line naming it", () => {
    const project = regoProject();
    const { code, stdout, stderr } = run(project, ["policies", "lib", "-e", "httpapi/authz/alow", "--out", "x.tar.gz"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^policy-kernel build: opa build: entrypoint "httpapi\/authz\/alow" does not refer to a rule or policy decision; an entrypoint is the rule's package path and name joined by \//),
    ]);
  });

  it("a Rego error is one line with the file and line, and nothing is written", () => {
    const project = regoProject();
    // Without lib/, data.lib.users.is_admin is undefined.
    const { code, stderr } = run(project, ["policies", "-e", "httpapi/authz/allow", "--out", "x.tar.gz"]);
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("policies/authz.rego:9: rego_type_error: undefined function data.lib.users.is_admin");
    expect(() => readFileSync(join(project, "x.tar.gz"))).toThrow();
  });

  it("several folders without --entrypoint, a missing folder, a bad revision, two folders of one name", () => {
    const project = regoProject();
    const several = run(project, ["policies", "lib"]);
    expect(several.code).toBe(1);
    expect(several.stderr).toContain("several Rego folders build with --entrypoint PKG/RULE");
    const missing = run(project, ["nope", "-e", "a/b"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("nope: not a folder");
    const revision = run(project, ["policies", "-e", "a/b", "--revision", "has space"]);
    expect(revision.code).toBe(1);
    expect(revision.stderr).toContain('--revision "has space" is not a revision');
    mkdirSync(join(project, "other"));
    renameSync(join(project, "lib"), join(project, "other", "policies"));
    const twins = run(project, ["policies", "other/policies", "-e", "httpapi/authz/allow"]);
    expect(twins.code).toBe(1);
    expect(twins.stderr).toContain('two sources are named "policies"');
  });

  it("the project layout still builds with --revision", () => {
    const cwd = mkdtempSync(join(tmpdir(), "pk-build-"));
    cpSync(join(root, "rego"), join(cwd, "rego"), { recursive: true });
    const built = run(cwd, ["--revision", "team-7"]);
    expect(built.code).toBe(0);
    expect(readBundle(join(cwd, "bundle.tar.gz")).manifest.revision).toBe("team-7");
  });
});
