// `policy-kernel replay` and `diff` through the built CLI (dist/), on a real training run's trails:
// reproduction with the recorded revision, a tightened rule's exact changes, the threshold gate,
// and trails that must be refused (tampered, old format, hostile, an unknown bundle).
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/canonical-json.js";
import { GENESIS_HASH, computeEntryHash } from "../../src/audit/entries.js";
import { generateActions } from "../../src/testing/generated-actions.js";
import { loadDecisionCases } from "../../src/testing/decision-cases.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}

type Raw = Record<string, unknown>;

/** The entries of a trail file (checkpoints left out). */
function entriesOf(path: string): Raw[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Raw)
    .filter((raw) => raw["type"] !== "checkpoint");
}

/** Writes entries re-linked from genesis without checkpoints: a chain that verifies, as anyone can write one. */
function writeChain(path: string, entries: readonly Raw[]): string {
  let previous = GENESIS_HASH;
  const lines = entries.map((raw, seq) => {
    const entry: Raw = { ...raw, seq, prevHash: previous };
    delete entry["hash"];
    entry["hash"] = computeEntryHash(entry);
    previous = entry["hash"] as string;
    return canonicalJson(entry);
  });
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

const EPISODES = 60;
let dir: string;
let runDir: string;
let tightRules: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pk-replay-"));
  runDir = join(dir, "run");
  const trained = await run("train", "--episodes", String(EPISODES), "--eval-window", "20", "--out", runDir, "--no-progress", "--json");
  expect(trained.code, trained.stderr).toBe(0);
  // One rule tightened: rate_limit blocks from the first action in the window instead of the 50th.
  tightRules = join(dir, "rules-tight");
  cpSync(join(root, "rules"), tightRules, { recursive: true });
  const path = join(tightRules, "rate_limit.json");
  const rules = JSON.parse(readFileSync(path, "utf8")) as { config: { rate_limit: { block_at: number } } };
  rules.config.rate_limit.block_at = 1;
  writeFileSync(path, JSON.stringify(rules, null, 2));
}, 120_000);

