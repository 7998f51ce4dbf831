import type { SqlFacts, SqlStatementFact } from "../schemas.js";

/**
 * Words accepted as the first word of a statement. A statement starting with anything
 * else is an `error`, so policies that deny on `facts.sql.error` fail closed on text the
 * kernel does not understand. Control-flow words (IF, WHILE, GO) are left out on purpose,
 * and BEGIN must start a transaction: a T-SQL/PL block can hide a DROP the facts would not show.
 */
export const SQL_STATEMENT_VERBS: ReadonlySet<string> = new Set([
  // data
  "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "WITH", "VALUES", "TABLE",
  // schema and privileges
  "CREATE", "DROP", "ALTER", "TRUNCATE", "RENAME", "COMMENT", "GRANT", "REVOKE", "DENY", "REASSIGN",
  "SECURITY", "REFRESH", "IMPORT",
  // transactions
  "BEGIN", "START", "COMMIT", "ROLLBACK", "END", "ABORT", "SAVEPOINT", "RELEASE",
  // prepared statements, procedures, cursors
  "PREPARE", "DEALLOCATE", "EXECUTE", "EXEC", "CALL", "DO", "DECLARE", "FETCH", "CLOSE", "MOVE",
  // session and introspection
  "SET", "RESET", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "USE", "PRAGMA", "ATTACH", "DETACH",
  "LISTEN", "NOTIFY", "UNLISTEN", "DISCARD",
  // maintenance, bulk I/O, locks
  "ANALYZE", "VACUUM", "REINDEX", "CLUSTER", "CHECKPOINT", "OPTIMIZE", "REPAIR", "CHECK", "FLUSH",
  "COPY", "LOAD", "LOCK", "UNLOCK", "KILL", "HANDLER", "INSTALL", "UNINSTALL",
]);

/** Beyond this many statements the text is an error: policy input must stay small. */
export const MAX_SQL_STATEMENTS = 256;

/** Longest kind/target copied into the facts, so one huge word cannot bloat the input. */
const MAX_FACT_WORD = 32;

/** Words between CREATE/DROP/ALTER and the object keyword (`CREATE OR REPLACE TEMP VIEW`). */
const TARGET_MODIFIERS: ReadonlySet<string> = new Set([
  "OR", "TEMP", "TEMPORARY", "UNIQUE", "IF", "NOT", "EXISTS", "GLOBAL", "LOCAL", "UNLOGGED",
  "MATERIALIZED", "RECURSIVE", "VIRTUAL", "FOREIGN", "CONSTRAINT", "CLUSTERED", "NONCLUSTERED",
  "FULLTEXT", "SPATIAL", "TRUSTED", "PROCEDURAL", "SECURE",
]);

/** Words allowed right after BEGIN; anything else is a T-SQL/PL block whose body we do not analyse. */
const BEGIN_TRANSACTION_WORDS: ReadonlySet<string> = new Set([
  "TRANSACTION", "TRAN", "WORK", "DEFERRED", "IMMEDIATE", "EXCLUSIVE", "ISOLATION", "READ", "NOT",
  "DISTRIBUTED",
]);

/** Main verbs that end the CTE list of a WITH statement. */
const WITH_MAIN_VERBS = ["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"] as const;

/**
 * Words that make a SELECT not read-only: data-modifying CTEs (`WITH d AS (DELETE …) SELECT`),
 * `SELECT … INTO`, `FOR UPDATE`, and T-SQL statements that follow without a `;`.
 * Grouped by length so the per-word check allocates nothing.
 */
const WRITE_WORDS_BY_LENGTH: readonly (readonly string[])[] = groupByLength([
  "INSERT", "UPDATE", "DELETE", "MERGE", "INTO", "DROP", "CREATE", "ALTER", "TRUNCATE", "GRANT",
  "REVOKE", "EXEC", "EXECUTE", "CALL", "COPY",
]);

