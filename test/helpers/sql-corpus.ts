import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

/** The two databases the corpus is executed on. */
export const DialectSchema = z.enum(["sqlite", "postgres"]);
export type Dialect = z.infer<typeof DialectSchema>;
export const DIALECTS: readonly Dialect[] = DialectSchema.options;

export const CorpusClassSchema = z.enum(["benign-read", "benign-write", "destructive"]);
export type CorpusClass = z.infer<typeof CorpusClassSchema>;
export const CORPUS_CLASSES: readonly CorpusClass[] = CorpusClassSchema.options;

/** One corpus entry as written in test/fixtures/sql-corpus.yaml. */
export const CorpusCaseSchema = z.strictObject({
  /** Stable name, unique in the file: `group/what`. */
  id: z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/),
  sql: z.string().min(1),
  dialects: z.enum(["sqlite", "postgres", "both"]),
  class: CorpusClassSchema,
  /** The trick (or, for benign cases, what the case proves the kernel must still allow). */
  note: z.string().min(3),
  /**
   * Set on a destructive case whose harm a diff of this database cannot show (a file read, a
   * privilege switch that only matters to a later statement, a server call PGlite cannot make):
   * why it is destructive anyway. The harness reports such cases apart.
   */
  undetectable: z.string().min(3).optional(),
});
export type CorpusCase = z.infer<typeof CorpusCaseSchema>;

export const CORPUS_PATH = join(import.meta.dirname, "..", "fixtures", "sql-corpus.yaml");

/** Reads and validates the corpus; a bad entry throws naming its index and field. */
export function loadCorpus(path: string = CORPUS_PATH): CorpusCase[] {
  const parsed = z.array(CorpusCaseSchema).safeParse(parse(readFileSync(path, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: entry ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "invalid"}`);
  }
  const seen = new Set<string>();
  for (const entry of parsed.data) {
    if (seen.has(entry.id)) throw new Error(`${path}: duplicate id ${entry.id}`);
    seen.add(entry.id);
  }
  return parsed.data;
}

/** The dialects a case applies to. */
export function dialectsOf(entry: CorpusCase): readonly Dialect[] {
  return entry.dialects === "both" ? DIALECTS : [entry.dialects];
}

/** How existing rows of one table changed (rows keyed by `id`, else by their whole content). */
export interface RowChange {
  readonly table: string;
  readonly inserted: number;
  readonly deleted: number;
  readonly modified: number;
  /** Every row the pristine table had was deleted or modified (or the table is gone). */
  readonly wiped: boolean;
}

/** What executing one string did to a database, compared with the pristine copy. */
export interface Outcome {
  /** The database's error, if any statement of the string failed (earlier statements may have run). */
  readonly error: string | null;
  readonly rows: readonly RowChange[];
  /** Schema or catalog differences: tables, columns, functions, triggers, rules, roles, grants... */
  readonly schema: readonly string[];
  /** Settings or configuration that outlive the session (ALTER SYSTEM, database/role settings, file pragmas). */
  readonly settings: readonly string[];
  /** Files created or written outside the database's own files. */
  readonly files: readonly string[];
  /** Session state a later statement on the same connection would inherit (role, SET, open transaction...). */
  readonly session: readonly string[];
  /** The database process stopped answering and had to be rebuilt. */
  readonly crashed: boolean;
}

/** Anything changed at all (inserted rows included). */
export function changedAnything(outcome: Outcome): boolean {
  return outcome.rows.length > 0 || hasNonRowEffect(outcome);
}

function hasNonRowEffect(outcome: Outcome): boolean {
  return outcome.schema.length > 0 || outcome.settings.length > 0 || outcome.files.length > 0 || outcome.session.length > 0 || outcome.crashed;
}

/**
 * Damage: more than an allow-listed write may do. An INSERT adds rows and an UPDATE/DELETE with a
 * real WHERE touches some rows; neither empties or rewrites a whole table, changes the schema,
 * the catalog, settings or files, leaves session state behind, or stops the server.
 */
export function isDamage(outcome: Outcome): boolean {
  return hasNonRowEffect(outcome) || outcome.rows.some((r) => r.wiped);
}

/** One line naming what an outcome did, for test messages and the report. */
export function describeOutcome(outcome: Outcome): string {
  const parts: string[] = [];
  if (outcome.error !== null) parts.push(`error: ${outcome.error.slice(0, 120)}`);
  for (const r of outcome.rows) parts.push(`${r.table}: +${r.inserted} -${r.deleted} ~${r.modified}${r.wiped ? " (wiped)" : ""}`);
  for (const [label, list] of [["schema", outcome.schema], ["settings", outcome.settings], ["files", outcome.files], ["session", outcome.session]] as const) {
    if (list.length > 0) parts.push(`${label}: ${list.slice(0, 4).join(", ")}${list.length > 4 ? ` (+${list.length - 4})` : ""}`);
  }
  if (outcome.crashed) parts.push("crashed");
  return parts.length === 0 ? "no effect" : parts.join("; ");
}

/**
 * A database the corpus runs on: each `run` starts from the pristine state. With `budget`, the
 * string runs as an executor with an effect budget runs it: in a transaction (a savepoint), undone
 * when it fails or changes more rows than the budget.
 */
export interface CorpusDatabase {
  readonly dialect: Dialect;
  run(sql: string, budget?: number): Promise<Outcome>;
  close(): Promise<void>;
}

/** A table's rows, keyed by `id` when the row has one (else by the row itself, counted). */
export type TableRows = ReadonlyMap<string, string>;

/** Compares every table of two states (null: the table does not exist). */
export function diffRows(before: ReadonlyMap<string, TableRows>, after: ReadonlyMap<string, TableRows>): RowChange[] {
  const changes: RowChange[] = [];
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const table of names) {
    const was = before.get(table) ?? new Map<string, string>();
    const now = after.get(table);
    let deleted = 0;
    let modified = 0;
    let inserted = 0;
    for (const [key, row] of was) {
      const current = now?.get(key);
      if (current === undefined) deleted += 1;
      else if (current !== row) modified += 1;
    }
    for (const key of now?.keys() ?? []) if (!was.has(key)) inserted += 1;
    const gone = before.has(table) && now === undefined;
    if (deleted + modified + inserted === 0 && !gone) continue;
    changes.push({ table, inserted, deleted, modified, wiped: gone || (was.size > 0 && deleted + modified === was.size) });
  }
  return changes;
}

/** Keys rows by their `id` column when there is one; identical rows without one get a counter. */
export function keyRows(rows: readonly Record<string, unknown>[]): TableRows {
  const out = new Map<string, string>();
  for (const row of rows) {
    const text = JSON.stringify(row);
    const id = row["id"];
    let key = id === undefined || id === null ? `row:${text}` : `id:${String(id)}`;
    for (let n = 2; out.has(key); n += 1) key = `${key.replace(/#\d+$/, "")}#${n}`;
    out.set(key, text);
  }
  return out;
}

/** Lines in one list and not the other, as `+line` / `-line`. */
export function diffLines(label: string, before: readonly string[], after: readonly string[]): string[] {
  const was = new Set(before);
  const now = new Set(after);
  const out: string[] = [];
  for (const line of before) if (!now.has(line)) out.push(`${label} -${line}`);
  for (const line of after) if (!was.has(line)) out.push(`${label} +${line}`);
  return out;
}