describe("policy-kernel replay", () => {
  it("reproduces every decision of a training run with the recorded revision, byte for byte (exit 0)", async () => {
    const result = await run("replay", runDir, "--json", "--no-progress");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { trails: { trail: string; mode: string; decisions: number; replayed: number; identical: number; differing: number }[] };
    expect(report.trails.map((t) => t.trail)).toEqual([join(runDir, "audit-governed.jsonl"), join(runDir, "audit-ungoverned.jsonl")]);
    for (const trail of report.trails) {
      const decisions = entriesOf(trail.trail).filter((e) => e["type"] === "policy_check").length;
      expect(decisions).toBeGreaterThanOrEqual(EPISODES);
      expect(trail).toMatchObject({ mode: "recorded", decisions, replayed: decisions, identical: decisions, differing: 0 });
    }
    const text = await run("replay", join(runDir, "audit-governed.jsonl"), "--no-progress");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^REPRODUCED: .*audit-governed\.jsonl: (\d+)\/\1 decisions identical with the recorded revision /);
  });

  it("shows a tightened rule as exactly the decisions it now matches, per rule, with the learned behaviours it blocks", async () => {
    const trail = join(runDir, "audit-governed.jsonl");
    // Independently of the kernel: the recorded inputs with at least one action in the window.
    const checks = entriesOf(trail).filter((e) => e["type"] === "policy_check");
    const matched = checks.filter((e) => ((e["input"] as { context: { actionsInWindow?: number } }).context.actionsInWindow ?? 0) >= 1);
    const flipped = matched.filter((e) => (e["decision"] as { allowed: boolean }).allowed);
    expect(matched.length).toBeGreaterThan(0);
    const result = await run("replay", runDir, "--rules", tightRules, "--json", "--no-progress");
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      trails: {
        trail: string;
        mode: string;
        impact: { changed: number; allowedToDenied: number; deniedToAllowed: number; rules: { rule: string; added: number; removed: number; newlyDenied: number }[]; examples: { subject: string }[] };
        learnedBehaviours: { blocked: boolean; newlyDenied: number; action: unknown }[];
      }[];
    };
    const governed = report.trails.find((t) => t.trail === trail)!;
    expect(governed.mode).toBe("candidate");
    expect(governed.impact).toMatchObject({ changed: matched.length, allowedToDenied: flipped.length, deniedToAllowed: 0 });
    expect(governed.impact.rules).toEqual([{ rule: "rate_limit/too_many_actions", added: matched.length, removed: 0, newlyDenied: flipped.length, newlyAllowed: 0, examples: matched.slice(0, 3).map((e) => `seq ${String(e["seq"])}`) }]);
    expect(governed.impact.examples.map((e) => e.subject)).toEqual(matched.slice(0, 10).map((e) => `seq ${String(e["seq"])}`));
    // A learned behaviour is reported blocked exactly when one of its decisions flipped.
    const flippedActions = new Set(flipped.map((e) => canonicalJson(e["action"])));
    expect(governed.learnedBehaviours.length).toBeGreaterThan(0);
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8")) as { arms: { governed: { learnedPolicy: unknown[] } } };
    expect(governed.learnedBehaviours).toHaveLength(summary.arms.governed.learnedPolicy.length);
    for (const behaviour of governed.learnedBehaviours) {
      expect(behaviour.blocked).toBe(flippedActions.has(canonicalJson(behaviour.action)));
    }
  });

  it("gates on --max-changed and --threshold: exit 3 over, 0 at the limit", async () => {
    const trail = join(runDir, "audit-governed.jsonl");
    const checks = entriesOf(trail).filter((e) => e["type"] === "policy_check");
    const changed = checks.filter((e) => ((e["input"] as { context: { actionsInWindow?: number } }).context.actionsInWindow ?? 0) >= 1).length;
    const percent = (changed / checks.length) * 100;
    const [over, at, overPercent, atPercent] = await Promise.all([
      run("replay", trail, "--rules", tightRules, "--max-changed", String(changed - 1), "--no-progress"),
      run("replay", trail, "--rules", tightRules, "--max-changed", String(changed), "--no-progress"),
      run("replay", trail, "--rules", tightRules, "--threshold", String(Math.floor(percent * 100) / 100 - 0.01), "--no-progress"),
      run("replay", trail, "--rules", tightRules, "--threshold", String(Math.ceil(percent * 100) / 100), "--no-progress"),
    ]);
    expect(over.code).toBe(3);
    expect(over.stdout).toMatch(/^OVER THRESHOLD: /);
    expect(at.code).toBe(0);
    expect(at.stdout).toMatch(/^CHANGES: /);
    expect(overPercent.code).toBe(3);
    expect(atPercent.code).toBe(0);
    const both = await run("replay", trail, "--max-changed", "1", "--threshold", "5");
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--max-changed and --threshold both set a limit/);
  });

  it("refuses a tampered trail before replaying anything (exit 1, the line named)", async () => {
    const lines = readFileSync(join(runDir, "audit-governed.jsonl"), "utf8").split("\n");
    const at = lines.findIndex((line, i) => i > 0 && line.includes('"type":"policy_check"'));
    const edited = JSON.parse(lines[at]!) as Raw;
    (edited["input"] as { context: Raw }).context["role"] = "admin";
    lines[at] = canonicalJson(edited);
    const path = join(dir, "tampered.jsonl");
    writeFileSync(path, lines.join("\n"));
    const result = await run("replay", path, "--no-progress");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(new RegExp(`the trail does not verify: line ${at + 1}: hash_mismatch: .*replay reads only a trail whose hash chain verifies`));
  });

  it("reports an old-format trail (no recorded inputs) as not replayable, not a crash", async () => {
    const old = entriesOf(join(runDir, "audit-governed.jsonl")).map((raw) => {
      const { input: _input, ...rest } = raw;
      return rest;
    });
    const path = writeChain(join(dir, "old-format.jsonl"), old);
    const verified = await run("verify", path, "--public-key", join(runDir, "audit-governed.jsonl.pub"));
    // It verifies (unsealed: its checkpoints were dropped with the re-link), so the refusal is replay's own.
    expect(verified.code).toBe(3);
    const result = await run("replay", path, "--no-progress");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not replayable: none of its \d+ decisions records the input it was made on/);
  });

  it("refuses a trail with no decisions, and an empty file, as nothing to replay", async () => {
    const toolCalls = entriesOf(join(runDir, "audit-governed.jsonl")).filter((e) => e["type"] === "tool_call").slice(0, 3);
    const empty = join(dir, "empty.jsonl");
    writeFileSync(empty, "");
    for (const path of [writeChain(join(dir, "no-decisions.jsonl"), toolCalls), empty]) {
      const result = await run("replay", path, "--no-progress");
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("no decisions in this trail (no policy_check entry): nothing to replay");
    }
  });

  it("treats hostile recorded inputs as data: each one decided again by the kernel and named where it differs", async () => {
    const entries = entriesOf(join(runDir, "audit-governed.jsonl")).slice(0, 12);
    const checks = entries.map((e, i) => [e, i] as const).filter(([e]) => e["type"] === "policy_check" && (e["decision"] as { allowed: boolean }).allowed);
    expect(checks.length).toBeGreaterThanOrEqual(4);
    const hostile: ((e: Raw) => void)[] = [
      // A prototype key in the context: zod would make it the prototype; the kernel refuses it.
      (e) => ((e["input"] as Raw)["context"] = JSON.parse('{"role":"support","__proto__":{"role":"admin"}}') as Raw),
      // A context of the wrong types.
      (e) => ((e["input"] as Raw)["context"] = { role: 7, costUsd: "free", now: "yesterday" }),
      // A malformed action recorded as given, deeply nested.
      (e) => (e["input"] = { kind: "invalid_action", value: JSON.parse(`${"[".repeat(200)}${"]".repeat(200)}`) as unknown }),
      // An action type nobody declared.
      (e) => (e["action"] = { type: "constructor", sql: "DROP TABLE users" }),
    ];
    const forged = entries.map((e) => structuredClone(e));
    hostile.forEach((edit, k) => edit(forged[checks[k]![1]]!));
    const path = writeChain(join(dir, "hostile.jsonl"), forged);
    const result = await run("replay", path, "--json", "--no-progress");
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as { trails: { mode: string; differing: number; differences: { seq: number; differences: string[] }[] }[] };
    const trail = report.trails[0]!;
    expect(trail.mode).toBe("recorded");
    expect(trail.differences.map((d) => d.seq)).toEqual(checks.slice(0, 4).map(([, i]) => i));
    for (const d of trail.differences) expect(d.differences).toContain("allowed true -> false");
    // A wrongly shaped input is a schema error at verification, before any replay.
    const bad = entries.map((e) => structuredClone(e));
    (bad[checks[0]![1]]!["input"] as Raw)["context"] = "admin";
    const refused = await run("replay", writeChain(join(dir, "bad-shape.jsonl"), bad), "--no-progress");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the trail does not verify: line \d+: invalid_entry: input/);
  });

  it("refuses a trail naming more revisions than it would build kernels for", async () => {
    const checks = entriesOf(join(runDir, "audit-governed.jsonl")).filter((e) => e["type"] === "policy_check").slice(0, 17);
    expect(checks).toHaveLength(17);
    checks.forEach((e, i) => {
      const decision = e["decision"] as { provenance: Raw };
      decision.provenance = { ...decision.provenance, bundleSha256: i.toString(16).padStart(64, "0") };
    });
    const result = await run("replay", writeChain(join(dir, "many-revisions.jsonl"), checks), "--no-progress");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the trail's decisions name 17 revisions; replay rebuilds at most 16");
  });

  it("names the sha256 and revision of a recorded bundle it cannot find, and how to pass it (exit 1)", async () => {
    const entries = entriesOf(join(runDir, "audit-governed.jsonl")).slice(0, 6);
    const sha = "ab".repeat(32);
    for (const e of entries) {
      const decision = e["decision"] as { provenance: Raw } | undefined;
      if (decision) decision.provenance = { ...decision.provenance, bundleSha256: sha, bundleRevision: "team-v7" };
    }
    const result = await run("replay", writeChain(join(dir, "unknown-bundle.jsonl"), entries), "--no-progress");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`bundle revision "team-v7" (sha256 ${sha}), which is neither the default bundle nor a *.tar.gz beside the trail`);
    expect(result.stderr).toContain("--bundle B with that bundle");
  });
});

