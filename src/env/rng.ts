import { z } from "zod";
import { sha256Hex } from "../canonical-json.js";
import { fromZodError } from "../errors.js";

/**
 * A seed: a safe integer (Gymnasium's usual seed) or a string (a run name).
 * `42` and `"42"` are different seeds: the hash input is `number:42` vs `string:42`.
 */
export const SeedSchema = z.union([z.number().int(), z.string()]);
/** A seed: an integer or a string (a run name); `42` and `"42"` are different seeds. */
export type Seed = z.infer<typeof SeedSchema>;

/** The seed an environment uses until `reset({ seed })` gives one, so unseeded runs still replay. */
export const DEFAULT_SEED: Seed = 0;

/** The four 32-bit words of an sfc32 generator. */
export type RngState = readonly [number, number, number, number];

/**
 * A seeded pseudo-random generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator,
 * from PractRand), its 128-bit state taken from SHA-256 of the seed and warmed up with 12 draws.
 * Same seed => same sequence on every platform (only 32-bit integer arithmetic). Not for secrets.
 */
export interface Rng {
  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** An unsigned 32-bit integer. */
  nextUint32(): number;
  /** An integer in [0, n), without modulo bias; `n` is a positive integer <= 2^32. */
  int(n: number): number;
  /** A uniformly chosen element; throws on an empty array. */
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy (Fisher–Yates); the input is left untouched. */
  shuffle<T>(items: readonly T[]): T[];
  /** The current state, to compare or snapshot generators. */
  state(): RngState;
  /** An independent generator at the same point of the same sequence. */
  clone(): Rng;
}

const WARM_UP_DRAWS = 12;
const TWO_POW_32 = 0x1_0000_0000;

/** Creates the seeded generator described on `Rng`. */
export function createRng(seed: Seed): Rng {
  const parsed = SeedSchema.safeParse(seed);
  if (!parsed.success) throw fromZodError("invalid_input", parsed.error, { root: "seed" });
  const digest = sha256Hex(`${typeof seed}:${String(seed)}`);
  const words = [0, 1, 2, 3].map((i) => Number.parseInt(digest.slice(i * 8, i * 8 + 8), 16)) as [number, number, number, number];
  const rng = new Sfc32(words);
  for (let i = 0; i < WARM_UP_DRAWS; i += 1) rng.nextUint32();
  return rng;
}

class Sfc32 implements Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor([a, b, c, d]: RngState) {
    this.#a = a | 0;
    this.#b = b | 0;
    this.#c = c | 0;
    this.#d = d | 0;
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`rng.int(n): n must be an integer in [1, 2^32], got ${n}`);
    }
    // Rejection sampling: draws at or above the largest multiple of n would favour small results.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const u = this.nextUint32();
      if (u < limit) return u % n;
    }
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("rng.pick: cannot pick from an empty array");
    return items[this.int(items.length)] as T;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  state(): RngState {
    return [this.#a >>> 0, this.#b >>> 0, this.#c >>> 0, this.#d >>> 0];
  }

  clone(): Rng {
    return new Sfc32(this.state());
  }
}