function groupByLength(words: readonly string[]): string[][] {
  const out: string[][] = [];
  for (const word of words) {
    while (out.length <= word.length) out.push([]);
    out[word.length]?.push(word);
  }
  return out;
}

// Char codes used by the lexer.
const SINGLE_QUOTE = 39;
const DOUBLE_QUOTE = 34;
const BACKTICK = 96;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const SEMICOLON = 59;
const DASH = 45;
const SLASH = 47;
const STAR = 42;
const HASH = 35;
const DOLLAR = 36;
const BACKSLASH = 92;
const BANG = 33;
const DOT = 46;
const LF = 10;
const CR = 13;

/** What the next top-level word means for the current statement. */
const PHASE_NONE = 0;
const PHASE_TARGET = 1;
const PHASE_WITH_MAIN = 2;
const PHASE_AFTER_BEGIN = 3;

/** What the previous token was: after `.` or `AS` a word is a name (`t.where`, `1 AS where`), not a keyword. */
const PREV_OTHER = 0;
const PREV_DOT = 1;
const PREV_AS = 2;

function isLetterOrUnderscore(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isWordPart(c: number): boolean {
  return isLetterOrUnderscore(c) || isDigit(c) || c === DOLLAR;
}

/** Case-insensitive ASCII comparison of `sql[start, start+kw.length)` with an upper-case keyword. */
function eqKeyword(sql: string, start: number, kw: string): boolean {
  for (let k = 0; k < kw.length; k++) {
    let c = sql.charCodeAt(start + k);
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== kw.charCodeAt(k)) return false;
  }
  return true;
}

/** Upper-cases ASCII letters only, as SQL engines fold keywords (`ſelect` is not SELECT). */
function upperWord(sql: string, start: number, end: number): string {
  const raw = sql.slice(start, Math.min(end, start + MAX_FACT_WORD));
  let lower = false;
  for (let k = 0; k < raw.length; k++) {
    const c = raw.charCodeAt(k);
    if (c >= 128) return raw.replace(/[a-z]/g, (ch) => ch.toUpperCase());
    if (c >= 97 && c <= 122) lower = true;
  }
  return lower ? raw.toUpperCase() : raw;
}

/** `line L, column C` of an offset, computed only when an error is reported. */
function position(sql: string, at: number): string {
  let line = 1;
  let column = 1;
  for (let k = 0; k < at && k < sql.length; k++) {
    if (sql.charCodeAt(k) === LF) {
      line++;
      column = 1;
    } else column++;
  }
  return `line ${line}, column ${column}`;
}

interface Lexed {
  statements: SqlStatementFact[];
  /** Offset where each statement starts, to locate dialect differences. */
  starts: number[];
  error: string | undefined;
  readOnly: boolean;
  /** The text used a construct whose meaning differs between dialects (see analyzeSql). */
  dialectSensitive: boolean;
}

function lex(sql: string, mysql: boolean): Lexed {
  return new Lexer(sql, mysql).run();
}

/**
 * One pass over the text. `mysql` switches the constructs whose meaning differs in MySQL:
 * backslash escapes in '…' and "…", `#` comments, `--` comments only before whitespace,
 * non-nested block comments, `/*! … *\/` executable comments, `$` starting a name (no
 * dollar quotes), and `[` as plain punctuation. A class rather than closures: one
 * allocation per pass, and the per-token state lives in fields the JIT can keep in-object.
 */
class Lexer {
  private readonly n: number;
  private readonly statements: SqlStatementFact[] = [];
  private readonly starts: number[] = [];
  private error: string | undefined = undefined;
  private allReadOnly = true;
  private dialectSensitive = false;
  private stop = false;

  // State of the current statement.
  private started = false;
  private stmtStart = 0;
  private haveKind = false;
  private kind = "";
  private base = 0;
  private depth = 0;
  private phase = PHASE_NONE;
  private skipNextWord = false;
  private target = "";
  private hasWhere = false;
  private writes = false;
  private prev = PREV_OTHER;

