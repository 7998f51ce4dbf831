import { canonicalJson } from "../canonical-json.js";
import type { Decision, Violation } from "../schemas.js";
import { compareCodeUnits } from "../values.js";

// What a policy change does to decisions: each pair (the decision as made, the decision made
// again) compared, and the changes counted per policy and rule with examples. `replay` builds it
// from an audit trail, `diff` from case files or a generated corpus.

/** How the decision on one subject changed; `allowed` null when it did not flip. */
export interface DecisionChange {
  /** What was decided on: `seq 12` of a trail, a case's file and description, `generated #7`. */
  readonly subject: string;
  /** The action body (its type and a short text are shown in reports). */
  readonly action: unknown;
  readonly allowed: "allowed_to_denied" | "denied_to_allowed" | null;
  /** Violations only the new decision has, and only the old one has, as `policy/rule`. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly signalsAdded: readonly string[];
  readonly signalsRemoved: readonly string[];
}

/** Counts of one policy rule's violations that the change adds or removes, and in how many flips it took part. */
export interface RuleImpact {
  readonly rule: string;
  readonly added: number;
  readonly removed: number;
  /** Decisions it now denies (an added blocking violation of a decision that flipped to denied). */
  readonly newlyDenied: number;
  /** Decisions it no longer denies (a removed blocking violation of a decision that flipped to allowed). */
  readonly newlyAllowed: number;
  /** Up to EXAMPLES_PER_RULE subjects, in order. */
  readonly examples: readonly string[];
}

/** The change report: totals, per-rule counts and examples, as `--json` prints it. */
export interface ImpactSummary {
  readonly decisions: number;
  readonly unchanged: number;
  readonly changed: number;
  readonly allowedToDenied: number;
  readonly deniedToAllowed: number;
  /** Changed decisions whose allowed flag stayed: violations or signals added or removed only. */
  readonly violationsOnly: number;
  readonly rules: readonly RuleImpact[];
  /** The first EXAMPLES changed decisions. */
  readonly examples: readonly DecisionChange[];
}

const EXAMPLES = 10;
const EXAMPLES_PER_RULE = 3;

/** `policy/rule` of a violation: what the counts are kept by. */
export function ruleKey(violation: Pick<Violation, "policy" | "rule">): string {
  return `${violation.policy}/${violation.rule}`;
}

/** The violations and signals of `after` that `before` lacks and the reverse, compared by their canonical JSON as multisets. */
function multisetDifference(before: readonly unknown[], after: readonly unknown[]): { readonly added: number[]; readonly removed: number[] } {
  const left = new Map<string, number[]>();
  before.forEach((value, index) => {
    const key = canonicalJson(value);
    left.set(key, [...(left.get(key) ?? []), index]);
  });
  const added: number[] = [];
  after.forEach((value, index) => {
    const queue = left.get(canonicalJson(value));
    if (queue !== undefined && queue.length > 0) queue.shift();
    else added.push(index);
  });
  const removed = [...left.values()].flat().sort((a, b) => a - b);
  return { added, removed };
}

/**
 * How `after` differs from `before`, provenance left out (a candidate revision always has another):
 * undefined when allowed, violations and signals are the same. A violation whose text or penalty
 * changed counts as removed and added.
 */
export function decisionChange(subject: string, action: unknown, before: Decision, after: Decision): DecisionChange | undefined {
  const violations = multisetDifference(before.violations, after.violations);
  const signals = multisetDifference(before.signals, after.signals);
  const flipped = before.allowed === after.allowed ? null : before.allowed ? "allowed_to_denied" : "denied_to_allowed";
  if (flipped === null && violations.added.length === 0 && violations.removed.length === 0 && signals.added.length === 0 && signals.removed.length === 0) {
    // Same multisets: the order alone can differ, which the canonical JSON would show.
    if (canonicalJson(before.violations) === canonicalJson(after.violations)) return undefined;
  }
  return {
    subject,
    action,
    allowed: flipped,
    added: violations.added.map((i) => ruleKey(after.violations[i]!)),
    removed: violations.removed.map((i) => ruleKey(before.violations[i]!)),
    signalsAdded: signals.added.map((i) => after.signals[i]!),
    signalsRemoved: signals.removed.map((i) => before.signals[i]!),
  };
}

/**
 * Why a replayed decision is not the recorded one byte for byte (canonical JSON, provenance
 * included): each difference in words; empty when they are identical.
 */
export function decisionDifferences(recorded: Decision, replayed: Decision): string[] {
  if (canonicalJson(recorded) === canonicalJson(replayed)) return [];
  const out: string[] = [];
  if (recorded.allowed !== replayed.allowed) out.push(`allowed ${String(recorded.allowed)} -> ${String(replayed.allowed)}`);
  const change = decisionChange("", undefined, recorded, replayed);
  if (change) {
    for (const rule of change.added) out.push(`violation added: ${rule}`);
    for (const rule of change.removed) out.push(`violation removed: ${rule}`);
    for (const signal of change.signalsAdded) out.push(`signal added: ${signal}`);
    for (const signal of change.signalsRemoved) out.push(`signal removed: ${signal}`);
    if (change.added.length + change.removed.length + change.signalsAdded.length + change.signalsRemoved.length === 0 && recorded.allowed === replayed.allowed) {
      out.push("violations in another order");
    }
  }
  const before = (recorded.provenance ?? {}) as Record<string, unknown>;
  const after = (replayed.provenance ?? {}) as Record<string, unknown>;
  for (const field of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(compareCodeUnits)) {
    if (canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null)) {
      out.push(`provenance.${field} ${JSON.stringify(before[field] ?? null)} -> ${JSON.stringify(after[field] ?? null)}`);
    }
  }
  if (out.length === 0) out.push("the canonical JSON differs");
  return out;
}

