import { lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/canonical-json.js";
import { PolicyKernelError, isPolicyKernelError } from "../../src/errors.js";
import type { PolicyCheckEvent, SignalEvent } from "../../src/kernel/audit-sink.js";
import type { Violation } from "../../src/schemas.js";
import { decision, fakeClock, violation } from "./fixtures.js";
import { FlightRecorder, parseJsonl } from "../../src/audit/flight-recorder.js";
import { FlightRecorderEmitter, createEmitter, type SpanStore } from "../../src/audit/emitter.js";
import { MAX_ATTRIBUTE_CHARS, SpanSchema, entryToSpan, truncate, type Span } from "../../src/audit/span.js";

// ---------------------------------------------------------------- fixtures

const warn = (policy: string): Violation =>
  violation(policy, { type: "warned", severity: "low", blocked: false, penalty: 1, rule: "slow_query" });

function check(agentId: string, violations: Violation[] = [], sql = "SELECT 1"): PolicyCheckEvent {
  return { type: "policy_check", agentId, action: { type: "sql", sql }, now: null, decision: decision(violations) };
}

function signal(agentId: string): SignalEvent {
  return { type: "signal", agentId, signal: "SIGKILL", policy: "safety", now: null };
}

function recorderWithOneOfEach(): FlightRecorder {
  const recorder = new FlightRecorder({ clock: fakeClock(), chainId: "c" });
  recorder.record(check("agent-42", [violation("sql"), warn("cost"), violation("sql", { rule: "deny_delete" })], "DROP TABLE t"));
  recorder.record(signal("agent-42"));
  recorder.recordToolCall({ agentId: "agent-42", tool: "search", args: { q: "x" }, result: { hits: 2 }, durationMs: 250 });
  recorder.record(check("agent-7"));
  return recorder;
}

function spans(recorder: FlightRecorder, options = {}): Span[] {
  return new FlightRecorderEmitter(recorder, options).getSpans();
}

// ---------------------------------------------------------------- spans

describe("spans", () => {
  it("maps a denied policy check to the tutorial's attributes plus chain attributes", () => {
    const recorder = recorderWithOneOfEach();
    const [span] = spans(recorder);
    const entry = recorder.entries()[0];
    expect(span).toMatchObject({
      spanId: entry?.hash.slice(0, 16),
      traceId: "agentos-agent-42",
      name: "agent_os.policy_check",
      startTime: "2026-01-01T00:00:00.000Z",
      endTime: "2026-01-01T00:00:00.000Z",
    });
    expect(span?.attributes).toEqual({
      "agent_os.entry_type": "policy_check",
      "agent_os.agent_id": "agent-42",
      "agent_os.entry_seq": 0,
      "agent_os.entry_hash": entry?.hash,
      "agent_os.prev_hash": entry?.prevHash,
      "agent_os.chain_id": "c",
      "agent_os.bundle_revision": "rev-7",
      "agent_os.policy_name": "cost,sql",
      "agent_os.policy_result": "denied",
      "agent_os.policy_violated": true,
      "agent_os.violation_count": 3,
      "agent_os.total_penalty": 201,
      "agent_os.action_type": "sql",
    });
  });

  it("adds one span event per violation", () => {
    const [span] = spans(recorderWithOneOfEach());
    expect(span?.events).toHaveLength(3);
    expect(span?.events[1]).toEqual({
      name: "agent_os.violation",
      timestamp: "2026-01-01T00:00:00.000Z",
      attributes: {
        "agent_os.violation.policy": "cost",
        "agent_os.violation.rule": "slow_query",
        "agent_os.violation.severity": "low",
        "agent_os.violation.blocked": false,
        "agent_os.violation.penalty": 1,
        "agent_os.violation.type": "warned",
        "agent_os.violation.source": "rego",
        "agent_os.violation.description": "cost says no",
      },
    });
  });

  it("marks a clean decision allowed, not violated, with an empty policy name", () => {
    const span = spans(recorderWithOneOfEach())[3];
    expect(span?.attributes).toMatchObject({
      "agent_os.policy_name": "",
      "agent_os.policy_result": "allowed",
      "agent_os.policy_violated": false,
      "agent_os.violation_count": 0,
    });
    expect(span?.events).toEqual([]);
  });

  it("maps signals and tool calls", () => {
    const [, sig, tool] = spans(recorderWithOneOfEach());
    expect(sig?.name).toBe("agent_os.signal");
    expect(sig?.attributes).toMatchObject({
      "agent_os.entry_type": "signal",
      "agent_os.signal_type": "SIGKILL",
      "agent_os.signal_target": "agent-42",
      "agent_os.policy_name": "safety",
    });
    expect(sig?.attributes).not.toHaveProperty("agent_os.bundle_revision");
    expect(tool?.name).toBe("agent_os.tool_call");
    expect(tool?.attributes).toMatchObject({
      "agent_os.tool_name": "search",
      "agent_os.tool_args": '{"q":"x"}',
      "agent_os.tool_args_truncated": false,
      "agent_os.tool_result": '{"hits":2}',
      "agent_os.tool_result_truncated": false,
      "agent_os.tool_duration_ms": 250,
    });
    expect(tool?.startTime).toBe("2026-01-01T00:00:02.000Z");
    expect(tool?.endTime).toBe("2026-01-01T00:00:02.250Z");
  });

  it("keeps a tool span at zero length when its duration overflows a Date", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    recorder.recordToolCall({ agentId: "a", tool: "t", durationMs: 1e300 });
    const [span] = spans(recorder);
    expect(span?.endTime).toBe(span?.startTime);
  });

  it("produces schema-valid plain objects that survive JSON", () => {
    for (const span of spans(recorderWithOneOfEach())) {
      expect(SpanSchema.safeParse(span).success).toBe(true);
      expect(JSON.parse(JSON.stringify(span))).toEqual(span);
    }
  });

  it("truncates tool args and results to 1,000 characters and says so", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    recorder.recordToolCall({ agentId: "a", tool: "write", args: { text: "x".repeat(5000) }, result: "y".repeat(999) });
    const [span] = spans(recorder);
    const args = span?.attributes["agent_os.tool_args"] as string;
    expect(args).toHaveLength(MAX_ATTRIBUTE_CHARS);
    expect(args.startsWith('{"text":"xxx')).toBe(true);
    expect(span?.attributes["agent_os.tool_args_truncated"]).toBe(true);
    // 999 characters plus two quotes: 1,001 of JSON, cut to 1,000.
    expect((span?.attributes["agent_os.tool_result"] as string).length).toBe(1000);
    // The entry itself keeps everything.
    const entry = recorder.entries()[0];
    expect(entry?.type === "tool_call" && canonicalJson(entry.args).length).toBe(5011);
  });

  it("never cuts a surrogate pair in half", () => {
    const text = `${"a".repeat(999)}😀tail`;
    expect(truncate(text)).toEqual({ text: "a".repeat(999), truncated: true });
    expect(truncate("😀".repeat(600)).text).toHaveLength(1000);
    expect(truncate("short")).toEqual({ text: "short", truncated: false });
  });

  it("lets metadata add attributes but never overwrite or invent agent_os.* ones", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    recorder.recordToolCall({
      agentId: "real-agent",
      tool: "t",
      metadata: JSON.parse(
        '{"agent_os.agent_id":"spoofed","agent_os.policy_result":"allowed","agent_os.new":1,"run":"r1","episode":4,"__proto__":"x"}',
      ) as Record<string, string | number>,
    });
    const [span] = spans(recorder);
    expect(span?.attributes["agent_os.agent_id"]).toBe("real-agent");
    expect(span?.attributes).not.toHaveProperty("agent_os.policy_result");
    expect(span?.attributes).not.toHaveProperty("agent_os.new");
    expect(span?.attributes["agent_os.metadata_dropped"]).toBe("agent_os.agent_id,agent_os.new,agent_os.policy_result");
    expect(span?.attributes.run).toBe("r1");
    expect(span?.attributes.episode).toBe(4);
    // A key named __proto__ is kept as a plain attribute, not turned into a prototype.
    expect(Object.getPrototypeOf(span?.attributes)).toBe(Object.prototype);
    expect(Object.hasOwn(span?.attributes ?? {}, "__proto__")).toBe(true);
    expect(JSON.parse(JSON.stringify(span))).toEqual(span);
  });

  it("uses the trace id prefix and the include filters", () => {
    const recorder = recorderWithOneOfEach();
    expect(spans(recorder, { traceIdPrefix: "run-9" })[0]?.traceId).toBe("run-9-agent-42");
    expect(spans(recorder, { includePolicyChecks: false }).map((s) => s.name)).toEqual(["agent_os.signal", "agent_os.tool_call"]);
    expect(spans(recorder, { includeSignals: false, includeToolCalls: false }).map((s) => s.name)).toEqual([
      "agent_os.policy_check",
      "agent_os.policy_check",
    ]);
  });
});

