import type { KeyObject } from "node:crypto";
import { errorMessage } from "../errors.js";
import { isPlainObject } from "../values.js";
import { CheckpointSchema, checkpointSignatureValid, toVerifyingKey, trailKeyId } from "./checkpoint.js";
import { FlightRecorderEntrySchema, GENESIS_HASH, computeEntryHash, describeIssue } from "./entries.js";

// Checking a trail: the hash chain of its entries (a whole log, a segment of one, or one entry at
// a time) and the signed checkpoints between them.

/** Why a trail failed verification; the first failure found is reported. */
export type VerifyFailureReason =
  | "invalid_entry"
  | "chain_id_mismatch"
  | "seq_mismatch"
  | "prev_hash_mismatch"
  | "hash_mismatch"
  | "count_mismatch"
  | "head_mismatch"
  /** A checkpoint whose count, head or previous checkpoint is not what precedes it in the trail. */
  | "checkpoint_mismatch"
  /** A checkpoint signed by another key, or whose signature does not verify. */
  | "signature_mismatch"
  /** A line after the final checkpoint (which `close()` writes last). */
  | "after_final_checkpoint"
  /** Only with `requireSealed`: the trail verifies but has no final checkpoint. */
  | "unsealed";

/** The outcome of verifying a trail: `valid` tells which. */
export type VerifyResult = VerifySuccess | VerifyFailure;

/** A trail whose chain, and every checkpoint in it, verifies. */
export interface VerifySuccess {
  readonly valid: true;
  /** Entries (checkpoints not counted); with `start`, the seq after the last entry. */
  readonly count: number;
  /** Hash of the last entry. */
  readonly head: string;
  /** Checkpoints in the trail. */
  readonly checkpoints: number;
  /** Entries the last checkpoint covers (0 without one): the signed prefix of the trail. */
  readonly signedCount: number;
  /** Ends with a final checkpoint: every entry signed and the trail closed by its writer. */
  readonly sealed: boolean;
  /** Whether the signatures were checked (a public key was given) or only the checkpoints' places in the chain. */
  readonly signaturesChecked: boolean;
  /** The key id of the checkpoints (undefined without any). */
  readonly keyId: string | undefined;
  /** Line number of an incomplete last line (a write cut short by a crash), ignored but not sealed. */
  readonly tornLine?: number;
}

/** A log that does not verify: the first bad index (of its lines or items), why, and what was found there. */
export interface VerifyFailure {
  readonly valid: false;
  readonly index: number;
  readonly reason: VerifyFailureReason;
  readonly message: string;
}

/**
 * A chain alone cannot see entries cut off its end: signed checkpoints do (an unsealed trail), and so
 * does the head hash (or the count) saved elsewhere, e.g. `recorder.head` published after each episode.
 */
export interface VerifyOptions {
  readonly expectedHead?: string;
  /** The number of entries the log must hold (with `start`: the seq after its last entry). */
  readonly expectedCount?: number;
  /** Where a log segment begins: its first entry's seq and prevHash. Default: the chain's start (0, GENESIS_HASH). */
  readonly start?: { readonly seq: number; readonly prevHash: string };
  /**
   * The Ed25519 public key (KeyObject, SPKI PEM text or PEM file path) every checkpoint must be
   * signed with. Without it the checkpoints' places in the chain are checked, not their signatures.
   */
  readonly publicKey?: KeyObject | string;
  /** Fail ("unsealed") unless the trail ends with a final checkpoint. */
  readonly requireSealed?: boolean;
}

/**
 * Checks a whole log: shape, one chainId, seq = entry index, each prevHash = previous hash
 * (genesis first), each hash recomputed, and each checkpoint (items of type "checkpoint") in its
 * place and signed by `publicKey`. Reports the first bad index; any edited, removed, inserted or
 * reordered entry fails. A cut-off end shows as `sealed: false` (or with `expectedHead`/`expectedCount`).
 */
export function verifyEntries(entries: readonly unknown[], options: VerifyOptions = {}): VerifyResult {
  const chain = new ChainCheck(options);
  for (const raw of entries) {
    const failure = chain.next(raw);
    if (failure) return failure;
  }
  return chain.end(options);
}

/** Whether a parsed trail line is a checkpoint (else it must be an entry). */
export function isCheckpointLine(raw: unknown): boolean {
  return isPlainObject(raw) && raw["type"] === "checkpoint";
}

/** verifyEntries one item at a time, so a log of any length can be checked as it is read. */
export class ChainCheck {
  #index = 0;
  #entries = 0;
  readonly #firstSeq: number;
  #previous: string;
  #chainId: string | undefined;
  readonly #publicKey: KeyObject | undefined;
  #keyId: string | undefined;
  /** `count` of the last checkpoint; null before the first; undefined when unknown (a segment). */
  #lastCheckpoint: number | null | undefined;
  #checkpoints = 0;
  #sealed = false;

  constructor(options: Pick<VerifyOptions, "start" | "publicKey"> = {}) {
    const start = options.start ?? { seq: 0, prevHash: GENESIS_HASH };
    this.#firstSeq = start.seq;
    this.#previous = start.prevHash;
    this.#lastCheckpoint = start.seq === 0 ? null : undefined;
    if (options.publicKey !== undefined) {
      this.#publicKey = toVerifyingKey(options.publicKey);
      this.#keyId = trailKeyId(this.#publicKey);
    }
  }

