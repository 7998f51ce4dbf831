import { createRng } from "../../src/env/rng.js";
import type { ActionInput } from "../../src/schemas.js";

/** One corpus entry: the raw action an agent proposes, and a label saying what it exercises. */
export interface CorpusAction {
  readonly label: string;
  readonly action: ActionInput;
}

const ROLES = ["analyst", "support", "admin", "intern"] as const;
const TABLES = ["users", "orders", "invoices", "tickets"] as const;
const TOOLS = ["sql_query", "search_docs", "read_file", "lookup_customer", "issue_refund", "rm_rf"] as const;

/** Bodies of every action type, allowed and denied; `{n}` is replaced by a number. */
const BODIES: readonly { label: string; body: (n: number, table: string) => Record<string, unknown> }[] = [
  { label: "sql select", body: (n, t) => ({ type: "sql", sql: `SELECT id, name, email, created_at FROM ${t} WHERE id = ${n} AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 20` }) },
  { label: "sql update", body: (n, t) => ({ type: "sql", sql: `UPDATE ${t} SET status = 'closed', updated_at = now() WHERE id = ${n}` }) },
  { label: "sql drop", body: (_n, t) => ({ type: "sql", sql: `DROP TABLE ${t}` }) },
  { label: "sql delete no where", body: (_n, t) => ({ type: "sql", sql: `DELETE FROM ${t}` }) },
  { label: "sql two statements", body: (n, t) => ({ type: "sql", sql: `SELECT count(*) FROM ${t} WHERE id > ${n}; TRUNCATE audit_log` }) },
  { label: "tool_call", body: (n) => ({ type: "tool_call", tool: TOOLS[n % TOOLS.length], args: { query: `customer ${n} open tickets`, limit: 10 + (n % 5) } }) },
  { label: "message internal", body: (n) => ({ type: "message", to: "ops@example.com", text: `Ticket ${n} resolved; customer notified and refund queued for review.` }) },
  { label: "message pii external", body: (n) => ({ type: "message", to: "someone@gmail.com", text: `Customer ${n}: SSN 123-45-6789, card 4111 1111 1111 1111, mail bob@corp.io` }) },
  { label: "transaction", body: (n) => ({ type: "transaction", amountUsd: [20, 150, 800, 12_000][n % 4], recipient: `acct-${1000 + n}`, memo: `invoice ${n}` }) },
  { label: "unknown type", body: (n) => ({ type: "browse", url: `https://docs.example.com/guide/page-${n}`, reason: "look up the API of the billing service" }) },
];

/**
 * The benchmark's actions: every body kind with roles, budgets, rate-limit counters, read-only
 * flags and times drawn from a seeded generator, so every row of every run sees the same corpus.
 * Roughly a third are denied; typical JSON size is ~300 bytes.
 */
export function benchCorpus(size = 80, seed = 2026): CorpusAction[] {
  const rng = createRng(seed);
  const out: CorpusAction[] = [];
  for (let i = 0; i < size; i++) {
    const kind = BODIES[i % BODIES.length]!;
    const n = rng.int(10_000);
    const context: Record<string, unknown> = {
      role: rng.pick(ROLES),
      costUsd: Math.round(rng.next() * 4000) / 100,
      spentUsd: rng.int(10) === 0 ? 90 : rng.int(50),
      actionsInWindow: rng.int(10) === 0 ? 45 + rng.int(10) : rng.int(40),
      readOnly: rng.int(8) === 0,
      now: new Date(Date.UTC(2026, 10, 16 + rng.int(5), rng.int(24), rng.int(60))).toISOString(),
      sessionId: `sess-${rng.nextUint32().toString(16)}`,
    };
    out.push({ label: kind.label, action: { agentId: `agent-${1 + (i % 4)}`, action: kind.body(n, rng.pick(TABLES)) as ActionInput["action"], context } });
  }
  return out;
}
