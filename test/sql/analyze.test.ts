import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_MAX_SQL_LENGTH, createSqlAnalyzer, type SqlAnalyzer } from "../../src/sql/analyze.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { DEFAULT_SQL_ANALYZER } from "../../src/sql/default-analyzer.js";
import { MAX_SQL_STATEMENTS } from "../../src/sql/reading.js";
import { SqlFactsSchema, type SqlFacts } from "../../src/schemas.js";

/** A statement as `D1:KIND/where!` (D the dialect's initial, ! when it writes), for compact expectations. */
function summary(facts: SqlFacts): string[] | string {
  if (facts.error !== undefined) return `error: ${facts.error}`;
  return facts.statements.map((s) => `${s.dialect[0]}${s.ordinal}:${s.kind}${s.where === null ? "" : `/${s.where}`}${s.writes ? "!" : ""}`);
}

const analyzers: SqlAnalyzer[] = [];
afterAll(() => analyzers.forEach((a) => a.close()));

describe("SQL read by PostgreSQL's parser", () => {
  const pg = (sql: string) => summary(DEFAULT_SQL_ANALYZER.analyze(sql, "postgres"));

  it.each([
    ["SELECT name FROM users WHERE id = 42", ["p1:SELECT"]],
    ["SELECT 1; DROP TABLE users", ["p1:SELECT", "p2:DROP TABLE!"]],
    ["WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d", ["p1:SELECT", "p1:DELETE/none!"]],
    ["EXPLAIN ANALYZE DELETE FROM users", ["p1:EXPLAIN ANALYZE!", "p1:DELETE/none!"]],
    ["EXPLAIN SELECT 1", ["p1:EXPLAIN"]],
    ["INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2", ["p1:UPSERT!"]],
    ["MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", ["p1:MERGE!"]],
    ["DO 'BEGIN DROP TABLE users; END'", ["p1:DO!"]],
    ["PREPARE p AS DELETE FROM users; EXECUTE p", ["p1:PREPARE!", "p1:DELETE/none!", "p2:EXECUTE!"]],
    ["COPY users TO PROGRAM 'rm -rf /'", ["p1:COPY!"]],
    ["CREATE GROUP admins SUPERUSER", ["p1:CREATE GROUP!"]],
    ["SET ROLE postgres; SET SESSION AUTHORIZATION postgres", ["p1:SET!", "p2:SET!"]],
    ["SELECT * FROM users FOR UPDATE", ["p1:SELECT!"]],
    ["SELECT * INTO copy FROM users", ["p1:SELECT INTO!"]],
    ["WITH merge AS (SELECT 1) SELECT * FROM merge", ["p1:SELECT"]],
    ["SELECT 'DROP TABLE x; DELETE FROM y' AS \"where\" -- DELETE", ["p1:SELECT"]],
  ])("%s", (sql, expected) => {
    expect(pg(sql)).toEqual(expected);
  });

  it("names tables (schema-qualified) and functions, sorted", () => {
    const [stmt] = DEFAULT_SQL_ANALYZER.analyze("SELECT lower(u.name), pg_catalog.pg_read_file('x') FROM public.users u JOIN orders o ON o.user_id = u.id", "postgres").statements;
    expect(stmt?.tables).toEqual(["orders", "public.users"]);
    expect(stmt?.functions).toEqual(["lower", "pg_catalog.pg_read_file"]);
  });

  it("says why text does not parse", () => {
    expect(pg("SELECT 'unterminated")).toMatch(/^error: PostgreSQL cannot parse it: unterminated quoted string/);
    expect(pg("   -- only a comment")).toBe("error: no SQL statement (the text is empty or only comments)");
  });
});