describe("span ids", () => {
  it("are stable for an entry: across emitters, calls and a JSONL round trip", () => {
    const recorder = recorderWithOneOfEach();
    const first = spans(recorder).map((s) => s.spanId);
    expect(spans(recorder).map((s) => s.spanId)).toEqual(first);
    expect(createEmitter(recorder, { traceIdPrefix: "other" }).getSpans().map((s) => s.spanId)).toEqual(first);
    const reloaded = parseJsonl(recorder.toJsonl()).map((e) => entryToSpan(e, { traceIdPrefix: "agentos" }).spanId);
    expect(reloaded).toEqual(first);
  });

  it("do not collide across 10,000 entries in two recorders fed identical events", () => {
    const make = () => new FlightRecorder({ clock: fakeClock() });
    const a = make();
    const b = make();
    for (let i = 0; i < 5000; i++) {
      const event = i % 2 ? check("agent", [violation("sql")], `SELECT ${i}`) : signal("agent");
      a.record(event);
      b.record(event);
    }
    const ids = [...spans(a), ...spans(b)].map((s) => s.spanId);
    expect(ids).toHaveLength(10_000);
    expect(new Set(ids).size).toBe(10_000);
    // Two emitters on one recorder agree instead of numbering from 1 each.
    expect(spans(a).map((s) => s.spanId)).toEqual(new FlightRecorderEmitter(a).getSpans().map((s) => s.spanId));
  });
});

