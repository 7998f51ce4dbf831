import { KeyObject, createPublicKey, randomUUID } from "node:crypto";
import { z } from "zod";
import { canonicalJson, sha256Hex } from "../canonical-json.js";
import { PolicyKernelError } from "../errors.js";
import type { KernelAuditEvent, KernelAuditSink } from "../kernel/audit-sink.js";
import { isSealedDecision, sealedDecisionJson } from "../kernel/sealed-decision.js";
import { optionsError } from "../options.js";
import type { Decision, Violation } from "../schemas.js";
import { isFunction, isoOf } from "../values.js";
import { writeFileAtomic } from "./atomic-write.js";
import { generateTrailKeyPair, publicKeyPem, signCheckpoint, toSigningKey, trailKeyId, type Checkpoint } from "./checkpoint.js";
import {
  GENESIS_HASH,
  PolicyCheckEntrySchema,
  SignalEntrySchema,
  ToolCallEntrySchema,
  ToolCallRecordSchema,
  isToolCallRecord,
  type EntryMetadata,
  type FlightRecorderEntry,
  type PolicyCheckEntry,
  type SignalEntry,
  type ToolCallEntry,
  type ToolCallRecord,
} from "./entries.js";
import { toJsonCopy, type JsonValue } from "./json-value.js";
import { JsonlAppender } from "./jsonl-appender.js";
import { verifyEntries, type VerifyOptions, type VerifyResult } from "./verify.js";

// The audit log's whole public surface stays importable from this one module.
export * from "./checkpoint.js";
export * from "./entries.js";
export * from "./jsonl.js";
export * from "./verify.js";

// ---------------------------------------------------------------- the recorder

const FlightRecorderOptionsSchema = z.strictObject({
  /** Time for events without `now`; defaults to the wall clock. Pass a fake one for replayable logs. */
  clock: z.custom<() => Date>(isFunction, "a function returning a Date").optional(),
  /** Chain name hashed into every entry; a random UUID by default. Fix it for byte-identical replays. */
  chainId: z.string().min(1).optional(),
  /** Called synchronously after each entry is appended (streaming); its errors go to `onError`. */
  onEntry: z.custom<(entry: FlightRecorderEntry) => void>(isFunction, "a function").optional(),
  /** Told about events `record` could not store, listener failures and failed writes to `jsonlPath`; `record` itself never throws. */
  onError: z.custom<(error: unknown) => void>(isFunction, "a function").optional(),
  /**
   * Appends every entry to this new JSON Lines file as it is recorded (an existing file is an
   * error). Lines are written in batches: all are on disk after `flush()`/`close()`, at most
   * 200 ms after recording, and at normal process exit.
   */
  jsonlPath: z.string().min(1).optional(),
  /**
   * Keep only the newest `retain` entries in memory (the rest are in `jsonlPath`, which this
   * needs); by default every entry stays. An entry leaves memory only once it is written.
   */
  retain: z.number().int().positive().optional(),
  /**
   * The Ed25519 private key checkpoints are signed with: a KeyObject, PKCS#8 PEM text or the path
   * of a PEM file, kept where the agent cannot write. A new key pair per recorder by default;
   * publish `publicKey` outside the trail either way.
   */
  signingKey: z.union([z.custom<KeyObject>((value) => value instanceof KeyObject, "a KeyObject"), z.string().min(1)]).optional(),
  /**
   * When signed checkpoints are written besides `close()`: after `everyEntries` entries, and (with
   * `jsonlPath`) at most `everyMs` ms after an entry was recorded; 0 turns one off, `false` both.
   * Default every 10,000 entries and 1,000 ms.
   */
  checkpoints: z
    .union([
      z.literal(false),
      z.strictObject({ everyEntries: z.number().int().nonnegative().optional(), everyMs: z.number().finite().nonnegative().optional() }),
    ])
    .optional(),
});
/** Options of `new FlightRecorder`; unknown names are errors. */
export type FlightRecorderOptions = z.input<typeof FlightRecorderOptionsSchema>;

type EntryBody =
  | Pick<PolicyCheckEntry, "type" | "agentId" | "bundleRevision" | "action" | "decision" | "input">
  | Pick<SignalEntry, "type" | "agentId" | "bundleRevision" | "signal" | "policy">
  | Omit<ToolCallEntry, "seq" | "chainId" | "timestamp" | "prevHash" | "hash">;

/**
 * Append-only, hash-chained audit log of every decision, signal and executed tool call.
 * Implements the kernel's audit sink. Entries are deeply frozen copies: mutating an event
 * after recording it cannot change (or break) the chain.
 */
