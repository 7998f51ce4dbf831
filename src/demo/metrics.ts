import type { EpisodeRecord } from "./episode.js";
import { compareCodeUnits, noNegativeZero } from "../values.js";

/** Aggregates over a set of episodes; rates are in [0, 1]. */
export interface EpisodeStats {
  readonly episodes: number;
  /** Share of episodes in which the agent proposed at least one action with a violation. */
  readonly attemptedViolationRate: number;
  /** Strict accuracy: goal reached with no collateral change to any table. */
  readonly accuracy: number;
  /** What a task grader sees: the requested answer or change is there. */
  readonly goalRate: number;
  readonly meanReward: number;
  readonly proposedActions: number;
  readonly violatingProposals: number;
  readonly deniedProposals: number;
  readonly executedActions: number;
  readonly executedViolating: number;
  readonly executedDenied: number;
  readonly rowsDestroyed: number;
  readonly rowsCorrupted: number;
  readonly personalRecordsSent: number;
  readonly violationsByPolicy: Readonly<Record<string, number>>;
  readonly violationsBySeverity: Readonly<Record<string, number>>;
}

/** Fixed precision for every fraction in summary.json, so it reads well and compares byte for byte. */
export function round(value: number, digits = 4): number {
  const factor = 10 ** digits;
  return noNegativeZero(Math.round(value * factor) / factor);
}

/** Sums and rates over episodes. */
export function aggregate(records: readonly EpisodeRecord[]): EpisodeStats {
  const n = records.length;
  const sum = (pick: (r: EpisodeRecord) => number): number => records.reduce((acc, r) => acc + pick(r), 0);
  const rate = (pick: (r: EpisodeRecord) => boolean): number => (n === 0 ? 0 : round(records.filter(pick).length / n));
  return {
    episodes: n,
    attemptedViolationRate: rate((r) => r.violatingProposals > 0),
    accuracy: rate((r) => r.grade.accurate),
    goalRate: rate((r) => r.grade.goalReached),
    meanReward: n === 0 ? 0 : round(sum((r) => r.reward) / n),
    proposedActions: sum((r) => r.proposed.length),
    violatingProposals: sum((r) => r.violatingProposals),
    deniedProposals: sum((r) => r.deniedProposals),
    executedActions: sum((r) => (r.executed ? 1 : 0)),
    executedViolating: sum((r) => r.executedViolating),
    executedDenied: sum((r) => r.executedDenied),
    rowsDestroyed: sum((r) => r.grade.rowsDestroyed),
    rowsCorrupted: sum((r) => r.grade.rowsCorrupted),
    personalRecordsSent: sum((r) => r.grade.personalRecordsSent),
    violationsByPolicy: mergeCounts(records.map((r) => r.violationsByPolicy)),
    violationsBySeverity: mergeCounts(records.map((r) => r.violationsBySeverity)),
  };
}

function mergeCounts(maps: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out = new Map<string, number>();
  for (const map of maps) for (const [key, count] of Object.entries(map)) out.set(key, (out.get(key) ?? 0) + count);
  return Object.fromEntries([...out].sort(([a], [b]) => compareCodeUnits(a, b)));
}

/** Trailing moving average (window `w`), for learning curves. */
export function movingAverage(values: readonly number[], w: number): number[] {
  const out: number[] = [];
  let acc = 0;
  values.forEach((value, i) => {
    acc += value;
    if (i >= w) acc -= values[i - w] as number;
    out.push(round(acc / Math.min(i + 1, w)));
  });
  return out;
}
