import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { canonicalJson, sha256Hex } from "../canonical-json.js";
import { PolicyKernelError, errorMessage, issuePath } from "../errors.js";
import type { KernelAuditEvent, KernelAuditSink } from "../kernel/audit-sink.js";
import { DecisionSchema, SignalNameSchema, type Decision } from "../schemas.js";
import { isErrno, writeFileAtomic } from "./atomic-write.js";
import { toJsonCopy, type JsonValue } from "./json-value.js";
import { optionsError } from "../options.js";
import { patternOf } from "../schemas.js";
import { isFunction, isPlainObject } from "../values.js";

// ---------------------------------------------------------------- entry schemas

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
});

/** One hash-chained audit entry. */
export const FlightRecorderEntrySchema = z.discriminatedUnion("type", [
  PolicyCheckEntrySchema,
  SignalEntrySchema,
  ToolCallEntrySchema,
]);
export type FlightRecorderEntry = z.infer<typeof FlightRecorderEntrySchema>;
export type PolicyCheckEntry = z.infer<typeof PolicyCheckEntrySchema>;
export type SignalEntry = z.infer<typeof SignalEntrySchema>;
export type ToolCallEntry = z.infer<typeof ToolCallEntrySchema>;
export type EntryType = FlightRecorderEntry["type"];
export const ENTRY_TYPES: readonly EntryType[] = ["policy_check", "signal", "tool_call"];

const RecordNowSchema = z.iso.datetime({ offset: true });

