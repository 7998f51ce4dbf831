import type { KeyObject } from "node:crypto";
import { PolicyKernelError } from "../errors.js";
import type { EvaluateOptions, PolicyKernel } from "../kernel/types.js";
import type { Decision, Provenance } from "../schemas.js";
import type { PolicyCheckEntry } from "./entries.js";
import { streamJsonl, verifyJsonl } from "./jsonl.js";

// Deciding a trail's decisions again: each policy_check entry's recorded input (entries.ts,
// kernel/decision-input.ts) handed to a kernel, its answer set beside the recorded decision.
// The trail is hostile input: it must verify before anything in it is read as an input.

/** One decision decided again. */
export interface ReplayedDecision {
  readonly replayed: true;
  readonly seq: number;
  readonly agentId: string;
  readonly action: PolicyCheckEntry["action"];
  readonly recorded: Decision;
  readonly decision: Decision;
}

/** A decision that cannot be decided again, and why. */
export interface SkippedDecision {
  readonly replayed: false;
  readonly seq: number;
  readonly agentId: string;
  readonly action: PolicyCheckEntry["action"];
  readonly recorded: Decision;
  readonly reason: string;
}

/** Options of `replayJsonl`. */
export interface ReplayOptions {
  /** The kernel that decides again the decisions a given provenance made (called once per distinct provenance). */
  readonly kernelFor: (provenance: Provenance) => PolicyKernel | Promise<PolicyKernel>;
  /** The Ed25519 public key the trail's checkpoints must be signed with; without it only the chain and the checkpoints' places are checked. */
  readonly publicKey?: KeyObject | string;
  /** Told after each policy_check entry: how many of `total` are done. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What a trail's decisions were made by: its distinct provenances (in order of first use) and how many decisions there are. */
export interface TrailFacts {
  readonly chainId: string | undefined;
  readonly decisions: number;
  /** Decisions that carry their input (the rest cannot be replayed). */
  readonly withInput: number;
  readonly provenances: readonly Provenance[];
}

/** Reason given for an entry written before decisions recorded their input. */
export const NO_INPUT = "no recorded input (written before policy_check entries recorded it)";

/** Reason given for a raw-input decision when the replaying kernel was not built for raw input. */
export const RAW_INPUT_NEEDED = "a raw-input decision: replay it with a kernel built with rawInput (evaluateInput)";

/**
 * Verifies the trail (PolicyKernelError "invalid_input" naming the line when it does not) and
 * reads which provenances made its decisions: what `replayJsonl` will ask kernels for.
 */
export async function readTrailFacts(path: string, publicKey?: KeyObject | string): Promise<TrailFacts> {
  const verified = await verifyJsonl(path, publicKey === undefined ? {} : { publicKey });
  if (!verified.valid) {
    throw new PolicyKernelError("invalid_input", `the trail does not verify: line ${verified.index + 1}: ${verified.reason}: ${verified.message.replace(/^line \d+: /, "")}; replay reads only a trail whose hash chain verifies (see policy-kernel verify)`, { file: path });
  }
  const provenances = new Map<string, Provenance>();
  let decisions = 0;
  let withInput = 0;
  let chainId: string | undefined;
  for await (const entry of streamJsonl(path)) {
    chainId ??= entry.chainId;
    if (entry.type !== "policy_check") continue;
    decisions++;
    if (entry.input !== undefined) withInput++;
    const key = provenanceKey(entry.decision.provenance);
    if (!provenances.has(key)) provenances.set(key, entry.decision.provenance);
  }
  return { chainId, decisions, withInput, provenances: [...provenances.values()] };
}

/** A provenance as a map key. */
export function provenanceKey(provenance: Provenance): string {
  return JSON.stringify([provenance.bundleRevision, provenance.bundleSha256, provenance.dataSha256, provenance.rulesSha256]);
}

/**
 * Decides every policy_check decision of a trail file again with the kernel `kernelFor` gives for
 * its recorded provenance, yielding each (or why it cannot be replayed) in trail order. Verify the
 * trail first (`readTrailFacts`): this reads it again, entry by entry, and trusts its shape only.
 */
export async function* replayJsonl(path: string, total: number, options: ReplayOptions): AsyncGenerator<ReplayedDecision | SkippedDecision, void, undefined> {
  const kernels = new Map<string, PolicyKernel>();
  let done = 0;
  for await (const entry of streamJsonl(path)) {
    if (entry.type !== "policy_check") continue;
    const { seq, agentId, action, decision: recorded, input } = entry;
    const skipped = (reason: string): SkippedDecision => ({ replayed: false, seq, agentId, action, recorded, reason });
    const key = provenanceKey(recorded.provenance);
    let kernel = kernels.get(key);
    if (kernel === undefined) kernels.set(key, (kernel = await options.kernelFor(recorded.provenance)));
    let decision: Decision | undefined;
    if (input === undefined) yield skipped(NO_INPUT);
    else if (input.kind === "raw_input") {
      // Only a kernel built with rawInput decides raw input; any other rejects it (or lacks the method).
      decision = await kernel.evaluateInput?.((action as { input?: unknown }).input ?? null).catch(() => undefined);
      if (decision === undefined) yield skipped(RAW_INPUT_NEEDED);
    } else {
      const evaluate: EvaluateOptions = input.refusal === undefined ? {} : { refusal: input.refusal };
      const given = input.kind === "action" ? { agentId, action, context: input.context } : input.value;
      decision = await kernel.evaluateUntrusted(given, evaluate);
    }
    if (decision !== undefined) yield { replayed: true, seq, agentId, action, recorded, decision };
    options.onProgress?.(++done, total);
  }
}
