import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { FlightRecorder, type FlightRecorderEntry, type VerifyOptions } from "./flight-recorder.js";
import { optionsError } from "../options.js";
import { streamVerifiedJsonl } from "./jsonl.js";
import { entryToSpan, type Span } from "./span.js";
import { spanArrayJson } from "./span-file.js";
import { summarizeEntries, type ViolationSummary } from "./violation-summary.js";

/** Emitter options; unknown names and wrong types are errors (the reference silently dropped them). */
export const EmitterOptionsSchema = z.strictObject({
  includePolicyChecks: z.boolean().default(true),
  includeSignals: z.boolean().default(true),
  includeToolCalls: z.boolean().default(true),
  traceIdPrefix: z.string().min(1).default("agentos"),
});
export type EmitterOptions = z.input<typeof EmitterOptionsSchema>;
export type ResolvedEmitterOptions = z.output<typeof EmitterOptionsSchema>;

const StreamOptionsSchema = z.strictObject({
  signal: z.instanceof(AbortSignal).optional(),
  pollIntervalMs: z.number().finite().positive().default(100),
});
/** Options of `stream`: stop with `signal`; `pollIntervalMs` is only a fallback (new entries wake the stream at once). */
export type StreamOptions = z.input<typeof StreamOptionsSchema>;

/** A span store: the emitter calls `emitSpan`, or else `addSpan`; either may return a Promise. */
export type SpanStore =
  | {
      /** Stores one span. */
      emitSpan(span: Span): unknown;
    }
  | {
      /** Stores one span (the name some stores use). */
      addSpan(span: Span): unknown;
    };

/** Outcome of `emitToStore`: failures do not stop the run, they are counted and kept. */
export interface EmitToStoreResult {
  /** Spans the store accepted (its call returned, or its Promise resolved). */
  readonly stored: number;
  /** Spans whose store call threw or rejected. */
  readonly failed: number;
  readonly failures: readonly { readonly spanId: string; readonly error: unknown }[];
}

/**
 * Turns FlightRecorder entries into spans for stores, files and live streams. One cursor
 * (by seq) is shared by `getNewSpans` and `stream`: use one emitter per incremental consumer.
 */
export class FlightRecorderEmitter {
  readonly #recorder: FlightRecorder;
  readonly #options: ResolvedEmitterOptions;
  #cursor = 0;

  constructor(recorder: FlightRecorder, options: EmitterOptions = {}) {
    if (!(recorder instanceof FlightRecorder)) {
      throw new PolicyKernelError("invalid_config", "the emitter needs a FlightRecorder", { field: "recorder" });
    }
    this.#recorder = recorder;
    this.#options = resolveEmitterOptions(options);
  }

  /** The validated options, defaults filled in. */
  get options(): ResolvedEmitterOptions {
    return this.#options;
  }

  /** Spans of every recorder entry the include options keep, oldest first. */
  getSpans(): Span[] {
    return this.#toSpans(this.#recorder.entries());
  }

  /** Spans of the entries recorded since the previous call (or since `stream` last read). */
  getNewSpans(): Span[] {
    const entries = this.#recorder.entriesSince(this.#cursor);
    this.#cursor += entries.length;
    return this.#toSpans(entries);
  }

  /**
   * Sends every span to `store` in order, awaiting each call. A call that throws or rejects
   * is counted in `failed` and the rest still go. Span ids are stable, so a store can
   * de-duplicate a second run. Rejects with PolicyKernelError "invalid_input" when the store
   * has neither `emitSpan` nor `addSpan`.
   */
  async emitToStore(store: SpanStore): Promise<EmitToStoreResult> {
    const send = storeMethod(store);
    let stored = 0;
    const failures: { spanId: string; error: unknown }[] = [];
    for (const span of this.getSpans()) {
      try {
        await send(span);
        stored++;
      } catch (error) {
        failures.push({ spanId: span.spanId, error });
      }
    }
    return { stored, failed: failures.length, failures };
  }

  /** Writes all spans as a JSON array, atomically, refusing a symlink destination; returns the span count. */
  async exportToFile(path: string): Promise<number> {
    const spans = this.getSpans();
    await writeFileAtomic(path, spanArrayJson(spans));
    return spans.length;
  }

  /**
   * Yields spans of new entries as they are recorded (woken by the recorder, polling as a
   * fallback). When `signal` aborts, it drains what was recorded before the abort and ends.
   */
  stream(options: StreamOptions = {}): AsyncGenerator<Span, void, undefined> {
    // Validated here, not inside the generator, so bad options fail at the call.
    const parsed = StreamOptionsSchema.safeParse(options);
    if (!parsed.success) throw optionsError(parsed.error, "", StreamOptionsSchema);
    return this.#stream(parsed.data.signal, parsed.data.pollIntervalMs);
  }

