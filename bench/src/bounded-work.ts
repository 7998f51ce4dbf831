import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";

/** One hostile input of one size, and what a decision on it cost. */
export interface BoundedWorkRow {
  readonly input: string;
  readonly megabytes: number;
  /** Median of the timed decisions, in milliseconds. */
  readonly ms: number;
  readonly msPerMb: number;
  readonly allowed: boolean;
  /** The rules that decided it (`policy/rule`), so a fast "allowed" cannot hide a skipped analysis. */
  readonly rules: readonly string[];
}

/** The agent-controlled texts an analysis could be slow on, built to `bytes` characters. */
const HOSTILE_INPUTS: Readonly<Record<string, (bytes: number) => unknown>> = {
  // One statement whose WHERE is a long chain: the parsers and the constant folding walk all of it.
  "sql: one long WHERE": (bytes) => ({ type: "sql", sql: `SELECT id FROM users WHERE ${"id = 1 OR ".repeat(Math.floor(bytes / 10))}id = 2` }),
  // A string literal the size of the text: the lexers of both databases read it once.
  "sql: one long literal": (bytes) => ({ type: "sql", sql: `SELECT '${"x".repeat(bytes)}'` }),
  // What made the old e-mail pattern quadratic: local-part characters with no domain after them.
  "message: 'a.' repeated, no domain": (bytes) => ({ type: "message", to: "ops@example.com", text: "a.".repeat(Math.floor(bytes / 2)) }),
  // Digits and separators everywhere: the card and SSN scans see a candidate at every position.
  "message: digit runs": (bytes) => ({ type: "message", to: "ops@example.com", text: "1234 5678 9012 345 ".repeat(Math.floor(bytes / 19)) }),
};

async function timeDecision(kernel: PolicyKernel, action: unknown, repeats: number): Promise<{ ms: number; allowed: boolean; rules: string[] }> {
  const times: number[] = [];
  let last: Awaited<ReturnType<PolicyKernel["evaluate"]>> | undefined;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    last = await kernel.evaluateUntrusted(action);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    ms: times[Math.floor(times.length / 2)] ?? 0,
    allowed: last?.allowed ?? false,
    rules: [...new Set((last?.violations ?? []).map((v) => `${v.policy}/${v.rule}`))].sort(),
  };
}

/**
 * Decisions on hostile inputs of growing size (issue: a 10 MB SQL string or message is decided in
 * bounded time). Each input is decided by a kernel whose size limits admit it, so the analysis
 * really runs, and once by the default kernel, whose limits deny it unread. Time per megabyte that
 * stays flat as the size grows is linear work.
 */
export async function boundedWorkRows(sizesMb: readonly number[], repeats: number, progress: (message: string) => void): Promise<BoundedWorkRow[]> {
  const largest = Math.max(...sizesMb);
  const admitted = Math.ceil(largest * 1.1 * 1024 * 1024) + 4096;
  // Both limits raised, so the analyses really run on the whole input.
  const admitting = await createPolicyKernel({ maxActionBytes: admitted, data: { policy_kernel: { config: { sql: { max_sql_length: admitted } } } } });
  const defaults = await createPolicyKernel();
  const rows: BoundedWorkRow[] = [];
  try {
    for (const [input, build] of Object.entries(HOSTILE_INPUTS)) {
      for (const megabytes of sizesMb) {
        const action = { agentId: "bench", action: build(Math.floor(megabytes * 1024 * 1024)), context: { role: "analyst" } };
        const timed = await timeDecision(admitting, action, repeats);
        rows.push({ input, megabytes, ms: timed.ms, msPerMb: timed.ms / megabytes, allowed: timed.allowed, rules: timed.rules });
        progress(`bounded work: ${input}, ${megabytes} MB: ${timed.ms.toFixed(1)} ms`);
      }
      const action = { agentId: "bench", action: build(Math.floor(largest * 1024 * 1024)), context: { role: "analyst" } };
      const timed = await timeDecision(defaults, action, repeats);
      rows.push({ input: `${input} (default size limit)`, megabytes: largest, ms: timed.ms, msPerMb: timed.ms / largest, allowed: timed.allowed, rules: timed.rules });
    }
  } finally {
    admitting.close();
    defaults.close();
  }
  return rows;
}

/** The rows as a Markdown table. */
export function boundedWorkTable(rows: readonly BoundedWorkRow[]): string {
  const lines = ["| input | MB | ms per decision | ms per MB | decided |", "|---|---:|---:|---:|---|"];
  for (const row of rows) lines.push(`| ${row.input} | ${row.megabytes} | ${row.ms.toFixed(1)} | ${row.msPerMb.toFixed(1)} | ${row.allowed ? "allowed" : "denied"} ${row.rules.join(", ")} |`);
  return lines.join("\n");
}
