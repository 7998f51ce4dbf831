import { lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "../../src/canonical-json.js";
import { PolicyKernelError, isPolicyKernelError } from "../../src/errors.js";
import type { KernelAuditEvent, PolicyCheckEvent, SignalEvent } from "../../src/kernel/audit-sink.js";
import type { Violation } from "../../src/schemas.js";
import { decision, fakeClock, violation } from "./fixtures.js";
import {
  FlightRecorder,
  FlightRecorderEntrySchema,
  GENESIS_HASH,
  computeEntryHash,
  parseJsonl,
  readJsonl,
  verifyEntries,
  type FlightRecorderEntry,
} from "../../src/audit/flight-recorder.js";

// ---------------------------------------------------------------- fixtures

function check(agentId: string, n: number, violations: Violation[] = [], now: string | null = null): PolicyCheckEvent {
  return { type: "policy_check", agentId, action: { type: "sql", sql: `SELECT ${n}` }, now, decision: decision(violations) };
}

function signal(agentId: string, now: string | null = null): SignalEvent {
  return { type: "signal", agentId, signal: "SIGSTOP", policy: "approval", now };
}

function filled(count: number, options: { chainId?: string } = {}): FlightRecorder {
  const recorder = new FlightRecorder({ clock: fakeClock(), chainId: options.chainId ?? "test-chain" });
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) recorder.record(check(`agent-${i % 2}`, i, i % 2 ? [violation("sql")] : []));
    else if (i % 3 === 1) recorder.record(signal(`agent-${i % 2}`));
    else recorder.recordToolCall({ agentId: "agent-0", tool: "search", args: { q: `q${i}` }, result: { hits: i } });
  }
  return recorder;
}

/** Mutable JSON copies, as an attacker editing the file would have. */
function editable(recorder: FlightRecorder): Record<string, unknown>[] {
  return JSON.parse(JSON.stringify(recorder.entries())) as Record<string, unknown>[];
}

function rehash(entry: Record<string, unknown>): Record<string, unknown> {
  return { ...entry, hash: computeEntryHash(entry) };
}

// ---------------------------------------------------------------- recording

