import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/audit/atomic-write.js";
import { FlightRecorderEmitter, exportJsonlSpans } from "../../src/audit/emitter.js";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { spanArrayJson } from "../../src/audit/span-file.js";
import type { Span } from "../../src/audit/span.js";
import { isPolicyKernelError } from "../../src/errors.js";
import { decision, fakeClock, violation } from "./fixtures.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pk-span-file-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function text(pieces: AsyncIterable<string>): Promise<string> {
  let out = "";
  for await (const piece of pieces) out += piece;
  return out;
}

/** A recorder streaming to `file` with every kind of entry, `count` rounds of them. */
function streamedRecorder(file: string, count: number, retain?: number): FlightRecorder {
  const recorder = new FlightRecorder({ clock: fakeClock(), chainId: "spans", jsonlPath: file, ...(retain === undefined ? {} : { retain }) });
  for (let i = 0; i < count; i++) {
    const violations = i % 3 === 0 ? [violation("sql", { signal: "SIGSTOP", description: `line one\nline "two" ${i}` })] : [];
    recorder.record({ type: "policy_check", agentId: `agent-${i % 4}`, action: { type: "sql", sql: `SELECT ${i}` }, now: null, decision: decision(violations) });
    if (violations.length > 0) recorder.record({ type: "signal", agentId: `agent-${i % 4}`, signal: "SIGSTOP", policy: "sql", now: null });
    recorder.recordToolCall({ agentId: `agent-${i % 4}`, tool: "sql", args: { sql: `SELECT ${i}`, nested: { list: [1, { deep: true }] } }, result: { rows: i }, durationMs: i });
  }
  return recorder;
}

describe("spanArrayJson: JSON.stringify(spans, null, 2), one span at a time", () => {
  it("is byte-identical for no span, one span and many", async () => {
    const recorder = streamedRecorder(join(dir, "a.jsonl"), 20);
    const all = new FlightRecorderEmitter(recorder).getSpans();
    for (const spans of [[], all.slice(0, 1), all] as Span[][]) {
      expect(await text(spanArrayJson(spans))).toBe(`${JSON.stringify(spans, null, 2)}\n`);
    }
    recorder.close();
  });
});

describe("exportJsonlSpans: the span file of an audit log, read from its JSON Lines file", () => {
  it("writes what exportToFile writes for the same entries, for every include option", async () => {
    const log = join(dir, "audit.jsonl");
    const recorder = streamedRecorder(log, 30);
    recorder.close();
    const variants = [{}, { includePolicyChecks: false }, { includeSignals: false, traceIdPrefix: "run-9" }, { includeToolCalls: false, includePolicyChecks: false }];
    for (const [i, options] of variants.entries()) {
      const fromMemory = join(dir, `memory-${i}.json`);
      const fromFile = join(dir, `file-${i}.json`);
      const expected = await new FlightRecorderEmitter(recorder, options).exportToFile(fromMemory);
      expect(await exportJsonlSpans(log, fromFile, options)).toBe(expected);
      expect(await readFile(fromFile, "utf8")).toBe(await readFile(fromMemory, "utf8"));
    }
  });

  it("exports a log whose entries left memory (retain), which the emitter no longer can", async () => {
    const log = join(dir, "long.jsonl");
    const recorder = streamedRecorder(log, 1_500, 100);
    recorder.close();
    expect(recorder.firstRetainedSeq).toBeGreaterThan(0);
    expect(() => new FlightRecorderEmitter(recorder).getSpans()).toThrow(/only seq \d+ onwards is still in memory/);
    const out = join(dir, "spans.json");
    const count = await exportJsonlSpans(log, out);
    const spans = JSON.parse(await readFile(out, "utf8")) as Span[];
    expect(spans).toHaveLength(count);
    expect(count).toBe(recorder.size);
    expect(spans.map((s) => s.attributes["agent_os.entry_seq"])).toEqual(Array.from({ length: count }, (_, seq) => seq));
  });

  it("names file and line of a malformed log line and leaves the destination as it was", async () => {
    const log = join(dir, "bad.jsonl");
    const recorder = streamedRecorder(log, 3);
    recorder.close();
    // In place of the final checkpoint (a line after it would fail as such).
    const lines = (await readFile(log, "utf8")).split("\n").slice(0, -2);
    await writeFile(log, `${lines.join("\n")}\n{"seq": "not a number"}\n`);
    const out = join(dir, "spans.json");
    await writeFile(out, "previous export\n");
    const error: unknown = await exportJsonlSpans(log, out).catch((e: unknown) => e);
    expect(isPolicyKernelError(error) && error.code).toBe("invalid_input");
    expect(String(error)).toContain(log);
    expect(String(error)).toMatch(/line 8/);
    expect(await readFile(out, "utf8")).toBe("previous export\n");
  });

  it("exports only a log that verifies: an edited line or a wrong anchor leaves the destination as it was", async () => {
    const log = join(dir, "edited.jsonl");
    const recorder = streamedRecorder(log, 10);
    recorder.close();
    const out = join(dir, "spans.json");
    const anchor = { expectedHead: recorder.head, expectedCount: recorder.size };
    expect(await exportJsonlSpans(log, out, {}, anchor)).toBe(recorder.size);
    await writeFile(out, "previous export\n");

    const wrongCount = await exportJsonlSpans(log, out, {}, { ...anchor, expectedCount: recorder.size + 1 }).catch((e: unknown) => e);
    expect(String(wrongCount)).toMatch(/does not verify: count_mismatch/);
    const lines = (await readFile(log, "utf8")).split("\n");
    lines[4] = lines[4]!.replace('"agentId":"agent-', '"agentId":"someone-');
    await writeFile(log, lines.join("\n"));
    const edited: unknown = await exportJsonlSpans(log, out, {}, anchor).catch((e: unknown) => e);
    expect(isPolicyKernelError(edited) && edited.code).toBe("invalid_input");
    expect(String(edited)).toMatch(/hash_mismatch: line 5/);
    expect(await readFile(out, "utf8")).toBe("previous export\n");
  });

  it("rejects unknown options by name", async () => {
    await expect(exportJsonlSpans(join(dir, "none.jsonl"), join(dir, "x.json"), { includeEverything: true } as never)).rejects.toThrow(/includeEverything/);
  });
});

describe("writeFileAtomic with a stream of text", () => {
  it("writes every piece, in order, across several write chunks", async () => {
    const path = join(dir, "big.txt");
    const pieces = Array.from({ length: 5_000 }, (_, i) => `${i}:${"é→𝄞".repeat(100)}\n`);
    async function* stream(): AsyncGenerator<string> {
      yield* pieces;
    }
    await writeFileAtomic(path, stream());
    const written = await readFile(path, "utf8");
    expect(written.length).toBeGreaterThan(1 << 20); // more than one write chunk
    expect(written).toBe(pieces.join(""));
  });
});