  constructor(
    private readonly sql: string,
    private readonly mysql: boolean,
  ) {
    this.n = sql.length;
  }

  run(): Lexed {
    const { sql, n, mysql } = this;
    let i = 0;
    while (i < n && !this.stop) {
      const c = sql.charCodeAt(i);
      if (c <= 32) {
        i++;
        continue;
      }
      switch (c) {
        case SEMICOLON:
          this.endStatement(i);
          i++;
          continue;
        case OPEN_PAREN:
          this.begin(i);
          this.prev = PREV_OTHER;
          this.depth++;
          i++;
          continue;
        case CLOSE_PAREN:
          this.onOther(i);
          if (this.depth === 0) this.fail("unbalanced parentheses: ')' without a matching '('", i);
          else this.depth--;
          i++;
          continue;
        case SINGLE_QUOTE:
        case DOUBLE_QUOTE:
        case BACKTICK:
          i = this.quoted(i, c, mysql && c !== BACKTICK);
          continue;
        case OPEN_BRACKET:
          this.dialectSensitive = true;
          this.onOther(i);
          if (mysql) {
            i++;
            continue;
          }
          i = this.quoted(i, CLOSE_BRACKET, false);
          continue;
        case DASH:
          if (sql.charCodeAt(i + 1) === DASH) {
            // MySQL needs whitespace (or the end) after `--`; `1--1` is arithmetic there.
            const mysqlComment = i + 2 >= n || sql.charCodeAt(i + 2) <= 32;
            if (!mysqlComment) this.dialectSensitive = true;
            if (!mysql || mysqlComment) {
              i = this.skipLine(i + 2);
              continue;
            }
          }
          this.onOther(i);
          i++;
          continue;
        case HASH:
          this.dialectSensitive = true;
          if (mysql) {
            i = this.skipLine(i + 1);
            continue;
          }
          this.onOther(i);
          i++;
          continue;
        case SLASH:
          if (sql.charCodeAt(i + 1) !== STAR) {
            this.onOther(i);
            i++;
            continue;
          }
          i = mysql ? this.skipMysqlComment(i) : this.skipNestedComment(i);
          continue;
        case DOLLAR:
          i = mysql ? this.word(i) : this.dollar(i);
          continue;
        default:
          break;
      }
      if (isLetterOrUnderscore(c)) {
        i = this.word(i);
        continue;
      }
      if (isDigit(c) || (c === DOT && isDigit(sql.charCodeAt(i + 1)))) {
        // Numbers (1, 1.5e3, 0x1F) are never keywords.
        this.onOther(i);
        i++;
        while (i < n && (isWordPart(sql.charCodeAt(i)) || sql.charCodeAt(i) === DOT)) i++;
        continue;
      }
      this.onOther(i);
      i++;
    }
    if (!this.stop) this.endStatement(n);
    if (this.statements.length === 0 && this.error === undefined) {
      this.error = "no SQL statement (the text is empty or only comments)";
    }
    return {
      statements: this.statements,
      starts: this.starts,
      error: this.error,
      readOnly: this.error === undefined && this.allReadOnly && this.statements.length > 0,
      dialectSensitive: this.dialectSensitive,
    };
  }

  private fail(message: string, at: number): void {
    if (this.error === undefined) this.error = `${message} at ${position(this.sql, at)}`;
  }

  private begin(at: number): void {
    if (this.started) return;
    this.started = true;
    this.stmtStart = at;
  }

  private endStatement(at: number): void {
    if (!this.started) return;
    if (!this.haveKind) this.fail("statement does not start with a keyword", this.stmtStart);
    if (this.depth > 0) this.fail(`unbalanced parentheses: ${this.depth} '(' not closed`, at);
    if (this.statements.length >= MAX_SQL_STATEMENTS) {
      this.fail(`more than ${MAX_SQL_STATEMENTS} statements`, this.stmtStart);
      this.stop = true;
    } else {
      this.statements.push({ kind: this.kind, target: this.target, hasWhere: this.hasWhere });
      this.starts.push(this.stmtStart);
      if (this.kind !== "SELECT" || this.writes) this.allReadOnly = false;
    }
    this.started = false;
    this.haveKind = false;
    this.kind = "";
    this.base = 0;
    this.depth = 0;
    this.phase = PHASE_NONE;
    this.skipNextWord = false;
    this.target = "";
    this.hasWhere = false;
    this.writes = false;
    this.prev = PREV_OTHER;
  }

