import { z } from "zod";
import { canonicalJson, sha256Hex } from "../canonical-json.js";
import { issuePath } from "../errors.js";
import { DecisionSchema, SignalNameSchema, ViolationSchema, patternOf } from "../schemas.js";
import { isPlainObject } from "../values.js";
import { DecisionInputSchema } from "../kernel/decision-input.js";

// The audit log's entries: their schemas, the hash each carries, and how a bad one is described.


/** prevHash of the first entry of every chain. */
export const GENESIS_HASH = "0".repeat(64);

export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 as 64 lower-case hex digits");

/** Extra attributes of an entry; values are what a span attribute can hold. */
export type EntryMetadata = Record<string, string | number | boolean>;

// Not z.record: it silently drops a "__proto__" key (and leaves its value unchecked), and an
// audit log must neither lose nor skip-check what it was given.
export const EntryMetadataSchema = z.custom<EntryMetadata>(() => true).superRefine((value, ctx) => {
  if (!isPlainObject(value)) {
    ctx.addIssue({ code: "custom", message: "an object of strings, numbers and booleans" });
    return;
  }
  for (const [key, member] of Object.entries(value)) {
    if (!isAttributeValue(member)) ctx.addIssue({ code: "custom", path: [key], message: "a string, a finite number or a boolean" });
  }
});

/** A metadata value: what a span attribute can hold. */
function isAttributeValue(value: unknown): boolean {
  return typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
}

const entryBase = {
  /** Position in the chain, from 0; equals the entry's index in a complete log. */
  seq: z.number().int().nonnegative(),
  /** Names the chain, so identical events in two recorders still hash (and get span ids) apart. */
  chainId: z.string().min(1),
  agentId: z.string(),
  /** Logical time (the event's `now`, else the recorder's clock), UTC ISO 8601. */
  timestamp: z.iso.datetime({ message: "a UTC ISO 8601 date-time such as 2026-11-21T10:00:00.000Z" }),
  /** Revision of the policy bundle behind the entry, null when unknown or when no bundle was loaded. */
  bundleRevision: z.string().nullable(),
  metadata: EntryMetadataSchema.optional(),
  /** `hash` of the previous entry, GENESIS_HASH for seq 0. */
  prevHash: Sha256HexSchema,
  /** SHA-256 hex of the canonical JSON of this entry without `hash`. */
  hash: Sha256HexSchema,
};

// Strict objects: a field added to a stored entry is an edit and must fail, not be stripped.
export const PolicyCheckEntrySchema = z.strictObject({
  ...entryBase,
  type: z.literal("policy_check"),
  /** The action as the kernel saw it (a malformed one is recorded too: it was denied). */
  action: z.looseObject({ type: z.string() }),
  decision: DecisionSchema,
  /** What the decision was made on, for replay; absent in older trails (they still verify). */
  input: DecisionInputSchema.optional(),
});
export const SignalEntrySchema = z.strictObject({
  ...entryBase,
  type: z.literal("signal"),
  signal: SignalNameSchema,
  /** The policy that raised the signal. */
  policy: z.string(),
});
export const ToolCallEntrySchema = z.strictObject({
  ...entryBase,
  type: z.literal("tool_call"),
  tool: z.string().min(1),
  args: z.json(),
  result: z.json().optional(),
  error: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
  /** SHA-256 of the canonical JSON of the action executed: the copy the policy_check before it recorded. */
  actionSha256: Sha256HexSchema.optional(),
  /** Violations found while executing (an effect budget enforced by rolling back). */
  violations: z.array(ViolationSchema).optional(),
});

/** One hash-chained audit entry. */
export const FlightRecorderEntrySchema = z.discriminatedUnion("type", [
  PolicyCheckEntrySchema,
  SignalEntrySchema,
  ToolCallEntrySchema,
]);
export type FlightRecorderEntry = z.infer<typeof FlightRecorderEntrySchema>;
/** The entry of one decision: the action as the kernel saw it and the Decision. */
export type PolicyCheckEntry = z.infer<typeof PolicyCheckEntrySchema>;
/** The entry of a signal a decision raised (SIGSTOP, SIGKILL). */
export type SignalEntry = z.infer<typeof SignalEntrySchema>;
/** The entry of an executed action: tool, arguments, result or error, and the hash of the copy the kernel evaluated. */
export type ToolCallEntry = z.infer<typeof ToolCallEntrySchema>;
/** The `type` of an entry: `policy_check`, `signal` or `tool_call`. */
export type EntryType = FlightRecorderEntry["type"];
export const ENTRY_TYPES: readonly EntryType[] = ["policy_check", "signal", "tool_call"];

