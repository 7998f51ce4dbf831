// Every decision path of the kernel records what it decided on, and replayJsonl decides it again
// identically: a valid action (with a per-call `now`), a refusal at the trust boundary, a malformed
// action, a prototype key, an unknown type, raw input; an uncopyable action is left unreplayable.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/canonical-json.js";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { decisionChange, decisionDifferences, ImpactCollector } from "../../src/audit/impact.js";
import { NO_INPUT, readTrailFacts, replayJsonl, type ReplayedDecision, type SkippedDecision } from "../../src/audit/replay.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../../src/kernel/create-kernel.js";
import type { Decision, Violation } from "../../src/schemas.js";
import { buildOwnBundle } from "../helpers/own-opa.js";

async function recordTrail(path: string, options: PolicyKernelOptions): Promise<void> {
  const recorder = new FlightRecorder({ jsonlPath: path, chainId: "replay-test", clock: () => new Date("2026-01-05T00:00:00Z") });
  const kernel = await createPolicyKernel({ ...options, recorder });
  try {
    const ctx = { role: "support", costUsd: 0.02, spentUsd: 0, actionsInWindow: 3 };
    await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT name FROM users WHERE id = 1" }, context: ctx });
    // Night: the logical time comes from the per-call option, not the context.
    await kernel.evaluate({ agentId: "a", action: { type: "transaction", amountUsd: 250, recipient: "acme" }, context: { role: "finance" } }, { now: "2026-01-05T23:30:00Z" });
    await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: ctx }, { refusal: { rule: "agent_context", description: "the agent supplied a context" } });
    await kernel.evaluateUntrusted({ agentId: "a", action: { type: "sql", sql: 42 }, context: ctx });
    await kernel.evaluateUntrusted(JSON.parse('{"agentId":"a","action":{"type":"sql","sql":"SELECT 1","__proto__":{"x":1}}}'));
    await kernel.evaluate({ agentId: "a", action: { type: "launch_missiles" } });
    await kernel.evaluate({ agentId: "a", action: { type: "message", to: "x@gmail.com", text: "SSN 123-45-6789" }, context: { readOnly: true, now: "2026-01-06T09:00:00Z" } });
    // Not copyable (a getter): denied unread, and nothing to replay it from.
    await kernel.evaluateUntrusted({ agentId: "a", action: { type: "sql", get sql() { return "SELECT 1"; } } });
  } finally {
    kernel.close();
    recorder.close();
  }
}

async function replayAll(path: string, options: PolicyKernelOptions): Promise<(ReplayedDecision | SkippedDecision)[]> {
  const facts = await readTrailFacts(path);
  const kernel = await createPolicyKernel(options);
  const out: (ReplayedDecision | SkippedDecision)[] = [];
  try {
    for await (const entry of replayJsonl(path, facts.decisions, { kernelFor: () => kernel })) out.push(entry);
  } finally {
    kernel.close();
  }
  return out;
}

describe("replaying recorded decisions", () => {
  it("decides every recorded input again byte for byte, and says which one cannot be", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "pk-replay-lib-")), "trail.jsonl");
    await recordTrail(path, {});
    const facts = await readTrailFacts(path);
    expect(facts).toMatchObject({ chainId: "replay-test", decisions: 8, withInput: 7 });
    const results = await replayAll(path, {});
    expect(results).toHaveLength(8);
    const replayed = results.filter((r): r is ReplayedDecision => r.replayed);
    expect(replayed).toHaveLength(7);
    for (const r of replayed) expect(canonicalJson(r.decision), `seq ${r.seq}`).toBe(canonicalJson(r.recorded));
    // The decisions were not all alike: the paths above were really taken.
    expect(new Set(replayed.map((r) => r.recorded.allowed))).toEqual(new Set([true, false]));
    expect(replayed.some((r) => r.recorded.violations.some((v) => v.rule === "agent_context"))).toBe(true);
    const skipped = results.filter((r): r is SkippedDecision => !r.replayed);
    expect(skipped.map((s) => s.reason)).toEqual([NO_INPUT]);
    expect(skipped[0]!.recorded.allowed).toBe(false);
  });

  it("decides a raw-input decision again from the recorded input, with a raw-input kernel", async () => {
    const own = buildOwnBundle({ "policy/main.rego": 'package main\n\ndeny contains msg if {\n\tinput.replicas > 3\n\tmsg := "too many replicas"\n}\n' }, ["main/deny"]);
    const options: PolicyKernelOptions = { opa: [{ bundle: own.bundle, entrypoints: ["main/deny"] }], rawInput: true };
    const path = join(mkdtempSync(join(tmpdir(), "pk-replay-lib-")), "raw.jsonl");
    const recorder = new FlightRecorder({ jsonlPath: path, chainId: "raw" });
    const kernel = await createPolicyKernel({ ...options, recorder });
    try {
      for (const replicas of [1, 5]) await kernel.evaluateInput!({ replicas });
    } finally {
      kernel.close();
      recorder.close();
    }
    const results = await replayAll(path, options);
    expect(results.map((r) => r.replayed && r.decision.allowed)).toEqual([true, false]);
    for (const r of results) expect(r.replayed && canonicalJson(r.decision)).toBe(canonicalJson(r.recorded));
    // A kernel that cannot take raw input says so for each, rather than judging it as an action.
    const skipped = await replayAll(path, {});
    expect(skipped.map((r) => (r.replayed ? "replayed" : r.reason))).toEqual(Array(2).fill("a raw-input decision: replay it with a kernel built with rawInput (evaluateInput)"));
  }, 60_000);

  it("finds a context-dependent decision different when the context is not what was recorded", async () => {
    // The same trail replayed by a kernel that reads the context differently (rate limit at 3) differs exactly there.
    const path = join(mkdtempSync(join(tmpdir(), "pk-replay-lib-")), "trail.jsonl");
    await recordTrail(path, {});
    const results = await replayAll(path, { data: { policy_kernel: { config: { rate_limit: { block_at: 3 } } } } });
    const changed = results.filter((r): r is ReplayedDecision => r.replayed && decisionChange("", r.action, r.recorded, r.decision) !== undefined);
    // actionsInWindow: 3 was recorded with the first, third and fourth; the fourth is malformed, so no policy read it.
    expect(changed.map((r) => r.seq)).toEqual(results.filter((r) => r.replayed).map((r) => r.seq).filter((_, i) => [0, 2].includes(i)));
    for (const r of changed) expect(r.decision.violations.map((v) => v.rule)).toContain("too_many_actions");
  });
});

