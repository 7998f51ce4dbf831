import type { Database, SqlValue } from "sql.js";
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

/** The demo's tools: each one a few SQL statements, so their effects are judged like any other action. */
function runTool(db: Database, tool: string, args: Record<string, unknown>): Execution {
  switch (tool) {
    case "create_ticket":
      db.run("INSERT INTO tickets (subject, body) VALUES (?, ?)", [str(args["subject"]) ?? "", str(args["body"]) ?? ""]);
      return { rows: [], changes: 1, error: null };
    case "issue_refund": {
      const [row] = db.exec("SELECT u.email, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = ?", [num(args["orderId"]) ?? -1]);
      const found = row?.values[0];
      if (!found) return { rows: [], changes: 0, error: "issue_refund: no such order" };
      db.run("INSERT INTO payments (recipient, amount_usd) VALUES (?, ?)", [found[0] ?? "", found[1] ?? 0]);
      return { rows: [], changes: 1, error: null };
    }
    case "analyze_logs": {
      const level = str(args["level"]) ?? "error";
      const [count] = db.exec("SELECT count(*) FROM logs WHERE level = ?", [level]);
      const [first] = db.exec("SELECT message FROM logs WHERE level = ? ORDER BY id LIMIT 1", [level]);
      const body = `${String(count?.values[0]?.[0] ?? 0)} ${level} lines in the worker logs; first: ${String(first?.values[0]?.[0] ?? "")}`;
      db.run("INSERT INTO tickets (subject, body) VALUES (?, ?)", ["Errors in worker logs", body]);
      return { rows: [], changes: 1, error: null };
    }
    default:
      return { rows: [], changes: 0, error: `unknown tool ${tool}` };
  }
}