// ---------------------------------------------------------------- getNewSpans and summary

describe("getNewSpans", () => {
  it("returns only entries added since the previous call", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const emitter = new FlightRecorderEmitter(recorder, { includeSignals: false });
    expect(emitter.getNewSpans()).toEqual([]);
    recorder.record(check("a"));
    recorder.record(signal("a"));
    expect(emitter.getNewSpans().map((s) => s.attributes["agent_os.entry_seq"])).toEqual([0]);
    expect(emitter.getNewSpans()).toEqual([]);
    recorder.record(signal("a"));
    recorder.record(check("a"));
    recorder.record(check("a"));
    // The filtered signal still moves the cursor.
    expect(emitter.getNewSpans().map((s) => s.attributes["agent_os.entry_seq"])).toEqual([3, 4]);
    // A second emitter has its own cursor.
    expect(new FlightRecorderEmitter(recorder).getNewSpans()).toHaveLength(5);
  });
});

describe("getViolationSummary", () => {
  it("counts violations per policy check and per policy, keys sorted", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    recorder.record(check("a", [violation("sql"), violation("sql", { rule: "r2" }), warn("cost")]));
    recorder.record(check("a", [warn("zeta")]));
    recorder.record(check("a"));
    recorder.record(check("a"));
    recorder.record(signal("a"));
    recorder.recordToolCall({ agentId: "a", tool: "t" });
    const summary = new FlightRecorderEmitter(recorder, { includePolicyChecks: false }).getViolationSummary();
    expect(summary).toEqual({
      totalEntries: 6,
      entriesByType: { policy_check: 4, signal: 1, tool_call: 1 },
      policyChecks: 4,
      deniedChecks: 1,
      checksWithViolations: 2,
      totalViolations: 4,
      violationRate: 1,
      violatingCheckRate: 0.5,
      policiesViolated: { cost: 1, sql: 2, zeta: 1 },
      violationsBySeverity: { critical: 2, high: 0, medium: 0, low: 2 },
    });
    expect(Object.keys(summary.policiesViolated)).toEqual(["cost", "sql", "zeta"]);
  });

  it("is all zeros for an empty recorder", () => {
    const summary = new FlightRecorderEmitter(new FlightRecorder()).getViolationSummary();
    expect(summary).toMatchObject({ totalEntries: 0, totalViolations: 0, violationRate: 0, violatingCheckRate: 0, policiesViolated: {} });
  });
});

// ---------------------------------------------------------------- stores

