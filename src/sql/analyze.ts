import { PolicyKernelError, errorMessage } from "../errors.js";
import type { SqlDialect, SqlFacts, SqlStatementFact } from "../schemas.js";
import { loadPostgresParser, readPostgres } from "./postgres.js";
import type { DialectReading } from "./reading.js";
import { SqliteClassifier } from "./sqlite.js";

/** Which database's reading decides: one dialect, or `any` (every supported one; the strictest wins). */
export type SqlJudgement = SqlDialect | "any";

/** How a kernel reads SQL: its default dialect and, for SQLite, the schema statements compile against. */
export interface SqlAnalyzerOptions {
  readonly dialect?: SqlJudgement;
  /** DDL of the SQLite database the actions run on; unknown tables and columns are stubbed per statement. */
  readonly sqliteSchema?: string;
  /** Longer SQL text is denied unparsed (default DEFAULT_MAX_SQL_LENGTH). */
  readonly maxSqlLength?: number;
}

/**
 * Characters of SQL text the parsers read at most. Parsing is linear, but a long expression chain
 * costs about a second per megabyte in both parsers: an agent must not buy seconds per action.
 */
export const DEFAULT_MAX_SQL_LENGTH = 256 * 1024;

/** Reads SQL text with the databases' own parsers into the facts the `sql` policy judges. */
export interface SqlAnalyzer {
  readonly dialect: SqlJudgement;
  /** The facts of `sql`, read as `dialect` (default: the analyzer's); never throws. */
  analyze(sql: string, dialect?: SqlJudgement): SqlFacts;
  /** Frees the SQLite parser's Wasm memory; the analyzer cannot be used afterwards. */
  close(): void;
}

/**
 * Loads the parsers a kernel needs (PostgreSQL's, SQLite's) and returns its analyzer. Both are
 * loaded whatever the default dialect, since an action's context may name the other.
 */
export async function createSqlAnalyzer(options: SqlAnalyzerOptions = {}): Promise<SqlAnalyzer> {
  const dialect = options.dialect ?? "any";
  await loadPostgresParser();
  let sqlite: SqliteClassifier;
  try {
    sqlite = await SqliteClassifier.create(options.sqliteSchema);
  } catch (error) {
    throw new PolicyKernelError("invalid_config", `the SQLite schema does not compile: ${errorMessage(error)}`, {
      field: "policy_kernel.config.sql.sqlite_schema",
      expected: "CREATE TABLE statements SQLite accepts",
    });
  }
  const cache = new FactsCache();
  const maxLength = options.maxSqlLength ?? DEFAULT_MAX_SQL_LENGTH;
  return {
    dialect,
    analyze: (sql, asDialect = dialect) => {
      if (sql.length > maxLength) return tooLong(asDialect, maxLength);
      return cache.get(asDialect, sql) ?? cache.put(asDialect, sql, analyzeWith(sqlite, sql, asDialect));
    },
    close: () => sqlite.close(),
  };
}

/** Facts remembered per analyzer; an agent in training proposes the same statements over and over. */
const CACHE_ENTRIES = 4096;
/** Longer texts are analysed every time: caching them would let an agent fill memory. */
const CACHE_MAX_SQL = 16 * 1024;

/**
 * The facts of recent texts, least recently used out first. Sound because the analysis is a pure
 * function of (dialect, text) for one analyzer: each statement is classified against the schema
 * and its own stubs only. Cached facts are frozen, since every decision on the text shares them.
 */
class FactsCache {
  readonly #entries = new Map<string, SqlFacts>();

  get(dialect: SqlJudgement, sql: string): SqlFacts | undefined {
    if (sql.length > CACHE_MAX_SQL) return undefined;
    const key = `${dialect}\0${sql}`;
    const found = this.#entries.get(key);
    if (found === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, found);
    return found;
  }

  put(dialect: SqlJudgement, sql: string, facts: SqlFacts): SqlFacts {
    if (sql.length > CACHE_MAX_SQL) return facts;
    const frozen = deepFreeze(facts);
    this.#entries.set(`${dialect}\0${sql}`, frozen);
    if (this.#entries.size > CACHE_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    return frozen;
  }
}

function deepFreeze(facts: SqlFacts): SqlFacts {
  for (const statement of facts.statements) {
    Object.freeze(statement.tables);
    Object.freeze(statement.functions);
    Object.freeze(statement);
  }
  Object.freeze(facts.statements);
  return Object.freeze(facts);
}

function tooLong(dialect: SqlJudgement, maxLength: number): SqlFacts {
  return { dialect, statements: [], error: `the SQL text is longer than ${maxLength} characters (sql.max_sql_length); it was not parsed`, readOnly: false };
}

function analyzeWith(sqlite: SqliteClassifier, sql: string, dialect: SqlJudgement): SqlFacts {
  try {
    // Both databases take text as a C string: whatever follows a NUL is never read, by them or here.
    if (sql.includes("\0")) return { dialect, statements: [], error: "the SQL contains a NUL byte", readOnly: false };
    const readings: DialectReading[] = [];
    if (dialect !== "sqlite") readings.push(readPostgres(sql));
    if (dialect !== "postgres") readings.push(sqlite.read(sql));
    return combine(dialect, readings);
  } catch (error) {
    // Fail closed: a bug here must not let an action through as read-only.
    return { dialect, statements: [], error: `internal error while analysing SQL: ${errorMessage(error)}`, readOnly: false };
  }
}

/** Every reading's statements; the first error any reading met; read-only only when none writes. */
function combine(dialect: SqlJudgement, readings: readonly DialectReading[]): SqlFacts {
  const statements: SqlStatementFact[] = readings.flatMap((reading) => reading.statements);
  const failed = readings.find((reading) => reading.error !== undefined);
  // Each reading's error names its database ("PostgreSQL cannot parse it: …").
  if (failed?.error !== undefined) return { dialect, statements, error: failed.error, readOnly: false };
  return { dialect, statements, readOnly: statements.every((s) => !s.writes) };
}
