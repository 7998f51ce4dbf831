import type { Machine } from "./machine.js";
import type { Row } from "./rows.js";

/** One issue target, its measured figure and whether it was met. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

const fmt = (value: number | undefined, digits = 2): string => (value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits));
const fmtInt = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? "–" : Math.round(value).toLocaleString("en-US"));

/** The rows as a Markdown table (the README pastes it as printed). */
export function markdownTable(rows: readonly Row[]): string {
  const lines = ["| # | row | p50 µs | p99 µs | mean µs | ops/s (1 core) |", "|---|---|---:|---:|---:|---:|"];
  rows.forEach((row, index) => {
    if (row.error) lines.push(`| ${index + 1} | ${row.name} | – | – | – | not run: ${row.error} |`);
    else if (row.nsPerOp !== undefined) lines.push(`| ${index + 1} | ${row.name} | – | – | ${fmt(row.nsPerOp / 1000)} | ${fmtInt(1e9 / row.nsPerOp)} |`);
    else lines.push(`| ${index + 1} | ${row.name} | ${fmt(row.result?.p50Us)} | ${fmt(row.result?.p99Us)} | ${fmt(row.result?.meanUs)} | ${fmtInt(row.result?.opsPerSec)} |`);
  });
  return lines.join("\n");
}

/** The targets as a Markdown list. */
export function markdownTargets(targets: readonly TargetCheck[]): string {
  return targets.map((t) => `- ${t.met === null ? "NOT MEASURED" : t.met ? "met" : "MISSED"}: ${t.target} — ${t.measured}`).join("\n");
}

/** The machine line printed above the table. */
export function machineLine(machine: Machine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}; Node ${machine.node} (V8 ${machine.v8}); OPA ${machine.opa}; ${machine.date}; commit ${machine.commit}`;
}

/** Per-call mean of a row in µs (OPA Go: ns/op). */
export function meanUs(row: Row | undefined): number | undefined {
  if (!row || row.error) return undefined;
  return row.nsPerOp !== undefined ? row.nsPerOp / 1000 : row.result?.meanUs;
}