interface RuleCounts {
  added: number;
  removed: number;
  newlyDenied: number;
  newlyAllowed: number;
  examples: string[];
}

/** Collects decision pairs into an ImpactSummary, one pair at a time (a trail of any length). */
export class ImpactCollector {
  #decisions = 0;
  #changed = 0;
  #allowedToDenied = 0;
  #deniedToAllowed = 0;
  readonly #rules = new Map<string, RuleCounts>();
  readonly #examples: DecisionChange[] = [];

  /** Compares one pair; returns the change, or undefined when the decision is the same. */
  add(subject: string, action: unknown, before: Decision, after: Decision): DecisionChange | undefined {
    this.#decisions++;
    const change = decisionChange(subject, action, before, after);
    if (change === undefined) return undefined;
    this.#changed++;
    if (change.allowed === "allowed_to_denied") this.#allowedToDenied++;
    if (change.allowed === "denied_to_allowed") this.#deniedToAllowed++;
    const blockingAdded = new Set(after.violations.filter((v) => v.blocked).map(ruleKey));
    const blockingRemoved = new Set(before.violations.filter((v) => v.blocked).map(ruleKey));
    const touched = new Set<string>();
    for (const rule of change.added) {
      const counts = this.#counts(rule);
      counts.added++;
      if (!touched.has(rule) && change.allowed === "allowed_to_denied" && blockingAdded.has(rule)) counts.newlyDenied++;
      touched.add(rule);
    }
    for (const rule of change.removed) {
      const counts = this.#counts(rule);
      counts.removed++;
      if (!touched.has(`-${rule}`) && change.allowed === "denied_to_allowed" && blockingRemoved.has(rule)) counts.newlyAllowed++;
      touched.add(`-${rule}`);
    }
    for (const rule of new Set([...change.added, ...change.removed])) {
      const counts = this.#counts(rule);
      if (counts.examples.length < EXAMPLES_PER_RULE) counts.examples.push(change.subject);
    }
    if (this.#examples.length < EXAMPLES) this.#examples.push(change);
    return change;
  }

  #counts(rule: string): RuleCounts {
    let counts = this.#rules.get(rule);
    if (counts === undefined) this.#rules.set(rule, (counts = { added: 0, removed: 0, newlyDenied: 0, newlyAllowed: 0, examples: [] }));
    return counts;
  }

