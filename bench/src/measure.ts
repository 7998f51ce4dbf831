import { performance } from "node:perf_hooks";
import { errorMessage } from "../../src/errors.js";

/** Latency percentiles (µs) and single-core throughput of one benchmark row. */
export interface Measurement {
  readonly iterations: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  /** Calls per second on one core, from a loop without per-call timers. */
  readonly opsPerSec: number;
}

/** How long to run each phase; defaults suit a noisy 2-core machine (~3 s per row). */
export interface MeasureOptions {
  readonly warmupMs?: number;
  readonly sampleMs?: number;
  readonly throughputMs?: number;
  /** Alternating rounds the sample and throughput time is split into (measureInterleaved). */
  readonly rounds?: number;
}

type Call = (index: number) => unknown;

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** How many alternating rounds each row is measured in (see measureInterleaved). */
export const DEFAULT_ROUNDS = 5;

/** One row's measurement in progress: its call, whether it is async, and what it has gathered so far. */
interface Meter {
  readonly call: Call;
  isAsync: boolean;
  next: number;
  readonly samples: number[];
  count: number;
  elapsedMs: number;
  error?: unknown;
}

async function run(meter: Meter, corpusSize: number): Promise<void> {
  const r = meter.call(meter.next++ % corpusSize);
  if (meter.isAsync) await r;
}

async function warm(meter: Meter, corpusSize: number, ms: number): Promise<void> {
  const first = meter.call(0);
  meter.isAsync = first instanceof Promise;
  if (meter.isAsync) await first;
  const end = performance.now() + ms;
  while (performance.now() < end) for (let k = 0; k < 64; k++) await run(meter, corpusSize);
}

/** Each call timed on its own, for p50/p99. A sync call is never awaited, so a sync peer pays no promise overhead. */
async function sample(meter: Meter, corpusSize: number, ms: number): Promise<void> {
  const { call, samples } = meter;
  const end = performance.now() + ms;
  if (meter.isAsync) {
    while (performance.now() < end) {
      const t0 = performance.now();
      await call(meter.next++ % corpusSize);
      samples.push(performance.now() - t0);
    }
  } else {
    while (performance.now() < end) {
      const t0 = performance.now();
      call(meter.next++ % corpusSize);
      samples.push(performance.now() - t0);
    }
  }
}

/** An untimed loop, for calls per second. */
async function throughput(meter: Meter, corpusSize: number, ms: number): Promise<void> {
  const { call } = meter;
  let count = 0;
  const start = performance.now();
  const end = start + ms;
  if (meter.isAsync) {
    while (performance.now() < end) for (let k = 0; k < 256; k++) await call(count++ % corpusSize);
  } else {
    while (performance.now() < end) for (let k = 0; k < 256; k++) call(count++ % corpusSize);
  }
  meter.elapsedMs += performance.now() - start;
  meter.count += count;
}

function summarize(meter: Meter): Measurement {
  const sorted = Float64Array.from(meter.samples).sort();
  const sum = meter.samples.reduce((a, b) => a + b, 0);
  return {
    iterations: meter.samples.length + meter.count,
    p50Us: percentile(sorted, 50) * 1000,
    p99Us: percentile(sorted, 99) * 1000,
    meanUs: (sum / meter.samples.length) * 1000,
    opsPerSec: meter.count / (meter.elapsedMs / 1000),
  };
}

/**
 * Measures several calls over the corpus indexes, side by side: each is warmed up, then all of
 * them are sampled in `rounds` alternating slices (A B C, A B C, ...), each slice timing calls
 * one by one (p50/p99) and then an untimed loop (throughput). On a shared machine the load
 * changes from second to second; alternating gives every row the same mix of quiet and busy
 * moments, so the ratios between rows hold even when the absolute figures drift.
 * A call that throws is reported as that row's error; the others go on.
 */
export async function measureInterleaved(
  calls: readonly Call[],
  corpusSize: number,
  options: MeasureOptions & { onRound?: (round: number, rounds: number) => void } = {},
): Promise<Array<Measurement | { error: string }>> {
  const warmupMs = options.warmupMs ?? 700;
  const sampleMs = options.sampleMs ?? 1500;
  const throughputMs = options.throughputMs ?? 1000;
  const rounds = Math.max(1, options.rounds ?? DEFAULT_ROUNDS);
  const meters: Meter[] = calls.map((call) => ({ call, isAsync: false, next: 0, samples: [], count: 0, elapsedMs: 0 }));
  const guarded = async (meter: Meter, step: () => Promise<void>): Promise<void> => {
    if (meter.error !== undefined) return;
    try {
      await step();
    } catch (error) {
      meter.error = error ?? new Error("failed");
    }
  };
  for (const meter of meters) await guarded(meter, () => warm(meter, corpusSize, warmupMs));
  for (let round = 1; round <= rounds; round++) {
    for (const meter of meters) {
      await guarded(meter, async () => {
        await sample(meter, corpusSize, sampleMs / rounds);
        await throughput(meter, corpusSize, throughputMs / rounds);
      });
    }
    options.onRound?.(round, rounds);
  }
  return meters.map((meter) =>
    meter.error !== undefined ? { error: errorMessage(meter.error) } : summarize(meter),
  );
}
