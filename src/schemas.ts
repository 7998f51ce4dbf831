import { z } from "zod";
import type { JsonValue } from "./audit/json-value.js";
import { MAX_DETAILS_BYTES, MAX_DETAILS_DEPTH, isViolationDetails } from "./violation-details.js";

/** Severity of a violation, most severe first. */
export const SeveritySchema = z.enum(["critical", "high", "medium", "low"]);
export type Severity = z.infer<typeof SeveritySchema>;
export const SEVERITIES: readonly Severity[] = SeveritySchema.options;
const SEVERITY_SET: ReadonlySet<unknown> = new Set(SEVERITIES);
/** SeveritySchema's acceptance without zod, for the hand-written checks on hot paths. */
export const isSeverity = (value: unknown): value is Severity => SEVERITY_SET.has(value);

/** Cost magnitude (>= 0) a violation carries unless its policy sets one. */
export const DEFAULT_SEVERITY_PENALTY: Readonly<Record<Severity, number>> = {
  critical: 100,
  high: 50,
  medium: 10,
  low: 1,
};

// ---------------------------------------------------------------- actions

export const SqlActionSchema = z.looseObject({ type: z.literal("sql"), sql: z.string() });
export const ToolCallActionSchema = z.looseObject({
  type: z.literal("tool_call"),
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).optional(),
});
export const MessageActionSchema = z.looseObject({
  type: z.literal("message"),
  to: z.string().min(1),
  text: z.string(),
});
export const TransactionActionSchema = z.looseObject({
  type: z.literal("transaction"),
  amountUsd: z.number().finite().nonnegative(),
  recipient: z.string().min(1),
});
export const KNOWN_ACTION_SCHEMAS = {
  sql: SqlActionSchema,
  tool_call: ToolCallActionSchema,
  message: MessageActionSchema,
  transaction: TransactionActionSchema,
} as const;
export type KnownActionType = keyof typeof KNOWN_ACTION_SCHEMAS;

/** Any other action type: passed to the policies, which decide. */
export const OtherActionSchema = z.looseObject({ type: z.string().min(1) });

function isKnownType(type: string): type is KnownActionType {
  return Object.hasOwn(KNOWN_ACTION_SCHEMAS, type);
}

/** The action body: a known type is checked against its schema, an unknown type only needs `type`. */
export const ActionBodySchema = OtherActionSchema.superRefine((body, ctx) => {
  if (!isKnownType(body.type)) return;
  const result = KNOWN_ACTION_SCHEMAS[body.type].safeParse(body);
  if (result.success) return;
  for (const issue of result.error.issues) {
    ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  }
});
/** An action body: one of the known types, or any other type for the policies to judge. */
export type ActionBody = SqlAction | ToolCallAction | MessageAction | TransactionAction | OtherAction;
/** A `sql` action: the statement text, judged by the target database's own parser. */
export type SqlAction = z.infer<typeof SqlActionSchema>;
/** A `tool_call` action: a tool name and its arguments; a registered tool is also judged as the native action its args map to. */
export type ToolCallAction = z.infer<typeof ToolCallActionSchema>;
/** A `message` action: a recipient and a text, checked for external domains and personal data. */
export type MessageAction = z.infer<typeof MessageActionSchema>;
/** A `transaction` action: an amount in US dollars (>= 0) and a recipient. */
export type TransactionAction = z.infer<typeof TransactionActionSchema>;
/** Any other action type: only `type` is required; the policies decide. */
export type OtherAction = z.infer<typeof OtherActionSchema>;

/**
 * Parse options for schemas parsed once per kernel or file (options, manifests, rule sets): zod
 * would otherwise generate and compile a fast path for each object schema on its first parse,
 * about 2-3 ms of a cold start, to speed up parses that never come.
 */
export const ONCE = { jitless: true } as const;

/** The regular expression a zod string format checks, so a hand-written check cannot drift from the schema. */
export function patternOf(schema: z.ZodStringFormat): RegExp {
  const pattern = schema._zod.def.pattern;
  if (!pattern) throw new Error(`zod string format ${schema._zod.def.format} has no pattern`);
  return pattern;
}

/** The SQL dialects the kernel reads with the database's own parser. */
export const SqlDialectSchema = z.enum(["postgres", "sqlite"]);
/** A SQL dialect the kernel can parse: `postgres` or `sqlite`. */
export type SqlDialect = z.infer<typeof SqlDialectSchema>;

const ContextNowSchema = z.iso.datetime({ offset: true, message: "an ISO 8601 date-time such as 2026-11-21T10:00:00Z" });
/** The pattern `context.now` must match. */
export const CONTEXT_NOW_PATTERN: RegExp = patternOf(ContextNowSchema);

