// Failed and partial writes of the audit log stream: the disk is simulated (writeSync wrapped),
// everything else is the real module and a real file.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const disk = vi.hoisted(() => ({
  /** Fail every write with this error code while set. */
  failWith: undefined as string | undefined,
  /** Write at most this many bytes per call while set (a short write, as a full pipe or disk gives). */
  maxBytes: undefined as number | undefined,
  /** While set, fail with EIO once this many more writes have succeeded. */
  failAfter: undefined as number | undefined,
}));

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const writeSync = (fd: number, buffer: Buffer, offset: number, length: number): number => {
    if (disk.failAfter !== undefined && disk.failAfter-- <= 0) disk.failWith = "EIO";
    if (disk.failWith) throw Object.assign(new Error(`${disk.failWith}: simulated`), { code: disk.failWith });
    return fs.writeSync(fd, buffer, offset, Math.min(length, disk.maxBytes ?? length));
  };
  return { ...fs, default: { ...fs, writeSync }, writeSync };
});

const { JsonlAppender } = await import("../../src/audit/jsonl-appender.js");
const { FlightRecorder, readJsonl, verifyJsonl } = await import("../../src/audit/flight-recorder.js");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "appender-"));
  disk.failWith = undefined;
  disk.maxBytes = undefined;
  disk.failAfter = undefined;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lines = (n: number, from = 0): string[] => [...Array(n).keys()].map((i) => `{"n":${from + i},"text":"line ${from + i} ✓"}\n`);

describe("JsonlAppender", () => {
  it("keeps every line of a failed write pending, names the file, and writes them in order once the disk recovers", async () => {
    const path = join(dir, "log.jsonl");
    const appender = new JsonlAppender(path);
    disk.failWith = "ENOSPC";
    for (const line of lines(5)) appender.append(line);
    expect(() => appender.flush()).toThrow(`${path}: cannot append to the audit log: ENOSPC`);
    expect(appender.writtenLines).toBe(0);
    expect(appender.pendingLines).toBe(5);
    for (const line of lines(3, 5)) appender.append(line);
    disk.failWith = undefined;
    appender.close();
    expect(appender.writtenLines).toBe(8);
    expect(await readFile(path, "utf8")).toBe(lines(8).join(""));
  });

  it("finishes a short write, and after a failure part-way resumes at the first byte not written", async () => {
    const path = join(dir, "short.jsonl");
    const appender = new JsonlAppender(path);
    disk.maxBytes = 7;
    for (const line of lines(4)) appender.append(line);
    appender.flush();
    expect(await readFile(path, "utf8")).toBe(lines(4).join(""));
    // Now a write that stops part-way: two short writes land (20 bytes, inside line 5), then the disk fails.
    for (const line of lines(3, 4)) appender.append(line);
    disk.maxBytes = 10;
    disk.failAfter = 2;
    expect(() => appender.flush()).toThrow(/EIO/);
    expect(appender.writtenLines).toBe(4);
    disk.failAfter = undefined;
    disk.failWith = undefined;
    appender.close();
    expect(appender.writtenLines).toBe(7);
    expect(await readFile(path, "utf8")).toBe(lines(7).join(""));
  });

  it("refuses appends after close, naming the file", () => {
    const path = join(dir, "closed.jsonl");
    const appender = new JsonlAppender(path);
    appender.close();
    expect(appender.closed).toBe(true);
    expect(() => appender.append("{}\n")).toThrow(`${path}: the audit log was closed`);
  });
});

describe("FlightRecorder over a failing disk", () => {
  it("reports the failure, keeps unwritten entries in memory past `retain`, and loses none once writes succeed", async () => {
    const path = join(dir, "audit.jsonl");
    const errors: unknown[] = [];
    const recorder = new FlightRecorder({ chainId: "disk", jsonlPath: path, retain: 10, onError: (e) => errors.push(e) });
    const record = (i: number): void => {
      recorder.recordToolCall({ agentId: "a", tool: "t", args: { i, pad: "x".repeat(900) } });
    };
    for (let i = 0; i < 100; i++) record(i);
    recorder.flush();
    expect(recorder.firstRetainedSeq).toBe(90);
    disk.failWith = "ENOSPC";
    // Enough to pass the write threshold several times: every attempt fails and is reported.
    for (let i = 100; i < 400; i++) record(i);
    // Retried as the backlog doubles (64, 128, 256 KiB), not on every entry.
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThanOrEqual(4);
    expect(String(errors[0])).toContain(`${path}: cannot append to the audit log: ENOSPC`);
    expect(recorder.firstRetainedSeq).toBe(100);
    expect(recorder.entriesSince(100)).toHaveLength(300);
    disk.failWith = undefined;
    recorder.close();
    expect(recorder.firstRetainedSeq).toBe(390);
    expect(await verifyJsonl(path, { expectedHead: recorder.head, expectedCount: 400 })).toMatchObject({ valid: true, count: 400 });
    expect((await readJsonl(path)).map((e) => (e.type === "tool_call" ? (e.args as { i: number }).i : -1))).toEqual([...Array(400).keys()]);
  });
});
