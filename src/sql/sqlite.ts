import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import type { SqlStatementFact } from "../schemas.js";
import { readOneWrite } from "./postgres.js";
import { MAX_SQL_STATEMENTS, capped, type DialectReading } from "./reading.js";

// SQLite's own compiler classifies a statement: prepared (never run) on a private in-memory
// database with an authorizer callback, which SQLite calls for every table, column, function and
// operation the statement would touch. Codes from sqlite3.h.
const CREATE_INDEX = 1;
const CREATE_TABLE = 2;
const CREATE_TEMP_INDEX = 3;
const CREATE_TEMP_TABLE = 4;
const CREATE_TEMP_TRIGGER = 5;
const CREATE_TEMP_VIEW = 6;
const CREATE_TRIGGER = 7;
const CREATE_VIEW = 8;
const DELETE = 9;
const DROP_INDEX = 10;
const DROP_TABLE = 11;
const DROP_TEMP_INDEX = 12;
const DROP_TEMP_TABLE = 13;
const DROP_TEMP_TRIGGER = 14;
const DROP_TEMP_VIEW = 15;
const DROP_TRIGGER = 16;
const DROP_VIEW = 17;
const INSERT = 18;
const PRAGMA = 19;
const READ = 20;
const TRANSACTION = 22;
const UPDATE = 23;
const ATTACH = 24;
const DETACH = 25;
const ALTER_TABLE = 26;
const REINDEX = 27;
const ANALYZE = 28;
const CREATE_VTABLE = 29;
const DROP_VTABLE = 30;
const FUNCTION = 31;
const SAVEPOINT = 32;

/** Authorizer answers. */
const SQLITE_OK = 0;
const SQLITE_IGNORE = 2;

/** Operations that are a statement's kind by themselves (schema, settings, files, transactions). */
const KIND_OF_CODE: ReadonlyMap<number, string> = new Map([
  [CREATE_INDEX, "CREATE INDEX"],
  [CREATE_TABLE, "CREATE TABLE"],
  [CREATE_TEMP_INDEX, "CREATE INDEX"],
  [CREATE_TEMP_TABLE, "CREATE TABLE"],
  [CREATE_TEMP_TRIGGER, "CREATE TRIGGER"],
  [CREATE_TEMP_VIEW, "CREATE VIEW"],
  [CREATE_TRIGGER, "CREATE TRIGGER"],
  [CREATE_VIEW, "CREATE VIEW"],
  [DROP_INDEX, "DROP INDEX"],
  [DROP_TABLE, "DROP TABLE"],
  [DROP_TEMP_INDEX, "DROP INDEX"],
  [DROP_TEMP_TABLE, "DROP TABLE"],
  [DROP_TEMP_TRIGGER, "DROP TRIGGER"],
  [DROP_TEMP_VIEW, "DROP VIEW"],
  [DROP_TRIGGER, "DROP TRIGGER"],
  [DROP_VIEW, "DROP VIEW"],
  [PRAGMA, "PRAGMA"],
  [TRANSACTION, "TRANSACTION"],
  [ATTACH, "ATTACH"],
  [DETACH, "DETACH"],
  [ALTER_TABLE, "ALTER TABLE"],
  [REINDEX, "REINDEX"],
  [ANALYZE, "ANALYZE"],
  [CREATE_VTABLE, "CREATE VIRTUAL TABLE"],
  [DROP_VTABLE, "DROP VIRTUAL TABLE"],
  [SAVEPOINT, "SAVEPOINT"],
]);

/** SQLite's catalog, which every schema statement reads and writes itself. */
const SCHEMA_TABLES = new Set(["sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"]);

/** Opcodes of a program that removes rows: an INSERT compiled with them replaces existing rows. */
const ROW_REMOVING_OPCODES = new Set(["Delete", "IdxDelete", "Clear", "Destroy"]);

/** Unknown tables and columns stubbed in per statement before giving up. */
const MAX_STUBS_PER_STATEMENT = 64;
const STUB_SAVEPOINT = "policy_kernel_stubs";

/** One authorizer call: operation code, its two arguments and the trigger it came from (null at top level). */
interface Operation {
  readonly code: number;
  readonly first: string | null;
  readonly second: string | null;
  readonly trigger: string | null;
}

