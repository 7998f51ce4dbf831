import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MAX_SQL_STATEMENTS, SQL_STATEMENT_VERBS, analyzeSql } from "../../src/kernel/sql-facts.js";
import { SqlFactsSchema, type SqlFacts } from "../../src/schemas.js";

/**
 * One statement in short form: `KIND`, `KIND:TARGET`, with `+w` when it has a top-level WHERE
 * (`DROP:TABLE`, `DELETE+w`), so the table below stays readable.
 */
function short(facts: SqlFacts): string[] {
  return facts.statements.map((s) => `${s.kind}${s.target ? `:${s.target}` : ""}${s.hasWhere ? "+w" : ""}`);
}

interface Case {
  sql: string;
  statements: string[];
  readOnly?: boolean;
  /** Expected error; absent means no error. */
  error?: RegExp;
}

const cases: Case[] = [
  // splitting and kinds
  { sql: "SELECT 1", statements: ["SELECT"], readOnly: true },
  { sql: "select * from users where id = 1", statements: ["SELECT+w"], readOnly: true },
  { sql: "SELECT 1; DROP TABLE users", statements: ["SELECT", "DROP:TABLE"] },
  { sql: "drop   table\nusers", statements: ["DROP:TABLE"] },
  { sql: "\tSeLeCt\n*\r\nFrOm\tt\nWhErE\tx", statements: ["SELECT+w"], readOnly: true },
  { sql: "SELECT 1;;; ;", statements: ["SELECT"], readOnly: true },
  { sql: "  ;SELECT 1;\n", statements: ["SELECT"], readOnly: true },
  { sql: "BEGIN; UPDATE t SET a = 1 WHERE id = 2; COMMIT", statements: ["BEGIN", "UPDATE+w", "COMMIT"] },
  { sql: "TRUNCATE users", statements: ["TRUNCATE"] },
  { sql: "EXPLAIN SELECT 1", statements: ["EXPLAIN"] },
  { sql: "VALUES (1), (2)", statements: ["VALUES"] },
  { sql: "INSERT INTO t SELECT * FROM u WHERE a", statements: ["INSERT+w"] },
  { sql: "GRANT ALL ON t TO bob", statements: ["GRANT"] },
  { sql: "REVOKE ALL ON t FROM bob", statements: ["REVOKE"] },
  { sql: "(SELECT 1) UNION (SELECT 2)", statements: ["SELECT"], readOnly: true },
  { sql: "SELECT a FROM t WHERE b = $1", statements: ["SELECT+w"], readOnly: true },
  // WHERE only at the top level
  { sql: "DELETE FROM users", statements: ["DELETE"] },
  { sql: "DELETE FROM users WHERE id = 1", statements: ["DELETE+w"] },
  { sql: "DELETE FROM t WHERE id IN (SELECT id FROM u)", statements: ["DELETE+w"] },
  { sql: "UPDATE t SET a = (SELECT b FROM u WHERE u.id = t.id)", statements: ["UPDATE"] },
  { sql: "DELETE FROM t USING (SELECT 1 WHERE true) s", statements: ["DELETE"] },
  { sql: "DELETE FROM users RETURNING users.where", statements: ["DELETE"] },
  { sql: "DELETE FROM users RETURNING 1 AS where", statements: ["DELETE"] },
  { sql: "DELETE FROM users $where", statements: ["DELETE"] },
  { sql: "DELETE FROM t AS x /* c */ WHERE x.id = 1", statements: ["DELETE+w"] },
  // DDL targets
  { sql: "CREATE ROLE admin", statements: ["CREATE:ROLE"] },
  { sql: "CREATE USER bob", statements: ["CREATE:USER"] },
  { sql: "DROP TABLE IF EXISTS t", statements: ["DROP:TABLE"] },
  { sql: "CREATE UNIQUE INDEX i ON t (a)", statements: ["CREATE:INDEX"] },
  { sql: "CREATE OR REPLACE VIEW v AS SELECT 1", statements: ["CREATE:VIEW"] },
  { sql: "create temp table if not exists t (a int)", statements: ["CREATE:TABLE"] },
  { sql: "CREATE GLOBAL TEMPORARY TABLE t (a int)", statements: ["CREATE:TABLE"] },
  { sql: "CREATE OR ALTER PROCEDURE p AS SELECT 1", statements: ["CREATE:PROCEDURE"] },
  { sql: "DROP MATERIALIZED VIEW mv", statements: ["DROP:VIEW"] },
  { sql: "ALTER TABLE users DROP COLUMN email", statements: ["ALTER:TABLE"] },
  { sql: "DROP DATABASE prod", statements: ["DROP:DATABASE"] },
  { sql: "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1 $body$ LANGUAGE sql", statements: ["CREATE:FUNCTION"] },
  // WITH: the main verb
  { sql: "WITH x AS (SELECT 1) SELECT * FROM x", statements: ["SELECT"], readOnly: true },
  { sql: "WITH x AS (SELECT id FROM t WHERE a) DELETE FROM t", statements: ["DELETE"] },
  {
    sql: "WITH RECURSIVE r(n) AS (VALUES (1) UNION ALL SELECT n+1 FROM r WHERE n < 5) SELECT n FROM r",
    statements: ["SELECT"],
    readOnly: true,
  },
  // SELECTs that write are not read-only
  { sql: "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", statements: ["SELECT"], readOnly: false },
  { sql: "SELECT * INTO backup FROM users", statements: ["SELECT"], readOnly: false },
  { sql: "SELECT * FROM t FOR UPDATE", statements: ["SELECT"], readOnly: false },
  { sql: "SELECT 1 DROP TABLE users", statements: ["SELECT"], readOnly: false },
  { sql: "SELECT REPLACE(name, 'a', 'b'), INSERT (s, 1, 1, 'x') FROM t", statements: ["SELECT"], readOnly: true },
  // keywords inside literals, identifiers and comments never count
  { sql: "SELECT 'it''s; DROP TABLE x'", statements: ["SELECT"], readOnly: true },
  { sql: "SELECT * FROM notes WHERE body = 'DROP TABLE x'", statements: ["SELECT+w"], readOnly: true },
  { sql: "update users set a=1 -- where id=1", statements: ["UPDATE"] },
  { sql: "update users set a=1 /* where id=1 */", statements: ["UPDATE"] },
  {
    sql: "/* outer /* nested ; DROP */ still comment */ SELECT 1",
    statements: ["SELECT", "STILL"],
    error: /unknown statement verb "STILL" .*MySQL/,
  },
  { sql: 'SELECT "weird;name", "a""b; DROP" FROM t', statements: ["SELECT"], readOnly: true },
  { sql: "SELECT `drop;` FROM t", statements: ["SELECT"], readOnly: true },
  { sql: "SELECT [my col] FROM t", statements: ["SELECT"], readOnly: true },
  { sql: "SELECT [drop table] FROM t", statements: ["SELECT"], readOnly: false }, // MySQL reads DROP
  { sql: "SELECT 1 /*!50000 INTO OUTFILE '/tmp/x' */", statements: ["SELECT"], readOnly: false },
  { sql: "SELECT $$DROP TABLE x$$", statements: ["SELECT"], readOnly: true },
  { sql: "SELECT E'it\\'s; DROP TABLE x'", statements: ["SELECT"], readOnly: true },
  { sql: "SELECT 'C:\\temp\\x' AS path", statements: ["SELECT"], readOnly: true },
  // errors (statements read before the error are still reported)
  { sql: "SELECT 'unterminated", statements: ["SELECT"], error: /unterminated string literal .*line 1, column 8/ },
  { sql: 'SELECT "x', statements: ["SELECT"], error: /unterminated quoted identifier/ },
  { sql: "SELECT 1 /* never closed", statements: ["SELECT"], error: /unterminated block comment/ },
  { sql: "SELECT $tag$ never $tg$", statements: ["SELECT"], error: /unterminated dollar-quoted string/ },
  { sql: "SELECT (1", statements: ["SELECT"], error: /unbalanced parentheses/ },
  { sql: "SELECT 1)", statements: ["SELECT"], error: /unbalanced parentheses: '\)'/ },
  { sql: "SELECT (1; DROP TABLE x)", statements: ["SELECT", "DROP:TABLE"], error: /unbalanced parentheses/ },
  { sql: "hello world", statements: ["HELLO"], error: /unknown statement verb "HELLO" at line 1, column 1/ },
  { sql: "SELECT 1;\n  hello", statements: ["SELECT", "HELLO"], error: /line 2, column 3/ },
  { sql: "\u017Felect 1", statements: ["\u017FELECT"], error: /unknown statement verb/ },
  { sql: "123", statements: [""], error: /does not start with a keyword/ },
  { sql: "", statements: [], error: /no SQL statement/ },
  { sql: "  -- only a comment\n /* and another */ ;", statements: [], error: /no SQL statement/ },
  { sql: "SELECT 1; DROP TABLE x WHERE 'oops", statements: ["SELECT", "DROP:TABLE+w"], error: /unterminated string/ },
  { sql: "BEGIN DROP TABLE x; END", statements: ["BEGIN", "END"], error: /BEGIN followed by "DROP"/ },
  // text that MySQL splits differently: statements of both readings, and an error
  { sql: "SELECT 'a\\''; DROP TABLE t; -- '", statements: ["SELECT", "DROP:TABLE"], error: /ambiguous SQL/ },
  { sql: "SELECT 'it\\'s'", statements: ["SELECT"], error: /unterminated string literal/ },
  { sql: "SELECT 1 # ; DROP TABLE t", statements: ["SELECT", "DROP:TABLE"], error: /ambiguous SQL/ },
  { sql: "SELECT 1 --comment; DROP TABLE t", statements: ["SELECT", "DROP:TABLE"], error: /ambiguous SQL/ },
  { sql: "SELECT * FROM t /*!50000 ; DROP TABLE x */", statements: ["SELECT", "DROP:TABLE"], error: /ambiguous SQL/ },
  { sql: "SELECT $$ ; DROP TABLE t; $$", statements: ["SELECT", "DROP:TABLE", "$$"], error: /unknown statement verb "\$\$".*MySQL/ },
  { sql: "SELECT [x; drop] FROM t", statements: ["SELECT", "DROP"], error: /ambiguous SQL/ },
];