  /** Any token that is not a word and not `(`: ends the modifier run after CREATE/DROP/ALTER. */
  private onOther(at: number): void {
    this.begin(at);
    this.prev = this.sql.charCodeAt(at) === DOT ? PREV_DOT : PREV_OTHER;
    if (!this.haveKind) {
      this.haveKind = true;
      this.base = this.depth;
      this.fail("statement does not start with a keyword", at);
      return;
    }
    if (this.depth <= this.base && (this.phase === PHASE_TARGET || this.phase === PHASE_AFTER_BEGIN)) this.phase = PHASE_NONE;
  }

  /** Scans a word (or an E'…' string) starting at `i`; returns the offset after it. */
  private word(i: number): number {
    const { sql, n } = this;
    let k = i + 1;
    while (k < n && isWordPart(sql.charCodeAt(k))) k++;
    const c = sql.charCodeAt(i);
    if (k === i + 1 && (c === 69 || c === 101) && sql.charCodeAt(k) === SINGLE_QUOTE) {
      // E'…' escape string: backslash escapes in every dialect.
      this.onOther(i);
      const end = this.skipQuoted(k, SINGLE_QUOTE, true);
      if (end === -1) {
        this.fail("unterminated string literal starting", i);
        return n;
      }
      return end;
    }
    this.onWord(i, k);
    return k;
  }

  private onWord(start: number, end: number): void {
    const sql = this.sql;
    this.begin(start);
    const len = end - start;
    const isName = this.prev !== PREV_OTHER;
    this.prev = len === 2 && eqKeyword(sql, start, "AS") ? PREV_AS : PREV_OTHER;
    if (!this.haveKind) {
      this.haveKind = true;
      this.base = this.depth;
      const kind = upperWord(sql, start, end);
      this.kind = kind;
      if (!SQL_STATEMENT_VERBS.has(kind)) this.fail(`unknown statement verb "${kind}"`, start);
      else if (kind === "CREATE" || kind === "DROP" || kind === "ALTER") this.phase = PHASE_TARGET;
      else if (kind === "WITH") this.phase = PHASE_WITH_MAIN;
      else if (kind === "BEGIN") this.phase = PHASE_AFTER_BEGIN;
      return;
    }
    if (this.depth <= this.base) {
      const phase = this.phase;
      if (phase === PHASE_TARGET) {
        if (this.skipNextWord) this.skipNextWord = false; // REPLACE / ALTER after OR
        else {
          const word = upperWord(sql, start, end);
          if (word === "OR") this.skipNextWord = true;
          else if (!TARGET_MODIFIERS.has(word)) {
            this.target = word;
            this.phase = PHASE_NONE;
          }
        }
      } else if (phase === PHASE_WITH_MAIN) {
        for (const verb of WITH_MAIN_VERBS) {
          if (len === verb.length && eqKeyword(sql, start, verb)) {
            this.kind = verb;
            this.phase = PHASE_NONE;
            break;
          }
        }
      } else if (phase === PHASE_AFTER_BEGIN) {
        this.phase = PHASE_NONE;
        const word = upperWord(sql, start, end);
        if (!BEGIN_TRANSACTION_WORDS.has(word)) {
          this.fail(`BEGIN followed by "${word}": BEGIN … END blocks are not analysed`, start);
        }
      }
      if (len === 5 && !isName && eqKeyword(sql, start, "WHERE")) this.hasWhere = true;
    }
    if (!this.writes) {
      const candidates = WRITE_WORDS_BY_LENGTH[len];
      if (candidates !== undefined) {
        for (const word of candidates) {
          if (eqKeyword(sql, start, word)) {
            // `INSERT(…)`, `REPLACE(…)`-style calls are functions, not statements.
            let k = end;
            while (k < this.n && sql.charCodeAt(k) <= 32) k++;
            if (sql.charCodeAt(k) !== OPEN_PAREN) this.writes = true;
            break;
          }
        }
      }
    }
  }