const RecordNowSchema = z.iso.datetime({ offset: true });

/** What the runner or environment reports for one executed tool call or action. */
export const ToolCallRecordSchema = z.strictObject({
  agentId: z.string().min(1),
  tool: z.string().min(1),
  /** Any value; stored as a JSON-safe deep copy (see toJsonCopy). */
  args: z.unknown().optional(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
  actionSha256: Sha256HexSchema.optional(),
  violations: z.array(ViolationSchema).optional(),
  /** Logical start time of the call; the recorder's clock when absent. */
  now: z.union([RecordNowSchema, z.date()]).nullable().optional(),
  bundleRevision: z.string().nullable().optional(),
  metadata: EntryMetadataSchema.optional(),
});
/** What an executor reports of one executed action, as the caller writes it (the recorder adds hash and chain). */
export type ToolCallRecord = z.input<typeof ToolCallRecordSchema>;

const TOOL_CALL_RECORD_KEYS: ReadonlySet<string> = new Set(Object.keys(ToolCallRecordSchema.shape));
const RECORD_NOW_PATTERN = patternOf(RecordNowSchema);
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/**
 * ToolCallRecordSchema's acceptance without zod, for the common case: never true for a value the
 * schema rejects (a property test holds it). zod's output is the input itself for an accepted
 * record (no defaults or transforms), so the record can be used as it is.
 */
export function isToolCallRecord(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) if (!TOOL_CALL_RECORD_KEYS.has(key)) return false;
  const { agentId, tool, error, durationMs, now, bundleRevision, metadata, actionSha256, violations } = value;
  return (
    (actionSha256 === undefined || (typeof actionSha256 === "string" && SHA256_PATTERN.test(actionSha256))) &&
    violations === undefined && // left to zod
    typeof agentId === "string" &&
    agentId.length > 0 &&
    typeof tool === "string" &&
    tool.length > 0 &&
    (error === undefined || typeof error === "string") &&
    (durationMs === undefined || (typeof durationMs === "number" && Number.isFinite(durationMs) && durationMs >= 0)) &&
    (now === undefined || now === null || (typeof now === "string" ? RECORD_NOW_PATTERN.test(now) : now instanceof Date && !Number.isNaN(now.getTime()))) &&
    (bundleRevision === undefined || bundleRevision === null || typeof bundleRevision === "string") &&
    (metadata === undefined || isEntryMetadata(metadata))
  );
}

/** EntryMetadataSchema's check. */
function isEntryMetadata(value: unknown): boolean {
  return isPlainObject(value) && Object.values(value).every(isAttributeValue);
}

/** The hash an entry must carry: SHA-256 hex of the canonical JSON of the entry minus `hash`. */
export function computeEntryHash(entry: Readonly<Record<string, unknown>>): string {
  const { hash: _hash, ...unsigned } = entry;
  return sha256Hex(canonicalJson(unsigned));
}

// ---------------------------------------------------------------- error helpers

export interface DescribedIssue {
  readonly field: string;
  readonly message: string;
  readonly expected: string | undefined;
  readonly text: string;
}

export function describeIssue(error: z.ZodError, raw: unknown): DescribedIssue {
  const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
  // zod's message for a bad discriminator is only "Invalid input"; say what would be valid.
  // A trail line is an entry or a signed checkpoint (checkpoint.ts), which has a schema of its own.
  if (!ENTRY_TYPES.includes(type as EntryType) && type !== "checkpoint") {
    const message = `unknown entry type ${JSON.stringify(type) ?? "undefined"}`;
    const expected = [...ENTRY_TYPES, "checkpoint"].join(", ");
    return { field: "type", message, expected: `one of ${expected}`, text: `type: ${message} (expected one of ${expected})` };
  }
  const issue = error.issues[0];
  if (!issue) return { field: "(root)", message: "invalid entry", expected: undefined, text: "invalid entry" };
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const field = issuePath(keys.length > 0 ? [...issue.path, keys[0] ?? ""] : issue.path);
  return { field, message: issue.message, expected: undefined, text: `${field}: ${issue.message}` };
}

