import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import { SEVERITIES, type Severity } from "../schemas.js";
import { writeFileAtomic } from "./atomic-write.js";
import { FlightRecorder, type EntryType, type FlightRecorderEntry } from "./flight-recorder.js";
import { optionsError } from "../options.js";
import { entryToSpan, type Span } from "./span.js";
import { compareCodeUnits } from "../values.js";

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
  | { emitSpan(span: Span): unknown }
  | { addSpan(span: Span): unknown };

/** Outcome of `emitToStore`: failures do not stop the run, they are counted and kept. */
export interface EmitToStoreResult {
  /** Spans the store accepted (its call returned, or its Promise resolved). */
  readonly stored: number;
  /** Spans whose store call threw or rejected. */
  readonly failed: number;
  readonly failures: readonly { readonly spanId: string; readonly error: unknown }[];
}

/**
 * Aggregate view of the recorder's policy checks. Counts every entry of the recorder,
 * whatever the emitter's include options (those only filter spans).
 */
export interface ViolationSummary {
  /** All entries: policy checks, signals and tool calls. */
  readonly totalEntries: number;
  readonly entriesByType: Readonly<Record<EntryType, number>>;
  readonly policyChecks: number;
  readonly deniedChecks: number;
  /** Policy checks with at least one violation (warnings included). */
  readonly checksWithViolations: number;
  /** Violations across all policy checks. */
  readonly totalViolations: number;
  /** totalViolations / policyChecks (violations per decision; can exceed 1), 0 without checks. */
  readonly violationRate: number;
  /** checksWithViolations / policyChecks (share of decisions with a violation, 0..1), 0 without checks. */
  readonly violatingCheckRate: number;
  /** Violations per policy, keys sorted. */
  readonly policiesViolated: Readonly<Record<string, number>>;
  /** Violations per severity, most severe first. */
  readonly violationsBySeverity: Readonly<Record<Severity, number>>;
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
    const parsed = EmitterOptionsSchema.safeParse(options);
    if (!parsed.success) throw optionsError(parsed.error, "", EmitterOptionsSchema);
    this.#recorder = recorder;
    this.#options = Object.freeze(parsed.data);
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
    await writeFileAtomic(path, `${JSON.stringify(spans, null, 2)}\n`);
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
            if (this.#includes(entry)) yield entryToSpan(entry, this.#options);
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

  /** Violation counts and rates over all recorder entries (see ViolationSummary for exact definitions). */
  getViolationSummary(): ViolationSummary {
    const entries = this.#recorder.entries();
    const entriesByType: Record<EntryType, number> = { policy_check: 0, signal: 0, tool_call: 0 };
    const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    const perPolicy = new Map<string, number>();
    let denied = 0;
    let withViolations = 0;
    let violations = 0;
    for (const entry of entries) {
      entriesByType[entry.type]++;
      if (entry.type !== "policy_check") continue;
      const { decision } = entry;
      if (!decision.allowed) denied++;
      if (decision.violations.length > 0) withViolations++;
      for (const violation of decision.violations) {
        violations++;
        bySeverity[violation.severity]++;
        perPolicy.set(violation.policy, (perPolicy.get(violation.policy) ?? 0) + 1);
      }
    }
    const checks = entriesByType.policy_check;
    return {
      totalEntries: entries.length,
      entriesByType,
      policyChecks: checks,
      deniedChecks: denied,
      checksWithViolations: withViolations,
      totalViolations: violations,
      violationRate: checks === 0 ? 0 : violations / checks,
      violatingCheckRate: checks === 0 ? 0 : withViolations / checks,
      policiesViolated: Object.fromEntries([...perPolicy].sort(([a], [b]) => compareCodeUnits(a, b))),
      violationsBySeverity: bySeverity,
    };
  }

  #toSpans(entries: readonly FlightRecorderEntry[]): Span[] {
    const spans: Span[] = [];
    for (const entry of entries) if (this.#includes(entry)) spans.push(entryToSpan(entry, this.#options));
    return spans;
  }

  #includes(entry: FlightRecorderEntry): boolean {
    switch (entry.type) {
      case "policy_check":
        return this.#options.includePolicyChecks;
      case "signal":
        return this.#options.includeSignals;
      case "tool_call":
        return this.#options.includeToolCalls;
    }
  }
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