  /** A string literal or quoted identifier opened at `i` (closed by `close`); returns the offset after it. */
  private quoted(i: number, close: number, backslash: boolean): number {
    this.onOther(i);
    const end = this.skipQuoted(i, close, backslash);
    if (end !== -1) return end;
    this.fail(close === SINGLE_QUOTE ? "unterminated string literal starting" : "unterminated quoted identifier starting", i);
    return this.n;
  }

  /** Scans a quoted run from `open` (the quote); returns the offset after it, or -1 if unterminated. */
  private skipQuoted(open: number, quote: number, backslash: boolean): number {
    const sql = this.sql;
    if (!backslash) {
      const q = quote === SINGLE_QUOTE ? "'" : quote === DOUBLE_QUOTE ? '"' : quote === BACKTICK ? "`" : "]";
      let from = open + 1;
      for (;;) {
        const close = sql.indexOf(q, from);
        if (close === -1) return -1;
        if (sql.charCodeAt(close + 1) !== quote) return close + 1;
        from = close + 2; // doubled quote is an escaped quote
      }
    }
    let k = open + 1;
    while (k < this.n) {
      const c = sql.charCodeAt(k);
      if (c === BACKSLASH) k += 2;
      else if (c === quote) {
        if (sql.charCodeAt(k + 1) !== quote) return k + 1;
        k += 2;
      } else k++;
    }
    return -1;
  }

  /** Offset just after a line comment starting at `from` (ends at \n or \r, as in PostgreSQL). */
  private skipLine(from: number): number {
    const { sql, n } = this;
    let k = from;
    while (k < n) {
      const c = sql.charCodeAt(k);
      if (c === LF || c === CR) return k + 1;
      k++;
    }
    return n;
  }

  /**
   * PostgreSQL and SQL Server nest block comments. Only a nested `/*` or a `/*!` makes MySQL
   * read the comment differently, so only those ask for the second reading.
   */
  private skipNestedComment(i: number): number {
    const { sql, n } = this;
    const third = sql.charCodeAt(i + 2);
    if (third === BANG || (third === 77 && sql.charCodeAt(i + 3) === BANG)) this.dialectSensitive = true;
    let nest = 1;
    let k = i + 2;
    while (k < n) {
      const d = sql.charCodeAt(k);
      if (d === STAR && sql.charCodeAt(k + 1) === SLASH) {
        k += 2;
        if (--nest === 0) return k;
      } else if (d === SLASH && sql.charCodeAt(k + 1) === STAR) {
        k += 2;
        nest++;
        this.dialectSensitive = true;
      } else k++;
    }
    this.fail("unterminated block comment starting", i);
    return n;
  }

  /** MySQL block comments do not nest, and `/*! … *\/` (`/*M! … *\/`) is code MySQL/MariaDB runs. */
  private skipMysqlComment(i: number): number {
    const { sql, n } = this;
    const third = sql.charCodeAt(i + 2);
    const bang = third === BANG ? i + 2 : third === 77 && sql.charCodeAt(i + 3) === BANG ? i + 3 : -1;
    if (bang !== -1) {
      // Lex the content as SQL; the closing `*/` is then two punctuation tokens.
      let k = bang + 1;
      while (k < n && isDigit(sql.charCodeAt(k))) k++;
      return k;
    }
    const close = sql.indexOf("*/", i + 2);
    if (close === -1) {
      this.fail("unterminated block comment starting", i);
      return n;
    }
    return close + 2;
  }

