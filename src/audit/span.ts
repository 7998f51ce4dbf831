import { z } from "zod";
import { canonicalJson } from "../canonical-json.js";
import type { FlightRecorderEntry, PolicyCheckEntry, SignalEntry, ToolCallEntry } from "./flight-recorder.js";
import { isoOf } from "../values.js";

/** What a span attribute can hold (OpenTelemetry's scalar attribute values). */
export const SpanAttributeValueSchema = z.union([z.string(), z.number(), z.boolean()]);
export type SpanAttributeValue = z.infer<typeof SpanAttributeValueSchema>;
export const SpanAttributesSchema = z.record(z.string(), SpanAttributeValueSchema);
/** A span's attributes: names to strings, numbers or booleans. */
export type SpanAttributes = z.infer<typeof SpanAttributesSchema>;

export const SpanEventSchema = z.strictObject({
  name: z.string(),
  /** ISO 8601 UTC. */
  timestamp: z.iso.datetime(),
  attributes: SpanAttributesSchema,
});
/** An event on a span (one per violation), with its time and attributes. */
export type SpanEvent = z.infer<typeof SpanEventSchema>;

/** One audit entry as a span: a plain object, so JSON.stringify is its serialisation. */
export const SpanSchema = z.strictObject({
  /** First 16 hex digits of the entry hash: stable for the entry, distinct across chains. */
  spanId: z.string().regex(/^[0-9a-f]{16}$/, "16 lower-case hex digits"),
  /** `${traceIdPrefix}-${agentId}`: one trace per agent. */
  traceId: z.string().min(1),
  /** `agent_os.<entry type>`. */
  name: z.string(),
  startTime: z.iso.datetime(),
  endTime: z.iso.datetime(),
  attributes: SpanAttributesSchema,
  events: z.array(SpanEventSchema),
});
export type Span = z.infer<typeof SpanSchema>;

/** Longest JSON text put in `agent_os.tool_args`, `agent_os.tool_result` and descriptions. */
export const MAX_ATTRIBUTE_CHARS = 1000;

/** Attribute names under this prefix belong to the emitter; metadata can never set them. */
export const RESERVED_ATTRIBUTE_PREFIX = "agent_os.";

/** Span-event name of one violation. */
export const VIOLATION_EVENT_NAME = "agent_os.violation";

/** Options of `entryToSpan`. */
export interface EntryToSpanOptions {
  readonly traceIdPrefix: string;
}

/** Converts one audit entry into a span (pure: the same entry always gives the same span). */
export function entryToSpan(entry: FlightRecorderEntry, options: EntryToSpanOptions): Span {
  const reserved: [string, SpanAttributeValue][] = [
    ["agent_os.entry_type", entry.type],
    ["agent_os.agent_id", entry.agentId],
    ["agent_os.entry_seq", entry.seq],
    ["agent_os.entry_hash", entry.hash],
    ["agent_os.prev_hash", entry.prevHash],
    ["agent_os.chain_id", entry.chainId],
  ];
  // Attributes cannot be null, so an unknown revision is an absent attribute.
  if (entry.bundleRevision !== null) reserved.push(["agent_os.bundle_revision", entry.bundleRevision]);

  let events: SpanEvent[] = [];
  let endTime = entry.timestamp;
  switch (entry.type) {
    case "policy_check":
      reserved.push(...policyCheckAttributes(entry));
      events = violationEvents(entry);
      break;
    case "signal":
      reserved.push(...signalAttributes(entry));
      break;
    case "tool_call":
      reserved.push(...toolCallAttributes(entry));
      if (entry.durationMs !== undefined) endTime = addMilliseconds(entry.timestamp, entry.durationMs);
      break;
  }

  return {
    spanId: entry.hash.slice(0, 16),
    traceId: `${options.traceIdPrefix}-${entry.agentId}`,
    name: `agent_os.${entry.type}`,
    startTime: entry.timestamp,
    endTime,
    attributes: buildAttributes(entry.metadata, reserved),
    events,
  };
}

/**
 * Metadata first, reserved attributes last, and metadata names under `agent_os.` skipped
 * (and listed in `agent_os.metadata_dropped`), so metadata can add attributes but never
 * replace or invent one of ours.
 */
