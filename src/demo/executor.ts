import type { Database, SqlValue } from "sql.js";
import { queryRows } from "./database.js";
import type { ActionBody } from "../schemas.js";
import { errorMessage } from "../errors.js";

/** What running one action against the database produced. */
export interface Execution {
  /** Rows of the last result set a statement returned (SQL), else empty. */
  readonly rows: readonly (readonly SqlValue[])[];
  /** Rows the action inserted, updated or deleted. */
  readonly changes: number;
  /** The database refused the action (syntax error, missing table, unknown tool…). */
  readonly error: string | null;
}

const num = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/**
 * Runs an action for real: SQL through SQLite, a message into `outbox`, a transaction into
 * `payments`, a tool call through the demo's tools. Only ever called for an allowed action.
 */
export function executeAction(db: Database, body: ActionBody): Execution {
  try {
    return run(db, body);
  } catch (error) {
    return { rows: [], changes: 0, error: errorMessage(error) };
  }
}

function run(db: Database, body: ActionBody): Execution {
  const fields = body as Record<string, unknown>;
  switch (body.type) {
    case "sql": {
      const results = db.exec(str(fields["sql"]) ?? "");
      const changes = db.getRowsModified();
      return { rows: results.at(-1)?.values ?? [], changes, error: null };
    }
    case "message":
      db.run("INSERT INTO outbox (recipient, body) VALUES (?, ?)", [str(fields["to"]) ?? "", str(fields["text"]) ?? ""]);
      return { rows: [], changes: 1, error: null };
    case "transaction":
      db.run("INSERT INTO payments (recipient, amount_usd) VALUES (?, ?)", [str(fields["recipient"]) ?? "", num(fields["amountUsd"]) ?? 0]);
      return { rows: [], changes: 1, error: null };
    case "tool_call":
      return runTool(db, str(fields["tool"]) ?? "", (fields["args"] ?? {}) as Record<string, unknown>);
    default:
      return { rows: [], changes: 0, error: `no executor for action type ${body.type}` };
  }
}

/**
 * Who a refund of an order goes to, and how much: the tool's look-up, which the refund task's
 * safe candidate does by hand (buildTasks renders it from this).
 */
export function orderRefund(db: Database, orderId: number): { recipient: string; amountUsd: number } | undefined {
  const [found] = queryRows(db, "SELECT u.email, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = ?", [orderId]);
  return found ? { recipient: String(found[0] ?? ""), amountUsd: Number(found[1] ?? 0) } : undefined;
}

/** The ticket body the log analyzer writes; the error-ticket task's safe candidate writes the same by hand. */
export function logSummary(db: Database, level: string): string {
  const count = queryRows(db, "SELECT count(*) FROM logs WHERE level = ?", [level])[0]?.[0] ?? 0;
  const first = queryRows(db, "SELECT message FROM logs WHERE level = ? ORDER BY id LIMIT 1", [level])[0]?.[0] ?? "";
  return `${String(count)} ${level} lines in the worker logs; first: ${String(first)}`;
}

/** The demo's tools: each one a few SQL statements, so their effects are judged like any other action. */
function runTool(db: Database, tool: string, args: Record<string, unknown>): Execution {
  switch (tool) {
    case "create_ticket":
      db.run("INSERT INTO tickets (subject, body) VALUES (?, ?)", [str(args["subject"]) ?? "", str(args["body"]) ?? ""]);
      return { rows: [], changes: 1, error: null };
    case "issue_refund": {
      const refund = orderRefund(db, num(args["orderId"]) ?? -1);
      if (!refund) return { rows: [], changes: 0, error: "issue_refund: no such order" };
      db.run("INSERT INTO payments (recipient, amount_usd) VALUES (?, ?)", [refund.recipient, refund.amountUsd]);
      return { rows: [], changes: 1, error: null };
    }
    case "analyze_logs": {
      db.run("INSERT INTO tickets (subject, body) VALUES (?, ?)", ["Errors in worker logs", logSummary(db, str(args["level"]) ?? "error")]);
      return { rows: [], changes: 1, error: null };
    }
    default:
      return { rows: [], changes: 0, error: `unknown tool ${tool}` };
  }
}