/** The part of SQLite's Wasm API the classifier uses (the package's own typings are partial). */
interface SqliteApi {
  readonly capi: {
    sqlite3_set_authorizer(db: number, callback: (userData: number, code: number, first: unknown, second: unknown, database: unknown, trigger: unknown) => number, userData: number): number;
    sqlite3_prepare_v3(db: number, sql: number, bytes: number, flags: number, statement: number, tail: number): number;
    sqlite3_finalize(statement: number): number;
    sqlite3_stmt_readonly(statement: number): number;
    sqlite3_stmt_isexplain(statement: number): number;
    sqlite3_errmsg(db: number): string;
    sqlite3_get_autocommit(db: number): number;
  };
  readonly wasm: {
    alloc(bytes: number): number;
    dealloc(pointer: number): void;
    heap8u(): Uint8Array;
    peekPtr(pointer: number): number;
    readonly pstack: { readonly pointer: number; restore(pointer: number): void; allocPtr(): number };
  };
  readonly oo1: { readonly DB: new (name: string) => SqliteDb };
}

interface SqliteDb {
  readonly pointer: number;
  exec(options: string | { sql: string; returnValue: "resultRows"; rowMode: "array" }): unknown;
  close(): void;
}

let loading: Promise<SqliteApi> | undefined;

