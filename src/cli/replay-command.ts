import { existsSync, statSync } from "node:fs";
import { basename } from "node:path";
import { toVerifyingKey } from "../audit/checkpoint.js";
import { ImpactCollector, describeAction, impactText, type ImpactSummary } from "../audit/impact.js";
import { decisionDifferences } from "../audit/impact.js";
import { provenanceKey, readTrailFacts, replayJsonl, type TrailFacts } from "../audit/replay.js";
import { PolicyKernelError } from "../errors.js";
import type { PolicyKernel } from "../kernel/types.js";
import type { Provenance } from "../schemas.js";
import { UsageError, parseFlags } from "./flags.js";
import { KERNEL_FLAGS } from "./kernel-flags.js";
import { LearnedTally, learnedBehaviours, runTrails, type LearnedBehaviour, type LearnedVerdict } from "./learned-behaviours.js";
import { countProgress } from "./progress.js";
import { replayKernel } from "./replay-sources.js";
import { exceedsThreshold, thresholdFromFlags, thresholdText, type Threshold } from "./threshold.js";

export const REPLAY_USAGE = `usage: policy-kernel replay TRAIL|RUN_DIR [--bundle B] [--rules R] [--data D] [--max-changed N | --threshold P] [--public-key F] [--json] [--no-progress]
  Decides every decision of an audit trail again, from the input its policy_check entry recorded, after
  verifying the trail's hash chain (a trail that does not verify is refused). RUN_DIR is a training run
  folder (policy-kernel train): each audit-<arm>.jsonl is replayed, and the learned behaviours in its
  summary.json (each arm's greedy action per task) that the replaying revision would block are named.
  With no --bundle/--rules/--data: the revision the trail names, found locally (the default bundle, or a
  *.tar.gz beside the trail matching its sha256; the default rules; a demo trail's data). Every decision
  must come out byte for byte as recorded (canonical JSON): exit 0, else each one that differs is named
  (seq, action, what differs) and the exit code is 1: that is a determinism bug.
  With a candidate (--bundle B, --rules R (repeatable), --data D, --no-bundle, --no-rules; the parts not
  given stay the recorded ones): reports the decisions that change (allowed -> denied, denied -> allowed,
  violations added or removed), counted per policy/rule, with examples.
  --max-changed N  exit 3 when more than N decisions change (N >= 0)
  --threshold P    exit 3 when more than P percent of the decisions change (0 to 100)
  --public-key F   the Ed25519 public key the trail's checkpoints must be signed with (default TRAIL.pub
                   beside the trail when present; without either, the chain alone is checked)
  --json           print the report as one JSON object
  --no-progress    no progress on stderr (otherwise a bar on a terminal, a line per tenth elsewhere)
  Exit 0 reproduced / within the threshold; 1 error, a trail that does not verify or has no recorded
  inputs, or a recorded revision that does not reproduce; 3 changed decisions over the threshold.`;

/** Exit codes of `replay` (and `diff`); 1 (error) is main's. */
export const REPLAY_EXIT = Object.freeze({ ok: 0, notReproduced: 1, overThreshold: 3 });

/** Differing decisions listed in a report (all are counted). */
const MAX_DIFFERENCES_LISTED = 100;
/** Distinct provenances a trail may name: each one builds a kernel. */
const MAX_PROVENANCES = 16;

/** A decision of the recorded revision that did not come out the same. */
interface Difference {
  readonly seq: number;
  readonly action: string;
  readonly differences: readonly string[];
}

/** What replaying one trail found. */
interface TrailReport {
  readonly trail: string;
  readonly chainId: string | null;
  /** `recorded`: every provenance was rebuilt as recorded; `candidate`: some decisions were made by another revision. */
  readonly mode: "recorded" | "candidate";
  readonly revisions: readonly { readonly recorded: Provenance; readonly replayedWith: Provenance }[];
  readonly decisions: number;
  readonly replayed: number;
  readonly identical: number;
  readonly skipped: number;
  readonly skippedReasons: Readonly<Record<string, number>>;
  /** Recorded mode: the decisions that differ (the first MAX_DIFFERENCES_LISTED; `differing` counts them all). */
  readonly differing: number;
  readonly differences: readonly Difference[];
  readonly impact: ImpactSummary;
  readonly learnedBehaviours?: readonly LearnedVerdict[];
}

const REPLAY_FLAGS = {
  ...KERNEL_FLAGS,
  "max-changed": { type: "string" },
  threshold: { type: "string" },
  "public-key": { type: "string" },
  json: { type: "boolean" },
  "no-progress": { type: "boolean" },
} as const;