describe("WHERE verdicts (constant folding on the parse tree)", () => {
  const where = (condition: string, table = "users u") => DEFAULT_SQL_ANALYZER.analyze(`DELETE FROM ${table} WHERE ${condition}`, "postgres").statements[0]?.where;

  it.each([
    "1=1", "true", "id = 5 OR 1", "id = id", "u.id = users.id", "u.id = id", "NOT false", "name IS NOT NULL", "EXISTS (SELECT 1)",
    "name LIKE '%'", "name ILIKE '%%'", "name ~ '.*'", "1 IN (1)", "coalesce(1, 1) = 1", "'a' = 'a'", "2 > 1", "lower(name) = lower(name)",
    "(SELECT count(*) FROM orders) > 0", "id IN (id)", "id IS NOT DISTINCT FROM id", "id = 5 OR random() < 2",
  ])("%s matches every row", (condition) => {
    expect(where(condition)).toBe("tautology");
  });

  it.each([
    "id = 7", "id = 7 AND 1 = 1", "name IS NULL", "id IN (1, 2, 3)", "id BETWEEN 1 AND 10", "name LIKE 'a%'", "1 = 0", "false", "id <> id",
    "EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)", "id IN (SELECT user_id FROM orders WHERE status = 'open')",
  ])("%s restricts", (condition) => {
    expect(where(condition)).toBe("restricting");
  });

  it("an unqualified column of a joined statement is not taken for the target's", () => {
    expect(DEFAULT_SQL_ANALYZER.analyze("DELETE FROM users u USING orders o WHERE status = 'x'", "postgres").statements[0]?.where).toBe("tautology");
    expect(DEFAULT_SQL_ANALYZER.analyze("DELETE FROM users u USING orders o WHERE o.user_id = u.id", "postgres").statements[0]?.where).toBe("restricting");
  });

  it("no WHERE, and WHERE CURRENT OF", () => {
    expect(where("CURRENT OF c")).toBe("unknown");
    expect(DEFAULT_SQL_ANALYZER.analyze("UPDATE users SET a = 1", "postgres").statements[0]?.where).toBe("none");
  });
});

