import type { EntryType, FlightRecorderEntry } from "./entries.js";
import { streamJsonl } from "./jsonl.js";
import { SEVERITIES, type Severity } from "../schemas.js";
import { compareCodeUnits } from "../values.js";

/**
 * Aggregate view of the recorder's policy checks. Counts every entry of the recorder,
 * whatever the emitter's include options (those only filter spans).
 */
export interface ViolationSummary {
  /** All entries: policy checks, signals and tool calls. */
  readonly totalEntries: number;
  readonly entriesByType: Readonly<Record<EntryType, number>>;
  readonly policyChecks: number;
  readonly deniedChecks: number;
  /** Policy checks with at least one violation (warnings included). */
  readonly checksWithViolations: number;
  /** Violations across all policy checks. */
  readonly totalViolations: number;
  /** totalViolations / policyChecks (violations per decision; can exceed 1), 0 without checks. */
  readonly violationRate: number;
  /** checksWithViolations / policyChecks (share of decisions with a violation, 0..1), 0 without checks. */
  readonly violatingCheckRate: number;
  /** Violations per policy, keys sorted. */
  readonly policiesViolated: Readonly<Record<string, number>>;
  /** Violations per severity, most severe first. */
  readonly violationsBySeverity: Readonly<Record<Severity, number>>;
}

/** Counts entries one at a time, so a log of any length can be summarised as it is read. */
class ViolationTally {
  readonly #entriesByType: Record<EntryType, number> = { policy_check: 0, signal: 0, tool_call: 0 };
  readonly #bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  readonly #perPolicy = new Map<string, number>();
  #entries = 0;
  #denied = 0;
  #withViolations = 0;
  #violations = 0;

  add(entry: FlightRecorderEntry): void {
    this.#entries++;
    this.#entriesByType[entry.type]++;
    if (entry.type !== "policy_check") return;
    const { decision } = entry;
    if (!decision.allowed) this.#denied++;
    if (decision.violations.length > 0) this.#withViolations++;
    for (const violation of decision.violations) {
      this.#violations++;
      this.#bySeverity[violation.severity]++;
      this.#perPolicy.set(violation.policy, (this.#perPolicy.get(violation.policy) ?? 0) + 1);
    }
  }

  summary(): ViolationSummary {
    const checks = this.#entriesByType.policy_check;
    return {
      totalEntries: this.#entries,
      entriesByType: { ...this.#entriesByType },
      policyChecks: checks,
      deniedChecks: this.#denied,
      checksWithViolations: this.#withViolations,
      totalViolations: this.#violations,
      violationRate: checks === 0 ? 0 : this.#violations / checks,
      violatingCheckRate: checks === 0 ? 0 : this.#withViolations / checks,
      policiesViolated: Object.fromEntries([...this.#perPolicy].sort(([a], [b]) => compareCodeUnits(a, b))),
      violationsBySeverity: { ...this.#bySeverity },
    };
  }
}

/** The summary of these entries. */
export function summarizeEntries(entries: Iterable<FlightRecorderEntry>): ViolationSummary {
  const tally = new ViolationTally();
  for (const entry of entries) tally.add(entry);
  return tally.summary();
}

/**
 * The summary of a JSON Lines log file (a recorder's `jsonlPath`), read line by line: what
 * `getViolationSummary` gives for a run whose entries no longer all fit in memory. Errors as
 * `readJsonl`; it summarises the file as it is (run `verifyJsonl` to check the chain).
 */
export async function summarizeJsonl(path: string): Promise<ViolationSummary> {
  const tally = new ViolationTally();
  for await (const entry of streamJsonl(path)) tally.add(entry);
  return tally.summary();
}