/** `policy-kernel replay`: decides a trail's decisions again; exit 0 reproduced or within the threshold, 1 not reproduced, 3 over the threshold. */
export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, REPLAY_FLAGS, { name: "TRAIL|RUN_DIR", what: "trail file or run folder", min: 1, max: 1 });
  const target = positionals[0]!;
  const threshold = thresholdFromFlags(values["max-changed"], values.threshold);
  if (values["public-key"] !== undefined && !existsSync(target)) throw new PolicyKernelError("io_error", "no such file or folder", { file: target });
  const folder = existsSync(target) && statSync(target).isDirectory();
  if (folder && values["public-key"] !== undefined) throw new UsageError("--public-key names one trail's key; a run folder's trails are checked with the audit-<arm>.jsonl.pub beside each");
  const trails = folder ? runTrails(target) : [{ arm: undefined, trail: target }];
  const learned = folder ? await learnedBehaviours(target) : [];
  const progress = values["no-progress"] ? undefined : countProgress(process.stderr, "replay", "decisions");
  const reports: TrailReport[] = [];
  try {
    for (const { arm, trail } of trails) {
      const behaviours = learned.filter((b) => b.arm === arm);
      reports.push(await replayTrail(trail, values, values["public-key"], behaviours, progress?.onStep));
    }
  } finally {
    progress?.stop();
  }
  const exit = exitCode(reports, threshold);
  const json = { threshold: threshold ?? null, trails: reports, exitCode: exit };
  process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : `${reports.map((r) => reportText(r, threshold)).join("\n\n")}\n`);
  return exit;
}

/** The exit code of a set of trail reports: 1 when a recorded revision did not reproduce, 3 when a candidate's changes pass the threshold. */
function exitCode(reports: readonly TrailReport[], threshold: Threshold | undefined): number {
  if (reports.some((r) => r.mode === "recorded" && r.differing > 0)) return REPLAY_EXIT.notReproduced;
  if (threshold !== undefined && reports.some((r) => r.mode === "candidate" && exceedsThreshold(r.impact, threshold))) return REPLAY_EXIT.overThreshold;
  return REPLAY_EXIT.ok;
}

/** The public key a trail is checked with: the flag's, else TRAIL.pub beside it, else none (the chain alone). */
function trailKey(trail: string, given: string | undefined): ReturnType<typeof toVerifyingKey> | undefined {
  if (given !== undefined) return toVerifyingKey(given, "--public-key");
  const beside = `${trail}.pub`;
  return existsSync(beside) ? toVerifyingKey(beside, "public key beside the trail") : undefined;
}

async function replayTrail(
  trail: string,
  flags: Parameters<typeof replayKernel>[1],
  publicKey: string | undefined,
  behaviours: readonly LearnedBehaviour[],
  onStep: ((label: string, done: number, total: number) => void) | undefined,
): Promise<TrailReport> {
  const facts: TrailFacts = await readTrailFacts(trail, trailKey(trail, publicKey));
  if (facts.decisions === 0) {
    throw new PolicyKernelError("invalid_input", "no decisions in this trail (no policy_check entry): nothing to replay", { file: trail, expected: "an audit trail with the kernel's decisions (a FlightRecorder given to createPolicyKernel, or policy-kernel train)" });
  }
  if (facts.withInput === 0) {
    throw new PolicyKernelError(
      "invalid_input",
      `not replayable: none of its ${facts.decisions} decisions records the input it was made on (the trail was written before policy_check entries recorded it); only the action and the decision are there, not the context that decided`,
      { file: trail, expected: "a trail written by this version (policy-kernel train, or a FlightRecorder given to createPolicyKernel)" },
    );
  }
  if (facts.provenances.length > MAX_PROVENANCES) {
    throw new PolicyKernelError("invalid_input", `the trail's decisions name ${facts.provenances.length} revisions; replay rebuilds at most ${MAX_PROVENANCES}`, { file: trail });
  }
  const kernels = new Map<string, { kernel: PolicyKernel; recorded: boolean; provenance: Provenance }>();
  try {
    for (const provenance of facts.provenances) {
      const built = await replayKernel(provenance, flags, trail, facts.chainId);
      kernels.set(provenanceKey(provenance), { ...built, provenance });
    }
    const impact = new ImpactCollector();
    const tally = new LearnedTally(behaviours);
    const differences: Difference[] = [];
    const skippedReasons: Record<string, number> = {};
    let differing = 0;
    let replayed = 0;
    let identical = 0;
    const label = basename(trail);
    const entries = replayJsonl(trail, facts.decisions, {
      kernelFor: (provenance) => kernels.get(provenanceKey(provenance))!.kernel,
      ...(onStep ? { onProgress: (done: number, total: number) => onStep(label, done, total) } : {}),
    });
    for await (const entry of entries) {
      if (!entry.replayed) {
        skippedReasons[entry.reason] = (skippedReasons[entry.reason] ?? 0) + 1;
        continue;
      }
      replayed++;
      const recordedRevision = kernels.get(provenanceKey(entry.recorded.provenance))!.recorded;
      impact.add(`seq ${entry.seq}`, entry.action, entry.recorded, entry.decision);
      tally.add(entry.action, entry.recorded, entry.decision);
      if (!recordedRevision) continue;
      const found = decisionDifferences(entry.recorded, entry.decision);
      if (found.length === 0) identical++;
      else {
        differing++;
        if (differences.length < MAX_DIFFERENCES_LISTED) differences.push({ seq: entry.seq, action: describeAction(entry.action), differences: found });
      }
    }
    const revisions = [...kernels.values()].map((k) => ({ recorded: k.provenance, replayedWith: k.kernel.provenance }));
    return {
      trail,
      chainId: facts.chainId ?? null,
      mode: [...kernels.values()].every((k) => k.recorded) ? "recorded" : "candidate",
      revisions,
      decisions: facts.decisions,
      replayed,
      identical,
      skipped: facts.decisions - replayed,
      skippedReasons,
      differing,
      differences,
      impact: impact.summary(),
      ...(behaviours.length > 0 ? { learnedBehaviours: tally.verdicts() } : {}),
    };
  } finally {
    for (const { kernel } of kernels.values()) kernel.close();
  }
}

