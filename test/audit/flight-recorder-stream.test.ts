// The FlightRecorder's JSON Lines stream (`jsonlPath`) and bounded in-memory window (`retain`).
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/canonical-json.js";
import { isPolicyKernelError } from "../../src/errors.js";
import { FlightRecorderEmitter } from "../../src/audit/emitter.js";
import { FlightRecorder, generateTrailKeyPair, readJsonl, streamJsonl, streamVerifiedJsonl, verifyEntries, verifyJsonl, type FlightRecorderEntry } from "../../src/audit/flight-recorder.js";
import { summarizeJsonl } from "../../src/audit/violation-summary.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { decision, fakeClock, violation } from "./fixtures.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "recorder-stream-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Records `count` entries of every kind, including ones whose copies hold array-index keys (the slow encoder). */
function fill(recorder: FlightRecorder, count: number, from = 0): void {
  for (let i = from; i < from + count; i++) {
    if (i % 4 === 0) recorder.record({ type: "policy_check", agentId: `a${i % 3}`, action: { type: "sql", sql: `SELECT ${i}` }, now: null, decision: decision(i % 8 ? [] : [violation("sql")]) });
    else if (i % 4 === 1) recorder.record({ type: "signal", agentId: "a1", signal: "SIGSTOP", policy: "transactions", now: null });
    else if (i % 4 === 2) recorder.recordToolCall({ agentId: "a2", tool: "search", args: { q: `q${i} é ✓` }, result: { hits: i } });
    else recorder.recordToolCall({ agentId: "a2", tool: "index", args: { "0": "index key", z: [i, { "10": true, "9": null }] } });
  }
}

/** One signing key for every recorder here, so two recorders' trails can be compared byte for byte. */
const SIGNING_KEY = generateTrailKeyPair().privateKey;

function streaming(name: string, extra: { retain?: number } = {}): { recorder: FlightRecorder; path: string } {
  const path = join(dir, name);
  return { recorder: new FlightRecorder({ chainId: "stream", clock: fakeClock(), jsonlPath: path, signingKey: SIGNING_KEY, ...extra }), path };
}