describe("FlightRecorder.record", () => {
  it("writes a hash-chained policy_check entry carrying the decision, action and bundle revision", () => {
    const recorder = new FlightRecorder({ chainId: "c1", clock: fakeClock() });
    const event = check("agent-1", 1, [violation("sql")], "2026-11-21T10:00:00+02:00");
    recorder.record(event);
    const [entry] = recorder.entries();
    expect(entry).toMatchObject({
      seq: 0,
      chainId: "c1",
      type: "policy_check",
      agentId: "agent-1",
      // Logical time, normalised to UTC.
      timestamp: "2026-11-21T08:00:00.000Z",
      bundleRevision: "rev-7",
      action: event.action,
      decision: event.decision,
      prevHash: GENESIS_HASH,
    });
    const { hash, ...unsigned } = entry as FlightRecorderEntry;
    expect(hash).toBe(sha256Hex(canonicalJson(unsigned)));
    expect(FlightRecorderEntrySchema.safeParse(entry).success).toBe(true);
    expect(recorder.size).toBe(1);
    expect(recorder.head).toBe(hash);
  });

  it("chains each entry to the previous hash", () => {
    const recorder = filled(6);
    const entries = recorder.entries();
    entries.forEach((entry, i) => {
      expect(entry.seq).toBe(i);
      expect(entry.prevHash).toBe(i === 0 ? GENESIS_HASH : entries[i - 1]?.hash);
    });
    expect(recorder.verify()).toMatchObject({ valid: true, count: 6, head: recorder.head });
  });

  it("records signals (bundle revision unknown until the kernel's SignalEvent carries one)", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    recorder.record(signal("agent-9", "2026-11-21T10:00:00Z"));
    recorder.record({ ...signal("agent-9"), bundleRevision: "rev-8" } as KernelAuditEvent);
    const [first, second] = recorder.entries();
    expect(first).toMatchObject({ type: "signal", agentId: "agent-9", signal: "SIGSTOP", policy: "approval", bundleRevision: null });
    expect(second?.bundleRevision).toBe("rev-8");
  });

  it("uses the injected clock only when the event has no usable time, never the wall clock", () => {
    const recorder = new FlightRecorder({ clock: fakeClock("2001-02-03T04:05:06.000Z", 500) });
    recorder.record(check("a", 1));
    recorder.record(check("a", 2, [], "2026-11-21T10:00:00Z"));
    recorder.record(check("a", 3, [], "not a date"));
    expect(recorder.entries().map((e) => e.timestamp)).toEqual([
      "2001-02-03T04:05:06.000Z",
      "2026-11-21T10:00:00.000Z",
      "2001-02-03T04:05:06.500Z",
    ]);
  });

  it("is byte-identical for the same events, chain id and clock", () => {
    const run = () => {
      const recorder = filled(30, { chainId: "replay-seed-42" });
      return recorder.toJsonl();
    };
    expect(run()).toBe(run());
  });

  it("gives two recorders different chains by default, so identical events hash apart", () => {
    const a = new FlightRecorder({ clock: fakeClock() });
    const b = new FlightRecorder({ clock: fakeClock() });
    a.record(check("agent", 1));
    b.record(check("agent", 1));
    expect(a.chainId).not.toBe(b.chainId);
    expect(a.head).not.toBe(b.head);
  });

  it("stores frozen deep copies: mutating the event afterwards changes nothing", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const event = check("agent", 1, [violation("sql")]);
    recorder.record(event);
    (event.decision.violations[0] as { policy: string }).policy = "tampered";
    (event.action as unknown as { sql: string }).sql = "DROP TABLE users";
    const [entry] = recorder.entries();
    expect(entry?.type === "policy_check" && entry.decision.violations[0]?.policy).toBe("sql");
    expect(entry?.type === "policy_check" && entry.action.sql).toBe("SELECT 1");
    expect(() => {
      (entry as { agentId: string }).agentId = "x";
    }).toThrow(TypeError);
    expect(() => {
      (entry as PolicyCheckEventLike).decision.violations.push(violation("x"));
    }).toThrow(TypeError);
    expect(recorder.verify().valid).toBe(true);
  });

  it("never throws, whatever the event holds, and reports what it could not store", () => {
    const errors: unknown[] = [];
    const recorder = new FlightRecorder({ clock: fakeClock(), onError: (e) => errors.push(e) });
    const cyclic: Record<string, unknown> = { type: "tool_call", tool: "t" };
    cyclic.self = cyclic;
    const hostile = {
      type: "custom",
      big: 10n,
      get boom(): never {
        throw new Error("getter");
      },
      nan: Number.NaN,
      fn: () => 1,
    };
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(() => {
      recorder.record({ ...check("a", 1), action: cyclic as PolicyCheckEvent["action"] });
      recorder.record({ ...check("a", 2), action: hostile as unknown as PolicyCheckEvent["action"] });
      recorder.record({ ...check("a", 3), action: { type: "x", p: revoked.proxy } as PolicyCheckEvent["action"] });
      recorder.record({ type: "nonsense" } as unknown as KernelAuditEvent);
      recorder.record(null as unknown as KernelAuditEvent);
    }).not.toThrow();
    expect(recorder.size).toBe(3);
    expect(recorder.droppedEvents).toBe(2);
    expect(errors).toHaveLength(2);
    const actions = recorder.entries().map((e) => (e.type === "policy_check" ? e.action : null));
    expect(actions[0]).toEqual({ type: "tool_call", tool: "t", self: "[Circular]" });
    expect(actions[1]).toEqual({ type: "custom", big: "10", boom: "[Unreadable]", nan: null });
    expect(actions[2]).toEqual({ type: "x", p: "[Unreadable]" });
    expect(recorder.verify().valid).toBe(true);
    // And the log it wrote reads back.
    expect(verifyEntries(parseJsonl(recorder.toJsonl())).valid).toBe(true);
  });

  it("cuts absurdly deep values instead of overflowing the stack", () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const recorder = new FlightRecorder({ clock: fakeClock() });
    recorder.record({ ...check("a", 1), action: { type: "x", deep } as PolicyCheckEvent["action"] });
    expect(recorder.size).toBe(1);
    expect(recorder.toJsonl()).toContain('"[MaxDepth]"');
    expect(recorder.verify().valid).toBe(true);
  });

  it("survives a throwing clock, listener and error handler", () => {
    let calls = 0;
    const recorder = new FlightRecorder({
      clock: () => {
        throw new Error("clock down");
      },
      onEntry: () => {
        calls++;
        throw new Error("listener");
      },
      onError: () => {
        throw new Error("handler");
      },
    });
    expect(() => recorder.record(check("a", 1))).not.toThrow();
    expect(recorder.droppedEvents).toBe(1);
    expect(() => recorder.record(check("a", 2, [], "2026-01-01T00:00:00Z"))).not.toThrow();
    expect(recorder.size).toBe(1);
    expect(calls).toBe(1);
  });

  it("notifies onEntry and subscribers, and unsubscribes", () => {
    const seen: number[] = [];
    const viaSubscribe: number[] = [];
    const recorder = new FlightRecorder({ clock: fakeClock(), onEntry: (e) => seen.push(e.seq) });
    const unsubscribe = recorder.subscribe((e) => viaSubscribe.push(e.seq));
    recorder.record(check("a", 1));
    unsubscribe();
    recorder.record(check("a", 2));
    expect(seen).toEqual([0, 1]);
    expect(viaSubscribe).toEqual([0]);
  });

  it("rejects unknown or mistyped options", () => {
    expect(() => new FlightRecorder({ clok: fakeClock() } as never)).toThrow(/unknown option 'clok'/);
    expect(() => new FlightRecorder({ chainId: 3 } as never)).toThrow(PolicyKernelError);
  });
});