describe("emitToStore", () => {
  it("sends every span to a synchronous emitSpan store", async () => {
    const recorder = recorderWithOneOfEach();
    const received: Span[] = [];
    const result = await new FlightRecorderEmitter(recorder).emitToStore({ emitSpan: (span: Span) => void received.push(span) });
    expect(result).toEqual({ stored: 4, failed: 0, failures: [] });
    expect(received).toEqual(spans(recorder));
  });

  it("awaits an async addSpan store before counting, keeping order and `this`", async () => {
    const recorder = recorderWithOneOfEach();
    const store = {
      saved: [] as string[],
      async addSpan(span: Span): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 5));
        this.saved.push(span.spanId);
      },
    };
    const result = await new FlightRecorderEmitter(recorder).emitToStore(store);
    expect(result.stored).toBe(4);
    expect(store.saved).toEqual(spans(recorder).map((s) => s.spanId));
  });

  it("counts throwing and rejecting calls as failures and keeps going", async () => {
    const recorder = recorderWithOneOfEach();
    const boom = new Error("store down");
    let call = 0;
    const store: SpanStore = {
      emitSpan: (): Promise<void> | void => {
        call++;
        if (call === 1) throw boom;
        if (call === 3) return Promise.reject(boom);
        return Promise.resolve();
      },
    };
    const result = await new FlightRecorderEmitter(recorder).emitToStore(store);
    const ids = spans(recorder).map((s) => s.spanId);
    expect(result).toEqual({
      stored: 2,
      failed: 2,
      failures: [
        { spanId: ids[0], error: boom },
        { spanId: ids[2], error: boom },
      ],
    });
  });

  it("prefers emitSpan when a store has both", async () => {
    const used: string[] = [];
    await new FlightRecorderEmitter(recorderWithOneOfEach()).emitToStore({
      emitSpan: () => void used.push("emit"),
      addSpan: () => void used.push("add"),
    } as SpanStore);
    expect(new Set(used)).toEqual(new Set(["emit"]));
  });

  it("rejects a store without either method", async () => {
    const emitter = new FlightRecorderEmitter(recorderWithOneOfEach());
    for (const store of [{}, { emitSpan: "no" }, null]) {
      const error = await emitter.emitToStore(store as unknown as SpanStore).catch((e: unknown) => e);
      expect(isPolicyKernelError(error, "invalid_input")).toBe(true);
      expect((error as Error).message).toMatch(/neither an emitSpan nor an addSpan/);
    }
  });
});

// ---------------------------------------------------------------- files

describe("exportToFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "emitter-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a JSON array of spans atomically and returns the count", async () => {
    const recorder = recorderWithOneOfEach();
    const path = join(dir, "audit.json");
    await writeFile(path, "stale");
    expect(await new FlightRecorderEmitter(recorder).exportToFile(path)).toBe(4);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual(spans(recorder));
    expect(await readdir(dir)).toEqual(["audit.json"]);
  });

  it("refuses to follow a symlink at the destination", async () => {
    const target = join(dir, "elsewhere.txt");
    const link = join(dir, "audit.json");
    await writeFile(target, "do not touch");
    await symlink(target, link);
    const error = await new FlightRecorderEmitter(recorderWithOneOfEach()).exportToFile(link).catch((e: unknown) => e);
    expect(isPolicyKernelError(error, "io_error")).toBe(true);
    expect((error as Error).message).toMatch(/refusing to write through a symbolic link/);
    expect(await readFile(target, "utf8")).toBe("do not touch");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(["audit.json", "elsewhere.txt"]);
  });

  it("refuses a dangling symlink too (it would create the target)", async () => {
    const link = join(dir, "audit.json");
    await symlink(join(dir, "created-by-attacker"), link);
    await expect(new FlightRecorderEmitter(recorderWithOneOfEach()).exportToFile(link)).rejects.toBeInstanceOf(PolicyKernelError);
    expect((await readdir(dir)).sort()).toEqual(["audit.json"]);
  });
});

// ---------------------------------------------------------------- stream

