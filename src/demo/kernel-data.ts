import { mergeData } from "../kernel/merge.js";
import { DEMO_SCHEMA } from "./database.js";

/** The chainId prefix of every demo arm's trail (arm.ts): how `replay` knows a trail is the demo's. */
export const DEMO_CHAIN_PREFIX = "policy-kernel-demo/";

/**
 * The data every demo kernel is built with: the world is SQLite, so its SQL is judged as SQLite
 * reads it, against the world's schema; the caller's data (`train --data`) is merged over it.
 * `replay` builds the same data to decide a demo trail's decisions again.
 */
export function demoKernelData(given: Record<string, unknown> = {}): Record<string, unknown> {
  return mergeData({ policy_kernel: { config: { sql: { dialect: "sqlite", sqlite_schema: DEMO_SCHEMA } } } }, given);
}
