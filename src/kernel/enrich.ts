import { unionFactsRead, type FactsRead, type FactsReadByActionType } from "../engines/facts-read.js";
import type { Action, ActionBody, MessageFacts, PolicyFacts, PolicyInput, SqlFacts } from "../schemas.js";
import { messageFacts } from "./message-facts.js";
import type { SqlAnalyzer } from "../sql/analyze.js";
import { DEFAULT_SQL_ANALYZER } from "../sql/default-analyzer.js";

const MS_PER_MINUTE = 60_000;
const MINUTES_PER_DAY = 1440;
/** 1970-01-01 was a Thursday (getUTCDay() === 4). */
const EPOCH_WEEKDAY = 4;

/**
 * SQL facts for a `sql` action, read as the context's `sqlDialect` (the trainer's) or the
 * analyzer's own; a missing or non-string `sql` is an error fact, so policies fail closed.
 */
function sqlFactsOf(body: ActionBody, context: Action["context"], analyzer: SqlAnalyzer): SqlFacts | undefined {
  if (body.type !== "sql") return undefined;
  const sql: unknown = (body as Record<string, unknown>)["sql"];
  const dialect = context.sqlDialect ?? analyzer.dialect;
  if (typeof sql !== "string") return { dialect, statements: [], error: "action.sql is not a string", readOnly: false };
  return analyzer.analyze(sql, dialect);
}

/** Facts of a `message` action; none when a field is not what it must be, so the pii policy fails closed. */
function messageFactsOf(body: ActionBody): MessageFacts | undefined {
  if (body.type !== "message") return undefined;
  return messageFacts(body as Record<string, unknown>);
}

/**
 * Minute of day and weekday in UTC. Date.parse applies the string's own offset, and the
 * arithmetic avoids the host time zone, so the same string gives the same facts everywhere.
 */
function clockOf(now: string | undefined): PolicyFacts["clock"] {
  if (now === undefined) return undefined;
  const ms = Date.parse(now);
  if (!Number.isFinite(ms)) return undefined; // unreachable for a validated action
  const minutes = Math.floor(ms / MS_PER_MINUTE);
  const days = Math.floor(minutes / MINUTES_PER_DAY);
  return {
    minuteOfDayUtc: minutes - days * MINUTES_PER_DAY,
    weekdayUtc: (((days + EPOCH_WEEKDAY) % 7) + 7) % 7,
  };
}

/** The facts worth computing: the SQL analysis, PII detection and clock cost real time per action. */
export interface FactNeeds {
  readonly sql: boolean;
  readonly message: boolean;
  readonly clock: boolean;
}

export const ALL_FACTS: FactNeeds = Object.freeze({ sql: true, message: true, clock: true });

/** What to compute for engines that read `read`; `writes` is derived from the SQL analysis, so it needs it. */
export function factNeedsOf(read: FactsRead): FactNeeds {
  if (read === "all") return ALL_FACTS;
  return { sql: read.has("sql") || read.has("writes"), message: read.has("message"), clock: read.has("clock") };
}

/** The facts to compute for an action of each type. */
export interface FactNeedsByActionType {
  readonly types: ReadonlyMap<string, FactNeeds>;
  readonly other: FactNeeds;
}

/**
 * What to compute for each action type, for engines that each read `factsRead`, or per type
 * `factsReadByActionType` (an engine that says neither reads all).
 */
export function factNeedsByActionType(engines: readonly { readonly factsRead?: FactsRead; readonly factsReadByActionType?: FactsReadByActionType }[]): FactNeedsByActionType {
  const readFor = (type: string | undefined): FactNeeds =>
    factNeedsOf(
      unionFactsRead(
        engines.map(({ factsRead, factsReadByActionType: byType }) => {
          if (!byType) return factsRead;
          return type !== undefined && Object.hasOwn(byType.types, type) ? byType.types[type] : byType.other;
        }),
      ),
    );
  const types = new Set(engines.flatMap((engine) => Object.keys(engine.factsReadByActionType?.types ?? {})));
  return { types: new Map([...types].sort().map((type) => [type, readFor(type)])), other: readFor(undefined) };
}

/**
 * Turns a validated Action into the small PolicyInput the engines evaluate (facts computed once
 * here; SQL read by `analyzer`, the kernel's). Facts `needs` leaves out are absent; without the SQL analysis, `writes` takes any SQL
 * as a write (the side that blocks), though no engine that reads it gets such an input.
 */
export function toPolicyInput(action: Action, needs: FactNeeds = ALL_FACTS, analyzer: SqlAnalyzer = DEFAULT_SQL_ANALYZER): PolicyInput {
  const { agentId, action: body, context } = action;
  const sql = needs.sql ? sqlFactsOf(body, context, analyzer) : undefined;
  const message = needs.message ? messageFactsOf(body) : undefined;
  const clock = needs.clock ? clockOf(context.now) : undefined;
  const costUsdTotal = (context.costUsd ?? 0) + (context.spentUsd ?? 0);
  const writes = (sql === undefined ? body.type === "sql" : !sql.readOnly) || body.type === "transaction";
  // Absent facts are left out (not set to undefined) and keys keep the schema's order, so the
  // input JSON stays small and byte-stable; literals instead of spreads keep this fast.
  let facts: PolicyFacts;
  if (sql !== undefined) facts = clock !== undefined ? { sql, clock, costUsdTotal, writes } : { sql, costUsdTotal, writes };
  else if (message !== undefined) facts = clock !== undefined ? { message, clock, costUsdTotal, writes } : { message, costUsdTotal, writes };
  else facts = clock !== undefined ? { clock, costUsdTotal, writes } : { costUsdTotal, writes };
  return { agentId, action: body, context, facts };
}

/**
 * What is wrong with a number the kernel derived for the policies, or undefined when nothing is.
 * A sum of two finite amounts can overflow to Infinity, which JSON (and so Rego) sees as null and
 * every comparison with a budget as false: such an action must be denied, not evaluated.
 */
export function nonFiniteFact(facts: PolicyFacts): string | undefined {
  if (!Number.isFinite(facts.costUsdTotal)) return `context.costUsd + context.spentUsd is ${facts.costUsdTotal}, not a finite number`;
  return undefined;
}
