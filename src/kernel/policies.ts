import { z } from "zod";
import { optionsError } from "../options.js";

/**
 * One policy to switch on, with its configuration in the snake_case shape the Rego
 * policies and JSON rules read at `data.policy_kernel.config.<name>`.
 */
export interface PolicySpec {
  readonly name: string;
  readonly config: Record<string, unknown>;
  /** When true the config's lists are added to the default lists instead of replacing them. */
  readonly mergeLists?: boolean;
}

function parse<T extends z.ZodObject>(schema: T, options: unknown, helper: string): z.infer<T> {
  const result = schema.safeParse(options ?? {});
  if (!result.success) throw optionsError(result.error, helper, schema);
  return result.data;
}

const SqlOptionsSchema = z.strictObject({
  allow: z.array(z.string().min(1)).optional(),
  deny: z.array(z.string().min(1)).optional(),
  denyFunctions: z.array(z.string().min(1)).optional(),
  replaceDefaults: z.boolean().optional(),
  dialect: z.enum(["any", "postgres", "sqlite"]).optional(),
  sqliteSchema: z.string().optional(),
});

const kindName = (keyword: string) => keyword.trim().replace(/\s+/g, " ").toUpperCase();

/**
 * The `sql` policy, an allow-list of statement kinds (default SELECT, INSERT, UPDATE, DELETE).
 * `allow`, `deny` (kinds or families: "DELETE", "DROP") and `denyFunctions` ADD to the default
 * lists, so naming one never silently allows another; `replaceDefaults: true` makes them the whole
 * lists. `dialect` picks the database whose parser judges (default `any`: every one, strictest
 * wins) and `sqliteSchema` the DDL SQLite statements compile against.
 */
export function sqlPolicy(options?: z.input<typeof SqlOptionsSchema>): PolicySpec {
  const { allow, deny, denyFunctions, replaceDefaults, dialect, sqliteSchema } = parse(SqlOptionsSchema, options, "sqlPolicy");
  const config: Record<string, unknown> = {};
  if (allow) config["allow"] = allow.map(kindName);
  if (deny) config["deny"] = deny.map(kindName);
  if (denyFunctions) config["deny_functions"] = denyFunctions.map((name) => name.trim().toLowerCase());
  if (dialect) config["dialect"] = dialect;
  if (sqliteSchema !== undefined) config["sqlite_schema"] = sqliteSchema;
  return { name: "sql", config, mergeLists: !(replaceDefaults ?? false) };
}

const CostOptionsSchema = z.strictObject({ maxCostUsd: z.number().finite().nonnegative().optional() });

/** The `cost` policy: `context.costUsd + context.spentUsd` above `maxCostUsd` (default 100) is blocked. */
export function costControlPolicy(options?: z.input<typeof CostOptionsSchema>): PolicySpec {
  const { maxCostUsd } = parse(CostOptionsSchema, options, "costControlPolicy");
  return { name: "cost", config: maxCostUsd === undefined ? {} : { max_cost_usd: maxCostUsd } };
}

const ToolsOptionsSchema = z.strictObject({ allow: z.record(z.string(), z.array(z.string().min(1))).optional() });

/** The `tools` policy: `allow` maps a role to the tools it may call (replaces the role's list). */
export function toolsPolicy(options?: z.input<typeof ToolsOptionsSchema>): PolicySpec {
  const { allow } = parse(ToolsOptionsSchema, options, "toolsPolicy");
  return { name: "tools", config: allow ? { allow } : {} };
}

const PiiOptionsSchema = z.strictObject({ internalDomains: z.array(z.string().min(1)).optional() });

/** The `pii` policy: personal data sent outside `internalDomains` is blocked, inside it is warned. */
export function piiPolicy(options?: z.input<typeof PiiOptionsSchema>): PolicySpec {
  const { internalDomains } = parse(PiiOptionsSchema, options, "piiPolicy");
  return { name: "pii", config: internalDomains ? { internal_domains: internalDomains.map((d) => d.toLowerCase()) } : {} };
}

const TransactionOptionsSchema = z.strictObject({
  roleLimitsUsd: z.record(z.string(), z.number().finite().nonnegative()).optional(),
  defaultLimitUsd: z.number().finite().nonnegative().optional(),
  approvalThresholdUsd: z.number().finite().nonnegative().optional(),
});

/** The `transactions` policy: over the role's limit is blocked, over the approval threshold is held (SIGSTOP). */
export function transactionPolicy(options?: z.input<typeof TransactionOptionsSchema>): PolicySpec {
  const o = parse(TransactionOptionsSchema, options, "transactionPolicy");
  const config: Record<string, unknown> = {};
  if (o.roleLimitsUsd) config["role_limits"] = o.roleLimitsUsd;
  if (o.defaultLimitUsd !== undefined) config["default_limit_usd"] = o.defaultLimitUsd;
  if (o.approvalThresholdUsd !== undefined) config["approval_threshold_usd"] = o.approvalThresholdUsd;
  return { name: "transactions", config };
}

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time of day as HH:MM (UTC)");
const BusinessHoursOptionsSchema = z.strictObject({ startUtc: HHMM.optional(), endUtc: HHMM.optional() });

/** The `business_hours` policy: a transaction outside [startUtc, endUtc) (default 09:00–17:00 UTC) is warned. */
export function businessHoursPolicy(options?: z.input<typeof BusinessHoursOptionsSchema>): PolicySpec {
  const o = parse(BusinessHoursOptionsSchema, options, "businessHoursPolicy");
  const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const config: Record<string, unknown> = {};
  if (o.startUtc) config["start_minute_utc"] = minutes(o.startUtc);
  if (o.endUtc) config["end_minute_utc"] = minutes(o.endUtc);
  return { name: "business_hours", config };
}

const RateLimitOptionsSchema = z.strictObject({
  blockAt: z.number().int().positive().optional(),
  warnAt: z.number().int().positive().optional(),
});

/** The `rate_limit` JSON policy: `context.actionsInWindow` at `blockAt` (50) is blocked, at `warnAt` (40) warned. */
export function rateLimitPolicy(options?: z.input<typeof RateLimitOptionsSchema>): PolicySpec {
  const o = parse(RateLimitOptionsSchema, options, "rateLimitPolicy");
  const config: Record<string, unknown> = {};
  if (o.blockAt !== undefined) config["block_at"] = o.blockAt;
  if (o.warnAt !== undefined) config["warn_at"] = o.warnAt;
  return { name: "rate_limit", config };
}

/** The `read_only` JSON policy: with `context.readOnly`, any write (non-SELECT SQL, a transaction) is blocked. */
export function readOnlyPolicy(): PolicySpec {
  return { name: "read_only", config: {} };
}