describe("SQL read by SQLite's compiler and authorizer", () => {
  const lite = (sql: string) => summary(DEFAULT_SQL_ANALYZER.analyze(sql, "sqlite"));

  it.each([
    ["SELECT name FROM users WHERE id = 42", ["s1:SELECT"]],
    // E'\' is no string to SQLite: the DROP is a statement of its own.
    ["SELECT E'\\' FROM (SELECT 1 AS E); DROP TABLE users; --'", ["s1:SELECT", "s2:DROP TABLE!"]],
    // SQLite ends a -- comment at a newline only: PostgreSQL sees a WHERE here, SQLite does not.
    ["DELETE FROM users -- \rWHERE id = 1", ["s1:DELETE/unknown!"]],
    ["DELETE FROM users WHERE id = 7", ["s1:DELETE/restricting!"]],
    ["DELETE FROM users WHERE 1", ["s1:DELETE/tautology!"]],
    ["UPDATE users SET name = 'x' WHERE id = id", ["s1:UPDATE/tautology!"]],
    ["REPLACE INTO users (id, name) VALUES (1, 'a')", ["s1:REPLACE!"]],
    ["INSERT OR REPLACE INTO users (id, name) VALUES (1, 'a')", ["s1:REPLACE!"]],
    ["INSERT INTO users (id, name) VALUES (1, 'a')", ["s1:INSERT!"]],
    ["INSERT INTO users (id, name) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET name = 'b'", ["s1:UPSERT!"]],
    // The PRAGMA is ignored while compiling (see below), so SQLite refuses the write to its catalog.
    ["PRAGMA writable_schema = 1; DELETE FROM sqlite_master WHERE type = 'table'", "error: SQLite cannot compile statement 2: table sqlite_master may not be modified"],
    ["ATTACH DATABASE '/tmp/x.db' AS x", ["s1:ATTACH!"]],
    ["VACUUM INTO '/tmp/copy.db'", ["s1:UNKNOWN!"]],
    ["CREATE TRIGGER t AFTER INSERT ON users BEGIN DELETE FROM orders; END", ["s1:CREATE TRIGGER!"]],
    ["BEGIN; DELETE FROM users WHERE id = 1; COMMIT", ["s1:TRANSACTION!", "s2:DELETE/restricting!", "s3:TRANSACTION!"]],
    ["EXPLAIN DELETE FROM users", ["s1:EXPLAIN"]],
    ["SELECT \"drop\" FROM t /* TRUNCATE t */ WHERE id = 1 -- GRANT ALL", ["s1:SELECT"]],
  ])("%s", (sql, expected) => {
    expect(lite(sql)).toEqual(expected);
  });

  it("does not count the catalog work of schema statements as touching the catalog", () => {
    expect(DEFAULT_SQL_ANALYZER.analyze("PRAGMA writable_schema = 1", "sqlite").statements[0]?.tables).toEqual([]);
    expect(DEFAULT_SQL_ANALYZER.analyze("DROP TABLE users", "sqlite").statements[0]?.tables).toEqual(["users"]);
    expect(DEFAULT_SQL_ANALYZER.analyze("SELECT name FROM sqlite_master", "sqlite").statements[0]?.tables).toEqual(["sqlite_master"]);
  });

  it("cannot compile what SQLite does not have: load_extension, PostgreSQL syntax", () => {
    expect(lite("SELECT load_extension('/tmp/evil.so')")).toBe("error: SQLite cannot compile statement 1: no such function: load_extension");
    expect(lite("TRUNCATE users")).toMatch(/^error: SQLite cannot compile statement 1: near "TRUNCATE": syntax error/);
  });

  it("compiles against a schema when given one, and a stub name never outlives the classifier's limits", async () => {
    const analyzer = await createSqlAnalyzer({ dialect: "sqlite", sqliteSchema: "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT UNIQUE)" });
    analyzers.push(analyzer);
    expect(summary(analyzer.analyze("INSERT INTO users (id, name) VALUES (1, 'a')"))).toEqual(["s1:INSERT!"]);
    expect(summary(analyzer.analyze("INSERT OR REPLACE INTO users (id, name) VALUES (1, 'a')"))).toEqual(["s1:REPLACE!"]);
    // A table the schema lacks is stubbed for classification; many invented names do not grow it without bound.
    for (let i = 0; i < 600; i++) expect(summary(analyzer.analyze(`SELECT c${i} FROM invented_${i}`))).toEqual(["s1:SELECT"]);
  });

  it("classifies each statement against the schema and its own stubs only: history never changes a verdict", async () => {
    const join = "SELECT a FROM t1 JOIN t2 ON t1.id = t2.id";
    const fresh = await createSqlAnalyzer({ dialect: "sqlite" });
    analyzers.push(fresh);
    const expected = JSON.stringify(fresh.analyze(join));
    const used = await createSqlAnalyzer({ dialect: "sqlite" });
    analyzers.push(used);
    // Earlier statements that would have left t1 and t2 both with a column a, had stubs persisted.
    used.analyze("SELECT a FROM t1");
    used.analyze("SELECT a FROM t2");
    used.analyze("INSERT INTO t1 (a, id) VALUES (1, 2); INSERT INTO t2 (a, id) VALUES (1, 2)");
    expect(JSON.stringify(used.analyze(join))).toBe(expected);
    expect(summary(JSON.parse(expected) as SqlFacts)).toEqual(["s1:SELECT"]);
  });

  it("remembers recent texts, frozen, with the facts a fresh analysis gives", async () => {
    const analyzer = await createSqlAnalyzer();
    analyzers.push(analyzer);
    const sql = "UPDATE orders SET status = 'shipped' WHERE id = 17";
    const first = analyzer.analyze(sql);
    expect(analyzer.analyze(sql)).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.statements) && first.statements.every(Object.isFrozen)).toBe(true);
    expect(first).toEqual(DEFAULT_SQL_ANALYZER.analyze(sql));
    // Per dialect: the same text read as PostgreSQL is other facts.
    expect(analyzer.analyze(sql, "postgres")).not.toBe(first);
  });

  it("an agent's PRAGMA is classified but never changes the classifier (SQLite applies flag pragmas while compiling)", async () => {
    const analyzer = await createSqlAnalyzer({ dialect: "sqlite" });
    analyzers.push(analyzer);
    const before = summary(analyzer.analyze("SELECT * FROM sqlite_evil"));
    expect(summary(analyzer.analyze("PRAGMA writable_schema = 1"))).toEqual(["s1:PRAGMA!"]);
    expect(summary(analyzer.analyze("PRAGMA case_sensitive_like = 1; PRAGMA writable_schema = ON"))).toEqual(["s1:PRAGMA!", "s2:PRAGMA!"]);
    // With writable_schema on, a stub named sqlite_evil could be made and the SELECT would compile.
    expect(summary(analyzer.analyze("SELECT * FROM sqlite_evil WHERE 1"))).toBe(before);
  });

  it("stubs hostile names safely: quotes, reserved names, deep nesting", () => {
    expect(lite('SELECT "x""y" FROM "we""ird"; SELECT * FROM "t;DROP TABLE users"')).toEqual(["s1:SELECT", "s2:SELECT"]);
    // SQLite reserves sqlite_* names: no stub can be made, so the statement does not compile and is denied.
    expect(lite("SELECT * FROM sqlite_evil")).toMatch(/^error: SQLite cannot compile statement 1: no such table: sqlite_evil/);
    // Deep nesting: PostgreSQL reads it, SQLite stops at its own recursion limit; neither crashes.
    expect(summary(DEFAULT_SQL_ANALYZER.analyze(`SELECT ${"(".repeat(5_000)}1${")".repeat(5_000)}`, "postgres"))).toEqual(["p1:SELECT"]);
    expect(lite(`SELECT ${"(".repeat(5_000)}1${")".repeat(5_000)}`)).toBe("error: SQLite cannot compile statement 1: Recursion limit");
  });

  it("rejects a schema that does not compile, at load", async () => {
    await expect(createSqlAnalyzer({ sqliteSchema: "CREATE TABLE (" })).rejects.toThrow(/policy_kernel.config.sql.sqlite_schema/);
  });
});

