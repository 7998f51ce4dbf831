import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import { getOwn } from "../safe-json.js";
import { isPlainObject } from "../values.js";

// One schema per policy of the default library, checked at load against the configuration the
// policy will see (`data.policy_kernel.config.<name>` after every merge). A value of the wrong type
// does not fail in Rego or json-rules-engine: a comparison with a string or null is simply false,
// so the policy lets the action through. Hence every field is required and typed, and objects are
// strict (a misspelt key would otherwise leave the real one at its default, or missing).
// A new field of a built-in policy is added here, with the Rego or rule that reads it.

/** A leaf that must satisfy `check`; `expected` is how the error says what was wanted. */
function leaf<T>(expected: string, check: (value: unknown) => boolean): z.ZodType<T> {
  return z.custom<T>(check, { error: expected });
}

const isAmount = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v >= 0;
const amount = (): z.ZodType<number> => leaf<number>("a number >= 0", isAmount);
const count = (): z.ZodType<number> => leaf<number>("a whole number >= 0", (v) => Number.isSafeInteger(v) && (v as number) >= 0);
const minute = (max: number): z.ZodType<number> =>
  leaf<number>(`a whole number of minutes from 0 to ${max}`, (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max);
const name = (what: string): z.ZodType<string> => leaf<string>(what, (v) => typeof v === "string" && v.trim().length > 0);
const list = <T>(item: z.ZodType<T>, expected: string) => z.array(item, { error: expected });
const table = <T>(value: z.ZodType<T>, expected: string) =>
  z.record(z.string().min(1, { error: "a non-empty key" }), value, { error: expected });
const section = <S extends z.ZodRawShape>(shape: S, expected: string) => z.strictObject(shape, { error: expected });

/**
 * The `sql` policy's configuration: the allow-list of statement kinds, kinds and functions denied,
 * and what the kernel's SQL analysis reads (the dialect, SQLite's schema).
 */
export const SqlConfigSchema = section(
  {
    allow: list(name("a non-empty statement kind"), "a list of statement kinds such as SELECT"),
    deny: list(name("a non-empty statement kind"), "a list of statement kinds such as DELETE or DROP"),
    deny_functions: list(name("a non-empty function name"), "a list of function names"),
    deny_tables: list(name("a non-empty table name"), "a list of table names"),
    dialect: z.enum(["any", "postgres", "sqlite"], { error: "one of any, postgres, sqlite" }).optional(),
    sqlite_schema: leaf<string>("DDL text (CREATE TABLE statements)", (v) => typeof v === "string").optional(),
    max_sql_length: leaf<number>("a whole number of characters >= 1", (v) => Number.isSafeInteger(v) && (v as number) >= 1).optional(),
  },
  "an object {allow, deny, deny_functions, deny_tables, dialect?, sqlite_schema?, max_sql_length?}",
);
export type SqlConfig = z.infer<typeof SqlConfigSchema>;

export const CostConfigSchema = section({ max_cost_usd: amount() }, "an object {max_cost_usd}");
export type CostConfig = z.infer<typeof CostConfigSchema>;

export const ToolsConfigSchema = section(
  { allow: table(list(name("a non-empty tool name"), "a list of tool names"), "an object mapping each role to a list of tool names") },
  "an object {allow}",
);
export type ToolsConfig = z.infer<typeof ToolsConfigSchema>;

export const PiiConfigSchema = section({ internal_domains: list(name("a non-empty domain"), "a list of domains") }, "an object {internal_domains}");
export type PiiConfig = z.infer<typeof PiiConfigSchema>;

export const TransactionsConfigSchema = section(
  {
    approval_threshold_usd: amount(),
    default_limit_usd: amount(),
    role_limits: table(amount(), "an object mapping each role to a number >= 0"),
  },
  "an object {approval_threshold_usd, default_limit_usd, role_limits}",
);
export type TransactionsConfig = z.infer<typeof TransactionsConfigSchema>;

export const BusinessHoursConfigSchema = section(
  // A day has 1440 minutes; an end of 1440 is midnight at the end of the day.
  { start_minute_utc: minute(1439), end_minute_utc: minute(1440) },
  "an object {start_minute_utc, end_minute_utc}",
);
export type BusinessHoursConfig = z.infer<typeof BusinessHoursConfigSchema>;

export const RateLimitConfigSchema = section({ block_at: count(), warn_at: count() }, "an object {block_at, warn_at}");
export type RateLimitConfig = z.infer<typeof RateLimitConfigSchema>;

/** read_only reads no configuration; a section for it may only be empty. */
export const ReadOnlyConfigSchema = section({}, "an empty object (read_only takes no configuration)");
export type ReadOnlyConfig = z.infer<typeof ReadOnlyConfigSchema>;

/** The configuration schema of each built-in policy, by name; `optional` where the policy reads none. */
export const BUILTIN_POLICY_CONFIG: Readonly<Record<string, { readonly schema: z.ZodType; readonly optional?: boolean }>> = Object.freeze({
  business_hours: { schema: BusinessHoursConfigSchema },
  cost: { schema: CostConfigSchema },
  pii: { schema: PiiConfigSchema },
  rate_limit: { schema: RateLimitConfigSchema },
  read_only: { schema: ReadOnlyConfigSchema, optional: true },
  sql: { schema: SqlConfigSchema },
  tools: { schema: ToolsConfigSchema },
  transactions: { schema: TransactionsConfigSchema },
});

/** Where a configuration field came from, for the error: the last source that set it, or undefined. */
export type ConfigSourceOf = (path: readonly string[]) => string | undefined;

/**
 * Validates `config` (`data.policy_kernel.config`) for each of `policies` that is built in; throws
 * an "invalid_config" PolicyKernelError naming the source file when `sourceOf` knows it, the field
 * (`policy_kernel.config.transactions.role_limits.analyst`) and what was expected and found.
 */
export function validatePolicyConfig(config: Readonly<Record<string, unknown>>, policies: readonly string[], sourceOf: ConfigSourceOf = () => undefined): void {
  for (const policy of [...new Set(policies)].sort()) {
    const entry = Object.hasOwn(BUILTIN_POLICY_CONFIG, policy) ? BUILTIN_POLICY_CONFIG[policy] : undefined;
    if (!entry) continue;
    const value = getOwn(config, policy);
    if (value === undefined && entry.optional) continue;
    const result = entry.schema.safeParse(value);
    if (result.success) continue;
    const issue = result.error.issues[0]!;
    let path = [policy, ...issue.path.map(String)];
    let problem: string;
    if (issue.code === "unrecognized_keys") {
      path = [...path, issue.keys[0] ?? ""];
      const keys = keysOf(entry.schema, issue.path);
      problem = `unknown key (expected ${keys.length ? `one of ${keys.join(", ")}` : "no keys: the policy takes no configuration"})`;
    } else {
      problem = `expected ${issue.message}, got ${describeFound(value === undefined ? undefined : valueAt(value, issue.path))}`;
    }
    throw new PolicyKernelError("invalid_config", problem, { file: sourceOf(path), field: ["policy_kernel", "config", ...path].join(".") });
  }
}

/** The member of `value` at `path` (own members only), undefined where there is none. */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === "number") current = current[key];
    else if (isPlainObject(current) && typeof key === "string") current = getOwn(current, key);
    else return undefined;
  }
  return current;
}

