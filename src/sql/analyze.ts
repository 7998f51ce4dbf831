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
}

/** Reads SQL text with the databases' own parsers into the facts the `sql` policy judges. */
export interface SqlAnalyzer {
  readonly dialect: SqlJudgement;
  /** The facts of `sql`, read as `dialect` (default: the analyzer's); never throws. */
  analyze(sql: string, dialect?: SqlJudgement): SqlFacts;
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
  return {
    dialect,
    analyze: (sql, asDialect = dialect) => analyzeWith(sqlite, sql, asDialect),
    close: () => sqlite.close(),
  };
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
