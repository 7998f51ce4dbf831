// A kernel decision as an OPA decision-log event (OPA's EventV1, v1/plugins/logs/plugin.go), so a
// platform that ingests OPA's decision logs ingests the agents' decisions unchanged.
import { createHash } from "node:crypto";
import { z } from "zod";
import type { PolicyCheckEvent } from "../kernel/audit-sink.js";
import { applyMask, copyForMask, type Maskable, type prepareMaskRules } from "./mask.js";

const JsonObjectSchema = z.record(z.string(), z.unknown());

/**
 * Schema of {@link DecisionLogEvent}: every field of OPA's EventV1 with the JSON name and type OPA
 * writes (optional where OPA omits it when empty); unknown fields are refused.
 */
export const DecisionLogEventSchema = z.strictObject({
  labels: z.record(z.string(), z.string()).nullable(),
  decision_id: z.string(),
  batch_decision_id: z.string().optional(),
  trace_id: z.string().optional(),
  span_id: z.string().optional(),
  /** Deprecated by OPA in favour of `bundles`. */
  revision: z.string().optional(),
  bundles: z.record(z.string(), z.strictObject({ revision: z.string().optional() })).optional(),
  path: z.string().optional(),
  query: z.string().optional(),
  input: z.unknown().optional(),
  result: z.unknown().optional(),
  intermediate_results: JsonObjectSchema.optional(),
  mapped_result: z.unknown().optional(),
  nd_builtin_cache: z.unknown().optional(),
  erased: z.array(z.string()).optional(),
  masked: z.array(z.string()).optional(),
  error: z.unknown().optional(),
  requested_by: z.string().optional(),
  /** RFC 3339 with a time zone; OPA writes nanoseconds. */
  timestamp: z.iso.datetime({ offset: true }),
  metrics: JsonObjectSchema.optional(),
  req_id: z.number().int().positive().optional(),
  rule_labels: z.array(JsonObjectSchema).optional(),
  request_context: z.strictObject({ http: z.strictObject({ headers: z.record(z.string(), z.array(z.string())).optional() }).optional() }).optional(),
  custom: JsonObjectSchema.optional(),
});
/** One decision as OPA's decision-log plugin reports it (the body of its uploads, a line of its console log). */
export type DecisionLogEvent = z.infer<typeof DecisionLogEventSchema>;

/** What every event of one log shares. */
export interface EventContext {
  /** `labels` of every event (with `id` and `version`, as OPA's). */
  readonly labels: Readonly<Record<string, string>>;
  /** `path` of every event: what was evaluated. */
  readonly path: string;
  /** The bundle's name in `bundles`. */
  readonly bundleName: string;
  /** Decision ids derive from it, the sequence number and the event. */
  readonly seed: string;
  readonly mask: ReturnType<typeof prepareMaskRules>;
}

/** Timestamp of a decision made without a logical time: the Unix epoch (never the wall clock, for determinism). */
export const NO_LOGICAL_TIME = "1970-01-01T00:00:00.000Z";

/** The id written while the event is encoded, then replaced by the hash of the encoding. */
const PLACEHOLDER_ID = "00000000-0000-8000-8000-000000000000";

/**
 * The OPA event for the `seq`-th decision (1-based) of a log, as one line of JSON. Deterministic:
 * the id is a hash of the seed, the sequence number and the event's own encoding (input, result,
 * revision, labels); the timestamp is the decision's logical time (`context.now`) in UTC. Input and
 * result are copies, masked when rules are set. Hashing the line it writes anyway costs a third of
 * hashing a canonical copy, on the decision path.
 */
export function encodeDecisionLogEvent(check: PolicyCheckEvent, seq: number, context: EventContext): string {
  const event = buildEvent(check, seq, context);
  const line = JSON.stringify(event);
  // JSON.stringify keeps insertion order: the line starts with the labels, then the id.
  const head = `{"labels":${JSON.stringify(event.labels)},"decision_id":"`;
  if (!line.startsWith(`${head}${PLACEHOLDER_ID}"`)) throw new Error("decision-log event encoded out of order");
  const hex = createHash("sha256").update(`${context.seed}\0${seq}\0`).update(line).digest("hex");
  return `${head}${uuidV8(hex)}${line.slice(head.length + PLACEHOLDER_ID.length)}`;
}

/** The event {@link encodeDecisionLogEvent} writes, as an object. */
export function toDecisionLogEvent(check: PolicyCheckEvent, seq: number, context: EventContext): DecisionLogEvent {
  return JSON.parse(encodeDecisionLogEvent(check, seq, context)) as DecisionLogEvent;
}

/**
 * The input as the policies saw it, so far as the decision's record says: a raw input as it was
 * given; else the agent, the action and the trusted context (role, costs, read-only flag, the
 * logical time) that decided it, as the policies read them.
 */
function eventInput(check: PolicyCheckEvent): unknown {
  if (check.input?.kind === "raw_input" && check.action.type === "raw_input") return (check.action as { readonly input?: unknown }).input;
  // The context holds the logical time the policies read (context.now).
  if (check.input?.kind === "action") return { agentId: check.agentId, action: check.action, context: check.input.context };
  const input: Record<string, unknown> = { agentId: check.agentId, action: check.action };
  if (check.now !== null) input["now"] = check.now;
  return input;
}

function buildEvent(check: PolicyCheckEvent, seq: number, context: EventContext): DecisionLogEvent {
  const input = eventInput(check);
  const result: unknown = check.decision;
  const parts: Maskable = context.mask.length === 0 ? { input, result } : { input: copyForMask(input), result: copyForMask(result) };
  applyMask(parts, context.mask);
  const revision = check.decision.provenance.bundleRevision;
  // Members in the order OPA's EventV1 declares them, so the JSON reads as OPA's does.
  return {
    labels: { ...context.labels },
    decision_id: PLACEHOLDER_ID,
    ...(revision === null ? {} : { bundles: { [context.bundleName]: { revision } } }),
    path: context.path,
    ...(parts.input === undefined ? {} : { input: parts.input }),
    ...(parts.result === undefined ? {} : { result: parts.result }),
    ...(parts.erased ? { erased: parts.erased } : {}),
    ...(parts.masked ? { masked: parts.masked } : {}),
    timestamp: timestampOf(check.now),
    req_id: seq,
  };
}

/** The logical time in UTC (OPA's timestamps are RFC 3339); the epoch without one. */
function timestampOf(now: string | null): string {
  if (now === null) return NO_LOGICAL_TIME;
  const ms = Date.parse(now);
  return Number.isNaN(ms) ? NO_LOGICAL_TIME : new Date(ms).toISOString();
}

/** The first 122 bits of `hex` as a version 8 UUID. */
export function uuidV8(hex: string): string {
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