/** A provenance in a few words: the bundle revision, and the rules' and data's hashes cut short. */
function revisionText(p: Provenance): string {
  const short = (sha: string | null): string => (sha === null ? "none" : sha.slice(0, 12));
  return `${p.bundleRevision ?? "(no bundle)"} (rules ${short(p.rulesSha256)}, data ${short(p.dataSha256)})`;
}

/** One trail's report as text. */
function reportText(report: TrailReport, threshold: Threshold | undefined): string {
  const lines: string[] = [];
  const revisions = report.revisions.map((r) => `${revisionText(r.recorded)}${report.mode === "recorded" ? "" : ` -> ${revisionText(r.replayedWith)}`}`).join(", ");
  const skipped = report.skipped > 0 ? `; ${report.skipped} not replayable (${Object.entries(report.skippedReasons).map(([why, n]) => `${n}: ${why}`).join("; ")})` : "";
  if (report.mode === "recorded") {
    const verdict = report.differing === 0 ? "REPRODUCED" : "NOT REPRODUCED";
    lines.push(`${verdict}: ${report.trail}: ${report.identical}/${report.replayed} decisions identical with the recorded revision ${revisions}${skipped}`);
    for (const d of report.differences) lines.push(`  seq ${d.seq}: ${d.action}: ${d.differences.join("; ")}`);
    if (report.differing > report.differences.length) lines.push(`  (+${report.differing - report.differences.length} more)`);
    if (report.differing > 0) lines.push("  a recorded revision that decides differently is a determinism bug: please report it with this trail");
  } else {
    const over = threshold !== undefined && exceedsThreshold(report.impact, threshold);
    lines.push(`${over ? "OVER THRESHOLD" : "CHANGES"}: ${report.trail}: revision ${revisions}${threshold ? ` (threshold: ${thresholdText(threshold)})` : ""}${skipped}`);
    lines.push(impactText(report.impact).replace(/^/gm, "  "));
  }
  if (report.learnedBehaviours !== undefined) {
    const blocked = report.learnedBehaviours.filter((b) => b.blocked);
    lines.push(`  learned behaviours (greedy choice per task after training): ${blocked.length} of ${report.learnedBehaviours.length} newly blocked`);
    for (const b of report.learnedBehaviours) {
      const state = b.blocked ? `BLOCKED in ${b.newlyDenied} of its ${b.decisions} decisions, by ${b.blockedBy.join(", ") || "the kernel"}` : b.action === null ? "not in this demo world" : b.decisions === 0 ? "not decided in this trail" : b.newlyAllowed > 0 ? "newly allowed" : "unchanged";
      lines.push(`    ${b.task} -> ${b.candidate} (${b.kind}): ${state}`);
    }
  }
  return lines.join("\n");
}