describe("FlightRecorder jsonlPath", () => {
  it("streams exactly the bytes toJsonl writes: one canonical-JSON line per entry, in order", async () => {
    const { recorder, path } = streaming("all.jsonl");
    fill(recorder, 1_000);
    recorder.close();
    const text = await readFile(path, "utf8");
    expect(text).toBe(recorder.toJsonl());
    const lines = text.split("\n");
    // 1,000 entries, the final checkpoint, and "" after the last newline.
    expect(lines).toHaveLength(1_002);
    expect(lines[999]).toBe(canonicalJson(recorder.entriesSince(999)[0]));
    expect(lines[1_000]).toBe(canonicalJson(recorder.checkpoints().at(-1)));
    expect(JSON.parse(lines[1_000]!)).toMatchObject({ type: "checkpoint", count: 1_000, head: recorder.head, final: true });
    expect(verifyEntries(await readJsonl(path), { expectedHead: recorder.head, expectedCount: 1_000 }).valid).toBe(true);
  });

  it("is deterministic: the same events, chain id and clock give a byte-identical file", async () => {
    const first = streaming("one.jsonl");
    const second = streaming("two.jsonl");
    fill(first.recorder, 300);
    fill(second.recorder, 300);
    first.recorder.close();
    second.recorder.close();
    expect(await readFile(first.path, "utf8")).toBe(await readFile(second.path, "utf8"));
  });

  it("has every entry on disk after flush(), with no close", async () => {
    const { recorder, path } = streaming("flushed.jsonl");
    fill(recorder, 10);
    recorder.flush();
    expect((await readJsonl(path)).map((e) => e.seq)).toEqual([...Array(10).keys()]);
    recorder.close();
  });

  it("writes lines left pending within a moment, without flush, close or more entries", async () => {
    const { recorder, path } = streaming("quiet.jsonl");
    fill(recorder, 3);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await readJsonl(path)).toHaveLength(3);
    recorder.close();
  });

  it("refuses a path that exists (even an empty file or a link) and names it: an earlier log is never overwritten", async () => {
    const existing = join(dir, "existing.jsonl");
    await writeFile(existing, "");
    const link = join(dir, "link.jsonl");
    await symlink(join(dir, "nowhere.jsonl"), link);
    for (const path of [existing, link]) {
      let error: unknown;
      try {
        new FlightRecorder({ jsonlPath: path });
      } catch (caught) {
        error = caught;
      }
      expect(isPolicyKernelError(error, "io_error")).toBe(true);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toContain("a path where no file exists yet");
    }
    expect(await readFile(existing, "utf8")).toBe("");
  });

  it("after close: record drops and reports, recordToolCall throws, and the file keeps what was recorded", async () => {
    const errors: unknown[] = [];
    const path = join(dir, "closed.jsonl");
    const recorder = new FlightRecorder({ chainId: "c", clock: fakeClock(), jsonlPath: path, onError: (e) => errors.push(e) });
    fill(recorder, 4);
    recorder.close();
    recorder.close();
    recorder.record({ type: "signal", agentId: "a", signal: "SIGSTOP", policy: "p", now: null });
    expect(recorder.droppedEvents).toBe(1);
    expect(String(errors[0])).toContain("the flight recorder was closed");
    expect(() => recorder.recordToolCall({ agentId: "a", tool: "t" })).toThrow(/closed/);
    expect(recorder.size).toBe(4);
    expect(await verifyJsonl(path, { expectedHead: recorder.head, expectedCount: 4 })).toMatchObject({ valid: true, count: 4 });
  });

  it("writes the last lines at normal exit when the program never closes its recorder", async () => {
    const path = join(dir, "exit.jsonl");
    const script = `
      const { FlightRecorder } = await import(${JSON.stringify(new URL("../../dist/src/index.js", import.meta.url).href)});
      const recorder = new FlightRecorder({ chainId: "exit", jsonlPath: ${JSON.stringify(path)} });
      for (let i = 0; i < 5; i++) recorder.recordToolCall({ agentId: "a", tool: "t", args: { i } });
      console.log(recorder.head);
      console.log(Buffer.from(recorder.publicKeyPem).toString("base64"));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(child.stderr).toBe("");
    const [head, key] = child.stdout.trim().split("\n");
    // Every entry signed at exit, but not sealed: nobody closed the trail.
    expect(await verifyJsonl(path, { expectedHead: head, expectedCount: 5, publicKey: Buffer.from(key!, "base64").toString() })).toMatchObject({ valid: true, signedCount: 5, sealed: false });
  });
});

describe("FlightRecorder retain", () => {
  it("needs jsonlPath, so entries leaving memory are never lost", () => {
    expect(() => new FlightRecorder({ retain: 10 })).toThrow(/retain: retain drops old entries.*expected jsonlPath set as well/);
    expect(() => new FlightRecorder({ retain: 0, jsonlPath: join(dir, "x.jsonl") })).toThrow(/retain/);
  });

  it("keeps the newest `retain` entries in memory and all of them on disk", async () => {
    const { recorder, path } = streaming("window.jsonl", { retain: 100 });
    fill(recorder, 5_000);
    recorder.flush();
    expect(recorder.size).toBe(5_000);
    expect(recorder.firstRetainedSeq).toBe(4_900);
    const window = recorder.entriesSince(recorder.firstRetainedSeq);
    expect(window.map((e) => e.seq)).toEqual([...Array(100).keys()].map((i) => 4_900 + i));
    expect(window.at(-1)?.hash).toBe(recorder.head);
    // The window verifies from its first entry's prevHash; count is still every entry recorded.
    expect(recorder.verify({ expectedCount: 5_000, expectedHead: recorder.head })).toMatchObject({ valid: true, count: 5_000 });
    recorder.close();
    const all = await readJsonl(path);
    expect(all).toHaveLength(5_000);
    expect(all.slice(4_900)).toEqual(window);
    expect(await verifyJsonl(path, { expectedHead: recorder.head, expectedCount: 5_000 })).toMatchObject({ valid: true, count: 5_000 });
  });

  it("says which entries are gone, and where to read them, instead of passing a part for the whole", () => {
    const { recorder, path } = streaming("gone.jsonl", { retain: 10 });
    fill(recorder, 2_000);
    // Entries not yet written stay in memory past `retain`; once flushed, exactly `retain` remain.
    expect(recorder.entriesSince(recorder.firstRetainedSeq).length).toBeGreaterThanOrEqual(10);
    recorder.flush();
    const first = recorder.firstRetainedSeq;
    expect(first).toBe(1_990);
    for (const read of [() => recorder.entries(), () => recorder.entriesSince(first - 1), () => recorder.toJsonl()]) {
      let error: unknown;
      try {
        read();
      } catch (caught) {
        error = caught;
      }
      expect(isPolicyKernelError(error, "not_retained")).toBe(true);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toContain(`seq >= ${first}`);
    }
    expect(recorder.entriesSince(first)).toHaveLength(10);
    recorder.close();
  });

  it("lets an emitter that keeps up turn every entry into a span, and refuses whole-log views", () => {
    const { recorder } = streaming("spans.jsonl", { retain: 5 });
    const emitter = new FlightRecorderEmitter(recorder);
    const seen: string[] = [];
    for (let batch = 0; batch < 300; batch++) {
      fill(recorder, 4, batch * 4);
      for (const span of emitter.getNewSpans()) seen.push(span.spanId);
    }
    expect(seen).toHaveLength(1_200);
    expect(new Set(seen).size).toBe(1_200);
    expect(() => emitter.getViolationSummary()).toThrow(/only seq \d+ onwards is still in memory/);
    recorder.close();
  });

  it("gives a kernel-driven run the same chain as an unbounded recorder", async () => {
    const bounded = streaming("kernel.jsonl", { retain: 3 });
    const unbounded = new FlightRecorder({ chainId: "stream", clock: fakeClock(), signingKey: SIGNING_KEY });
    for (const recorder of [bounded.recorder, unbounded]) {
      const kernel = await createPolicyKernel({ recorder });
      for (let i = 0; i < 40; i++) {
        await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: i % 5 ? `SELECT ${i}` : "DROP TABLE users" }, context: { role: "analyst", now: "2026-11-23T10:00:00Z" } });
      }
      kernel.close();
    }
    bounded.recorder.close();
    unbounded.close();
    expect(bounded.recorder.head).toBe(unbounded.head);
    expect(await readFile(bounded.path, "utf8")).toBe(unbounded.toJsonl());
  });
});

describe("verifyJsonl", () => {
  async function log(count: number): Promise<{ path: string; lines: string[]; head: string }> {
    const { recorder, path } = streaming(`log-${count}.jsonl`);
    fill(recorder, count);
    recorder.close();
    const text = await readFile(path, "utf8");
    return { path, lines: text.split("\n").slice(0, -1), head: recorder.head };
  }

  it("finds an edited line and names it", async () => {
    const { path, lines } = await log(20);
    const entry = JSON.parse(lines[7]!) as FlightRecorderEntry;
    lines[7] = JSON.stringify({ ...entry, agentId: "someone-else" });
    await writeFile(path + ".edited", `${lines.join("\n")}\n`);
    expect(await verifyJsonl(path + ".edited")).toMatchObject({ valid: false, index: 7, reason: "hash_mismatch", message: expect.stringMatching(/^line 8: /) });
  });

  it("finds a line that is not JSON, a removed line and a cut-off end", async () => {
    const { path, lines, head } = await log(20);
    await writeFile(path + ".bad", `${lines.slice(0, 3).join("\n")}\n{"seq":\n${lines.slice(4).join("\n")}\n`);
    expect(await verifyJsonl(path + ".bad")).toMatchObject({ valid: false, index: 3, reason: "invalid_entry", message: expect.stringMatching(/^line 4: not valid JSON/) });
    await writeFile(path + ".gap", `${[...lines.slice(0, 5), ...lines.slice(6)].join("\n")}\n`);
    expect(await verifyJsonl(path + ".gap")).toMatchObject({ valid: false, index: 5, reason: "seq_mismatch" });
    await writeFile(path + ".cut", `${lines.slice(0, 15).join("\n")}\n`);
    expect(await verifyJsonl(path + ".cut")).toMatchObject({ valid: true, count: 15 });
    expect(await verifyJsonl(path + ".cut", { expectedHead: head })).toMatchObject({ valid: false, reason: "head_mismatch" });
    expect(await verifyJsonl(path + ".cut", { expectedCount: 20 })).toMatchObject({ valid: false, reason: "count_mismatch" });
  });

  it("checks a segment of a log from its start seq and prevHash", async () => {
    const { path, lines } = await log(30);
    const entries = lines.map((line) => JSON.parse(line) as FlightRecorderEntry);
    const start = { seq: 10, prevHash: entries[9]!.hash };
    await writeFile(path + ".part", `${lines.slice(10).join("\n")}\n`);
    expect(await verifyJsonl(path + ".part", { start, expectedCount: 30 })).toMatchObject({ valid: true, count: 30 });
    expect(verifyEntries(entries.slice(10), { start })).toMatchObject({ valid: true, count: 30 });
    expect(verifyEntries(entries.slice(10), { start: { seq: 10, prevHash: entries[8]!.hash } })).toMatchObject({ valid: false, index: 0, reason: "prev_hash_mismatch" });
    expect(verifyEntries(entries.slice(10))).toMatchObject({ valid: false, index: 0, reason: "seq_mismatch" });
  });

  it("throws io_error naming a file it cannot read", async () => {
    const missing = join(dir, "missing.jsonl");
    await expect(verifyJsonl(missing)).rejects.toThrow(`${missing}: file not found`);
    await expect(verifyJsonl(dir)).rejects.toMatchObject({ code: "io_error", file: dir });
  });
});

describe("reading a long log from its file", () => {
  it("summarizeJsonl gives the summary an unbounded recorder's emitter gives for the same events", async () => {
    const { recorder, path } = streaming("summary.jsonl", { retain: 20 });
    const unbounded = new FlightRecorder({ chainId: "stream", clock: fakeClock(), signingKey: SIGNING_KEY });
    fill(recorder, 3_000);
    fill(unbounded, 3_000);
    recorder.close();
    const summary = await summarizeJsonl(path);
    expect(summary).toEqual(new FlightRecorderEmitter(unbounded).getViolationSummary());
    expect(summary.totalEntries).toBe(3_000);
    expect(summary.totalViolations).toBeGreaterThan(0);
  });

  it("streamJsonl yields readJsonl's entries one at a time, and names the file and line of a bad one", async () => {
    const { recorder, path } = streaming("entries.jsonl");
    fill(recorder, 50);
    recorder.close();
    const streamed: FlightRecorderEntry[] = [];
    for await (const entry of streamJsonl(path)) streamed.push(entry);
    expect(streamed).toEqual(await readJsonl(path));
    const lines = (await readFile(path, "utf8")).split("\n");
    lines[2] = '{"type":"policy_check"}';
    await writeFile(path + ".bad", lines.join("\n"));
    const read = async (): Promise<number> => {
      let n = 0;
      for await (const _ of streamJsonl(path + ".bad")) n++;
      return n;
    };
    await expect(read()).rejects.toMatchObject({ code: "invalid_input", file: path + ".bad", field: expect.stringMatching(/^line 3: /) });
    await expect(summarizeJsonl(join(dir, "none.jsonl"))).rejects.toMatchObject({ code: "io_error", message: expect.stringContaining("file not found") });
  });

  it("streamVerifiedJsonl yields the same entries once the chain verifies, and stops at the first break", async () => {
    const { recorder, path } = streaming("verified.jsonl");
    fill(recorder, 50);
    recorder.close();
    const collect = async (file: string, options = {}): Promise<FlightRecorderEntry[]> => {
      const out: FlightRecorderEntry[] = [];
      for await (const entry of streamVerifiedJsonl(file, options)) out.push(entry);
      return out;
    };
    expect(await collect(path, { expectedHead: recorder.head, expectedCount: recorder.size })).toEqual(await readJsonl(path));
    await expect(collect(path, { expectedHead: "0".repeat(64) })).rejects.toMatchObject({ code: "invalid_input", file: path, message: expect.stringContaining("head_mismatch") });
    const lines = (await readFile(path, "utf8")).split("\n");
    [lines[6], lines[7]] = [lines[7]!, lines[6]!];
    await writeFile(path + ".moved", lines.join("\n"));
    const seen: number[] = [];
    const walk = async (): Promise<void> => {
      for await (const entry of streamVerifiedJsonl(path + ".moved")) seen.push(entry.seq);
    };
    await expect(walk()).rejects.toMatchObject({ code: "invalid_input", message: expect.stringMatching(/seq_mismatch: line 7: /) });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]); // nothing past the break is handed out
  });
});
