import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import initSqlJs, { type SqlJsStatic } from "sql.js";

let loading: Promise<SqlJsStatic> | undefined;

/**
 * Loads sql.js (SQLite compiled to Wasm) once per process. The Wasm file is read from the
 * installed package, never fetched, so the demo runs offline.
 */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (!loading) {
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve("sql.js"));
    loading = initSqlJs({ locateFile: (file: string) => join(dist, file) });
  }
  return loading;
}
