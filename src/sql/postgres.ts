import { loadModule, parseSync } from "libpg-query";
import type { SqlStatementFact } from "../schemas.js";
import { listOf, names, unwrap, walk, type PgNode } from "./pg-nodes.js";
import { MAX_SQL_STATEMENTS, capped, type DialectReading } from "./reading.js";
import { targetColumns, whereVerdict } from "./where-verdict.js";

let loading: Promise<void> | undefined;

/** Loads PostgreSQL's parser (libpg-query, compiled to Wasm) once per process. */
export function loadPostgresParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

/** The parse tree of SQL text as PostgreSQL reads it; throws PostgreSQL's syntax error. */
export function parsePostgres(sql: string): { stmts?: { stmt?: unknown }[] } {
  return parseSync(sql) as unknown as { stmts?: { stmt?: unknown }[] };
}

/** Kinds named after what they do rather than after the parser's node type. */
const KIND_OF_NODE: Readonly<Record<string, string>> = {
  SelectStmt: "SELECT",
  InsertStmt: "INSERT",
  UpdateStmt: "UPDATE",
  DeleteStmt: "DELETE",
  MergeStmt: "MERGE",
  TruncateStmt: "TRUNCATE",
  CreateStmt: "CREATE TABLE",
  CreateTableAsStmt: "CREATE TABLE AS",
  ViewStmt: "CREATE VIEW",
  IndexStmt: "CREATE INDEX",
  RenameStmt: "RENAME",
  CreateFunctionStmt: "CREATE FUNCTION",
  CreateTrigStmt: "CREATE TRIGGER",
  RuleStmt: "CREATE RULE",
  DoStmt: "DO",
  PrepareStmt: "PREPARE",
  ExecuteStmt: "EXECUTE",
  DeallocateStmt: "DEALLOCATE",
  CallStmt: "CALL",
  CopyStmt: "COPY",
  VariableSetStmt: "SET",
  VariableShowStmt: "SHOW",
  AlterSystemStmt: "ALTER SYSTEM",
  TransactionStmt: "TRANSACTION",
  LockStmt: "LOCK",
  CreateExtensionStmt: "CREATE EXTENSION",
  LoadStmt: "LOAD",
  CreatedbStmt: "CREATE DATABASE",
  DropdbStmt: "DROP DATABASE",
};

const DATA_MODIFYING = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

/** `DropStmt` of `OBJECT_TABLE` → `DROP TABLE`. */
function objectKind(verb: string, objectType: unknown): string {
  const object = typeof objectType === "string" ? objectType.replace(/^OBJECT_/, "").replaceAll("_", " ") : "";
  return object ? `${verb} ${object}` : verb;
}

/** `CreateEventTrigStmt` → `CREATE EVENT TRIG`: a readable name for node types without their own. */
function fromNodeType(type: string): string {
  return type
    .replace(/Stmt$/, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toUpperCase();
}

function kindOf(node: PgNode): string {
  const f = node.fields;
  switch (node.type) {
    case "InsertStmt": {
      const conflict = f["onConflictClause"] as { action?: string } | undefined;
      return conflict?.action === "ONCONFLICT_UPDATE" ? "UPSERT" : "INSERT";
    }
    case "SelectStmt":
      return f["intoClause"] === undefined ? "SELECT" : "SELECT INTO";
    case "DropStmt":
      return objectKind("DROP", f["removeType"]);
    case "AlterTableStmt":
      return objectKind("ALTER", f["objtype"]);
    case "CreateRoleStmt":
      return f["stmt_type"] === "ROLESTMT_GROUP" ? "CREATE GROUP" : f["stmt_type"] === "ROLESTMT_USER" ? "CREATE USER" : "CREATE ROLE";
    case "GrantStmt":
    case "GrantRoleStmt":
      return f["is_grant"] === true ? "GRANT" : "REVOKE";
    case "VacuumStmt":
      return f["is_vacuumcmd"] === true ? "VACUUM" : "ANALYZE";
    case "ExplainStmt":
      return isExplainAnalyze(node) ? "EXPLAIN ANALYZE" : "EXPLAIN";
    default:
      return KIND_OF_NODE[node.type] ?? fromNodeType(node.type);
  }
}

function isExplainAnalyze(node: PgNode): boolean {
  return listOf(node.fields["options"]).some((option) => option.type === "DefElem" && String(option.fields["defname"]).toLowerCase() === "analyze");
}

/** Reading without writing: a plain SELECT (no INTO, no row locks), EXPLAIN without ANALYZE, SHOW. */
function writes(node: PgNode, kind: string): boolean {
  if (kind === "SELECT") return node.fields["lockingClause"] !== undefined;
  return kind !== "EXPLAIN" && kind !== "SHOW";
}

function qualifiedName(range: PgNode): string {
  const schema = range.fields["schemaname"];
  const name = String(range.fields["relname"] ?? "").toLowerCase();
  return typeof schema === "string" ? `${schema.toLowerCase()}.${name}` : name;
}

/**
 * Tables and functions named anywhere in a statement. A statement's own table (`relation`) is a
 * bare RangeVar body rather than a wrapped node, so any object with a `relname` is one.
 */
function namesIn(root: PgNode): { tables: string[]; functions: string[] } {
  const tables = new Set<string>();
  const functions = new Set<string>();
  const stack: unknown[] = [root.fields];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== "object") continue;
    if (Array.isArray(value)) {
      stack.push(...value);
      continue;
    }
    const record = value as Record<string, unknown>;
    if (typeof record["relname"] === "string") tables.add(qualifiedName({ type: "RangeVar", fields: record }));
    const call = record["FuncCall"] as Record<string, unknown> | undefined;
    if (call) functions.add(names(call["funcname"]).join("."));
    for (const member of Object.values(record)) if (member !== null && typeof member === "object") stack.push(member);
  }
  // DROP names its objects as lists of strings, not RangeVars.
  if (root.type === "DropStmt") for (const object of listOf(root.fields["objects"])) if (object.type === "List") tables.add(names(object.fields["items"]).join("."));
  return { tables: capped(tables), functions: capped(functions) };
}