type PolicyCheckEventLike = { decision: { violations: Violation[] } };

describe("FlightRecorder.recordToolCall", () => {
  it("records a tool call with JSON-safe copies of args and result", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const args = { q: "users", when: new Date("2026-01-01T00:00:00Z"), skip: undefined };
    const entry = recorder.recordToolCall({
      agentId: "agent-1",
      tool: "search",
      args,
      result: [1, 2],
      durationMs: 12,
      now: "2026-11-21T10:00:00Z",
      bundleRevision: "rev-2",
      metadata: { episode: 3, run: "r1" },
    });
    args.q = "changed";
    expect(entry).toMatchObject({
      type: "tool_call",
      seq: 0,
      tool: "search",
      args: { q: "users", when: "2026-01-01T00:00:00.000Z" },
      result: [1, 2],
      durationMs: 12,
      timestamp: "2026-11-21T10:00:00.000Z",
      bundleRevision: "rev-2",
      metadata: { episode: 3, run: "r1" },
    });
    expect(Object.hasOwn(entry.args as object, "skip")).toBe(false);
    expect(recorder.entries()[0]).toBe(entry);
  });

  it("keeps a metadata key named __proto__ and checks its value", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const metadata = JSON.parse('{"__proto__":"kept","run":"r1"}') as Record<string, string>;
    recorder.recordToolCall({ agentId: "a", tool: "t", metadata });
    const reloaded = parseJsonl(recorder.toJsonl());
    expect(Object.keys(reloaded[0]?.metadata ?? {})).toEqual(["__proto__", "run"]);
    expect(verifyEntries(reloaded).valid).toBe(true);
    const bad = JSON.parse('{"__proto__":{"nested":true}}') as Record<string, string>;
    expect(() => recorder.recordToolCall({ agentId: "a", tool: "t", metadata: bad })).toThrow(/metadata\.__proto__/);
  });

  it("defaults args to {} and leaves result out when there is none", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const entry = recorder.recordToolCall({ agentId: "a", tool: "noop" });
    expect(entry.args).toEqual({});
    expect("result" in entry).toBe(false);
    expect(entry.bundleRevision).toBeNull();
  });

  it("throws a located invalid_input error on a malformed record", () => {
    const recorder = new FlightRecorder({ clock: fakeClock() });
    const attempt = (record: unknown) => {
      try {
        recorder.recordToolCall(record as never);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const missingTool = attempt({ agentId: "a" });
    expect(isPolicyKernelError(missingTool, "invalid_input")).toBe(true);
    expect((missingTool as PolicyKernelError).field).toBe("tool");
    expect((attempt({ agentId: "a", tool: "t", extra: 1 }) as PolicyKernelError).field).toBe("extra");
    expect((attempt({ agentId: "a", tool: "t", now: "yesterday" }) as PolicyKernelError).field).toBe("now");
    expect((attempt({ agentId: "a", tool: "t", metadata: { x: { nested: 1 } } }) as PolicyKernelError).field).toBe("metadata.x");
    expect(recorder.size).toBe(0);
  });
});