  /** Checks the next entry or checkpoint: a failure result, or undefined when it extends the trail. */
  next(raw: unknown): VerifyFailure | undefined {
    const index = this.#index;
    if (this.#sealed) return fail(index, "after_final_checkpoint", "a line follows the final checkpoint, which ends the trail");
    const failure = isCheckpointLine(raw) ? this.#checkpoint(raw, index) : this.#entry(raw, index);
    if (failure === undefined) this.#index++;
    return failure;
  }

  #entry(raw: unknown, index: number): VerifyFailure | undefined {
    const parsed = FlightRecorderEntrySchema.safeParse(raw);
    if (!parsed.success) {
      return fail(index, "invalid_entry", describeIssue(parsed.error, raw).text);
    }
    const entry = parsed.data;
    this.#chainId ??= entry.chainId;
    if (entry.chainId !== this.#chainId) {
      return fail(index, "chain_id_mismatch", `entry belongs to chain ${entry.chainId}, not ${this.#chainId}`);
    }
    if (entry.seq !== this.#firstSeq + this.#entries) {
      return fail(index, "seq_mismatch", `seq ${entry.seq} where ${this.#firstSeq + this.#entries} belongs: an entry was removed, inserted or moved`);
    }
    if (entry.prevHash !== this.#previous) {
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
    this.#previous = entry.hash;
    this.#entries++;
    return undefined;
  }

  #checkpoint(raw: unknown, index: number): VerifyFailure | undefined {
    const parsed = CheckpointSchema.safeParse(raw);
    if (!parsed.success) return fail(index, "invalid_entry", `checkpoint: ${describeIssue(parsed.error, raw).text}`);
    const checkpoint = parsed.data;
    this.#chainId ??= checkpoint.chainId;
    if (checkpoint.chainId !== this.#chainId) {
      return fail(index, "chain_id_mismatch", `checkpoint belongs to chain ${checkpoint.chainId}, not ${this.#chainId}`);
    }
    const count = this.#firstSeq + this.#entries;
    if (checkpoint.count !== count) {
      return fail(index, "checkpoint_mismatch", `checkpoint covers ${checkpoint.count} entries, but ${count} precede it: entries were removed, added or moved`);
    }
    if (checkpoint.head !== this.#previous) {
      return fail(index, "checkpoint_mismatch", "checkpoint head is not the hash of the entry before it: the entries it signed were replaced");
    }
    if (this.#lastCheckpoint !== undefined && checkpoint.prevCount !== this.#lastCheckpoint) {
      return fail(
        index,
        "checkpoint_mismatch",
        `checkpoint follows one at count ${String(checkpoint.prevCount)}, but the checkpoint before it here is ${this.#lastCheckpoint === null ? "none" : `at count ${this.#lastCheckpoint}`}: a checkpoint was removed, copied or moved`,
      );
    }
    this.#keyId ??= checkpoint.keyId;
    if (checkpoint.keyId !== this.#keyId) {
      return fail(index, "signature_mismatch", `checkpoint signed by key ${checkpoint.keyId.slice(0, 16)}…, not by ${this.#keyId.slice(0, 16)}…`);
    }
    if (this.#publicKey !== undefined && !checkpointSignatureValid(checkpoint, this.#publicKey)) {
      return fail(index, "signature_mismatch", "the checkpoint's signature does not verify with the public key");
    }
    this.#lastCheckpoint = checkpoint.count;
    this.#checkpoints++;
    this.#sealed = checkpoint.final;
    return undefined;
  }

  /** Entries checked so far (the seq after the last one, with `start`). */
  get count(): number {
    return this.#firstSeq + this.#entries;
  }

  /** Whether a final checkpoint has been read: nothing may follow it. */
  get sealed(): boolean {
    return this.#sealed;
  }

  /** Items (entries and checkpoints) accepted so far. */
  get items(): number {
    return this.#index;
  }

  /** The result once every item passed `next`: the count, head and seal checks. */
  end(options: Pick<VerifyOptions, "expectedCount" | "expectedHead" | "requireSealed"> = {}, tornLine?: number): VerifyResult {
    const index = this.#index;
    const count = this.count;
    if (options.expectedCount !== undefined && options.expectedCount !== count) {
      return fail(index, "count_mismatch", `expected ${options.expectedCount} entries, found ${count}`);
    }
    if (options.expectedHead !== undefined && options.expectedHead !== this.#previous) {
      return fail(index, "head_mismatch", "the last hash is not the expected head: entries are missing or were replaced");
    }
    const result: VerifySuccess = {
      valid: true,
      count,
      head: this.#previous,
      checkpoints: this.#checkpoints,
      signedCount: this.#lastCheckpoint ?? 0,
      sealed: this.#sealed && tornLine === undefined,
      signaturesChecked: this.#publicKey !== undefined,
      keyId: this.#checkpoints > 0 ? this.#keyId : undefined,
      ...(tornLine === undefined ? {} : { tornLine }),
    };
    if (options.requireSealed && !result.sealed) return fail(index, "unsealed", describeUnsealed(result));
    return result;
  }
}

/** Why a trail that verifies is not sealed, in one sentence. */
export function describeUnsealed(result: VerifySuccess): string {
  const torn = result.tornLine === undefined ? "" : `; line ${result.tornLine} is incomplete (a write cut short)`;
  if (result.checkpoints === 0) return `no checkpoint: none of the ${result.count} entries is signed${torn}`;
  const unsigned = result.count - result.signedCount;
  const tail = unsigned > 0 ? `${unsigned} entries after the last checkpoint are not signed` : "every entry is signed";
  return `no final checkpoint: ${tail}; the trail was not closed by its writer (killed, crashed) or was cut short${torn}`;
}

export function fail(index: number, reason: VerifyFailureReason, message: string): VerifyFailure {
  return { valid: false, index, reason, message };
}
