import type { ImpactSummary } from "../audit/impact.js";
import { UsageError } from "./flags.js";

// The gate a pull request's CI puts on a policy change: how many changed decisions are too many.

/** `--max-changed N` (a count) or `--threshold P` (a percentage of the decisions compared). */
export type Threshold = { readonly maxChanged: number } | { readonly percent: number };

/** The threshold the flags give, undefined without either; a UsageError for a bad value or both at once. */
export function thresholdFromFlags(maxChanged: string | undefined, percent: string | undefined): Threshold | undefined {
  if (maxChanged !== undefined && percent !== undefined) throw new UsageError("--max-changed and --threshold both set a limit; give one");
  if (maxChanged !== undefined) {
    if (!/^\d+$/.test(maxChanged.trim()) || !Number.isSafeInteger(Number(maxChanged))) {
      throw new UsageError(`must be a whole number >= 0, got "${maxChanged}"`, { field: "--max-changed" });
    }
    return { maxChanged: Number(maxChanged) };
  }
  if (percent !== undefined) {
    const value = Number(percent.trim().replace(/%$/, ""));
    if (percent.trim() === "" || !Number.isFinite(value) || value < 0 || value > 100) {
      throw new UsageError(`must be a percentage from 0 to 100, got "${percent}"`, { field: "--threshold" });
    }
    return { percent: value };
  }
  return undefined;
}

/** True when the changed decisions pass the threshold (more than allowed). */
export function exceedsThreshold(impact: Pick<ImpactSummary, "changed" | "decisions">, threshold: Threshold): boolean {
  if ("maxChanged" in threshold) return impact.changed > threshold.maxChanged;
  return impact.decisions > 0 && (impact.changed / impact.decisions) * 100 > threshold.percent;
}

/** The threshold in words: "at most 5 changed decisions", "at most 2% changed". */
export function thresholdText(threshold: Threshold): string {
  return "maxChanged" in threshold ? `at most ${threshold.maxChanged} changed decisions` : `at most ${threshold.percent}% changed`;
}