// ---------------------------------------------------------------- verification

describe("verifyEntries", () => {
  const recorder = filled(8);

  it("accepts an untouched log and reports its head", () => {
    expect(verifyEntries(editable(recorder))).toMatchObject({ valid: true, count: 8, head: recorder.head });
    expect(verifyEntries([])).toMatchObject({ valid: true, count: 0, head: GENESIS_HASH, checkpoints: 0, sealed: false });
  });

  it("detects an edited entry", () => {
    const entries = editable(recorder);
    entries[3] = { ...entries[3], agentId: "someone-else" };
    expect(verifyEntries(entries)).toMatchObject({ valid: false, index: 3, reason: "hash_mismatch" });
  });

  it("detects an edited entry whose hash was recomputed, at the next entry", () => {
    const entries = editable(recorder);
    const edited = structuredClone(entries[0]) as { decision: { allowed: boolean } } & Record<string, unknown>;
    edited.decision.allowed = !edited.decision.allowed;
    entries[0] = rehash(edited);
    expect(verifyEntries(entries)).toMatchObject({ valid: false, index: 1, reason: "prev_hash_mismatch" });
  });

  it("detects a field added deep inside an entry (not silently stripped)", () => {
    const entries = editable(recorder);
    const edited = structuredClone(entries[3]) as { decision: { violations: Record<string, unknown>[] } };
    edited.decision.violations[0] = { ...edited.decision.violations[0], note: "added" };
    entries[3] = edited as unknown as Record<string, unknown>;
    expect(verifyEntries(entries)).toMatchObject({ valid: false, index: 3, reason: "hash_mismatch" });
    entries[3] = { ...editable(recorder)[3], note: "added" };
    expect(verifyEntries(entries)).toMatchObject({ valid: false, index: 3, reason: "invalid_entry" });
  });

  it("detects a removed entry", () => {
    const entries = editable(recorder);
    entries.splice(4, 1);
    expect(verifyEntries(entries)).toMatchObject({ valid: false, index: 4, reason: "seq_mismatch" });
  });

  it("detects an inserted entry, even a well-forged one", () => {
    const entries = editable(recorder);
    const forged = rehash({ ...entries[2], seq: 2, agentId: "forger", prevHash: entries[1]?.hash });
    entries.splice(2, 0, forged);
    expect(verifyEntries(entries)).toMatchObject({ valid: false, index: 3, reason: "seq_mismatch" });
  });

  it("detects reordered entries", () => {
    const entries = editable(recorder);
    [entries[5], entries[6]] = [entries[6] as Record<string, unknown>, entries[5] as Record<string, unknown>];
    expect(verifyEntries(entries)).toMatchObject({ valid: false, index: 5, reason: "seq_mismatch" });
  });

  it("detects an entry spliced in from another chain", () => {
    const entries = editable(recorder);
    entries[2] = editable(filled(8, { chainId: "other" }))[2] as Record<string, unknown>;
    expect(verifyEntries(entries)).toMatchObject({ valid: false, index: 2, reason: "chain_id_mismatch" });
  });

  it("cannot see truncation at the end alone, but does with an expected head or count", () => {
    const entries = editable(recorder).slice(0, 6);
    expect(verifyEntries(entries).valid).toBe(true);
    expect(verifyEntries(entries, { expectedHead: recorder.head })).toMatchObject({ valid: false, index: 6, reason: "head_mismatch" });
    expect(verifyEntries(entries, { expectedCount: 8 })).toMatchObject({ valid: false, index: 6, reason: "count_mismatch" });
    expect(recorder.verify({ expectedHead: recorder.head, expectedCount: 8 }).valid).toBe(true);
  });

  it("rejects entries that are not entries, naming the field", () => {
    const entries = editable(recorder);
    entries[1] = { ...entries[1], type: "mystery" };
    const result = verifyEntries(entries);
    expect(result).toMatchObject({ valid: false, index: 1, reason: "invalid_entry" });
    expect(!result.valid && result.message).toMatch(/type: unknown entry type "mystery"/);
    expect(verifyEntries([42])).toMatchObject({ valid: false, index: 0, reason: "invalid_entry" });
  });

  it("fails for any single removal, duplication, swap or edit (property)", () => {
    const log = editable(filled(12));
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("remove" as const), i: fc.nat(11) }),
      fc.record({ kind: fc.constant("duplicate" as const), i: fc.nat(11) }),
      fc.record({ kind: fc.constant("swap" as const), i: fc.nat(11), j: fc.nat(11) }).filter((m) => m.i !== m.j),
      fc.record({ kind: fc.constant("edit" as const), i: fc.nat(11), agentId: fc.string(), rehashed: fc.boolean() }),
    );
    fc.assert(
      fc.property(mutation, (m) => {
        const entries = structuredClone(log);
        if (m.kind === "remove") entries.splice(m.i, 1);
        if (m.kind === "duplicate") entries.splice(m.i, 0, structuredClone(entries[m.i] as Record<string, unknown>));
        if (m.kind === "swap") [entries[m.i], entries[m.j]] = [entries[m.j] as Record<string, unknown>, entries[m.i] as Record<string, unknown>];
        if (m.kind === "edit") {
          const target = entries[m.i] as Record<string, unknown>;
          fc.pre(target.agentId !== m.agentId);
          const edited = { ...target, agentId: m.agentId };
          entries[m.i] = m.rehashed ? rehash(edited) : edited;
          // A re-hashed last entry is only visible against an anchor.
          if (m.rehashed && m.i === 11) return !verifyEntries(entries, { expectedHead: log[11]?.hash as string }).valid;
        }
        // Removing the last entry is truncation: visible against the count.
        return !verifyEntries(entries, { expectedCount: 12 }).valid;
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------- JSON Lines

describe("JSON Lines", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "flight-recorder-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes one canonical JSON entry per line and reads it back verifiably", async () => {
    const recorder = filled(10);
    const path = join(dir, "audit.jsonl");
    expect(await recorder.writeJsonl(path)).toBe(10);
    const text = await readFile(path, "utf8");
    const lines = text.split("\n");
    expect(lines).toHaveLength(11);
    expect(lines[10]).toBe("");
    expect(lines[0]).toBe(canonicalJson(recorder.entries()[0]));
    const loaded = await readJsonl(path);
    expect(loaded).toEqual(recorder.entries());
    expect(verifyEntries(loaded, { expectedHead: recorder.head })).toMatchObject({ valid: true, count: 10, head: recorder.head });
    expect(await readdir(dir)).toEqual(["audit.jsonl"]);
  });

  it("writes an empty log as an empty file", async () => {
    const path = join(dir, "empty.jsonl");
    expect(await new FlightRecorder().writeJsonl(path)).toBe(0);
    expect(await readFile(path, "utf8")).toBe("");
    expect(await readJsonl(path)).toEqual([]);
  });

  it("replaces an existing file atomically and leaves no temp file", async () => {
    const path = join(dir, "audit.jsonl");
    await writeFile(path, "old content\n");
    await filled(3).writeJsonl(path);
    expect((await readJsonl(path)).length).toBe(3);
    expect(await readdir(dir)).toEqual(["audit.jsonl"]);
  });

  it("refuses to write through a symlink and leaves its target alone", async () => {
    const target = join(dir, "target.txt");
    const link = join(dir, "audit.jsonl");
    await writeFile(target, "precious\n");
    await symlink(target, link);
    await expect(filled(3).writeJsonl(link)).rejects.toMatchObject({ code: "io_error", message: expect.stringMatching(/symbolic link/) });
    expect(await readFile(target, "utf8")).toBe("precious\n");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(["audit.jsonl", "target.txt"]);
  });

  it("refuses a destination that is a folder", async () => {
    await mkdir(join(dir, "folder"));
    await expect(filled(1).writeJsonl(join(dir, "folder"))).rejects.toMatchObject({ code: "io_error" });
  });

  it("names file, line and field for a bad line", async () => {
    const recorder = filled(4);
    const lines = recorder.toJsonl().split("\n");
    const path = join(dir, "bad.jsonl");
    const broken = JSON.parse(lines[3] as string) as { decision: { allowed: unknown } };
    broken.decision.allowed = "yes";
    await writeFile(path, [lines[0], lines[1], lines[2], JSON.stringify(broken), ""].join("\n"));
    const error = await readJsonl(path).catch((e: unknown) => e);
    expect(isPolicyKernelError(error, "invalid_input")).toBe(true);
    expect((error as PolicyKernelError).file).toBe(path);
    expect((error as PolicyKernelError).field).toBe("line 4: decision.allowed");
    expect((error as Error).message).toContain(`${path}: line 4: decision.allowed:`);
  });

  it("reports invalid JSON, unknown types, unknown fields and empty lines by line", () => {
    const line = filled(1).toJsonl().trimEnd();
    const fieldOf = (text: string) => {
      try {
        parseJsonl(text, { file: "x.jsonl" });
      } catch (error) {
        expect(isPolicyKernelError(error, "invalid_input")).toBe(true);
        return `${(error as PolicyKernelError).field} | ${(error as Error).message}`;
      }
      throw new Error("expected a failure");
    };
    expect(fieldOf(`${line}\n{not json\n`)).toMatch(/^line 2 \| x\.jsonl: line 2: not valid JSON/);
    expect(fieldOf(`{"type":"mystery"}\n`)).toMatch(/^line 1: type \| .*unknown entry type "mystery" \(expected one of policy_check, signal, tool_call, checkpoint\)/);
    expect(fieldOf(`${line.slice(0, -1)},"extra":1}\n`)).toMatch(/^line 1: extra \| .*Unrecognized key/);
    expect(fieldOf(`${line}\n\n${line}\n`)).toMatch(/^line 2 \| .*empty line/);
    // CRLF line ends are tolerated.
    expect(parseJsonl(`${line}\r\n`)).toHaveLength(1);
  });

  it("says when the file is missing", async () => {
    await expect(readJsonl(join(dir, "nope.jsonl"))).rejects.toMatchObject({ code: "io_error", message: expect.stringMatching(/nope\.jsonl: file not found/) });
  });
});
