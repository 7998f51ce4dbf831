// `replay` with a Rego bundle built by `policy-kernel build` from rego/ with one rule tightened
// (support may no longer create tickets): the candidate's changes are exactly the trail's decisions
// on that tool for that role, and a trail recorded with that bundle is replayed once the bundle is
// found beside it (and refused, naming it, until then).
import { execFile } from "node:child_process";
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { opaPath } from "../helpers/opa.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}

type Raw = Record<string, unknown>;
const checksOf = (path: string): Raw[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Raw)
    .filter((raw) => raw["type"] === "policy_check");

let dir: string;
let team: string;

beforeAll(async () => {
  opaPath(); // the pinned OPA, installed when missing, before build needs it
  dir = mkdtempSync(join(tmpdir(), "pk-replay-bundle-"));
  cpSync(join(root, "rego"), join(dir, "rego"), { recursive: true });
  const dataPath = join(dir, "rego", "data.json");
  const data = JSON.parse(readFileSync(dataPath, "utf8")) as { policy_kernel: { config: { tools: { allow: Record<string, string[]> } } } };
  const allow = data.policy_kernel.config.tools.allow;
  expect(allow["support"]).toContain("create_ticket");
  allow["support"] = allow["support"]!.filter((tool) => tool !== "create_ticket");
  writeFileSync(dataPath, JSON.stringify(data, null, 2));
  team = join(dir, "team.tar.gz");
  const built = await run("build", join(dir, "rego"), "--out", team);
  expect(built.code, built.stderr).toBe(0);
}, 180_000);

describe("replay with a bundle built from rego/", () => {
  it("shows a tightened Rego rule as exactly the decisions on the tool it now forbids", async () => {
    const runDir = join(dir, "default-run");
    const trained = await run("train", "--episodes", "60", "--eval-window", "20", "--arms", "governed", "--out", runDir, "--no-progress", "--json");
    expect(trained.code, trained.stderr).toBe(0);
    const trail = join(runDir, "audit-governed.jsonl");
    // Independently of the kernel: support's create_ticket calls in the recorded inputs.
    const matched = checksOf(trail).filter((e) => {
      const action = e["action"] as { type: string; tool?: string };
      return action.type === "tool_call" && action.tool === "create_ticket" && (e["input"] as { context: { role?: string } }).context.role === "support";
    });
    expect(matched.length).toBeGreaterThan(0);
    const result = await run("replay", trail, "--bundle", team, "--json", "--no-progress");
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { trails: { mode: string; impact: { changed: number; allowedToDenied: number; rules: { rule: string; added: number; removed: number }[]; examples: { subject: string }[] } }[] };
    const impact = report.trails[0]!.impact;
    expect(report.trails[0]!.mode).toBe("candidate");
    expect(impact.changed).toBe(matched.length);
    expect(impact.allowedToDenied).toBe(matched.filter((e) => (e["decision"] as { allowed: boolean }).allowed).length);
    expect(impact.rules.map((r) => ({ policy: r.rule.split("/")[0], added: r.added, removed: r.removed }))).toEqual([{ policy: "tools", added: matched.length, removed: 0 }]);
    expect(impact.examples.map((e) => e.subject)).toEqual(matched.slice(0, 10).map((e) => `seq ${String(e["seq"])}`));
  });

  it("finds a recorded bundle beside the trail by its sha256, and names it while it is missing", async () => {
    const runDir = join(dir, "team-run");
    const trained = await run("train", "--episodes", "30", "--eval-window", "10", "--arms", "governed", "--bundle", team, "--out", runDir, "--no-progress", "--json");
    expect(trained.code, trained.stderr).toBe(0);
    const { sha256 } = readBundle(team);
    const missing = await run("replay", runDir, "--no-progress");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`(sha256 ${sha256}), which is neither the default bundle nor a *.tar.gz beside the trail`);
    copyFileSync(team, join(runDir, "team.tar.gz"));
    const found = await run("replay", runDir, "--no-progress", "--json");
    expect(found.code, found.stderr).toBe(0);
    const trailReport = (JSON.parse(found.stdout) as { trails: { mode: string; decisions: number; identical: number; revisions: { recorded: { bundleSha256: string } }[] }[] }).trails[0]!;
    expect(trailReport).toMatchObject({ mode: "recorded", identical: trailReport.decisions });
    expect(trailReport.revisions.map((r) => r.recorded.bundleSha256)).toEqual([sha256]);
  });
});