  /** Changed decisions so far. */
  get changed(): number {
    return this.#changed;
  }

  /** Decisions compared so far. */
  get decisions(): number {
    return this.#decisions;
  }

  /** The report so far; rules sorted by name. */
  summary(): ImpactSummary {
    return {
      decisions: this.#decisions,
      unchanged: this.#decisions - this.#changed,
      changed: this.#changed,
      allowedToDenied: this.#allowedToDenied,
      deniedToAllowed: this.#deniedToAllowed,
      violationsOnly: this.#changed - this.#allowedToDenied - this.#deniedToAllowed,
      rules: [...this.#rules.entries()].sort(([a], [b]) => compareCodeUnits(a, b)).map(([rule, counts]) => ({ rule, ...counts })),
      examples: [...this.#examples],
    };
  }
}

/** A short one-line view of an action body for reports: its type and its main text, cut at 80 characters. */
export function describeAction(action: unknown): string {
  if (typeof action !== "object" || action === null) return JSON.stringify(action) ?? "undefined";
  const body = action as Record<string, unknown>;
  const type = typeof body["type"] === "string" ? body["type"] : "?";
  const main = body["sql"] ?? body["tool"] ?? (body["to"] !== undefined ? `to ${String(body["to"])}` : undefined) ?? (body["amountUsd"] !== undefined ? `${String(body["amountUsd"])} USD` : undefined);
  const text = typeof main === "string" ? main : main === undefined ? "" : String(main);
  const line = text.replace(/\s+/g, " ").trim();
  return `${type}${line ? `: ${line.length > 80 ? `${line.slice(0, 77)}...` : line}` : ""}`;
}

/** The change report as text: totals, then each rule's counts and examples, then example decisions. */
export function impactText(summary: ImpactSummary): string {
  const lines = [
    `${summary.decisions} decisions: ${summary.changed} changed (${summary.allowedToDenied} allowed -> denied, ${summary.deniedToAllowed} denied -> allowed, ${summary.violationsOnly} violations only), ${summary.unchanged} unchanged`,
  ];
  if (summary.rules.length > 0) {
    lines.push("by policy/rule:");
    const width = Math.max(...summary.rules.map((r) => r.rule.length));
    for (const r of summary.rules) {
      const flips = [r.newlyDenied > 0 ? `${r.newlyDenied} newly denied` : "", r.newlyAllowed > 0 ? `${r.newlyAllowed} newly allowed` : ""].filter(Boolean).join(", ");
      lines.push(`  ${r.rule.padEnd(width)}  +${r.added} -${r.removed}${flips ? ` (${flips})` : ""}  e.g. ${r.examples.join("; ")}`);
    }
  }
  if (summary.examples.length > 0) {
    lines.push("examples:");
    for (const change of summary.examples) lines.push(`  ${change.subject}: ${describeAction(change.action)}: ${changeText(change)}`);
  }
  return lines.join("\n");
}

/** One change in words: the flip, then what was added and removed. */
export function changeText(change: DecisionChange): string {
  const parts: string[] = [];
  if (change.allowed === "allowed_to_denied") parts.push("allowed -> denied");
  if (change.allowed === "denied_to_allowed") parts.push("denied -> allowed");
  if (change.added.length > 0) parts.push(`+${change.added.join(" +")}`);
  if (change.removed.length > 0) parts.push(`-${change.removed.join(" -")}`);
  if (change.signalsAdded.length > 0) parts.push(`+signal ${change.signalsAdded.join(" +signal ")}`);
  if (change.signalsRemoved.length > 0) parts.push(`-signal ${change.signalsRemoved.join(" -signal ")}`);
  if (parts.length === 0) parts.push("violations in another order");
  return parts.join(", ");
}