const violation = (policy: string, rule: string, blocked = true): Violation => ({
  type: blocked ? "blocked" : "warned",
  policy,
  rule,
  severity: "high",
  description: `${policy} ${rule}`,
  blocked,
  penalty: blocked ? 10 : 1,
  source: "rego",
});
const provenance = { bundleRevision: "r1", bundleSha256: "a", dataSha256: "b", rulesSha256: "c" };
const decision = (allowed: boolean, violations: Violation[], signals: string[] = []): Decision => ({ allowed, violations, signals, provenance });

describe("comparing decisions", () => {
  it("tells flips, added and removed violations and signals apart, and ignores provenance", () => {
    const before = decision(true, [violation("pii", "email", false)]);
    expect(decisionChange("s", {}, before, { ...before, provenance: { ...provenance, bundleRevision: "r2" } })).toBeUndefined();
    const after = decision(false, [violation("pii", "email", false), violation("sql", "drop")], ["SIGSTOP"]);
    expect(decisionChange("s", {}, before, after)).toEqual({ subject: "s", action: {}, allowed: "allowed_to_denied", added: ["sql/drop"], removed: [], signalsAdded: ["SIGSTOP"], signalsRemoved: [] });
    expect(decisionChange("s", {}, after, before)).toMatchObject({ allowed: "denied_to_allowed", added: [], removed: ["sql/drop"], signalsRemoved: ["SIGSTOP"] });
    // A repeated violation counts as often as it occurs.
    const twice = decision(false, [violation("sql", "drop"), violation("sql", "drop")]);
    expect(decisionChange("s", {}, decision(false, [violation("sql", "drop")]), twice)).toMatchObject({ allowed: null, added: ["sql/drop"], removed: [] });
  });

  it("names every byte-level difference of a replay, provenance included", () => {
    const recorded = decision(true, []);
    expect(decisionDifferences(recorded, structuredClone(recorded))).toEqual([]);
    const other = { ...decision(false, [violation("sql", "drop")]), provenance: { ...provenance, dataSha256: "z" } };
    expect(decisionDifferences(recorded, other)).toEqual(["allowed true -> false", "violation added: sql/drop", 'provenance.dataSha256 "b" -> "z"']);
    const a = violation("a", "x");
    const b = violation("b", "y");
    expect(decisionDifferences(decision(false, [a, b]), decision(false, [b, a]))).toEqual(["violations in another order"]);
  });

  it("counts per rule, with newly denied and allowed decisions attributed to the blocking rule", () => {
    const impact = new ImpactCollector();
    impact.add("seq 1", {}, decision(true, []), decision(false, [violation("sql", "drop"), violation("pii", "email", false)]));
    impact.add("seq 2", {}, decision(false, [violation("sql", "drop")]), decision(true, []));
    impact.add("seq 3", {}, decision(true, []), decision(true, []));
    const summary = impact.summary();
    expect(summary).toMatchObject({ decisions: 3, changed: 2, unchanged: 1, allowedToDenied: 1, deniedToAllowed: 1, violationsOnly: 0 });
    expect(summary.rules).toEqual([
      { rule: "pii/email", added: 1, removed: 0, newlyDenied: 0, newlyAllowed: 0, examples: ["seq 1"] },
      { rule: "sql/drop", added: 1, removed: 1, newlyDenied: 1, newlyAllowed: 1, examples: ["seq 1", "seq 2"] },
    ]);
  });
});