export class FlightRecorder implements KernelAuditSink {
  /** The entries still in memory; #entries[0] has seq #base. */
  #entries: FlightRecorderEntry[] = [];
  #base = 0;
  readonly #retain: number | undefined;
  readonly #log: JsonlAppender | undefined;
  readonly #clock: () => Date;
  readonly #chainId: string;
  readonly #listeners = new Set<(entry: FlightRecorderEntry) => void>();
  readonly #onError: ((error: unknown) => void) | undefined;
  #dropped = 0;
  #closed = false;
  readonly #signingKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #keyId: string;
  readonly #everyEntries: number;
  readonly #everyMs: number;
  /** Checkpoints still in memory (those at or after the retained window's start), oldest first. */
  #checkpoints: Checkpoint[] = [];
  /** `count` of the last checkpoint written, null before the first. */
  #lastCheckpoint: number | null = null;
  /** Checkpoint lines handed to the file, so `writtenLines` can be read as a count of entries. */
  #checkpointLines = 0;
  #checkpointTimer: NodeJS.Timeout | undefined;

  /** Recorders writing a file and not closed yet: signed over at normal exit (#signAtExit). */
  static readonly #unclosed = new Set<FlightRecorder>();
  static {
    // Prepended, so it runs before the file writer's own exit hook writes out and closes the files.
    process.prependListener("exit", () => {
      for (const recorder of FlightRecorder.#unclosed) recorder.#signAtExit();
    });
  }

  constructor(options: FlightRecorderOptions = {}) {
    const parsed = FlightRecorderOptionsSchema.safeParse(options);
    if (!parsed.success) throw optionsError(parsed.error, "", FlightRecorderOptionsSchema);
    const { jsonlPath, retain } = parsed.data;
    if (retain !== undefined && jsonlPath === undefined) {
      throw new PolicyKernelError("invalid_config", "retain drops old entries from memory, so they must be kept on disk", {
        field: "retain",
        expected: "jsonlPath set as well, naming the file that keeps every entry",
      });
    }
    this.#retain = retain;
    this.#onError = parsed.data.onError;
    this.#log = jsonlPath === undefined ? undefined : new JsonlAppender(jsonlPath, (error) => this.#report(error));
    this.#clock = parsed.data.clock ?? (() => new Date());
    // Random by default so two recorders fed identical events never share hashes or span ids.
    this.#chainId = parsed.data.chainId ?? randomUUID();
    if (parsed.data.onEntry) this.#listeners.add(parsed.data.onEntry);
    const given = parsed.data.signingKey;
    this.#signingKey = given === undefined ? generateTrailKeyPair().privateKey : toSigningKey(given);
    this.#publicKey = createPublicKey(this.#signingKey);
    this.#keyId = trailKeyId(this.#publicKey);
    const schedule = parsed.data.checkpoints;
    this.#everyEntries = schedule === false ? 0 : (schedule?.everyEntries ?? DEFAULT_CHECKPOINT_ENTRIES);
    // A crash can only lose what is not on disk yet: the time bound matters only for a file.
    this.#everyMs = schedule === false || jsonlPath === undefined ? 0 : (schedule?.everyMs ?? DEFAULT_CHECKPOINT_MS);
    if (this.#log) FlightRecorder.#unclosed.add(this);
  }

  /**
   * A program that ends without closing its recorder still gets every entry signed (a checkpoint,
   * not the final one: nobody said the trail was complete, so it stays unsealed).
   */
  #signAtExit(): void {
    if (this.#closed || this.size === this.#lastCheckpoint) return;
    try {
      this.#writeCheckpoint(false);
    } catch {
      // Nothing left to report to at exit; the file writer's hook still writes what it can.
    }
  }

  /** The public key that verifies this recorder's checkpoints: publish it outside the trail (e.g. `publicKeyPem` in a file the agent cannot write). */
  get publicKey(): KeyObject {
    return this.#publicKey;
  }

  /** `publicKey` as SPKI PEM text, what `policy-kernel verify --public-key` reads. */
  get publicKeyPem(): string {
    return publicKeyPem(this.#publicKey);
  }

  /** SHA-256 hex of the public key (SPKI DER), carried by every checkpoint. */
  get keyId(): string {
    return this.#keyId;
  }

  /** The checkpoints written so far (with `retain`, those from the retained window on), oldest first. */
  checkpoints(): readonly Checkpoint[] {
    return Object.freeze([...this.#checkpoints]);
  }

  /** Entries the last checkpoint covers (0 before the first): with `jsonlPath`, what is signed and synced to disk. */
  get checkpointedCount(): number {
    return this.#lastCheckpoint ?? 0;
  }

  /**
   * Writes a signed checkpoint over every entry recorded so far, now (when there is a new one),
   * and with `jsonlPath` syncs the file to disk: what it covers then survives a crash or power cut.
   * Returns it (undefined when nothing was new). PolicyKernelError "io_error" when the write or sync fails.
   */
  checkpoint(): Checkpoint | undefined {
    if (this.#closed) throw new PolicyKernelError("io_error", "the flight recorder was closed; it records nothing more", { file: this.#log?.path });
    if (this.size === this.#lastCheckpoint) return undefined;
    return this.#writeCheckpoint(false);
  }

  /** The chain name hashed into every entry. */
  get chainId(): string {
    return this.#chainId;
  }

  /** Number of entries recorded (also those no longer in memory). */
  get size(): number {
    return this.#base + this.#entries.length;
  }

  /** The seq of the oldest entry still in memory: 0 unless `retain` let older ones go. */
  get firstRetainedSeq(): number {
    if (this.#retain === undefined || this.#log === undefined) return 0;
    // Never past what is on disk: an unwritten entry stays readable here. Every checkpoint line
    // appended is taken as written, so this never counts a checkpoint as an entry.
    const writtenEntries = Math.max(0, this.#log.writtenLines - this.#checkpointLines);
    return Math.max(this.#base, Math.min(this.size - this.#retain, writtenEntries));
  }

  /** The JSON Lines file every entry is appended to (the `jsonlPath` option), if any. */
  get jsonlPath(): string | undefined {
    return this.#log?.path;
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
          ...(event.actionSha256 === undefined ? {} : { actionSha256: event.actionSha256 }),
          ...(event.violations === undefined ? {} : { violations: [...event.violations] }),
        });
        return;
      }
      const copies = new Copier();
      const body = kernelEventBody(event, copies);
      this.#append(body, event.now, copies.encoder());
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
      ...(input.actionSha256 === undefined ? {} : { actionSha256: input.actionSha256 }),
      ...(input.violations === undefined ? {} : { violations: copies.copy(input.violations) as Violation[] }),
      ...(input.metadata === undefined ? {} : { metadata: copies.copy(input.metadata) as EntryMetadata }),
    };
    return this.#append(body, input.now ?? null, copies.encoder()) as ToolCallEntry;
  }

  /**
   * A snapshot of all entries, oldest first. Throws PolicyKernelError "not_retained" once `retain`
   * has let entries go: a partial list must not pass for the whole log (read `jsonlPath` instead).
   */
  entries(): readonly FlightRecorderEntry[] {
    return this.entriesSince(0);
  }

  /**
   * Entries with `seq >= seq`, oldest first (cheap incremental reads for emitters). Throws
   * PolicyKernelError "not_retained" when some of them are no longer in memory.
   */
  entriesSince(seq: number): readonly FlightRecorderEntry[] {
    const from = Math.max(0, Math.trunc(seq));
    const first = this.firstRetainedSeq;
    if (from < first) throw this.#notRetained(`entries from seq ${from}`);
    return Object.freeze(this.#entries.slice(from - this.#base));
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

  /**
   * Verifies this recorder's own chain (see verifyEntries). Once `retain` has let entries go it
   * checks the entries still in memory, from the first one's `prevHash` (use `verifyJsonl` on
   * `jsonlPath` for the whole log); `count` is still the number of entries recorded.
   */
  verify(options: Omit<VerifyOptions, "start"> = {}): VerifyResult {
    const first = this.firstRetainedSeq;
    const window = this.#entries.slice(first - this.#base);
    // The window starts where the recorder's memory does: at genesis until `retain` lets entries go.
    const start = first === 0 ? undefined : { seq: first, prevHash: window[0]?.prevHash ?? GENESIS_HASH };
    return verifyEntries(interleave(window, this.#checkpoints, first), { publicKey: this.#publicKey, ...options, start });
  }

  /**
   * The log as JSON Lines: one canonical-JSON entry or checkpoint per line, each line ending in
   * "\n", checkpoints where they were written ("not_retained" as `entries`).
   */
  toJsonl(): string {
    return interleave(this.entries(), this.#checkpoints, 0)
      .map((line) => `${canonicalJson(line)}\n`)
      .join("");
  }

  /** Writes `toJsonl()` atomically (temp file + rename), refusing a symlink destination; returns the entry count. */
  async writeJsonl(path: string): Promise<number> {
    const text = this.toJsonl();
    const count = this.size;
    await writeFileAtomic(path, text);
    return count;
  }

  /** Writes every recorded entry to `jsonlPath` now; PolicyKernelError "io_error" naming the file when that fails. */
  flush(): void {
    this.#log?.flush();
  }

  /**
   * Flushes and closes `jsonlPath`; later events are refused (`record` drops and reports them,
   * `recordToolCall` throws). Without `jsonlPath` it only refuses later events. Closing twice is a no-op.
   */
  close(): void {
    if (!this.#closed) {
      // Refuse further entries first: nothing may follow the final checkpoint, even when the file write below fails.
      this.#closed = true;
      FlightRecorder.#unclosed.delete(this);
      clearTimeout(this.#checkpointTimer);
      this.#writeCheckpoint(true, false);
    }
    this.#log?.sync();
    this.#log?.close();
  }

  /**
   * Signs a checkpoint over every entry so far and appends it to the file, then (when `sync`)
   * syncs the file. Throws what the file's write or sync throws; the checkpoint stays pending then.
   */
  #writeCheckpoint(final: boolean, sync = true): Checkpoint {
    const checkpoint = signCheckpoint(
      {
        type: "checkpoint",
        chainId: this.#chainId,
        count: this.size,
        head: this.head,
        prevCount: this.#lastCheckpoint,
        final,
        keyId: this.#keyId,
      },
      this.#signingKey,
    );
    Object.freeze(checkpoint);
    this.#checkpoints.push(checkpoint);
    this.#lastCheckpoint = checkpoint.count;
    if (this.#log) {
      this.#log.append(`${canonicalJson(checkpoint)}\n`);
      this.#checkpointLines++;
      if (sync) this.#log.sync();
    }
    return checkpoint;
  }

  /** The checkpoint the schedule asks for after an entry: by count at once, by time on a timer. */
  #scheduleCheckpoint(): void {
    const since = this.size - (this.#lastCheckpoint ?? 0);
    if (this.#everyEntries > 0 && since >= this.#everyEntries) {
      clearTimeout(this.#checkpointTimer);
      this.#checkpointTimer = undefined;
      this.#checkpointQuietly();
    } else if (this.#everyMs > 0 && this.#checkpointTimer === undefined) {
      this.#checkpointTimer = setTimeout(() => {
        this.#checkpointTimer = undefined;
        if (!this.#closed && this.size !== this.#lastCheckpoint) this.#checkpointQuietly();
      }, this.#everyMs);
      // A pending checkpoint must not keep a finished program alive.
      this.#checkpointTimer.unref();
    }
  }

  #checkpointQuietly(): void {
    try {
      this.#writeCheckpoint(false);
    } catch (error) {
      // The line stays pending in the file writer; the next write retries it.
      this.#report(error);
    }
  }

  /** `encode` writes each member of `body` as canonical JSON (Copier.encoder). */
  #append(body: EntryBody, now: unknown, encode: (value: unknown) => string | undefined): FlightRecorderEntry {
    if (this.#closed) {
      throw new PolicyKernelError("io_error", "the flight recorder was closed; it records nothing more", { file: this.#log?.path });
    }
    const unsigned = {
      seq: this.size,
      chainId: this.#chainId,
      timestamp: this.#timestamp(now),
      ...body,
      prevHash: this.head,
    };
    // One encoding serves both the hash and the streamed line (the entry's own JSON, `hash` in its sorted place).
    const [before, after] = membersAroundHash(unsigned, encode);
    const hash = sha256Hex(`{${before},${after}}`);
    // The object built above becomes the entry: no second copy to add `hash`.
    const entry = Object.freeze(Object.assign(unsigned, { hash })) as FlightRecorderEntry;
    this.#entries.push(entry);
    if (this.#log) this.#write(`{${before},"hash":"${hash}",${after}}`);
    if (this.#everyEntries > 0 || this.#everyMs > 0) this.#scheduleCheckpoint();
    for (const listener of this.#listeners) {
      try {
        listener(entry);
      } catch (error) {
        this.#report(error);
      }
    }
    return entry;
  }

  #write(line: string): void {
    try {
      this.#log?.append(`${line}\n`);
    } catch (error) {
      // The entry stays in memory (it is not evicted until written) and the next write retries it.
      this.#report(error);
    }
    const first = this.firstRetainedSeq;
    // Evict in large steps so the array is not shifted on every entry.
    if (first - this.#base >= Math.max(1024, this.#retain ?? 0)) {
      this.#entries = this.#entries.slice(first - this.#base);
      this.#base = first;
      this.#checkpoints = this.#checkpoints.filter((checkpoint) => checkpoint.count >= first);
    }
  }

  #notRetained(what: string): PolicyKernelError {
    const first = this.firstRetainedSeq;
    return new PolicyKernelError(
      "not_retained",
      `${what} were asked for, but only seq ${first} onwards is still in memory (retain: ${String(this.#retain)})`,
      { file: this.#log?.path, expected: `seq >= ${first}, or read the whole log from the file (streamJsonl, summarizeJsonl, verifyJsonl)` },
    );
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

/** Default checkpoint schedule: every 10,000 entries, and (with a file) within 1 s of an entry. */
const DEFAULT_CHECKPOINT_ENTRIES = 10_000;
const DEFAULT_CHECKPOINT_MS = 1_000;

/** Entries from seq `first` with each checkpoint placed after the entries it covers, as the file holds them. */
function interleave(entries: readonly FlightRecorderEntry[], checkpoints: readonly Checkpoint[], first: number): (FlightRecorderEntry | Checkpoint)[] {
  if (checkpoints.length === 0) return [...entries];
  const out: (FlightRecorderEntry | Checkpoint)[] = [];
  let next = 0;
  for (let i = 0; i <= entries.length; i++) {
    while (next < checkpoints.length && checkpoints[next]!.count === first + i) out.push(checkpoints[next++]!);
    const entry = entries[i];
    if (entry !== undefined) out.push(entry);
  }
  return out;
}

/** Deep JSON-safe copies for one entry, noting whether all of them stringify canonically, and the entry's member encoder. */
class Copier {
  stringifyCanonically = true;
  /** The entry's sealed decision, kept as it is (kernelEventBody). */
  sealed: Decision | undefined;

  copy(value: unknown): JsonValue {
    const copy = toJsonCopy(value);
    if (!copy.stringifiesCanonically) this.stringifyCanonically = false;
    return copy.value;
  }

  /**
   * Canonical JSON of a member of the entry: a sealed decision by its shape; the rest natively when
   * every copy's keys are already in canonical order (same bytes), else by canonicalJson.
   */
  encoder(): (value: unknown) => string | undefined {
    const plain = this.stringifyCanonically ? JSON.stringify : canonicalJson;
    const sealed = this.sealed;
    return sealed === undefined ? plain : (value) => (value === sealed ? sealedDecisionJson(sealed) : plain(value));
  }
}

/** Every member an entry of any type can have except `hash`, in code-unit order (canonicalJson's). */
const ENTRY_MEMBERS: readonly string[] = [
  ...new Set([PolicyCheckEntrySchema, SignalEntrySchema, ToolCallEntrySchema].flatMap((schema) => Object.keys(schema.shape))),
]
  .filter((name) => name !== "hash")
  .sort();

/**
 * canonicalJson of an entry, as the members sorting before "hash" and those after it (each
 * without braces), so `hash` can be put in its place without encoding the rest again. Each member
 * is encoded by `encode` (Copier.encoder), which writes canonical JSON. An entry's
 * members are those of its schema (EntryBody's type), all in ENTRY_MEMBERS, and neither side is
 * ever empty: chainId sorts before "hash", prevHash and seq after it.
 */
function membersAroundHash(entry: Readonly<Record<string, unknown>>, encode: (value: unknown) => string | undefined): [before: string, after: string] {
  let before = "";
  let after = "";
  for (const name of ENTRY_MEMBERS) {
    const value = entry[name];
    if (value === undefined) continue;
    // Member names are plain identifiers: no escaping needed.
    const member = `"${name}":${encode(value)}`;
    if (name < "hash") before = before === "" ? member : `${before},${member}`;
    else after = after === "" ? member : `${after},${member}`;
  }
  return [before, after];
}

function kernelEventBody(event: KernelAuditEvent, copies: Copier): EntryBody {
  switch (event.type) {
    case "policy_check": {
      // A sealed decision (the kernel's) is kept as it is; a JSON copy of any other Decision is a Decision.
      let decision: Decision;
      if (isSealedDecision(event.decision)) {
        decision = event.decision;
        copies.sealed = decision;
      } else decision = copies.copy(event.decision) as unknown as Decision;
      const revision = decision.provenance?.bundleRevision;
      return {
        type: "policy_check",
        agentId: String(event.agentId),
        bundleRevision: typeof revision === "string" ? revision : null,
        action: copies.copy(event.action) as PolicyCheckEntry["action"],
        decision,
        ...(event.input === undefined ? {} : { input: copies.copy(event.input) as PolicyCheckEntry["input"] }),
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