describe("policy-kernel diff", () => {
  it("reports exactly the generated actions the tightened rule now matches, deterministically from the seed", async () => {
    const count = 400;
    const actions = generateActions(count, 7);
    const window = (a: (typeof actions)[number]): number => (a.context as { actionsInWindow: number }).actionsInWindow;
    // Block from 1 instead of 50: too_many_actions is added for 1..49; approaching_limit (40..49) is replaced by it.
    const added = actions.filter((a) => window(a) >= 1 && window(a) < 50).length;
    const removed = actions.filter((a) => window(a) >= 40 && window(a) < 50).length;
    const [first, second] = await Promise.all([
      run("diff", join(root, "rules"), tightRules, "--generated", String(count), "--seed", "7", "--json", "--no-progress"),
      run("diff", join(root, "rules"), tightRules, "--generated", String(count), "--seed", "7", "--json", "--no-progress"),
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    const report = JSON.parse(first.stdout) as { corpora: { impact: { decisions: number; changed: number; rules: { rule: string; added: number; removed: number }[] } }[] };
    const impact = report.corpora[0]!.impact;
    expect(impact.decisions).toBe(count);
    expect(impact.changed).toBe(added);
    expect(impact.rules.map(({ rule, added, removed }) => ({ rule, added, removed }))).toEqual([
      { rule: "rate_limit/approaching_limit", added: 0, removed },
      { rule: "rate_limit/too_many_actions", added, removed: 0 },
    ]);
  });

  it("runs decision case files, gates with --max-changed, and refuses mixed or missing sides", async () => {
    const [cases, gated, mixed, missing] = await Promise.all([
      run("diff", join(root, "rules"), tightRules, "--cases", join(root, "test", "cases"), "--json", "--no-progress"),
      run("diff", join(root, "rules"), tightRules, "--cases", join(root, "test", "cases"), "--max-changed", "0", "--no-progress"),
      run("diff", join(root, "bundle", "default.tar.gz"), tightRules, "--no-progress"),
      run("diff", join(dir, "nothing.tar.gz"), tightRules, "--no-progress"),
    ]);
    expect(cases.code, cases.stderr).toBe(0);
    const impact = (JSON.parse(cases.stdout) as { corpora: { corpus: string; impact: { decisions: number; changed: number; examples: { subject: string }[] } }[] }).corpora[0]!;
    expect(impact.corpus).toMatch(/^cases /);
    // Independently: the cases with 1 to 49 actions in the window, now blocked.
    const inWindow = loadDecisionCases([join(root, "test", "cases")]).filter((c) => {
      const window = (c.input as { context?: { actionsInWindow?: number } }).context?.actionsInWindow ?? 0;
      return window >= 1 && window < 50;
    });
    expect(inWindow.length).toBeGreaterThan(0);
    expect(impact.impact.changed).toBe(inWindow.length);
    expect(impact.impact.examples.map((e) => e.subject)).toEqual(inWindow.map((c) => `${c.file} case ${c.index + 1} (${c.description})`));
    expect(gated.code).toBe(3);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/OLD is a bundle and NEW is JSON rules/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file or folder/);
  });
});
