// A kernel decision as an OPA decision-log event (OPA's EventV1, v1/plugins/logs/plugin.go), so a
// platform that ingests OPA's decision logs ingests the agents' decisions unchanged.
import { createHash } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "../canonical-json.js";
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
  /** Decision ids derive from it, the sequence number and the decision. */
  readonly seed: string;
  readonly mask: ReturnType<typeof prepareMaskRules>;
}

/** Timestamp of a decision made without a logical time: the Unix epoch (never the wall clock, for determinism). */
export const NO_LOGICAL_TIME = "1970-01-01T00:00:00.000Z";

/**
 * The OPA event for the `seq`-th decision (1-based) of a log. Deterministic: the id is a hash of
 * the seed, the sequence number, the input and the result; the timestamp is the decision's logical
 * time (`context.now`), normalised to UTC. Input and result are copies, masked when rules are set.
 */
export function toDecisionLogEvent(check: PolicyCheckEvent, seq: number, context: EventContext): DecisionLogEvent {
  const input: Record<string, unknown> = { agentId: check.agentId, action: check.action };
  if (check.now !== null) input["now"] = check.now;
  const result: unknown = check.decision;
  const parts: Maskable = context.mask.length === 0 ? { input, result } : { input: copyForMask(input), result: copyForMask(result) };
  applyMask(parts, context.mask);
  const revision = check.decision.provenance.bundleRevision;
  // Members in the order OPA's EventV1 declares them, so the JSON reads as OPA's does.
  return {
    labels: { ...context.labels },
    decision_id: decisionId(context.seed, seq, input, result),
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

/**
 * A UUID (RFC 9562 version 8, the form for ids made by one's own method) from the SHA-256 of the
 * seed, the sequence number and the decision: the same run logs the same ids, another seed others.
 */
export function decisionId(seed: string, seq: number, input: unknown, result: unknown): string {
  const hex = createHash("sha256").update(`${seed}\0${seq}\0`).update(canonicalJson(input)).update("\0").update(canonicalJson(result)).digest("hex");
  return uuidV8(hex);
}

/** The first 122 bits of `hex` as a version 8 UUID. */
export function uuidV8(hex: string): string {
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
