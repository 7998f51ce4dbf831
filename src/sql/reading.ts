import type { SqlStatementFact } from "../schemas.js";
import { compareCodeUnits } from "../values.js";

/** What one database's parser made of SQL text. */
export interface DialectReading {
  readonly statements: SqlStatementFact[];
  /** Why the text could not be read (the statements read before it are still listed). */
  readonly error?: string;
}

/** Beyond this many statements the text is an error: policy input must stay small. */
export const MAX_SQL_STATEMENTS = 256;
/** Names kept per statement list, and characters per name, so one statement cannot bloat the input. */
const MAX_NAMES = 64;
const MAX_NAME_LENGTH = 128;

/** A name set as the facts carry it: sorted by code unit, each name and the list capped. */
export function capped(values: Iterable<string>): string[] {
  const out = [...values].map((v) => v.slice(0, MAX_NAME_LENGTH)).sort(compareCodeUnits);
  return [...new Set(out)].slice(0, MAX_NAMES);
}