async function collect(iterator: AsyncIterable<Span>, into: Span[]): Promise<void> {
  for await (const span of iterator) into.push(span);
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("stream", () => {
  it("yields backlog and new entries, then drains everything recorded before abort, each exactly once", async () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const emitter = new FlightRecorderEmitter(recorder);
    recorder.record(check("a"));
    const controller = new AbortController();
    const seen: Span[] = [];
    const done = collect(emitter.stream({ signal: controller.signal, pollIntervalMs: 60_000 }), seen);
    await tick();
    for (let i = 0; i < 50; i++) recorder.record(check("a", [], `SELECT ${i}`));
    await tick();
    // Recorded right before abort, with no chance for the stream to run in between.
    for (let i = 0; i < 25; i++) recorder.record(signal("a"));
    controller.abort();
    await done;
    expect(seen.map((s) => s.attributes["agent_os.entry_seq"])).toEqual(Array.from({ length: 76 }, (_, i) => i));
    expect(emitter.getNewSpans()).toEqual([]);
  });

  it("wakes on a new entry instead of waiting for the poll interval", async () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const controller = new AbortController();
    const iterator = new FlightRecorderEmitter(recorder).stream({ signal: controller.signal, pollIntervalMs: 60_000 });
    const next = iterator.next();
    await tick();
    const started = Date.now();
    recorder.record(check("a"));
    const result = await next;
    expect(result.done).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    controller.abort();
    expect((await iterator.next()).done).toBe(true);
  });

  it("falls back to polling on the interval", async () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const controller = new AbortController();
    const seen: Span[] = [];
    const done = collect(new FlightRecorderEmitter(recorder).stream({ signal: controller.signal, pollIntervalMs: 5 }), seen);
    await new Promise((resolve) => setTimeout(resolve, 30));
    recorder.record(check("a"));
    await new Promise((resolve) => setTimeout(resolve, 30));
    controller.abort();
    await done;
    expect(seen).toHaveLength(1);
  });

  it("drains once and ends when the signal is already aborted", async () => {
    const recorder = recorderWithOneOfEach();
    const seen: Span[] = [];
    await collect(new FlightRecorderEmitter(recorder, { includeSignals: false }).stream({ signal: AbortSignal.abort() }), seen);
    expect(seen.map((s) => s.name)).toEqual(["agent_os.policy_check", "agent_os.tool_call", "agent_os.policy_check"]);
  });

  it("leaves what a consumer did not take for getNewSpans", async () => {
    const recorder = recorderWithOneOfEach();
    const emitter = new FlightRecorderEmitter(recorder);
    for await (const span of emitter.stream({ signal: new AbortController().signal })) {
      expect(span.attributes["agent_os.entry_seq"]).toBe(0);
      break;
    }
    expect(emitter.getNewSpans().map((s) => s.attributes["agent_os.entry_seq"])).toEqual([1, 2, 3]);
  });

  it("rejects bad stream options at the call", () => {
    const emitter = new FlightRecorderEmitter(new FlightRecorder());
    expect(() => emitter.stream({ pollIntervalMs: 0 })).toThrow(PolicyKernelError);
    expect(() => emitter.stream({ pollIntervalMs: Number.NaN })).toThrow(/pollIntervalMs/);
    expect(() => emitter.stream({ interval: 5 } as never)).toThrow(/unknown option 'interval'/);
  });
});

// ---------------------------------------------------------------- options

describe("createEmitter", () => {
  it("fills defaults", () => {
    expect(createEmitter(new FlightRecorder()).options).toEqual({
      includePolicyChecks: true,
      includeSignals: true,
      includeToolCalls: true,
      traceIdPrefix: "agentos",
    });
  });

  it("rejects unknown option names instead of dropping them", () => {
    const error = (() => {
      try {
        createEmitter(new FlightRecorder(), { include_signals: false } as never);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isPolicyKernelError(error, "invalid_config")).toBe(true);
    expect((error as PolicyKernelError).field).toBe("include_signals");
    expect((error as Error).message).toMatch(/unknown option 'include_signals'/);
  });

  it("rejects wrong types, empty prefixes and a missing recorder", () => {
    expect(() => createEmitter(new FlightRecorder(), { includeSignals: "no" } as never)).toThrow(/includeSignals/);
    expect(() => createEmitter(new FlightRecorder(), { traceIdPrefix: "" })).toThrow(/traceIdPrefix/);
    expect(() => new FlightRecorderEmitter(new FlightRecorder(), { traceIdPrefx: "x" } as never)).toThrow(/traceIdPrefx/);
    expect(() => createEmitter({} as FlightRecorder)).toThrow(/needs a FlightRecorder/);
  });
});
