// `eval` and `train` with --decision-log, through the built CLI (dist/): events in a file and at a
// real HTTP service, exit 1 when the service cannot take them, and the flags' mistakes.
import { spawn, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecisionLogEventSchema, type DecisionLogEvent } from "../../src/decision-log/event.js";
import { readJsonl } from "../../src/audit/flight-recorder.js";
import { canonicalJson } from "../../src/canonical-json.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "pk-cli-dl-"));
const DROP = JSON.stringify({ agentId: "a1", action: { type: "sql", sql: "DROP TABLE users", database: "prod" }, context: { now: "2026-11-21T10:00:00Z" } });

function run(args: string[], stdin?: string) {
  const result = spawnSync(process.execPath, [cli, ...args], { input: stdin, encoding: "utf8", cwd: work });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same, without blocking the event loop (the test's HTTP server must answer meanwhile). */
function runAsync(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: work });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

const events = (file: string): DecisionLogEvent[] =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((line) => DecisionLogEventSchema.parse(JSON.parse(line)));

let server: Server;
let url = "";
const batches: DecisionLogEvent[][] = [];
let failing = false;
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (failing) res.statusCode = 503;
      else batches.push(JSON.parse(gunzipSync(Buffer.concat(chunks)).toString()) as DecisionLogEvent[]);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/logs`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("policy-kernel eval --decision-log", () => {
  it("appends the decision's OPA event to a file, masked and labelled; the exit code stays the decision's", () => {
    const file = join(work, "eval.jsonl");
    const { code, stdout } = run(["eval", "--decision-log", file, "--decision-log-mask", "/input/action/sql", "--decision-log-label", "team=agents", "--decision-log-label", "env=ci=1"], DROP);
    expect(code).toBe(2);
    const decision = JSON.parse(stdout) as { allowed: boolean };
    const [event] = events(file);
    expect(event!.result).toEqual(decision);
    expect(event!.input).toEqual({ agentId: "a1", action: { type: "sql", database: "prod" }, context: { now: "2026-11-21T10:00:00Z" } });
    expect(event!.erased).toEqual(["/input/action/sql"]);
    expect(event!.labels).toMatchObject({ team: "agents", env: "ci=1" });
    // Again: appended; the same event gets the same id (deterministic) unless the run has a seed of its own.
    expect(run(["eval", "--decision-log", file], DROP).code).toBe(2);
    expect(run(["eval", "--decision-log", file], DROP).code).toBe(2);
    expect(run(["eval", "--decision-log", file, "--decision-log-seed", "run-2"], DROP).code).toBe(2);
    const all = events(file);
    expect(all.length).toBe(4);
    expect(all[2]!.decision_id).toBe(all[1]!.decision_id);
    expect(all[1]!.decision_id).not.toBe(all[0]!.decision_id);
    expect(all[3]!.decision_id).not.toBe(all[1]!.decision_id);
    expect({ ...all[3], decision_id: "", labels: null }).toEqual({ ...all[1], decision_id: "", labels: null });
  });

  it("POSTs the event to a decision-log service before it exits", async () => {
    batches.length = 0;
    const { code } = await runAsync(["eval", "--decision-log", url], DROP);
    expect(code).toBe(2);
    expect(batches.length).toBe(1);
    expect(batches[0]!.map((e) => (e.result as { allowed: boolean }).allowed)).toEqual([false]);
  });

  it("exits 1 naming what was not delivered when the service keeps failing", async () => {
    failing = true;
    try {
      const { code, stderr, stdout } = await runAsync(["eval", "--decision-log", url, "--decision-log-timeout", "2"], DROP);
      expect(code).toBe(1);
      expect(JSON.parse(stdout)).toMatchObject({ allowed: false });
      expect(stderr).toContain(`policy-kernel eval: decision log: 1 of 1 events not delivered to ${url} (1 atClose; last error: HTTP 503)`);
    } finally {
      failing = false;
    }
  });

  it.each([
    [["--decision-log-mask", "/input/x"], "--decision-log-mask: goes with --decision-log FILE|URL"],
    [["--decision-log", "x.jsonl", "--decision-log-label", "novalue"], '--decision-log-label: must be KEY=VALUE, got "novalue"'],
    [["--decision-log", "x.jsonl", "--decision-log-timeout", "3"], "--decision-log-timeout: goes with --decision-log URL"],
    [["--decision-log", "http://127.0.0.1:1/logs", "--decision-log-timeout", "soon"], "--decision-log-timeout: must be a number of seconds"],
    [["--decision-log", "x.jsonl", "--decision-log-mask", "/data/x"], "decisionLog.mask[0]: mask prefix not allowed"],
    [["--decision-log", "."], "not a file (a folder)"],
  ])("refuses %j", (flags, message) => {
    const { code, stderr } = run(["eval", ...flags], DROP);
    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });
});

describe("policy-kernel train --decision-log", () => {
  it("logs every decision of the run, one sequence of ids; the trails' decisions are among them", async () => {
    const file = join(work, "train.jsonl");
    const out = join(work, "run");
    const { code, stderr } = run(["train", "--episodes", "8", "--eval-window", "4", "--seed", "3", "--out", out, "--no-progress", "--decision-log", file]);
    expect(code, stderr).toBe(0);
    const logged = events(file);
    expect(logged.map((e) => e.req_id)).toEqual(logged.map((_, i) => i + 1));
    expect(new Set(logged.map((e) => e.decision_id)).size).toBe(logged.length);
    // Trail entries are canonical JSON (sorted keys): compare canonically.
    const seen = new Set(logged.map((e) => canonicalJson([(e.input as { agentId: string }).agentId, (e.input as { action: unknown }).action, e.result])));
    let checks = 0;
    for (const arm of ["governed", "ungoverned"]) {
      for (const entry of await readJsonl(join(out, `audit-${arm}.jsonl`))) {
        if (entry.type !== "policy_check") continue;
        checks += 1;
        expect(seen.has(canonicalJson([entry.agentId, entry.action, entry.decision]))).toBe(true);
      }
    }
    expect(checks).toBeGreaterThan(0);
    expect(logged.length).toBeGreaterThanOrEqual(checks);
  }, 120_000);
});