describe("the strictest reading wins (dialect any)", () => {
  it("lists both databases' statements, and any error", () => {
    expect(summary(DEFAULT_SQL_ANALYZER.analyze("DELETE FROM users -- \rWHERE id = 1"))).toEqual(["p1:DELETE/restricting!", "s1:DELETE/unknown!"]);
    expect(summary(DEFAULT_SQL_ANALYZER.analyze("PRAGMA writable_schema = 1"))).toMatch(/^error: PostgreSQL cannot parse it/);
    expect(summary(DEFAULT_SQL_ANALYZER.analyze("TRUNCATE users"))).toMatch(/^error: SQLite cannot compile/);
  });

  it("denies text longer than the length limit unparsed, and the limit is configuration", async () => {
    const long = `SELECT '${"x".repeat(DEFAULT_MAX_SQL_LENGTH)}'`;
    expect(summary(DEFAULT_SQL_ANALYZER.analyze(long))).toBe(`error: the SQL text is longer than ${DEFAULT_MAX_SQL_LENGTH} characters (sql.max_sql_length); it was not parsed`);
    const roomy = await createSqlAnalyzer({ maxSqlLength: 1_000_000 });
    analyzers.push(roomy);
    expect(roomy.analyze(long).error).toBeUndefined();
    const kernel = await createPolicyKernel({ data: { policy_kernel: { config: { sql: { max_sql_length: 10 } } } } });
    const decision = await kernel.evaluate({ agentId: "a", action: { type: "sql", sql: "SELECT 12345" } });
    kernel.close();
    expect(decision.violations.map((v) => v.description)).toEqual(["SQL could not be parsed: the SQL text is longer than 10 characters (sql.max_sql_length); it was not parsed"]);
    await expect(createPolicyKernel({ data: { policy_kernel: { config: { sql: { max_sql_length: 0 } } } } })).rejects.toThrow(/sql.max_sql_length/);
  });

  it("denies text with a NUL byte, after which both databases stop reading", () => {
    expect(summary(DEFAULT_SQL_ANALYZER.analyze("SELECT 1\u0000; DROP TABLE users"))).toBe("error: the SQL contains a NUL byte");
  });

  it("caps the statements and the names it reports", () => {
    expect(summary(DEFAULT_SQL_ANALYZER.analyze("SELECT 1;".repeat(MAX_SQL_STATEMENTS + 1), "postgres"))).toBe(`error: more than ${MAX_SQL_STATEMENTS} statements`);
    expect(summary(DEFAULT_SQL_ANALYZER.analyze("SELECT 1;".repeat(MAX_SQL_STATEMENTS + 1), "sqlite"))).toBe(`error: more than ${MAX_SQL_STATEMENTS} statements`);
    const wide = DEFAULT_SQL_ANALYZER.analyze(`SELECT ${Array.from({ length: 100 }, (_, i) => `f${i}(1)`).join(", ")}`, "postgres");
    expect(wide.statements[0]?.functions).toHaveLength(64);
  });

  it("is deterministic, never throws and always gives facts of the schema's shape", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), fc.constantFrom("any", "postgres", "sqlite" as const), (sql, dialect) => {
        const first = DEFAULT_SQL_ANALYZER.analyze(sql, dialect);
        expect(SqlFactsSchema.safeParse(first).success).toBe(true);
        expect(JSON.stringify(DEFAULT_SQL_ANALYZER.analyze(sql, dialect))).toBe(JSON.stringify(first));
        if (first.error !== undefined) expect(first.readOnly).toBe(false);
      }),
      { numRuns: 300, seed: 19 },
    );
  });
});
