import { createSqlAnalyzer, type SqlAnalyzer } from "./analyze.js";

/**
 * The process's analyzer for kernels without SQL configuration: dialect `any`, no schema. Loaded
 * when this module is first imported (PostgreSQL's and SQLite's parsers are WebAssembly, loaded
 * asynchronously), so enrichment stays synchronous everywhere after.
 */
export const DEFAULT_SQL_ANALYZER: SqlAnalyzer = await createSqlAnalyzer();