/** What the runner or environment reports for one executed tool call or action. */
export const ToolCallRecordSchema = z.strictObject({
  agentId: z.string().min(1),
  tool: z.string().min(1),
  /** Any value; stored as a JSON-safe deep copy (see toJsonValue). */
  args: z.unknown().optional(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
  /** Logical start time of the call; the recorder's clock when absent. */
  now: z.union([RecordNowSchema, z.date()]).nullable().optional(),
  bundleRevision: z.string().nullable().optional(),
  metadata: EntryMetadataSchema.optional(),
});
export type ToolCallRecord = z.input<typeof ToolCallRecordSchema>;

const TOOL_CALL_RECORD_KEYS: ReadonlySet<string> = new Set(Object.keys(ToolCallRecordSchema.shape));
const RECORD_NOW_PATTERN = patternOf(RecordNowSchema);

/**
 * ToolCallRecordSchema's acceptance without zod, for the common case: never true for a value the
 * schema rejects (a property test holds it). zod's output is the input itself for an accepted
 * record (no defaults or transforms), so the record can be used as it is.
 */
export function isToolCallRecord(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) if (!TOOL_CALL_RECORD_KEYS.has(key)) return false;
  const { agentId, tool, error, durationMs, now, bundleRevision, metadata } = value;
  return (
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

// ---------------------------------------------------------------- hashing and verification

/** The hash an entry must carry: SHA-256 hex of the canonical JSON of the entry minus `hash`. */
export function computeEntryHash(entry: Readonly<Record<string, unknown>>): string {
  const { hash: _hash, ...unsigned } = entry;
  return sha256Hex(canonicalJson(unsigned));
}

export type VerifyFailureReason =
  | "invalid_entry"
  | "chain_id_mismatch"
  | "seq_mismatch"
  | "prev_hash_mismatch"
  | "hash_mismatch"
  | "count_mismatch"
  | "head_mismatch";

export type VerifyResult =
  | { readonly valid: true; readonly count: number; readonly head: string }
  | { readonly valid: false; readonly index: number; readonly reason: VerifyFailureReason; readonly message: string };

/**
 * A chain alone cannot see entries cut off its end: anchor it with the head hash (or the
 * count) saved elsewhere, e.g. `recorder.head` published after each episode.
 */
export interface VerifyOptions {
  readonly expectedHead?: string;
  readonly expectedCount?: number;
}

/**
 * Checks a whole log: shape, one chainId, seq = index, each prevHash = previous hash (genesis
 * first) and each hash recomputed. Reports the first bad index; any edited, removed, inserted or
 * reordered entry fails. Truncation at the end needs `expectedHead` or `expectedCount`.
 */
export function verifyEntries(entries: readonly unknown[], options: VerifyOptions = {}): VerifyResult {
  let previous = GENESIS_HASH;
  let chainId: string | undefined;
  for (let index = 0; index < entries.length; index++) {
    const raw = entries[index];
    const parsed = FlightRecorderEntrySchema.safeParse(raw);
    if (!parsed.success) {
      return fail(index, "invalid_entry", describeIssue(parsed.error, raw).text);
    }
    const entry = parsed.data;
    chainId ??= entry.chainId;
    if (entry.chainId !== chainId) {
      return fail(index, "chain_id_mismatch", `entry belongs to chain ${entry.chainId}, not ${chainId}`);
    }
    if (entry.seq !== index) {
      return fail(index, "seq_mismatch", `seq ${entry.seq} at position ${index}: an entry was removed, inserted or moved`);
    }
    if (entry.prevHash !== previous) {
      return fail(index, "prev_hash_mismatch", "prevHash is not the previous entry's hash");
    }
    // Hash what was given, not zod's output: the schema strips unknown nested fields, and an
    // added nested field must count as an edit.
    let actual: string;
    try {
      actual = computeEntryHash(raw as Record<string, unknown>);
    } catch (error) {
      return fail(index, "invalid_entry", `cannot encode the entry: ${errorMessage(error)}`);
    }
    if (actual !== entry.hash) return fail(index, "hash_mismatch", "hash does not match the entry's content");
    previous = entry.hash;
  }
  if (options.expectedCount !== undefined && options.expectedCount !== entries.length) {
    return fail(entries.length, "count_mismatch", `expected ${options.expectedCount} entries, found ${entries.length}`);
  }
  if (options.expectedHead !== undefined && options.expectedHead !== previous) {
    return fail(entries.length, "head_mismatch", "the last hash is not the expected head: entries are missing or were replaced");
  }
  return { valid: true, count: entries.length, head: previous };
}

function fail(index: number, reason: VerifyFailureReason, message: string): VerifyResult {
  return { valid: false, index, reason, message };
}

// ---------------------------------------------------------------- the recorder

const FlightRecorderOptionsSchema = z.strictObject({
  /** Time for events without `now`; defaults to the wall clock. Pass a fake one for replayable logs. */
  clock: z.custom<() => Date>(isFunction, "a function returning a Date").optional(),
  /** Chain name hashed into every entry; a random UUID by default. Fix it for byte-identical replays. */
  chainId: z.string().min(1).optional(),
  /** Called synchronously after each entry is appended (streaming); its errors go to `onError`. */
  onEntry: z.custom<(entry: FlightRecorderEntry) => void>(isFunction, "a function").optional(),
  /** Told about events `record` could not store and listener failures; `record` itself never throws. */
  onError: z.custom<(error: unknown) => void>(isFunction, "a function").optional(),
});
/** Options of `new FlightRecorder`; unknown names are errors. */
export type FlightRecorderOptions = z.input<typeof FlightRecorderOptionsSchema>;

type EntryBody =
  | Pick<PolicyCheckEntry, "type" | "agentId" | "bundleRevision" | "action" | "decision">
  | Pick<SignalEntry, "type" | "agentId" | "bundleRevision" | "signal" | "policy">
  | Omit<ToolCallEntry, "seq" | "chainId" | "timestamp" | "prevHash" | "hash">;

/**
 * Append-only, hash-chained audit log of every decision, signal and executed tool call.
 * Implements the kernel's audit sink. Entries are deeply frozen copies: mutating an event
 * after recording it cannot change (or break) the chain.
 */
export class FlightRecorder implements KernelAuditSink {
  readonly #entries: FlightRecorderEntry[] = [];
  readonly #clock: () => Date;
  readonly #chainId: string;
  readonly #listeners = new Set<(entry: FlightRecorderEntry) => void>();
  readonly #onError: ((error: unknown) => void) | undefined;
  #dropped = 0;

  constructor(options: FlightRecorderOptions = {}) {
    const parsed = FlightRecorderOptionsSchema.safeParse(options);
    if (!parsed.success) throw optionsError(parsed.error, "", FlightRecorderOptionsSchema);
    this.#clock = parsed.data.clock ?? (() => new Date());
    // Random by default so two recorders fed identical events never share hashes or span ids.
    this.#chainId = parsed.data.chainId ?? randomUUID();
    this.#onError = parsed.data.onError;
    if (parsed.data.onEntry) this.#listeners.add(parsed.data.onEntry);
  }

  /** The chain name hashed into every entry. */
  get chainId(): string {
    return this.#chainId;
  }

  /** Number of entries recorded. */
  get size(): number {
    return this.#entries.length;
  }

  /** Hash of the last entry (GENESIS_HASH when empty): publish it to anchor the log against truncation. */
  get head(): string {
    return this.#entries.at(-1)?.hash ?? GENESIS_HASH;
  }

  /** Events `record` could not store (each one was reported to `onError`). */
  get droppedEvents(): number {
    return this.#dropped;
  }

  /** Records a kernel decision, signal or executed action; never throws (the kernel calls it on the hot path). */
  record(event: KernelAuditEvent): void {
    try {
      if (event.type === "tool_call") {
        const body = event.action as Record<string, unknown>;
        this.recordToolCall({
          agentId: event.agentId,
          tool: event.action.type === "tool_call" && typeof body["tool"] === "string" ? body["tool"] : event.action.type,
          args: event.action,
          now: event.now,
          ...(event.result === undefined ? {} : { result: event.result }),
          ...(event.error === undefined ? {} : { error: event.error }),
          ...(event.bundleRevision === undefined ? {} : { bundleRevision: event.bundleRevision }),
          ...(event.metadata === undefined ? {} : { metadata: event.metadata as EntryMetadata }),
        });
        return;
      }
      const copies = new Copier();
      const body = kernelEventBody(event, copies);
      this.#append(body, event.now, copies.stringifyCanonically);
    } catch (error) {
      this.#dropped++;
      this.#report(error);
    }
  }

  /** Records one executed tool call or action; throws PolicyKernelError "invalid_input" on a malformed record. */
  recordToolCall(record: ToolCallRecord): ToolCallEntry {
    // Every executed step lands here: the hand-written check takes the common case, zod the rest.
    let input = record as z.output<typeof ToolCallRecordSchema>;
    if (!isToolCallRecord(record)) {
      const parsed = ToolCallRecordSchema.safeParse(record);
      if (!parsed.success) throw optionsError(parsed.error, "", ToolCallRecordSchema, "invalid_input");
      input = parsed.data;
    }
    const copies = new Copier();
    const body: Omit<ToolCallEntry, "seq" | "chainId" | "timestamp" | "prevHash" | "hash"> = {
      type: "tool_call",
      agentId: input.agentId,
      bundleRevision: input.bundleRevision ?? null,
      tool: input.tool,
      args: copies.copy(input.args ?? {}),
      ...(input.result === undefined ? {} : { result: copies.copy(input.result) }),
      ...(input.error === undefined ? {} : { error: input.error }),
      ...(input.durationMs === undefined ? {} : { durationMs: input.durationMs }),
      ...(input.metadata === undefined ? {} : { metadata: copies.copy(input.metadata) as EntryMetadata }),
    };
    return this.#append(body, input.now ?? null, copies.stringifyCanonically) as ToolCallEntry;
  }

  /** A snapshot of all entries, oldest first. */
  entries(): readonly FlightRecorderEntry[] {
    return Object.freeze(this.#entries.slice());
  }

  /** Entries with `seq >= seq`, oldest first (cheap incremental reads for emitters). */
  entriesSince(seq: number): readonly FlightRecorderEntry[] {
    return Object.freeze(this.#entries.slice(Math.max(0, Math.trunc(seq))));
  }

  /** Calls `listener` after each new entry; returns the function that unsubscribes it. */
  subscribe(listener: (entry: FlightRecorderEntry) => void): () => void {
    // A wrapper per subscription, so subscribing the same function twice needs two unsubscribes.
    const wrapper = (entry: FlightRecorderEntry): void => listener(entry);
    this.#listeners.add(wrapper);
    return () => {
      this.#listeners.delete(wrapper);
    };
  }

  /** Verifies this recorder's own chain (see verifyEntries). */
  verify(options: VerifyOptions = {}): VerifyResult {
    return verifyEntries(this.#entries, options);
  }

  /** The log as JSON Lines: one canonical-JSON entry per line, each line ending in "\n". */
  toJsonl(): string {
    return this.#entries.map((entry) => `${canonicalJson(entry)}\n`).join("");
  }

  /** Writes `toJsonl()` atomically (temp file + rename), refusing a symlink destination; returns the entry count. */
  async writeJsonl(path: string): Promise<number> {
    const count = this.#entries.length;
    await writeFileAtomic(path, this.toJsonl());
    return count;
  }

  /** `stringifiable`: every member of `body` is a primitive or a Copier copy that stringifies canonically. */
  #append(body: EntryBody, now: unknown, stringifiable: boolean): FlightRecorderEntry {
    const unsigned = {
      seq: this.#entries.length,
      chainId: this.#chainId,
      timestamp: this.#timestamp(now),
      ...body,
      prevHash: this.head,
    };
    const entry = Object.freeze({ ...unsigned, hash: stringifiable ? hashSorted(unsigned) : sha256Hex(canonicalJson(unsigned)) }) as FlightRecorderEntry;
    this.#entries.push(entry);
    for (const listener of this.#listeners) {
      try {
        listener(entry);
      } catch (error) {
        this.#report(error);
      }
    }
    return entry;
  }

  #timestamp(now: unknown): string {
    const fromEvent = toIsoTimestamp(now);
    if (fromEvent !== null) return fromEvent;
    const fromClock = toIsoTimestamp(this.#clock());
    if (fromClock === null) throw new PolicyKernelError("invalid_config", "the recorder's clock returned an invalid Date");
    return fromClock;
  }

  #report(error: unknown): void {
    try {
      this.#onError?.(error);
    } catch {
      // An error handler that throws must not turn `record` into a throwing call.
    }
  }
}

/** Deep JSON-safe copies for one entry, noting whether all of them stringify canonically. */
class Copier {
  stringifyCanonically = true;

  copy(value: unknown): JsonValue {
    const copy = toJsonCopy(value);
    if (!copy.stringifiesCanonically) this.stringifyCanonically = false;
    return copy.value;
  }
}

/**
 * computeEntryHash for an entry whose members are primitives and toJsonCopy copies (keys already
 * in canonical order): the native JSON.stringify of the members in sorted order gives the same bytes.
 */
function hashSorted(unsigned: Readonly<Record<string, unknown>>): string {
  const ordered: Record<string, unknown> = {};
  for (const key of Object.keys(unsigned).sort()) ordered[key] = unsigned[key];
  return sha256Hex(JSON.stringify(ordered));
}

function kernelEventBody(event: KernelAuditEvent, copies: Copier): EntryBody {
  switch (event.type) {
    case "policy_check": {
      // A JSON copy of a Decision is a Decision: every field of the schema is plain JSON.
      const decision = copies.copy(event.decision) as unknown as Decision;
      const revision = decision.provenance?.bundleRevision;
      return {
        type: "policy_check",
        agentId: String(event.agentId),
        bundleRevision: typeof revision === "string" ? revision : null,
        action: copies.copy(event.action) as PolicyCheckEntry["action"],
        decision,
      };
    }
    case "signal": {
      return {
        type: "signal",
        agentId: String(event.agentId),
        bundleRevision: typeof event.bundleRevision === "string" ? event.bundleRevision : null,
        signal: String(event.signal),
        policy: String(event.policy),
      };
    }
    default:
      throw new PolicyKernelError("invalid_input", `unknown audit event type ${JSON.stringify((event as { type?: unknown }).type)}`, {
        field: "type",
        expected: "policy_check or signal",
      });
  }
}

// A step records its decision, signals and execution with the same `now` string: remember the
// last conversion (about 1 µs each).
let lastNowText: string | undefined;
let lastNowIso: string | null = null;

// Normalised to UTC with milliseconds so every entry has the same sortable timestamp form.
function toIsoTimestamp(value: unknown): string | null {
  if (typeof value === "string") {
    if (value !== lastNowText) {
      lastNowIso = isoOf(Date.parse(value));
      lastNowText = value;
    }
    return lastNowIso;
  }
  return value instanceof Date ? isoOf(value.getTime()) : null;
}

/** `ms` since the epoch as a UTC ISO 8601 timestamp; null when it is not a time a log can carry. */
export function isoOf(ms: number): string | null {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return null;
  const iso = date.toISOString();
  // Years outside 0000-9999 print as "+010000-…", which no ISO 8601 reader accepts.
  return /^\d{4}-/.test(iso) ? iso : null;
}

// ---------------------------------------------------------------- JSON Lines

/** Parses JSON Lines text into entries (shape only; call verifyEntries for the chain); errors name line and field. */
export function parseJsonl(text: string, location: { file?: string } = {}): FlightRecorderEntry[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const entries: FlightRecorderEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lineNumber = i + 1;
    const line = (lines[i] ?? "").replace(/\r$/, "");
    if (line.trim() === "") {
      throw new PolicyKernelError("invalid_input", "empty line", { file: location.file, field: `line ${lineNumber}` });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (error) {
      throw new PolicyKernelError(
        "invalid_input",
        `not valid JSON: ${errorMessage(error)}`,
        { file: location.file, field: `line ${lineNumber}` },
        { cause: error },
      );
    }
    const parsed = FlightRecorderEntrySchema.safeParse(raw);
    if (!parsed.success) {
      const issue = describeIssue(parsed.error, raw);
      throw new PolicyKernelError("invalid_input", issue.message, {
        file: location.file,
        field: `line ${lineNumber}: ${issue.field}`,
        expected: issue.expected,
      });
    }
    // Keep the parsed JSON itself: zod strips unknown nested fields, which would change the hash.
    entries.push(raw as FlightRecorderEntry);
  }
  return entries;
}

/** Reads a JSON Lines log written by `writeJsonl`; PolicyKernelError "invalid_input" names file, line and field. */
export async function readJsonl(path: string): Promise<FlightRecorderEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const message = isErrno(error, "ENOENT") ? "file not found" : `cannot read the file: ${errorMessage(error)}`;
    throw new PolicyKernelError("io_error", message, { file: path }, { cause: error });
  }
  return parseJsonl(text, { file: path });
}

// ---------------------------------------------------------------- error helpers

interface DescribedIssue {
  readonly field: string;
  readonly message: string;
  readonly expected: string | undefined;
  readonly text: string;
}

function describeIssue(error: z.ZodError, raw: unknown): DescribedIssue {
  const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
  // zod's message for a bad discriminator is only "Invalid input"; say what would be valid.
  if (!ENTRY_TYPES.includes(type as EntryType)) {
    const message = `unknown entry type ${JSON.stringify(type) ?? "undefined"}`;
    const expected = ENTRY_TYPES.join(", ");
    return { field: "type", message, expected: `one of ${expected}`, text: `type: ${message} (expected one of ${expected})` };
  }
  const issue = error.issues[0];
  if (!issue) return { field: "(root)", message: "invalid entry", expected: undefined, text: "invalid entry" };
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const field = issuePath(keys.length > 0 ? [...issue.path, keys[0] ?? ""] : issue.path);
  return { field, message: issue.message, expected: undefined, text: `${field}: ${issue.message}` };
}

export type { JsonValue };
