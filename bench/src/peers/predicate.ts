import type { Decision, PolicyInput } from "../../../src/schemas.js";
import { DEFAULT_ACTION_TYPES } from "../../../src/kernel/action-types.js";
import { DEFAULT_TOOL_REGISTRY, carriedActions } from "../../../src/kernel/tool-registry.js";
import { toPolicyInput } from "../../../src/kernel/enrich.js";

/** What the floor reports: which rules fired, and whether the action is allowed. */
export interface PredicateResult {
  readonly allowed: boolean;
  readonly fired: string[];
}

/**
 * How the floor's answer differs from the kernel's Decision (`allowed`, and the sorted
 * `policy/rule` names), or undefined when it does not: the floor must decide like the kernel, or
 * it is not the floor for the same checks.
 */
export function floorDisagreement(decision: Pick<Decision, "allowed" | "violations">, floor: PredicateResult): string | undefined {
  const kernelNames = decision.violations.map((v) => `${v.policy}/${v.rule}`).sort();
  const floorNames = [...floor.fired].sort();
  if (decision.allowed === floor.allowed && JSON.stringify(kernelNames) === JSON.stringify(floorNames)) return undefined;
  return `kernel ${decision.allowed ? "allows" : "denies"} [${kernelNames.join(", ")}], floor ${floor.allowed ? "allows" : "denies"} [${floorNames.join(", ")}]`;
}

/** The sql policy's rule for each WHERE verdict that does not restrict. */
const WHERE_RULES = { none: "missing_where", tautology: "tautological_where", unknown: "unverifiable_where" } as const;
const SYSTEM_TABLE = /^(pg_|pg_catalog\.|information_schema\.|sqlite_)/;

/** The shipped default configuration, as the floor and the SDK row read it. */
export interface DefaultPolicyConfig {
  readonly sql: { readonly allow: readonly string[]; readonly deny: readonly string[]; readonly deny_functions: readonly string[]; readonly deny_tables: readonly string[] };
  readonly cost: { readonly max_cost_usd: number };
  readonly tools: { readonly allow: Readonly<Record<string, readonly string[]>> };
  readonly pii: { readonly internal_domains: readonly string[] };
  readonly transactions: { readonly approval_threshold_usd: number; readonly default_limit_usd: number; readonly role_limits: Readonly<Record<string, number>> };
  readonly business_hours: { readonly start_minute_utc: number; readonly end_minute_utc: number };
  readonly rate_limit: { readonly block_at: number; readonly warn_at: number };
}

/**
 * The default policy set (six Rego packages and two JSON rule sets) hand-written in TypeScript
 * over the same enriched input (SQL, PII and clock facts included, as the policies get them), reporting `policy/rule` names only: the floor no general engine
 * can beat, since it has no interpreter, no serialisation and no descriptions to build.
 */
export function defaultPredicate(config: DefaultPolicyConfig): (input: PolicyInput) => PredicateResult {
  const judge = policiesPredicate(config);
  const declared = new Set(DEFAULT_ACTION_TYPES);
  const registry = new Map(Object.entries(DEFAULT_TOOL_REGISTRY));
  // The kernel's own checks first, as the kernel makes them: undeclared types, registered tools.
  return (input) => {
    if (!declared.has(input.action.type)) return { allowed: false, fired: ["kernel/unknown_action_type"] };
    const own = judge(input);
    const body = input.action as Record<string, unknown>;
    const mapping = input.action.type === "tool_call" && typeof body["tool"] === "string" ? registry.get(body["tool"]) : undefined;
    if (!mapping) return own;
    const carried = carriedActions(body["tool"] as string, mapping, body["args"]);
    if (!carried.ok) return { allowed: false, fired: [...own.fired, "kernel/tool_args_mismatch"] };
    const fired = new Set(own.fired);
    let allowed = own.allowed;
    for (const native of carried.actions) {
      const result = judge(toPolicyInput({ agentId: input.agentId, action: native, context: input.context }));
      for (const name of result.fired) fired.add(name);
      allowed &&= result.allowed;
    }
    return { allowed, fired: [...fired] };
  };
}