function buildAttributes(metadata: FlightRecorderEntry["metadata"], reserved: readonly [string, SpanAttributeValue][]): SpanAttributes {
  const pairs: [string, SpanAttributeValue][] = [];
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (key.startsWith(RESERVED_ATTRIBUTE_PREFIX)) dropped.push(key);
    else pairs.push([key, value]);
  }
  pairs.push(...reserved);
  if (dropped.length > 0) pairs.push(["agent_os.metadata_dropped", dropped.sort().join(",")]);
  // fromEntries defines own properties, so a metadata key "__proto__" stays a plain attribute.
  return Object.fromEntries(pairs);
}

function policyCheckAttributes(entry: PolicyCheckEntry): [string, SpanAttributeValue][] {
  const { decision } = entry;
  const violated = [...new Set(decision.violations.map((v) => v.policy))].sort();
  const penalty = decision.violations.reduce((sum, v) => sum + v.penalty, 0);
  const attributes: [string, SpanAttributeValue][] = [
    // Sorted, comma-joined names of the violated policies; "" (never a policy name) when none.
    ["agent_os.policy_name", violated.join(",")],
    ["agent_os.policy_result", decision.allowed ? "allowed" : "denied"],
    // True for any violation, a warning on an allowed action included.
    ["agent_os.policy_violated", decision.violations.length > 0],
    ["agent_os.violation_count", decision.violations.length],
    ["agent_os.total_penalty", penalty],
    ["agent_os.action_type", entry.action.type],
  ];
  if (decision.signals.length > 0) attributes.push(["agent_os.signals", decision.signals.join(",")]);
  return attributes;
}

function signalAttributes(entry: SignalEntry): [string, SpanAttributeValue][] {
  return [
    ["agent_os.signal_type", entry.signal],
    // A signal is sent to the agent whose action raised it.
    ["agent_os.signal_target", entry.agentId],
    ["agent_os.policy_name", entry.policy],
  ];
}

function toolCallAttributes(entry: ToolCallEntry): [string, SpanAttributeValue][] {
  const args = truncate(canonicalJson(entry.args));
  const attributes: [string, SpanAttributeValue][] = [
    ["agent_os.tool_name", entry.tool],
    ["agent_os.tool_args", args.text],
    ["agent_os.tool_args_truncated", args.truncated],
  ];
  if (entry.result !== undefined) {
    const result = truncate(canonicalJson(entry.result));
    attributes.push(["agent_os.tool_result", result.text], ["agent_os.tool_result_truncated", result.truncated]);
  }
  if (entry.error !== undefined) attributes.push(["agent_os.tool_error", truncate(entry.error).text]);
  if (entry.durationMs !== undefined) attributes.push(["agent_os.tool_duration_ms", entry.durationMs]);
  return attributes;
}

function violationEvents(entry: PolicyCheckEntry): SpanEvent[] {
  return entry.decision.violations.map((violation) => {
    const attributes: SpanAttributes = {
      "agent_os.violation.policy": violation.policy,
      "agent_os.violation.rule": violation.rule,
      "agent_os.violation.severity": violation.severity,
      "agent_os.violation.blocked": violation.blocked,
      "agent_os.violation.penalty": violation.penalty,
      "agent_os.violation.type": violation.type,
      "agent_os.violation.source": violation.source,
      "agent_os.violation.description": truncate(violation.description).text,
    };
    if (violation.signal !== undefined) attributes["agent_os.violation.signal"] = violation.signal;
    return { name: VIOLATION_EVENT_NAME, timestamp: entry.timestamp, attributes };
  });
}

/**
 * At most `max` UTF-16 code units; never ends on half a surrogate pair, which would turn
 * into invalid UTF-8 (U+FFFD) in every exporter downstream.
 */
export function truncate(text: string, max = MAX_ATTRIBUTE_CHARS): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  let cut = max;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return { text: text.slice(0, cut), truncated: true };
}

// A duration too large for a Date keeps the span at zero length rather than throwing.
function addMilliseconds(iso: string, ms: number): string {
  return isoOf(Date.parse(iso) + ms) ?? iso;
}
