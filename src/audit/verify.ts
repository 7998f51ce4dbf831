import { errorMessage } from "../errors.js";
import { FlightRecorderEntrySchema, GENESIS_HASH, computeEntryHash, describeIssue } from "./entries.js";

// Checking a hash chain of entries: a whole log, a segment of one, or one entry at a time.

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
  | VerifyFailure;

/** A log that does not verify: the first bad index, why, and what was found there. */
export interface VerifyFailure {
  readonly valid: false;
  readonly index: number;
  readonly reason: VerifyFailureReason;
  readonly message: string;
}

/**
 * A chain alone cannot see entries cut off its end: anchor it with the head hash (or the
 * count) saved elsewhere, e.g. `recorder.head` published after each episode.
 */
export interface VerifyOptions {
  readonly expectedHead?: string;
  /** The number of entries the log must hold (with `start`: the seq after its last entry). */
  readonly expectedCount?: number;
  /** Where a log segment begins: its first entry's seq and prevHash. Default: the chain's start (0, GENESIS_HASH). */
  readonly start?: { readonly seq: number; readonly prevHash: string };
}

/**
 * Checks a whole log: shape, one chainId, seq = index, each prevHash = previous hash (genesis
 * first) and each hash recomputed. Reports the first bad index; any edited, removed, inserted or
 * reordered entry fails. Truncation at the end needs `expectedHead` or `expectedCount`.
 */
export function verifyEntries(entries: readonly unknown[], options: VerifyOptions = {}): VerifyResult {
  const chain = new ChainCheck(options.start);
  for (const raw of entries) {
    const failure = chain.next(raw);
    if (failure) return failure;
  }
  return chain.end(options);
}

/** verifyEntries one entry at a time, so a log of any length can be checked as it is read. */
export class ChainCheck {
  #index = 0;
  readonly #firstSeq: number;
  #previous: string;
  #chainId: string | undefined;

  constructor(start: VerifyOptions["start"] = { seq: 0, prevHash: GENESIS_HASH }) {
    this.#firstSeq = start.seq;
    this.#previous = start.prevHash;
  }

  /** Checks the next entry: a failure result, or undefined when it extends the chain. */
  next(raw: unknown): VerifyFailure | undefined {
    const index = this.#index;
    const parsed = FlightRecorderEntrySchema.safeParse(raw);
    if (!parsed.success) {
      return fail(index, "invalid_entry", describeIssue(parsed.error, raw).text);
    }
    const entry = parsed.data;
    this.#chainId ??= entry.chainId;
    if (entry.chainId !== this.#chainId) {
      return fail(index, "chain_id_mismatch", `entry belongs to chain ${entry.chainId}, not ${this.#chainId}`);
    }
    if (entry.seq !== this.#firstSeq + index) {
      return fail(index, "seq_mismatch", `seq ${entry.seq} at position ${index}: an entry was removed, inserted or moved`);
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
    this.#index++;
    return undefined;
  }

  /** The result once every entry passed `next`: the count and head checks. */
  end(options: Pick<VerifyOptions, "expectedCount" | "expectedHead"> = {}): VerifyResult {
    const index = this.#index;
    const count = this.#firstSeq + index;
    if (options.expectedCount !== undefined && options.expectedCount !== count) {
      return fail(index, "count_mismatch", `expected ${options.expectedCount} entries, found ${count}`);
    }
    if (options.expectedHead !== undefined && options.expectedHead !== this.#previous) {
      return fail(index, "head_mismatch", "the last hash is not the expected head: entries are missing or were replaced");
    }
    return { valid: true, count, head: this.#previous };
  }
}

export function fail(index: number, reason: VerifyFailureReason, message: string): VerifyFailure {
  return { valid: false, index, reason, message };
}
