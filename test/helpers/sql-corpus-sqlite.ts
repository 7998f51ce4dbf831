import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Database, SqlJsStatic } from "sql.js";
import { buildPristineDatabase } from "../../src/demo/database.js";
import { executeAction } from "../../src/demo/executor.js";
import { errorMessage } from "../../src/errors.js";
import { diffLines, diffRows, keyRows, type CorpusDatabase, type Outcome, type TableRows } from "./sql-corpus.js";

const require = createRequire(import.meta.url);
const SQL_JS_ENTRY = require.resolve("sql.js");
const SQL_JS_WASM = join(dirname(SQL_JS_ENTRY), "sql-wasm.wasm");

/** Pragmas whose value is kept in the database file. */
const FILE_PRAGMAS = ["user_version", "application_id", "auto_vacuum", "page_size", "encoding", "schema_version", "quick_check"];
/** Pragmas a later statement on the same connection inherits. */
const SESSION_PRAGMAS = [
  "writable_schema", "foreign_keys", "recursive_triggers", "query_only", "trusted_schema", "defer_foreign_keys",
  "ignore_check_constraints", "reverse_unordered_selects", "legacy_alter_table", "journal_mode", "synchronous",
  "temp_store", "cache_size", "secure_delete", "automatic_index", "busy_timeout", "cell_size_check", "locking_mode",
  "max_page_count", "count_changes", "full_column_names", "short_column_names", "cache_spill", "analysis_limit",
];

/** O_WRONLY | O_RDWR and O_CREAT in Emscripten's open flags. */
const WRITE_FLAGS = 3;
const O_CREAT = 64;

interface Instance {
  readonly SQL: SqlJsStatic;
  /** Paths opened for writing or creation since the last `take()`. */
  readonly written: Set<string>;
}

let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * A fresh sql.js (the demo's SQLite) with its own in-memory file system. sql.js does not expose
 * that file system, so its open syscall is wrapped to record every path opened for writing:
 * ATTACH and VACUUM INTO to a computed path are seen too. A new instance per string that wrote a
 * file keeps one string's files out of the next.
 */
async function loadInstance(): Promise<Instance> {
  compiled ??= WebAssembly.compile(readFileSync(SQL_JS_WASM));
  const module = await compiled;
  // sql.js caches its init promise in the module closure: a fresh evaluation gives a fresh runtime.
  delete require.cache[SQL_JS_ENTRY];
  const initSqlJs = require(SQL_JS_ENTRY) as (config: Record<string, unknown>) => Promise<SqlJsStatic & { UTF8ToString(ptr: number): string }>;
  const written = new Set<string>();
  // Set once the runtime is up; the open syscall runs before that only for sql.js's own files.
  const reader: { read?: (ptr: number) => string } = {};
  let wrapped = 0;
  const SQL = await initSqlJs({
    instantiateWasm(imports: Record<string, Record<string, unknown>>, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      for (const table of Object.values(imports)) {
        for (const [name, fn] of Object.entries(table)) {
          // The open syscall: four parameters, returns the new stream's fd (minified names differ by build).
          if (typeof fn !== "function" || fn.length !== 4 || !/\.fd\}catch/.test(String(fn))) continue;
          const open = fn as (dir: number, path: number, flags: number, mode: number) => number;
          table[name] = (dir: number, path: number, flags: number, mode: number) => {
            if ((flags & WRITE_FLAGS) !== 0 || (flags & O_CREAT) !== 0) written.add(reader.read ? reader.read(path) : `#${path}`);
            return open(dir, path, flags, mode);
          };
          wrapped += 1;
        }
      }
      void WebAssembly.instantiate(module, imports as WebAssembly.Imports).then((instance) => done(instance, module));
      return {};
    },
  });
  if (wrapped !== 1) throw new Error(`sql.js harness: expected to wrap one open syscall, wrapped ${wrapped} (a new sql.js build?)`);
  reader.read = (ptr) => SQL.UTF8ToString(ptr);
  return { SQL, written };
}

interface SqliteState {
  readonly rows: Map<string, TableRows>;
  readonly schema: string[];
  readonly settings: string[];
  readonly session: string[];
}

function rowsOf(db: Database, sql: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const result of db.exec(sql)) {
    for (const values of result.values) out.push(Object.fromEntries(result.columns.map((c, i) => [c, values[i]])));
  }
  return out;
}