/** Context fields the default policies read; anything else passes through untouched. */
export const ActionContextSchema = z.looseObject({
  now: ContextNowSchema.optional(),
  role: z.string().optional(),
  costUsd: z.number().finite().nonnegative().optional(),
  spentUsd: z.number().finite().nonnegative().optional(),
  actionsInWindow: z.number().int().nonnegative().optional(),
  readOnly: z.boolean().optional(),
  /** The database the action's SQL runs on; overrides the kernel's `sql.dialect` for this action. */
  sqlDialect: SqlDialectSchema.optional(),
});
export type ActionContext = z.infer<typeof ActionContextSchema>;

/** What an agent proposes, validated at the kernel boundary. */
export const ActionSchema = z.object({
  agentId: z.string().min(1),
  action: ActionBodySchema,
  context: ActionContextSchema.default({}),
});
export type Action = z.infer<typeof ActionSchema>;
export type ActionInput = z.input<typeof ActionSchema>;

// ---------------------------------------------------------------- policy input (what Rego and rules see)

/**
 * What an UPDATE/DELETE's WHERE can be proven to do: `none` (there is none), `tautology` (true or
 * the same for every row: `1=1`, `id = id`, `OR true`, `IS NOT NULL`, `LIKE '%'`, `EXISTS (SELECT 1)`),
 * `restricting` (depends on the row), `unknown` (the parsers disagree, or `WHERE CURRENT OF`).
 */
export const SqlWhereVerdictSchema = z.enum(["none", "tautology", "restricting", "unknown"]);
export type SqlWhereVerdict = z.infer<typeof SqlWhereVerdictSchema>;

export const SqlStatementFactSchema = z.object({
  /** 1-based position of the top-level statement in the text (a nested write shares its statement's). */
  ordinal: z.number().int().positive(),
  /** What the statement does, upper-case: `SELECT`, `INSERT`, `UPSERT`, `DELETE`, `DROP TABLE`, `PRAGMA`... */
  kind: z.string(),
  /** Tables it names or touches, lower-case, sorted (`schema.table` when qualified). */
  tables: z.array(z.string()),
  /** Functions it calls, lower-case, sorted. */
  functions: z.array(z.string()),
  /** For UPDATE and DELETE, the WHERE verdict; null for other kinds. */
  where: SqlWhereVerdictSchema.nullable(),
  /** It changes data, schema, settings or anything else beyond reading. */
  writes: z.boolean(),
  /** The parser that read it. */
  dialect: SqlDialectSchema,
});
export type SqlStatementFact = z.infer<typeof SqlStatementFactSchema>;

export const SqlFactsSchema = z.object({
  /** The dialect judged: one database's, or `any` (every supported dialect, the strictest reading wins). */
  dialect: z.enum(["postgres", "sqlite", "any"]),
  /** Every statement each parser read, data-modifying CTEs and `EXPLAIN ANALYZE` bodies as their own. */
  statements: z.array(SqlStatementFactSchema),
  /** Set when a parser could not read the text (or it has a NUL byte, or too many statements). */
  error: z.string().optional(),
  /** The text parsed and no statement writes. */
  readOnly: z.boolean(),
});
export type SqlFacts = z.infer<typeof SqlFactsSchema>;

export const PiiKindSchema = z.enum(["card_number", "email", "ssn"]);
export type PiiKind = z.infer<typeof PiiKindSchema>;

export const MessageFactsSchema = z.object({
  /**
   * Domain of every recipient in `to`, `cc`, `bcc` and `replyTo`/`reply_to` (RFC 5322 address
   * lists), ASCII (IDNA) lower-case, sorted, unique.
   */
  recipientDomains: z.array(z.string()),
  /** Some recipient field is not an address list (header injection, `?cc=`, garbage): judged external. */
  unparseableRecipient: z.boolean(),
  /** Kinds of personal data found in any field but the recipients', after normalisation, sorted; never the values. */
  pii: z.array(PiiKindSchema),
});
export type MessageFacts = z.infer<typeof MessageFactsSchema>;

/** Facts derived once in TypeScript so policies reason over structure, not text. */
export const PolicyFactsSchema = z.object({
  sql: SqlFactsSchema.optional(),
  /** For a `message` action. */
  message: MessageFactsSchema.optional(),
  /** From `context.now`: minutes since 00:00 UTC and day of week (0 = Sunday). */
  clock: z.object({ minuteOfDayUtc: z.number().int(), weekdayUtc: z.number().int() }).optional(),
  /** `context.costUsd + context.spentUsd`, missing values counted as 0. */
  costUsdTotal: z.number(),
  /** The action changes state: SQL other than read-only statements, or a transaction. */
  writes: z.boolean(),
});
/** Facts derived once in TypeScript (`input.facts`), so policies reason over structure, not text. */
export type PolicyFacts = z.infer<typeof PolicyFactsSchema>;