/** "string \"500\"", "null", "number -1", "nothing (the field is missing)", "an array of 2"... */
export function describeFound(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

/** The keys an object schema takes, found by following `path` through the schema. */
function keysOf(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  for (const key of path) {
    const def = (current as { def?: { type?: string; shape?: Record<string, unknown>; valueType?: unknown; element?: unknown } }).def;
    if (def?.type === "object" && typeof key === "string") current = def.shape?.[key];
    else if (def?.type === "record") current = def.valueType;
    else if (def?.type === "array") current = def.element;
  }
  return Object.keys((current as { def?: { shape?: Record<string, unknown> } }).def?.shape ?? {});
}

/** One place configuration came from: its `data.policy_kernel.config` and the name to report. */
export interface ConfigLayer {
  readonly source: string;
  readonly config: unknown;
}

/**
 * A ConfigSourceOf over `layers`, highest precedence first: the layer holding the longest prefix
 * of the field's path (a missing field is blamed on whoever set its parent), earlier layers winning ties.
 */
export function configSources(layers: readonly ConfigLayer[]): ConfigSourceOf {
  return (path) => {
    for (let length = path.length; length > 0; length--) {
      const prefix = path.slice(0, length);
      const layer = layers.find((candidate) => valueAt(candidate.config, prefix) !== undefined);
      if (layer) return layer.source;
    }
    return undefined;
  };
}