/** The eight policies alone, on one input. */
function policiesPredicate(config: DefaultPolicyConfig): (input: PolicyInput) => PredicateResult {
  const normalize = (d: string) => d.trim().toUpperCase().split(" ").filter(Boolean).join(" ");
  const allow = new Set(config.sql.allow.map(normalize));
  const deny = new Set(config.sql.deny.map(normalize));
  const denyFunctions = new Set(config.sql.deny_functions.map((f) => f.trim().toLowerCase()));
  const denyTables = new Set(config.sql.deny_tables.map((t) => t.trim().toLowerCase()));
  const tools = new Map(Object.entries(config.tools.allow).map(([role, list]) => [role, new Set(list)]));
  const domains = config.pii.internal_domains.map((d) => d.trim().toLowerCase()).filter(Boolean);
  const { start_minute_utc: start, end_minute_utc: end } = config.business_hours;
  return (input) => {
    const fired: string[] = [];
    let allowed = true;
    // Rego's violations are a set: two statements giving the same description (one per dialect) are one.
    let seen: Set<string> | undefined;
    const hit = (name: string, blocks: boolean, distinct?: string) => {
      if (distinct !== undefined) {
        seen ??= new Set();
        if (seen.has(`${name}\0${distinct}`)) return;
        seen.add(`${name}\0${distinct}`);
      }
      fired.push(name);
      if (blocks) allowed = false;
    };
    const body = input.action as Record<string, unknown>;
    const ctx = input.context;
    const role = ctx.role;
    const facts = input.facts;
    if (facts.costUsdTotal > config.cost.max_cost_usd) hit("cost/budget_exceeded", true);
    switch (body.type) {
      case "sql": {
        const sql = facts.sql;
        if (!sql) hit("sql/unparseable", true);
        else {
          if (sql.error !== undefined) hit("sql/unparseable", true);
          for (const stmt of sql.statements) {
            const kind = stmt.kind;
            const denied = !allow.has(kind) || deny.has(kind) || [...deny].some((entry) => kind.startsWith(`${entry} `));
            const at = `${stmt.ordinal} ${kind}`;
            if (denied) hit("sql/denied_statement", true, at);
            else if (stmt.where !== null && stmt.where !== "restricting") hit(`sql/${WHERE_RULES[stmt.where]}`, true, at);
            for (const name of stmt.functions) if (denyFunctions.has(name) || denyFunctions.has(name.split(".").at(-1) ?? "")) hit("sql/denied_function", true, `${stmt.ordinal} ${name}`);
            for (const name of stmt.tables) if (denyTables.has(name) || denyTables.has(name.split(".").at(-1) ?? "")) hit("sql/denied_table", true, `${at} ${name}`);
            if (stmt.writes) for (const name of stmt.tables) if (SYSTEM_TABLE.test(name)) hit("sql/system_table", true, `${at} ${name}`);
          }
        }
        break;
      }
      case "tool_call": {
        const allowedTools = role === undefined ? undefined : tools.get(role);
        if (!allowedTools) hit("tools/unknown_role", true);
        else if (!allowedTools.has(body.tool as string)) hit("tools/tool_not_allowed", true);
        break;
      }
      case "message": {
        // The same facts the Rego pii policy reads (found once by the kernel's enrichment).
        const message = facts.message;
        if (!message) hit("pii/missing_facts", true);
        else if (message.pii.length > 0) {
          // Internal only when every recipient parsed and every domain is internal (or under one).
          const internal =
            !message.unparseableRecipient &&
            message.recipientDomains.length > 0 &&
            message.recipientDomains.every((domain) => domains.some((d) => domain === d || domain.endsWith(`.${d}`)));
          if (internal) hit("pii/internal_recipient", false);
          else hit("pii/external_recipient", true);
        }
        break;
      }
      case "transaction": {
        const amount = body.amountUsd as number;
        const limit = (role !== undefined && config.transactions.role_limits[role]) || config.transactions.default_limit_usd;
        if (amount > limit) hit("transactions/over_role_limit", true);
        else if (amount > config.transactions.approval_threshold_usd) hit("transactions/approval_required", true);
        const minute = facts.clock?.minuteOfDayUtc;
        if (minute !== undefined) {
          const open = start <= end ? minute >= start && minute < end : minute >= start || minute < end;
          if (!open) hit("business_hours/outside_business_hours", false);
        }
        break;
      }
      default:
        break;
    }
    const window = ctx.actionsInWindow;
    if (window !== undefined) {
      if (window >= config.rate_limit.block_at) hit("rate_limit/too_many_actions", true);
      else if (window >= config.rate_limit.warn_at) hit("rate_limit/approaching_limit", false);
    }
    if (ctx.readOnly === true && facts.writes) hit("read_only/write_in_read_only", true);
    return { allowed, fired };
  };
}