  async *#stream(signal: AbortSignal | undefined, pollIntervalMs: number): AsyncGenerator<Span, void, undefined> {
    let wake: (() => void) | undefined;
    const poke = (): void => wake?.();
    const unsubscribe = this.#recorder.subscribe(poke);
    signal?.addEventListener("abort", poke);
    try {
      for (;;) {
        // Read the flag before draining: whatever was recorded before the abort is then
        // already in the recorder (record is synchronous), so this drain includes it.
        const stopping = signal?.aborted === true;
        // One entry at a time, advancing the cursor as each span is handed out, so a consumer
        // that breaks early leaves the rest for the next getNewSpans.
        for (let batch = this.#recorder.entriesSince(this.#cursor); batch.length > 0; batch = this.#recorder.entriesSince(this.#cursor)) {
          for (const entry of batch) {
            // getNewSpans may have run while we were suspended at a yield: skip what it took.
            if (entry.seq < this.#cursor) continue;
            this.#cursor = entry.seq + 1;
            if (keepsEntry(this.#options, entry)) yield entryToSpan(entry, this.#options);
          }
        }
        if (stopping) return;
        if (signal?.aborted) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, pollIntervalMs);
          function done(): void {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
          // An entry may have landed between the drain and this wait.
          if (this.#recorder.size > this.#cursor || signal?.aborted) done();
        });
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener("abort", poke);
    }
  }

  /**
   * Violation counts and rates over all recorder entries (see ViolationSummary for exact
   * definitions). Throws "not_retained" once `retain` let entries go: use `summarizeJsonl` on the file.
   */
  getViolationSummary(): ViolationSummary {
    return summarizeEntries(this.#recorder.entries());
  }

  #toSpans(entries: readonly FlightRecorderEntry[]): Span[] {
    const spans: Span[] = [];
    for (const entry of entries) if (keepsEntry(this.#options, entry)) spans.push(entryToSpan(entry, this.#options));
    return spans;
  }
}

/** Whether the include options turn this entry into a span. */
function keepsEntry(options: ResolvedEmitterOptions, entry: FlightRecorderEntry): boolean {
  switch (entry.type) {
    case "policy_check":
      return options.includePolicyChecks;
    case "signal":
      return options.includeSignals;
    case "tool_call":
      return options.includeToolCalls;
  }
}

/** The options validated (PolicyKernelError "invalid_config" naming the field), defaults filled in, frozen. */
function resolveEmitterOptions(options: EmitterOptions): ResolvedEmitterOptions {
  const parsed = EmitterOptionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError(parsed.error, "", EmitterOptionsSchema);
  return Object.freeze(parsed.data);
}

/**
 * Writes the spans of a JSON Lines audit log (FlightRecorder `jsonlPath` or `writeJsonl`) to
 * `outPath`, byte for byte what `FlightRecorderEmitter.exportToFile` writes for the same entries,
 * reading the log once, line by line: the way to export a log that `retain` let leave memory.
 * The chain is verified on the way (`verify`: as verifyJsonl's options, e.g. the expected head
 * and count), so only a log that verifies is exported. Atomic, refusing a symlink destination;
 * returns the span count. A malformed or broken log is PolicyKernelError "invalid_input" naming
 * the file and the failing line, and `outPath` is then left untouched.
 */
export async function exportJsonlSpans(jsonlPath: string, outPath: string, options: EmitterOptions = {}, verify: VerifyOptions = {}): Promise<number> {
  const resolved = resolveEmitterOptions(options);
  let count = 0;
  async function* spans(): AsyncGenerator<Span, void, undefined> {
    for await (const entry of streamVerifiedJsonl(jsonlPath, verify)) {
      if (!keepsEntry(resolved, entry)) continue;
      count++;
      yield entryToSpan(entry, resolved);
    }
  }
  await writeFileAtomic(outPath, spanArrayJson(spans()));
  return count;
}

/** Validates options (strictly: unknown names are errors) and returns a new emitter. */
export function createEmitter(recorder: FlightRecorder, options: EmitterOptions = {}): FlightRecorderEmitter {
  return new FlightRecorderEmitter(recorder, options);
}

function storeMethod(store: unknown): (span: Span) => Promise<unknown> {
  if (typeof store === "object" && store !== null) {
    for (const name of ["emitSpan", "addSpan"] as const) {
      const method = (store as Record<string, unknown>)[name];
      // Promise.resolve().then turns a synchronous throw into a rejection like an async one.
      if (typeof method === "function") return (span) => Promise.resolve().then(() => method.call(store, span));
    }
  }
  throw new PolicyKernelError("invalid_input", "the store has neither an emitSpan nor an addSpan method", {
    field: "store",
    expected: "an object with emitSpan(span) or addSpan(span)",
  });
}