/** The WHERE verdict of an UPDATE/DELETE (null for other kinds) and the target's columns it reads. */
function verdictOf(node: PgNode): { verdict: SqlStatementFact["where"]; columns: ReadonlySet<string> } {
  if (node.type !== "UpdateStmt" && node.type !== "DeleteStmt") return { verdict: null, columns: new Set() };
  const relation = unwrap({ RangeVar: node.fields["relation"] });
  const scopeNames = new Set<string>();
  if (relation) {
    scopeNames.add(String(relation.fields["relname"] ?? "").toLowerCase());
    const alias = relation.fields["alias"] as { aliasname?: string } | undefined;
    if (alias?.aliasname) scopeNames.add(alias.aliasname.toLowerCase());
  }
  const joined = listOf(node.fields[node.type === "UpdateStmt" ? "fromClause" : "usingClause"]).length > 0;
  const scope = { names: scopeNames, unqualifiedIsTarget: !joined };
  const where = node.fields["whereClause"];
  return { verdict: whereVerdict(where, scope), columns: targetColumns(where, scope) };
}

/**
 * PostgreSQL's reading of one UPDATE or DELETE whose statement boundaries another database
 * found: its kind, target table, WHERE verdict and the target columns the WHERE reads; undefined
 * when PostgreSQL reads anything else there.
 */
export function readOneWrite(sql: string): { kind: "UPDATE" | "DELETE"; table: string; verdict: SqlStatementFact["where"]; columns: ReadonlySet<string> } | undefined {
  let tree: ReturnType<typeof parsePostgres>;
  try {
    tree = parsePostgres(sql);
  } catch {
    return undefined;
  }
  const [only, ...rest] = tree.stmts ?? [];
  const node = unwrap(only?.stmt);
  if (!node || rest.length > 0 || (node.type !== "UpdateStmt" && node.type !== "DeleteStmt")) return undefined;
  const relation = node.fields["relation"] as { relname?: string } | undefined;
  return { kind: node.type === "UpdateStmt" ? "UPDATE" : "DELETE", table: String(relation?.relname ?? "").toLowerCase(), ...verdictOf(node) };
}

function factOf(node: PgNode, ordinal: number): SqlStatementFact {
  const kind = kindOf(node);
  const { tables, functions } = namesIn(node);
  return { ordinal, kind, tables, functions, where: verdictOf(node).verdict, writes: writes(node, kind), dialect: "postgres" };
}

/**
 * Every statement PostgreSQL reads in `sql`: each top-level one, plus every data-modifying
 * statement nested in it (a CTE's `DELETE … RETURNING`, the body of `EXPLAIN ANALYZE`, which runs
 * it) as a statement of its own, so a write never hides under a SELECT.
 */
export function readPostgres(sql: string): DialectReading {
  let tree: ReturnType<typeof parsePostgres>;
  try {
    tree = parsePostgres(sql);
  } catch (error) {
    return { statements: [], error: `PostgreSQL cannot parse it: ${(error as Error).message}` };
  }
  const statements: SqlStatementFact[] = [];
  const stmts = tree.stmts ?? [];
  if (stmts.length > MAX_SQL_STATEMENTS) return { statements, error: `more than ${MAX_SQL_STATEMENTS} statements` };
  for (const [index, raw] of stmts.entries()) {
    const top = unwrap(raw.stmt);
    if (!top) return { statements, error: "PostgreSQL returned a statement the kernel cannot read" };
    statements.push(factOf(top, index + 1));
    walk(raw.stmt, (node) => {
      if (node.fields === top.fields) return true;
      if (DATA_MODIFYING.has(node.type)) statements.push(factOf(node, index + 1));
      return true;
    });
  }
  if (statements.length === 0) return { statements, error: "no SQL statement (the text is empty or only comments)" };
  return { statements };
}
