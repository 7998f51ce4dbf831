import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { canonicalJson } from "../canonical-json.js";
import { PolicyKernelError } from "../errors.js";
import { createWorld } from "../demo/world.js";
import type { Decision } from "../schemas.js";
import { readJson } from "./kernel-flags.js";

// A training run folder's learned behaviours (the demo's greedy choice per task after training,
// summary.json's learnedPolicy) and whether a candidate revision would block them.

const MAX_SUMMARY_BYTES = 16 * 1024 * 1024;

// Only what is read here; summary.json is hostile input like any file (a wrong shape is an error naming it).
const LearnedChoiceSchema = z.strictObject({ task: z.string(), candidate: z.string(), kind: z.string() });
const RunSummarySchema = z.looseObject({
  arms: z.partialRecord(z.enum(["governed", "ungoverned"]), z.looseObject({ learnedPolicy: z.array(LearnedChoiceSchema).max(10_000) })),
});

/** One learned behaviour: the action an arm's agent chose greedily for a task after training. */
export interface LearnedBehaviour {
  readonly arm: string;
  readonly task: string;
  readonly candidate: string;
  readonly kind: string;
  /** The action body; null when the task or candidate is not in this version's demo world. */
  readonly action: unknown;
}

/** What replay found for one learned behaviour. */
export interface LearnedVerdict extends LearnedBehaviour {
  /** How often the trail holds a decision on this action. */
  readonly decisions: number;
  /** Of those, how many the recorded revision allowed and the replaying one denies. */
  readonly newlyDenied: number;
  readonly newlyAllowed: number;
  /** True when the replaying revision denies it where the recorded one allowed it. */
  readonly blocked: boolean;
  /** The rules that deny it now (policy/rule), from the first newly denied decision. */
  readonly blockedBy: readonly string[];
}

/** The audit trails of a run folder (audit-<arm>.jsonl), sorted; PolicyKernelError when there is none. */
export function runTrails(folder: string): { readonly arm: string; readonly trail: string }[] {
  const arms = ["governed", "ungoverned"].filter((arm) => existsSync(join(folder, `audit-${arm}.jsonl`)));
  if (arms.length === 0) {
    throw new PolicyKernelError("invalid_input", "no audit trail in this folder", { file: folder, expected: "a run folder written by policy-kernel train (audit-governed.jsonl, audit-ungoverned.jsonl)" });
  }
  return arms.map((arm) => ({ arm, trail: join(folder, `audit-${arm}.jsonl`) }));
}

/** The learned behaviours summary.json records, with each one's action from the demo world; [] without summary.json. */
export async function learnedBehaviours(folder: string): Promise<LearnedBehaviour[]> {
  const path = join(folder, "summary.json");
  if (!existsSync(path)) return [];
  if (statSync(path).size > MAX_SUMMARY_BYTES) {
    throw new PolicyKernelError("invalid_input", `larger than ${MAX_SUMMARY_BYTES} bytes: not a run summary`, { file: path });
  }
  const parsed = RunSummarySchema.safeParse(readJson(path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PolicyKernelError("invalid_input", `not a run summary: ${issue?.message ?? "invalid"}`, { file: path, field: issue?.path.join(".") ?? "", expected: "summary.json as policy-kernel train writes it" });
  }
  const world = await createWorld();
  const out: LearnedBehaviour[] = [];
  for (const [arm, summary] of Object.entries(parsed.data.arms)) {
    for (const choice of summary?.learnedPolicy ?? []) {
      const task = world.tasks.find((t) => t.id === choice.task);
      const candidate = task?.candidates.find((c) => c.id === choice.candidate);
      out.push({ arm, ...choice, action: candidate?.action ?? null });
    }
  }
  return out;
}

/** Tallies, per learned behaviour of one arm, the trail's decisions on its action as they are replayed. */
export class LearnedTally {
  readonly #byAction = new Map<string, { decisions: number; newlyDenied: number; newlyAllowed: number; blockedBy: string[] | undefined }>();

  constructor(private readonly behaviours: readonly LearnedBehaviour[]) {
    for (const behaviour of behaviours) if (behaviour.action !== null) this.#byAction.set(canonicalJson(behaviour.action), { decisions: 0, newlyDenied: 0, newlyAllowed: 0, blockedBy: undefined });
  }

  /** Counts one replayed decision when its action is a learned one. */
  add(action: unknown, recorded: Decision, replayed: Decision): void {
    if (this.#byAction.size === 0) return;
    const tally = this.#byAction.get(canonicalJson(action));
    if (tally === undefined) return;
    tally.decisions++;
    if (recorded.allowed && !replayed.allowed) {
      tally.newlyDenied++;
      tally.blockedBy ??= replayed.violations.filter((v) => v.blocked).map((v) => `${v.policy}/${v.rule}`);
    }
    if (!recorded.allowed && replayed.allowed) tally.newlyAllowed++;
  }

  /** Each behaviour with what the replay found for it. */
  verdicts(): LearnedVerdict[] {
    return this.behaviours.map((behaviour) => {
      const tally = behaviour.action === null ? undefined : this.#byAction.get(canonicalJson(behaviour.action));
      return {
        ...behaviour,
        decisions: tally?.decisions ?? 0,
        newlyDenied: tally?.newlyDenied ?? 0,
        newlyAllowed: tally?.newlyAllowed ?? 0,
        blocked: (tally?.newlyDenied ?? 0) > 0,
        blockedBy: tally?.blockedBy ?? [],
      };
    });
  }
}
