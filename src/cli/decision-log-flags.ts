import { UsageError } from "./flags.js";
import type { DecisionLogOptions } from "../decision-log/options.js";
import type { DecisionLogReport } from "../decision-log/decision-log.js";

/** The flags of `eval` and `train` that report each decision as an OPA decision-log event, for `util.parseArgs`. */
export const DECISION_LOG_FLAGS = {
  "decision-log": { type: "string" },
  "decision-log-mask": { type: "string", multiple: true },
  "decision-log-label": { type: "string", multiple: true },
  "decision-log-timeout": { type: "string" },
  "decision-log-seed": { type: "string" },
} as const;

/** Their lines in a command's usage. */
export const DECISION_LOG_USAGE = `  --decision-log FILE|URL   report each decision as an OPA decision-log event: JSON lines appended to FILE,
                   or gzip batches POSTed to URL (a decision-log service, as OPA uploads; http(s)://host/logs)
  --decision-log-mask PATH  OPA mask rule, repeatable: /input/... removed from each event (listed in "erased")
  --decision-log-label K=V  a label of every event beside id and version, repeatable
  --decision-log-seed S     decision ids derive from S, the position and the decision (default: the command's,
                   so a rerun logs the same ids; give each run its own S where ids must be unique across runs)
  --decision-log-timeout S  how long the command waits at its end to deliver what is left to URL (default 10);
                   events still undelivered then are reported on stderr and the exit code is 1`;

/** The values of those flags. */
export interface DecisionLogFlagValues {
  "decision-log"?: string;
  "decision-log-mask"?: string[];
  "decision-log-label"?: string[];
  "decision-log-timeout"?: string;
  "decision-log-seed"?: string;
}

/** Decision-log options from the flags (`seed` names the run the ids derive from), or undefined without --decision-log. */
export function decisionLogFromFlags(values: DecisionLogFlagValues, seed?: string): DecisionLogOptions | undefined {
  const target = values["decision-log"];
  if (target === undefined) {
    for (const flag of ["decision-log-mask", "decision-log-label", "decision-log-timeout", "decision-log-seed"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`goes with --decision-log FILE|URL`, { field: `--${flag}` });
    }
    return undefined;
  }
  const labels: Record<string, string> = {};
  for (const pair of values["decision-log-label"] ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`must be KEY=VALUE, got "${pair}"`, { field: "--decision-log-label" });
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const timeout = values["decision-log-timeout"];
  if (timeout !== undefined && !(/^\d+(\.\d+)?$/.test(timeout) && Number(timeout) <= 3600)) {
    throw new UsageError(`must be a number of seconds from 0 to 3600, got "${timeout}"`, { field: "--decision-log-timeout" });
  }
  const url = /^https?:\/\//i.test(target);
  if (timeout !== undefined && !url) throw new UsageError("goes with --decision-log URL (a file is written at once)", { field: "--decision-log-timeout" });
  return {
    ...(url ? { url: target } : { file: target }),
    ...(timeout === undefined ? {} : { upload: { closeTimeoutMs: Math.round(Number(timeout) * 1000) } }),
    ...(values["decision-log-label"] ? { labels } : {}),
    ...(values["decision-log-mask"] ? { mask: values["decision-log-mask"] } : {}),
    ...(values["decision-log-seed"] !== undefined ? { seed: values["decision-log-seed"] } : seed === undefined ? {} : { seed }),
  };
}

/** The line a command prints on stderr when events were not delivered (it then exits 1), or undefined. */
export function undeliveredLine(command: string, report: DecisionLogReport | undefined): string | undefined {
  if (report === undefined || report.undelivered === 0) return undefined;
  const why = Object.entries(report.lost)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(", ");
  return `policy-kernel ${command}: decision log: ${report.undelivered} of ${report.logged} events not delivered to ${report.destination} (${why}${report.lastError ? `; last error: ${report.lastError}` : ""})\n`;
}
