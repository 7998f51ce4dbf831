import { createRng, type Seed } from "../env/rng.js";
import type { ActionInput } from "../schemas.js";

// A corpus of actions for `policy-kernel diff` when no trail exists: every action type, allowed and
// denied by the default library, with contexts across roles, budgets, windows and hours. The same
// seed gives the same corpus everywhere (env/rng.ts).

const SQL = [
  "SELECT name FROM users WHERE id = 42",
  "SELECT count(*) FROM orders",
  "SELECT round(sum(total), 2) FROM orders WHERE status = 'open'",
  "INSERT INTO tickets (title) VALUES ('printer')",
  "UPDATE orders SET status = 'shipped' WHERE id = 17",
  "UPDATE users SET active = 0",
  "DELETE FROM logs WHERE level = 'debug'",
  "DELETE FROM orders",
  "DELETE FROM orders WHERE 1 = 1",
  "DROP TABLE users",
  "SELECT 1; DROP TABLE users",
  "TRUNCATE logs",
  "GRANT ALL ON users TO public",
  "SELECT email, name FROM users",
];
const TOOLS = ["sql_query", "search_docs", "issue_refund", "analyze_logs", "send_email", "rm_rf"];
const RECIPIENTS = ["ops@example.com", "team@example.com", "someone@gmail.com", "partner@partner.example.org"];
const TEXTS = ["The report is ready.", "Open orders: 12, total 1520.50 USD.", "Customer bob@corp.io asked for a refund", "SSN 123-45-6789 on file", "card 4111 1111 1111 1111"];
const ROLES = ["support", "analyst", "admin", "intern"];
const PAYEES = ["acme", "globex", "initech"];

/** `count` actions generated from `seed`; each has an agentId, a body and a context with a logical time. */
export function generateActions(count: number, seed: Seed): ActionInput[] {
  const rng = createRng(`policy-kernel-diff:${String(seed)}`);
  const out: ActionInput[] = [];
  for (let i = 0; i < count; i++) {
    const hour = rng.int(24);
    const context = {
      role: rng.pick(ROLES),
      costUsd: rng.pick([0.02, 0.5, 5, 120, 150]),
      spentUsd: rng.pick([0, 10, 90, 99.99]),
      actionsInWindow: rng.int(60),
      ...(rng.int(4) === 0 ? { readOnly: true } : {}),
      now: new Date(Date.UTC(2026, 0, 5 + rng.int(7), hour, rng.int(60))).toISOString(),
    };
    out.push({ agentId: `agent-${rng.int(4)}`, action: body(rng), context });
  }
  return out;
}

function body(rng: ReturnType<typeof createRng>): ActionInput["action"] {
  switch (rng.int(5)) {
    case 0:
    case 1:
      return { type: "sql", sql: rng.pick(SQL) };
    case 2: {
      const tool = rng.pick(TOOLS);
      return { type: "tool_call", tool, args: tool === "sql_query" ? { sql: rng.pick(SQL) } : { id: String(rng.int(100)) } };
    }
    case 3:
      return { type: "message", to: rng.pick(RECIPIENTS), text: rng.pick(TEXTS) };
    default:
      return { type: "transaction", amountUsd: rng.pick([5, 50, 500, 5_000, 50_000]), recipient: rng.pick(PAYEES) };
  }
}