  /**
   * `$$…$$` or `$tag$…$tag$`. Anything else (`$1`, `$where`) is read as one name, as MySQL
   * does: `DELETE FROM t $where` must not count as having a WHERE.
   */
  private dollar(i: number): number {
    const { sql, n } = this;
    let k = i + 1;
    if (sql.charCodeAt(k) !== DOLLAR && isLetterOrUnderscore(sql.charCodeAt(k))) {
      k++;
      while (k < n && (isLetterOrUnderscore(sql.charCodeAt(k)) || isDigit(sql.charCodeAt(k)))) k++;
    }
    if (sql.charCodeAt(k) !== DOLLAR) {
      let end = i + 1;
      while (end < n && isWordPart(sql.charCodeAt(end))) end++;
      this.onWord(i, end);
      return end;
    }
    this.onOther(i);
    this.dialectSensitive = true;
    const delimiter = sql.slice(i, k + 1);
    const close = sql.indexOf(delimiter, k + 1);
    if (close === -1) {
      this.fail("unterminated dollar-quoted string starting", i);
      return n;
    }
    return close + delimiter.length;
  }
}

function sameStatement(a: SqlStatementFact, b: SqlStatementFact): boolean {
  return a.kind === b.kind && a.target === b.target && a.hasWhere === b.hasWhere;
}

function facts(lexed: Lexed): SqlFacts {
  // Same key order as SqlFactsSchema in every branch, so the input JSON is byte-stable.
  if (lexed.error === undefined) return { statements: lexed.statements, readOnly: lexed.readOnly };
  return { statements: lexed.statements, error: lexed.error, readOnly: lexed.readOnly };
}

/**
 * Reads the text twice when it uses a construct that MySQL lexes differently from
 * PostgreSQL/SQLite/SQL Server (backslash escapes, `#`, `--`, block and executable comments,
 * `$`, `[`). The kernel does not know the target database, and each reading alone can hide a
 * statement the other executes (`SELECT 'a\''; DROP TABLE t; -- '`), so when the readings
 * disagree the facts carry the statements of both and an error.
 */
function combine(sql: string, std: Lexed, alt: Lexed): SqlFacts {
  let firstDifference = -1;
  const count = Math.max(std.statements.length, alt.statements.length);
  for (let k = 0; k < count; k++) {
    const a = std.statements[k];
    const b = alt.statements[k];
    if (a === undefined || b === undefined || !sameStatement(a, b)) {
      firstDifference = std.starts[k] ?? alt.starts[k] ?? 0;
      break;
    }
  }
  if (firstDifference === -1 && std.error === alt.error) {
    // Same statements; read-only only if both readings agree (`SELECT 1 /*!INTO OUTFILE 'f' */`).
    return facts(std.readOnly && !alt.readOnly ? { ...std, readOnly: false } : std);
  }
  const statements = std.statements.slice();
  for (const s of alt.statements) {
    if (statements.length >= MAX_SQL_STATEMENTS) break;
    if (!statements.some((t) => sameStatement(s, t))) statements.push(s);
  }
  const error =
    std.error ??
    (alt.error !== undefined
      ? `${alt.error} (when read with MySQL lexing rules)`
      : `ambiguous SQL: MySQL's lexing rules (backslash escapes, '#' and '--' comments, /*! */ code, $ in names) split it differently, from ${position(sql, Math.max(firstDifference, 0))}`);
  return { statements, error, readOnly: false };
}

/**
 * Splits SQL text into statements with their verb, DDL target and top-level WHERE; never throws.
 * On an error the statements read before it (and the partial one at the error) are still reported.
 */
export function analyzeSql(sql: string): SqlFacts {
  try {
    const std = lex(sql, false);
    if (!std.dialectSensitive && sql.indexOf("\\") === -1) return facts(std);
    return combine(sql, std, lex(sql, true));
  } catch (cause) {
    // Fail closed: a bug here must not let an action through as "read-only".
    return { statements: [], error: `internal error while analysing SQL: ${String(cause)}`, readOnly: false };
  }
}
