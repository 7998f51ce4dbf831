import { performance } from "node:perf_hooks";

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
}

type Call = (index: number) => unknown;

function percentile(sorted: Float64Array, p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/**
 * Measures `call(i)` (sync, or returning a promise that is awaited) over the corpus indexes:
 * warm-up, then each call timed on its own for p50/p99, then an untimed loop for throughput.
 * A sync call is never awaited, so a synchronous peer pays no promise overhead.
 */
export async function measure(call: Call, corpusSize: number, options: MeasureOptions = {}): Promise<Measurement> {
  const warmupMs = options.warmupMs ?? 700;
  const sampleMs = options.sampleMs ?? 1500;
  const throughputMs = options.throughputMs ?? 1000;
  const first = call(0);
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  const run = async (i: number): Promise<void> => {
    const r = call(i % corpusSize);
    if (isAsync) await r;
  };

  let i = 0;
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) for (let k = 0; k < 64; k++) await run(i++);

  const samples: number[] = [];
  const sampleEnd = performance.now() + sampleMs;
  if (isAsync) {
    while (performance.now() < sampleEnd) {
      const t0 = performance.now();
      await call(i++ % corpusSize);
      samples.push(performance.now() - t0);
    }
  } else {
    while (performance.now() < sampleEnd) {
      const t0 = performance.now();
      call(i++ % corpusSize);
      samples.push(performance.now() - t0);
    }
  }
  const sorted = Float64Array.from(samples).sort();
  const sum = samples.reduce((a, b) => a + b, 0);

  let count = 0;
  const tStart = performance.now();
  const tEnd = tStart + throughputMs;
  if (isAsync) {
    while (performance.now() < tEnd) for (let k = 0; k < 256; k++) await call(count++ % corpusSize);
  } else {
    while (performance.now() < tEnd) for (let k = 0; k < 256; k++) call(count++ % corpusSize);
  }
  const elapsed = performance.now() - tStart;
  return {
    iterations: samples.length + count,
    p50Us: percentile(sorted, 50) * 1000,
    p99Us: percentile(sorted, 99) * 1000,
    meanUs: (sum / samples.length) * 1000,
    opsPerSec: count / (elapsed / 1000),
  };
}