/** Schema of {@link PolicyInput}. */
export const PolicyInputSchema = z.object({
  agentId: z.string(),
  action: ActionBodySchema,
  context: ActionContextSchema,
  facts: PolicyFactsSchema,
});
/** What Rego policies and JSON rules see as `input`: the action, its context and the facts derived from them. */
export type PolicyInput = z.infer<typeof PolicyInputSchema>;

// ---------------------------------------------------------------- what policies emit

export const EffectSchema = z.enum(["block", "warn", "modify", "signal"]);
export type Effect = z.infer<typeof EffectSchema>;
const EFFECT_SET: ReadonlySet<unknown> = new Set(EffectSchema.options);
/** EffectSchema's acceptance without zod. */
export const isEffect = (value: unknown): value is Effect => EFFECT_SET.has(value);

/** A signal name: SIG and capital letters (SIGSTOP, SIGKILL). */
const SIGNAL_NAME = /^SIG[A-Z]+$/;
export const SignalNameSchema = z.string().regex(SIGNAL_NAME, "a signal name such as SIGSTOP or SIGKILL");
/** SignalNameSchema's acceptance without zod. */
export const isSignalName = (value: unknown): value is string => typeof value === "string" && SIGNAL_NAME.test(value);

/**
 * A violation's structured detail: plain JSON nesting at most MAX_DETAILS_DEPTH levels and of at
 * most MAX_DETAILS_BYTES of canonical JSON, without prototype keys. The kernel bounds what a policy returns to this (boundedDetails).
 */
export const ViolationDetailsSchema = z.custom<JsonValue>(isViolationDetails, {
  message: `plain JSON nesting at most ${MAX_DETAILS_DEPTH} levels, of at most ${MAX_DETAILS_BYTES} bytes, without __proto__, constructor or prototype keys`,
});

/** One finding as a Rego rule or JSON rule emits it, before the kernel types it. */
export const PolicyFindingSchema = z
  .object({
    policy: z.string().min(1),
    rule: z.string().min(1),
    severity: SeveritySchema,
    effect: EffectSchema,
    description: z.string(),
    signal: SignalNameSchema.optional(),
    penalty: z.number().finite().nonnegative().optional(),
    /** Structured detail beside the description (Gatekeeper's `details`); see ViolationDetailsSchema. */
    details: ViolationDetailsSchema.optional(),
  })
  .refine((f) => f.effect !== "signal" || f.signal !== undefined, {
    message: "effect 'signal' needs a signal name such as SIGSTOP",
    path: ["signal"],
  });
export type PolicyFinding = z.infer<typeof PolicyFindingSchema>;

// ---------------------------------------------------------------- decisions

export const ViolationTypeSchema = z.enum(["blocked", "modified", "warned", "signal_sent"]);
export type ViolationType = z.infer<typeof ViolationTypeSchema>;

export const ViolationSourceSchema = z.enum(["rego", "json", "kernel"]);
export type ViolationSource = z.infer<typeof ViolationSourceSchema>;

/** Schema of {@link Violation}. */
export const ViolationSchema = z.object({
  type: ViolationTypeSchema,
  policy: z.string(),
  rule: z.string(),
  severity: SeveritySchema,
  description: z.string(),
  blocked: z.boolean(),
  /** Cost magnitude, >= 0 (critical 100, high 50, medium 10, low 1 by default). */
  penalty: z.number().nonnegative(),
  source: ViolationSourceSchema,
  signal: SignalNameSchema.optional(),
  /** Structured detail beside the description (Gatekeeper's `details`); see ViolationDetailsSchema. */
  details: ViolationDetailsSchema.optional(),
});
/** One finding of one policy on one action, typed by the kernel; `penalty` is a magnitude >= 0. */
export type Violation = z.infer<typeof ViolationSchema>;

/** Schema of {@link Provenance}. */
export const ProvenanceSchema = z.object({
  /** `revision` from the bundle's `.manifest`, or null without a Rego bundle. */
  bundleRevision: z.string().nullable(),
  /** SHA-256 of the bundle as loaded (tar.gz bytes, or the files of a bundle folder). */
  bundleSha256: z.string().nullable(),
  /** SHA-256 of the canonical JSON of the data the policies saw (bundle data merged with overrides). */
  dataSha256: z.string().nullable(),
  /** SHA-256 of the canonical JSON of the loaded JSON rule sets, or null without rules. */
  rulesSha256: z.string().nullable(),
});
/** Which bundle, data and rules made a decision, by revision and SHA-256. */
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** Schema of {@link Decision}. */
export const DecisionSchema = z.object({
  allowed: z.boolean(),
  violations: z.array(ViolationSchema),
  signals: z.array(SignalNameSchema),
  provenance: ProvenanceSchema,
});
/** The kernel's one answer per action: allowed or not, every violation in a deterministic order, signals, provenance. */
export type Decision = z.infer<typeof DecisionSchema>;

