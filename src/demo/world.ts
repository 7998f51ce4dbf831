import type { SqlJsStatic } from "sql.js";
import { buildPristineDatabase, openDatabase, schemaVersion, snapshot, type DatabaseState } from "./database.js";
import { prepareReferences, readPersonalData, type PersonalData, type Reference } from "./judge.js";
import { loadSqlJs } from "./sql-engine.js";
import { buildTasks, type Task } from "./tasks.js";

/** Everything the episodes share: the pristine data, the tasks and what their references produce. */
export interface World {
  readonly SQL: SqlJsStatic;
  readonly pristine: Uint8Array;
  readonly pristineState: DatabaseState;
  /** PRAGMA schema_version of a fresh copy: grading skips the snapshot of a copy nothing changed. */
  readonly pristineSchemaVersion: number;
  readonly personal: PersonalData;
  readonly tasks: readonly Task[];
  readonly references: ReadonlyMap<string, Reference>;
}

/** Builds the demo world once per run (a few milliseconds). */
export async function createWorld(): Promise<World> {
  const SQL = await loadSqlJs();
  const pristine = buildPristineDatabase(SQL);
  const db = openDatabase(SQL, pristine);
  try {
    const tasks = buildTasks(db);
    return {
      SQL,
      pristine,
      pristineState: snapshot(db),
      pristineSchemaVersion: schemaVersion(db),
      personal: readPersonalData(db),
      tasks,
      references: prepareReferences(SQL, pristine, tasks),
    };
  } finally {
    db.close();
  }
}