/** Loads SQLite's official Wasm build once per process. */
export function loadSqlite(): Promise<SqliteApi> {
  const init = sqlite3InitModule as unknown as (options: object) => Promise<SqliteApi>;
  loading ??= init({ print: () => undefined, printErr: () => undefined });
  return loading;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Classifies SQL the way SQLite will run it. `schema` (DDL) makes the classifier's tables the
 * real ones; a table or column it does not know is stubbed in for the one statement (inside a
 * savepoint rolled back after it), since classification needs a statement that compiles.
 */
export class SqliteClassifier {
  readonly #api: SqliteApi;
  readonly #schema: string | undefined;
  readonly #db: SqliteDb;
  /** Stub columns made so far, for unique index names (stubs themselves never outlive their statement). */
  #stubColumns = 0;
  #operations: Operation[] = [];
  #collecting = false;

  private constructor(api: SqliteApi, schema: string | undefined) {
    this.#api = api;
    this.#schema = schema;
    this.#db = this.#open();
  }

  /** A classifier over `schema`; throws SQLite's error when the schema itself does not compile. */
  static async create(schema?: string): Promise<SqliteClassifier> {
    return new SqliteClassifier(await loadSqlite(), schema);
  }

  #open(): SqliteDb {
    const db = new this.#api.oo1.DB(":memory:");
    try {
      if (this.#schema !== undefined && this.#schema.trim() !== "") db.exec(this.#schema);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#api.capi.sqlite3_set_authorizer(
      db.pointer,
      (_userData, code, first, second, _database, trigger) => {
        if (!this.#collecting) return SQLITE_OK;
        // The binding passes a NULL char* as 0.
        this.#operations.push({ code, first: textOrNull(first), second: textOrNull(second), trigger: textOrNull(trigger) });
        // SQLite applies flag pragmas (writable_schema among them) while it compiles: ignored, the
        // agent's PRAGMA is still classified but can never change the classifier for what follows.
        return code === PRAGMA ? SQLITE_IGNORE : SQLITE_OK;
      },
      0,
    );
    return db;
  }

  /** Every statement SQLite reads in `sql`, split where SQLite splits it. */
  read(sql: string): DialectReading {
    const { wasm } = this.#api;
    const bytes = encoder.encode(sql);
    const text = wasm.alloc(bytes.length + 1);
    const stack = wasm.pstack.pointer;
    const statements: SqlStatementFact[] = [];
    try {
      wasm.heap8u().set(bytes, text);
      wasm.heap8u()[text + bytes.length] = 0;
      const statementOut = wasm.pstack.allocPtr();
      const tailOut = wasm.pstack.allocPtr();
      let offset = 0;
      while (offset < bytes.length) {
        const result = this.#statementAt(text, offset, bytes.length, statementOut, tailOut, statements.length + 1);
        if (typeof result === "string") return { statements, error: `SQLite cannot compile statement ${statements.length + 1}: ${result}` };
        if (result.fact) {
          if (statements.length >= MAX_SQL_STATEMENTS) return { statements, error: `more than ${MAX_SQL_STATEMENTS} statements` };
          statements.push(result.fact);
        }
        if (result.next <= offset) return { statements, error: "SQLite made no progress reading the text" };
        offset = result.next;
      }
    } finally {
      wasm.pstack.restore(stack);
      wasm.dealloc(text);
    }
    if (statements.length === 0) return { statements, error: "no SQL statement (the text is empty or only comments)" };
    return { statements };
  }

  /** Prepares the statement starting at byte `offset`, stubbing unknown names; its fact (none for a comment) and where the next starts. */
  #statementAt(text: number, offset: number, end: number, statementOut: number, tailOut: number, ordinal: number): { fact?: SqlStatementFact; next: number } | string {
    const { capi, wasm } = this.#api;
    const db = this.#db.pointer;
    // Stubs live inside a savepoint rolled back after the statement: each statement is classified
    // against the schema and its own stubs only, so the verdict never depends on what came before.
    const stubs: string[] = [];
    try {
      for (let attempt = 0; ; attempt++) {
        this.#operations = [];
        this.#collecting = true;
        const rc = capi.sqlite3_prepare_v3(db, text + offset, end - offset, 0, statementOut, tailOut);
        this.#collecting = false;
        const statement = wasm.peekPtr(statementOut);
        const next = wasm.peekPtr(tailOut) - text;
        if (rc !== 0) {
          const message = capi.sqlite3_errmsg(db);
          if (attempt >= MAX_STUBS_PER_STATEMENT) return message;
          if (stubs.length === 0 && attempt === 0) this.#db.exec(`SAVEPOINT ${STUB_SAVEPOINT}`);
          if (!this.#stub(message, stubs)) return message;
          continue;
        }
        if (statement === 0) return { next }; // only whitespace or comments
        try {
          const span = decoder.decode(wasm.heap8u().subarray(text + offset, text + next));
          return { fact: this.#classify(statement, span, ordinal), next };
        } finally {
          capi.sqlite3_finalize(statement);
        }
      }
    } finally {
      if (this.#inSavepoint()) this.#db.exec(`ROLLBACK TO ${STUB_SAVEPOINT}; RELEASE ${STUB_SAVEPOINT}`);
    }
  }

  #inSavepoint(): boolean {
    return this.#api.capi.sqlite3_get_autocommit(this.#db.pointer) === 0;
  }

  /**
   * Adds the table or column an error names to the classifier's database; false when the error is
   * not one a stub can fix (the statement then counts as one SQLite cannot compile).
   */
  #stub(message: string, stubs: string[]): boolean {
    const table = /^no such table: (?:(?:main|temp)\.)?(.+)$/.exec(message);
    if (table) {
      const name = table[1]!;
      try {
        this.#db.exec(`CREATE TABLE ${quote(name)} ("policy_kernel_stub")`);
      } catch {
        return false; // a reserved name (sqlite_…): the original error stands
      }
      stubs.push(name);
      return true;
    }
    const named = /^table (.+) has no column named (.+)$/.exec(message);
    if (named) return stubs.some((stub) => stub.toLowerCase() === unquote(named[1]!).toLowerCase()) && this.#addColumn(named[1]!, named[2]!);
    const column = /^no such column: (.+?)(?: - should this be a string literal in single-quotes\?)?$/.exec(message);
    if (!column) return false;
    const ref = unquote(column[1]!);
    const dot = ref.lastIndexOf(".");
    const name = dot === -1 ? ref : ref.slice(dot + 1);
    // Which stub the column belongs to is not in the error. A qualified one may name an alias, so
    // every stub of the statement gets it; an unqualified one goes to one stub only, or a join of
    // two stubs would make it ambiguous.
    const targets = dot === -1 ? stubs.filter((stub) => !this.#hasColumn(stub, name)).slice(0, 1) : stubs;
    let added = false;
    for (const target of targets) added = this.#addColumn(target, name) || added;
    return added;
  }

  #hasColumn(table: string, column: string): boolean {
    const rows = this.#db.exec({ sql: `SELECT name FROM pragma_table_info(${quoteString(table)})`, returnValue: "resultRows", rowMode: "array" }) as unknown[][];
    return rows.some((row) => String(row[0]).toLowerCase() === column.toLowerCase());
  }

  /**
   * Adds a stub column with a unique index, so an INSERT that would replace conflicting rows
   * (`REPLACE`, `OR REPLACE`, an upsert) compiles to the program that does, whatever the real
   * table's keys.
   */
  #addColumn(table: string, column: string): boolean {
    try {
      this.#db.exec(`ALTER TABLE ${quote(table)} ADD COLUMN ${quote(column)}`);
      this.#stubColumns++;
      this.#db.exec(`CREATE UNIQUE INDEX ${quote(`policy_kernel_stub_${this.#stubColumns}`)} ON ${quote(table)} (${quote(column)})`);
      return true;
    } catch {
      return false; // already there, or not a table: the original error stands
    }
  }

  #classify(statement: number, span: string, ordinal: number): SqlStatementFact {
    const { capi } = this.#api;
    const operations = this.#operations;
    const top = operations.filter((op) => op.trigger === null);
    const tables = new Set<string>();
    const functions = new Set<string>();
    for (const op of operations) {
      if (op.code === FUNCTION && op.second !== null) functions.add(op.second.toLowerCase());
      else if ((op.code === READ || op.code === INSERT || op.code === UPDATE || op.code === DELETE || KIND_OF_CODE.has(op.code)) && op.first !== null && op.code !== PRAGMA && op.code !== TRANSACTION && op.code !== ATTACH && op.code !== SAVEPOINT) {
        tables.add(op.first.toLowerCase());
      }
    }
    const base = { ordinal, tables: capped(tables), functions: capped(functions), dialect: "sqlite" as const };
    // EXPLAIN compiles the statement but SQLite never runs it.
    if (capi.sqlite3_stmt_isexplain(statement) !== 0) return { ...base, kind: "EXPLAIN", where: null, writes: false };
    for (const op of top) {
      const kind = KIND_OF_CODE.get(op.code);
      // Schema statements write SQLite's own catalog as a matter of course: that is not the agent touching it.
      if (kind !== undefined) return { ...base, tables: base.tables.filter((t) => !SCHEMA_TABLES.has(t)), kind, where: null, writes: true };
    }
    const has = (code: number) => top.some((op) => op.code === code);
    if (has(INSERT)) {
      const kind = has(UPDATE) ? "UPSERT" : this.#removesRows(span) ? "REPLACE" : "INSERT";
      return { ...base, kind, where: null, writes: true };
    }
    if (has(DELETE) || has(UPDATE)) return { ...base, ...this.#write(has(DELETE) ? "DELETE" : "UPDATE", span, top), writes: true };
    if (capi.sqlite3_stmt_readonly(statement) !== 0) return { ...base, kind: "SELECT", where: null, writes: false };
    // Compiles, writes, and told the authorizer nothing (VACUUM, among others): not classifiable.
    return { ...base, kind: "UNKNOWN", where: null, writes: true };
  }

  /**
   * An UPDATE/DELETE's WHERE verdict. SQLite has no parse tree to give, so PostgreSQL's parser reads
   * the statement SQLite delimited; the verdict stands only when both agree on the kind and table
   * and SQLite's authorizer saw the statement read every target column PostgreSQL's WHERE names
   * (`DELETE FROM t -- \rWHERE id = 1` is a WHERE to PostgreSQL, a comment to SQLite). Otherwise
   * the verdict is `unknown`, which the policy denies.
   */
  #write(kind: "UPDATE" | "DELETE", span: string, top: readonly Operation[]): Pick<SqlStatementFact, "kind" | "where"> {
    const target = top.find((op) => op.code === (kind === "DELETE" ? DELETE : UPDATE))?.first?.toLowerCase() ?? "";
    const reading = readOneWrite(span);
    if (!reading || reading.kind !== kind || reading.table !== target) return { kind, where: "unknown" };
    if (reading.verdict !== "restricting") return { kind, where: reading.verdict };
    const read = new Set(top.filter((op) => op.code === READ && op.first?.toLowerCase() === target && op.second !== null).map((op) => op.second!.toLowerCase()));
    for (const column of reading.columns) if (!read.has(column)) return { kind, where: "unknown" };
    return { kind, where: "restricting" };
  }

  /** Whether SQLite compiles an INSERT into a program that deletes rows (REPLACE, OR REPLACE). */
  #removesRows(span: string): boolean {
    try {
      const rows = this.#db.exec({ sql: `EXPLAIN ${span}`, returnValue: "resultRows", rowMode: "array" }) as unknown[][];
      return rows.some((row) => ROW_REMOVING_OPCODES.has(String(row[1])));
    } catch {
      return true; // cannot tell: assume it does
    }
  }

  /** Releases the classifier's database. */
  close(): void {
    this.#db.close();
  }
}

function textOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** `"name"` as SQLite's messages quote it, without the quotes. */
function unquote(name: string): string {
  return name.length >= 2 && name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
}

function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