function pragma(db: Database, name: string): string {
  try {
    return `${name}=${rowsOf(db, `PRAGMA ${name}`).map((r) => Object.values(r).join("|")).join(",")}`;
  } catch (error) {
    return `${name}: ${errorMessage(error)}`;
  }
}

/** Everything the diff compares, read through the connection the string ran on (uncommitted work included). */
function readState(db: Database, mainFile: string): SqliteState {
  const rows = new Map<string, TableRows>();
  const schema: string[] = [];
  try {
    for (const entry of rowsOf(db, "SELECT type, name, tbl_name, sql FROM main.sqlite_master ORDER BY name")) {
      schema.push(`${String(entry["type"])} ${String(entry["name"])} on ${String(entry["tbl_name"])}: ${String(entry["sql"])}`);
      if (entry["type"] === "table") {
        const name = String(entry["name"]);
        try {
          rows.set(name, keyRows(rowsOf(db, `SELECT * FROM main."${name.replaceAll('"', '""')}"`)));
        } catch (error) {
          schema.push(`table ${name} unreadable: ${errorMessage(error)}`);
        }
      }
    }
  } catch (error) {
    schema.push(`schema unreadable: ${errorMessage(error)}`);
  }
  const session = SESSION_PRAGMAS.map((name) => pragma(db, name));
  try {
    for (const entry of rowsOf(db, "PRAGMA database_list")) {
      const file = String(entry["file"]).replace(/^\/+/, "") === mainFile.replace(/^\/+/, "") ? "<main>" : String(entry["file"]);
      session.push(`database ${String(entry["name"])} ${file}`);
    }
    for (const entry of rowsOf(db, "SELECT type, name, sql FROM temp.sqlite_master")) session.push(`temp ${String(entry["type"])} ${String(entry["name"])}`);
  } catch (error) {
    session.push(`session unreadable: ${errorMessage(error)}`);
  }
  return { rows, schema, settings: FILE_PRAGMAS.map((name) => pragma(db, name)), session };
}

/** Whether the string left a transaction open (BEGIN fails inside one). */
function inTransaction(db: Database): boolean {
  try {
    db.exec("BEGIN");
  } catch {
    return true;
  }
  db.exec("ROLLBACK");
  return false;
}

/** The demo's database on the demo's SQLite (sql.js): a fresh copy of the pristine bytes per string. */
export async function openSqliteCorpusDatabase(): Promise<CorpusDatabase> {
  let instance = await loadInstance();
  const pristineBytes = buildPristineDatabase(instance.SQL);
  const mainFileOf = (db: Database): string => String((db as unknown as { filename: string }).filename);
  const ownFile = (path: string, mainFile: string): boolean => {
    const base = path.replace(/^\/+/, "");
    return base === mainFile.replace(/^\/+/, "") || base.startsWith(`${mainFile.replace(/^\/+/, "")}-`) || /(^|\/)etilqs_/.test(path);
  };
  const baseline = (() => {
    const db = new instance.SQL.Database(pristineBytes);
    try {
      return readState(db, mainFileOf(db));
    } finally {
      db.close();
    }
  })();
  return {
    dialect: "sqlite",
    async run(sql: string, budget?: number): Promise<Outcome> {
      instance.written.clear();
      const db = new instance.SQL.Database(pristineBytes);
      const mainFile = mainFileOf(db);
      let error: string | null = null;
      if (budget !== undefined) {
        // Through the demo's own executor, with its effect budget.
        const execution = executeAction(db, { type: "sql", sql }, budget);
        error = execution.error ?? (execution.rolledBack ? `rolled back: ${execution.rolledBack.changed} rows changed` : null);
      } else {
        try {
          // As the demo's executor runs an allowed action: the whole string through exec.
          db.exec(sql);
        } catch (cause) {
          error = errorMessage(cause);
        }
      }
      const after = readState(db, mainFile);
      const session = diffLines("", baseline.session, after.session).map((line) => line.trim());
      if (inTransaction(db)) session.push("transaction left open");
      db.close();
      const files = [...instance.written].filter((path) => !ownFile(path, mainFile)).sort();
      if (files.length > 0) instance = await loadInstance();
      return {
        error,
        rows: diffRows(baseline.rows, after.rows),
        schema: diffLines("", baseline.schema, after.schema).map((line) => line.trim()),
        settings: diffLines("", baseline.settings, after.settings).map((line) => line.trim()),
        files,
        session,
        crashed: false,
      };
    },
    async close(): Promise<void> {},
  };
}
