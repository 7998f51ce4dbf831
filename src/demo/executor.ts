import type { Database, SqlValue } from "sql.js";
import { queryRows, schemaVersion } from "./database.js";
import type { ActionBody, Violation } from "../schemas.js";
import { DEFAULT_SEVERITY_PENALTY } from "../schemas.js";
import { errorMessage } from "../errors.js";

/**
 * Rows one action may change before it is rolled back. The largest change a task's reference
 * solution makes is 13 rows (remove-cancelled deletes the 13 cancelled orders; purge-debug-logs
 * deletes 8 log lines; the others change 1 or none): 20 leaves half again as much room and is
 * still below every table the agent could wipe (24 users, 30 orders, 40 log lines).
 * test/demo/effect-budget.test.ts holds both.
 */
export const DEFAULT_ROW_BUDGET = 20;

/** What an effect budget undid. */
export interface RolledBack {
  /** Rows the action changed (SQLite's total_changes() after minus before) before it was undone. */
  readonly changed: number;
  readonly budget: number;
  /** The action changed the schema (CREATE, DROP, ALTER…): undone whatever its row count. */
  readonly schemaChanged: boolean;
}

/** What running one action against the database produced. */
export interface Execution {
  /** Rows of the last result set a statement returned (SQL), else empty. */
  readonly rows: readonly (readonly SqlValue[])[];
  /** Rows the action inserted, updated or deleted, every statement counted (0 when it was undone). */
  readonly changes: number;
  /** The database refused the action (syntax error, missing table, unknown tool…); nothing it did was kept. */
  readonly error: string | null;
  /** Set when the effect budget undid the action. */
  readonly rolledBack: RolledBack | null;
}

const num = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

const SAVEPOINT = "policy_kernel_effect_budget";

/**
 * Runs an action for real: SQL through SQLite, a message into `outbox`, a transaction into
 * `payments`, a tool call through the demo's tools. Only ever called for an allowed action.
 * Every action runs inside a savepoint: one that fails is undone entirely, and with a `budget`
 * one that changes more rows than it (counted with total_changes(), every statement and trigger
 * included) or changes the schema is undone too — the analysis before it cannot see every
 * tautology, so what executes is bounded where it executes.
 */
export function executeAction(db: Database, body: ActionBody, budget: number | null = null): Execution {
  const before = totalChanges(db);
  const schemaBefore = schemaVersion(db);
  db.exec(`SAVEPOINT ${SAVEPOINT}`);
  let outcome: { rows: readonly (readonly SqlValue[])[]; error: string | null };
  try {
    outcome = { rows: run(db, body), error: null };
  } catch (error) {
    outcome = { rows: [], error: errorMessage(error) };
  }
  const changed = totalChanges(db) - before;
  const schemaChanged = schemaVersion(db) !== schemaBefore;
  if (outcome.error !== null || (budget !== null && (changed > budget || schemaChanged))) {
    endSavepoint(db, `ROLLBACK TO ${SAVEPOINT}; RELEASE ${SAVEPOINT}`);
    const rolledBack = outcome.error === null && budget !== null ? { changed, budget, schemaChanged } : null;
    return { rows: rolledBack ? [] : outcome.rows, changes: 0, error: outcome.error, rolledBack };
  }
  endSavepoint(db, `RELEASE ${SAVEPOINT}`);
  return { rows: outcome.rows, changes: changed, error: null, rolledBack: null };
}

/** The `modified` violation an effect budget reports for an action it undid (not blocked: it ran, and was undone). */
export function effectBudgetViolation(rolledBack: RolledBack): Violation {
  const what = rolledBack.schemaChanged
    ? "the action changed the schema"
    : `the action changed ${rolledBack.changed} rows, over the budget of ${rolledBack.budget} per action`;
  return {
    type: "modified",
    policy: "effect_budget",
    rule: rolledBack.schemaChanged ? "schema_changed" : "row_budget_exceeded",
    severity: "high",
    description: `${what}; it was rolled back`,
    blocked: false,
    penalty: DEFAULT_SEVERITY_PENALTY.high,
    source: "kernel",
  };
}

/**
 * Ends the savepoint. It is gone only when a statement's own ON CONFLICT ROLLBACK (or a trigger's
 * RAISE(ROLLBACK)) rolled the whole transaction back, which already undid the action.
 */
function endSavepoint(db: Database, sql: string): void {
  try {
    db.exec(sql);
  } catch {
    // no such savepoint: nothing is left to undo or keep
  }
}

function totalChanges(db: Database): number {
  return Number(queryRows(db, "SELECT total_changes()")[0]?.[0] ?? 0);
}


/** Statements that would end or escape the executor's savepoint, by SQLite's own normalised text. */
const TRANSACTION_CONTROL = /^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/;

/**
 * Runs SQL text one statement at a time (prepared by SQLite as it goes), refusing transaction
 * control so nothing can commit past the savepoint; returns the rows of the last statement that
 * returned any, as db.exec does.
 */
function runSql(db: Database, sql: string): readonly (readonly SqlValue[])[] {
  let rows: SqlValue[][] = [];
  for (const statement of db.iterateStatements(sql)) {
    try {
      const normalised = statement.getNormalizedSQL();
      if (TRANSACTION_CONTROL.test(normalised)) throw new Error(`transaction control (${normalised.split(/\s/)[0]}) is the executor's: the action runs inside its savepoint`);
      const current: SqlValue[][] = [];
      while (statement.step()) current.push(statement.get());
      if (current.length > 0) rows = current;
    } finally {
      statement.free();
    }
  }
  return rows;
}

function run(db: Database, body: ActionBody): readonly (readonly SqlValue[])[] {
  const fields = body as Record<string, unknown>;
  switch (body.type) {
    case "sql":
      return runSql(db, str(fields["sql"]) ?? "");
    case "message":
      db.run("INSERT INTO outbox (recipient, body) VALUES (?, ?)", [str(fields["to"]) ?? "", str(fields["text"]) ?? ""]);
      return [];
    case "transaction":
      db.run("INSERT INTO payments (recipient, amount_usd) VALUES (?, ?)", [str(fields["recipient"]) ?? "", num(fields["amountUsd"]) ?? 0]);
      return [];
    case "tool_call":
      runTool(db, str(fields["tool"]) ?? "", (fields["args"] ?? {}) as Record<string, unknown>);
      return [];
    default:
      throw new Error(`no executor for action type ${body.type}`);
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
function runTool(db: Database, tool: string, args: Record<string, unknown>): void {
  switch (tool) {
    case "create_ticket":
      db.run("INSERT INTO tickets (subject, body) VALUES (?, ?)", [str(args["subject"]) ?? "", str(args["body"]) ?? ""]);
      return;
    case "issue_refund": {
      const refund = orderRefund(db, num(args["orderId"]) ?? -1);
      if (!refund) throw new Error("issue_refund: no such order");
      db.run("INSERT INTO payments (recipient, amount_usd) VALUES (?, ?)", [refund.recipient, refund.amountUsd]);
      return;
    }
    case "analyze_logs": {
      db.run("INSERT INTO tickets (subject, body) VALUES (?, ?)", ["Errors in worker logs", logSummary(db, str(args["level"]) ?? "error")]);
      return;
    }
    default:
      throw new Error(`unknown tool ${tool}`);
  }
}