describe("analyzeSql: case table", () => {
  it("has at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)("$sql", ({ sql, statements, readOnly, error }) => {
    const facts = analyzeSql(sql);
    expect(short(facts)).toEqual(statements);
    if (error) {
      expect(facts.error).toMatch(error);
      expect(facts.readOnly).toBe(false);
    } else {
      expect(facts.error).toBeUndefined();
      expect(facts.readOnly).toBe(readOnly ?? false);
    }
    expect(SqlFactsSchema.safeParse(facts).success).toBe(true);
  });
});

describe("analyzeSql: limits and shape", () => {
  it("keeps the key order of SqlFactsSchema so the input JSON is byte-stable", () => {
    expect(Object.keys(analyzeSql("SELECT 1"))).toEqual(["statements", "readOnly"]);
    expect(Object.keys(analyzeSql("nope"))).toEqual(["statements", "error", "readOnly"]);
    expect(Object.keys(analyzeSql("SELECT 1 # x"))).toEqual(["statements", "readOnly"]);
  });

  it("caps the number of statements and the length of reported words", () => {
    const many = analyzeSql("SELECT 1;".repeat(MAX_SQL_STATEMENTS + 5));
    expect(many.statements).toHaveLength(MAX_SQL_STATEMENTS);
    expect(many.error).toMatch(/more than 256 statements/);
    const long = analyzeSql(`CREATE ${"x".repeat(10_000)}`);
    expect(long.statements[0]?.target).toHaveLength(32);
    expect(analyzeSql("y".repeat(10_000)).statements[0]?.kind).toHaveLength(32);
  });

  it("lists the documented verbs in upper case", () => {
    for (const verb of ["SELECT", "WITH", "DROP", "GRANT", "PRAGMA", "COPY", "TABLE", "DO"]) expect(SQL_STATEMENT_VERBS.has(verb)).toBe(true);
    for (const verb of SQL_STATEMENT_VERBS) {
      expect(verb).toBe(verb.toUpperCase());
      expect(analyzeSql(verb.toLowerCase()).statements[0]?.kind).toBe(verb);
    }
    for (const word of ["IF", "WHILE", "GO", "HELLO"]) expect(SQL_STATEMENT_VERBS.has(word)).toBe(false);
  });

  it("stays linear on pathological input", () => {
    const n = 200_000;
    const inputs = [
      "(".repeat(n),
      "/*".repeat(n),
      "'".repeat(n + 1),
      "$a".repeat(n),
      "$$".repeat(n) + "$",
      `SELECT ${"a, ".repeat(n)}b`,
      `SELECT ${"\\'".repeat(n)}`,
      `SELECT 1 ${"-- x\n".repeat(n)}`,
      `SELECT ${"INSERT".repeat(1)}${" ".repeat(n)}x`,
    ];
    const start = performance.now();
    for (const sql of inputs) analyzeSql(sql);
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});

const SQL_TOKENS = [
  "SELECT", "select", "DROP", "TABLE", "DELETE", "FROM", "WHERE", "UPDATE", "SET", "WITH", "AS", "CREATE",
  "INTO", "BEGIN", "x", "t", "1", "$1", " ", "\n", "\t", ";", ",", "(", ")", "'", "''", '"', "`", "[", "]",
  "--", "/*", "*/", "/*!", "#", "$$", "$tag$", "\\", "E'", "*", "=", ".", "\u017F", "\u00e9",
];
const sqlish = fc.array(fc.constantFrom(...SQL_TOKENS), { maxLength: 40 }).map((parts) => parts.join(""));

/** Payload that tries to smuggle statements; backslashes are left out on purpose (they are dialect-dependent). */
const DENY_TOKENS = ["DROP", "TABLE", "users", "DELETE", "FROM", "WHERE", "GRANT", ";", " ", "(", ")", "'", '"', "`", "--", "$$", "#", "x", "\t"];
const payload = fc.array(fc.constantFrom(...DENY_TOKENS), { maxLength: 20 }).map((parts) => parts.join(""));

const TEMPLATES = [
  "SELECT * FROM notes WHERE body = {S}",
  "UPDATE t SET a = {S} WHERE id = 1",
  "INSERT INTO t (a) VALUES ({S}); SELECT 1",
  "DELETE FROM t {C} WHERE id = 2",
  "SELECT 1 {C}",
  "WITH x AS (SELECT {S} AS v {C}) SELECT v FROM x",
  "CREATE {C} TABLE t (a text DEFAULT {S})",
];

function fill(template: string, literal: string, comment: string): string {
  return template.replace("{S}", literal).replace("{C}", comment);
}

describe("analyzeSql: properties", () => {
  it("never throws and always returns schema-valid facts on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ maxLength: 200 }), sqlish), (sql) => {
        const facts = analyzeSql(sql);
        expect(SqlFactsSchema.safeParse(facts).success).toBe(true);
        if (facts.readOnly) expect(facts.error).toBeUndefined();
        if (facts.error === undefined) expect(facts.statements.length).toBeGreaterThan(0);
        expect(facts.statements.length).toBeLessThanOrEqual(MAX_SQL_STATEMENTS);
        expect(facts.error ?? "").not.toMatch(/internal error/);
      }),
      { numRuns: 3000 },
    );
  });

  it("is deterministic", () => {
    fc.assert(
      fc.property(fc.oneof(sqlish, fc.string({ maxLength: 100 })), (sql) => {
        expect(JSON.stringify(analyzeSql(sql))).toBe(JSON.stringify(analyzeSql(sql)));
      }),
      { numRuns: 1000 },
    );
  });

  it("ignores deny keywords inside string literals and comments", () => {
    const comment = fc.oneof(
      payload.map((p) => `/* ${p} */`),
      payload.map((p) => `-- ${p}\n`),
    );
    fc.assert(
      fc.property(fc.constantFrom(...TEMPLATES), payload, comment, (template, inside, withComment) => {
        const baseline = analyzeSql(fill(template, "'x'", ""));
        expect(baseline.error).toBeUndefined();
        expect(analyzeSql(fill(template, `'${inside.replaceAll("'", "''")}'`, ""))).toEqual(baseline);
        expect(analyzeSql(fill(template, `E'${inside.replaceAll("'", "\\'")}'`, ""))).toEqual(baseline);
        expect(analyzeSql(fill(template, "'x'", withComment))).toEqual(baseline);
      }),
      { numRuns: 1000 },
    );
  });

  it("reports no more statements than top-level semicolons allow", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("SELECT 1", "DROP TABLE t", "DELETE FROM t WHERE a", "  "), { maxLength: 10 }), (parts) => {
        const facts = analyzeSql(parts.join(";"));
        expect(facts.statements.length).toBe(parts.filter((p) => p.trim() !== "").length);
      }),
    );
  });
});
