// Decision logs to a file through the kernel option: one OPA event per decision, deterministic,
// masked, appended; and every hostile option refused at load with the field named.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { DecisionLogEventSchema, NO_LOGICAL_TIME, type DecisionLogEvent } from "../../src/decision-log/event.js";
import { isPolicyKernelError } from "../../src/errors.js";
import type { Decision } from "../../src/schemas.js";
import { expectPrototypeClean } from "../helpers/prototype-clean.js";

const scratch = (): string => mkdtempSync(join(tmpdir(), "pk-dl-"));
const readEvents = (file: string): DecisionLogEvent[] =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as DecisionLogEvent);

/** Decisions of every kind: allowed, denied, malformed, unknown type, without a logical time, with a time zone. */
async function decideAll(file: string, seed?: string): Promise<Decision[]> {
  const kernel = await createPolicyKernel({ decisionLog: { file, ...(seed ? { seed } : {}) } });
  const decisions = [
    await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: "SELECT name FROM users WHERE id = 1" }, context: { now: "2026-11-21T10:00:00Z" } }),
    await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: "DROP TABLE users" }, context: { now: "2026-11-21T12:30:00+02:00" } }),
    await kernel.evaluateUntrusted({ agentId: "a2", action: { type: "sql", sql: 42 } }),
    await kernel.evaluate({ agentId: "a2", action: { type: "launch_missiles" } }),
    await kernel.evaluate({ agentId: "a3", action: { type: "transaction", amountUsd: 20, recipient: "acme" } }, { now: "2026-11-21T10:05:00Z" }),
  ];
  const report = await kernel.decisionLog!.close();
  expect(report).toMatchObject({ logged: decisions.length, delivered: decisions.length, undelivered: 0, destination: file });
  kernel.close();
  return decisions;
}

describe("decision logs to a file", () => {
  it("writes one OPA event per decision: the decision as result, the action as input, logical time, revision", async () => {
    const file = join(scratch(), "decisions.jsonl");
    const decisions = await decideAll(file);
    const events = readEvents(file);
    expect(events.length).toBe(decisions.length);
    events.forEach((event, i) => {
      expect(DecisionLogEventSchema.parse(event)).toEqual(event);
      expect(event.result).toEqual(JSON.parse(JSON.stringify(decisions[i])));
      expect(event.req_id).toBe(i + 1);
      expect(event.path).toBe("policy_kernel/decision");
      expect(event.bundles).toEqual({ policy_kernel: { revision: decisions[i]!.provenance.bundleRevision } });
      expect(event.labels).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/), version: expect.any(String) });
      expect(event.decision_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });
    // The input as the policies read it: the trusted context (here only the logical time) included.
    expect(events[0]!.input).toEqual({ agentId: "a1", action: { type: "sql", sql: "SELECT name FROM users WHERE id = 1" }, context: { now: "2026-11-21T10:00:00Z" } });
    // Timestamps: the logical time in UTC; without one, the epoch (never the wall clock).
    expect(events.map((e) => e.timestamp)).toEqual(["2026-11-21T10:00:00.000Z", "2026-11-21T10:30:00.000Z", NO_LOGICAL_TIME, NO_LOGICAL_TIME, "2026-11-21T10:05:00.000Z"]);
    expect(events.map((e) => (e.result as Decision).allowed)).toEqual([true, false, false, false, true]);
    expect(new Set(events.map((e) => e.decision_id)).size).toBe(events.length);
  });

  it("is deterministic: the same decisions and seed give the same bytes; another seed other ids", async () => {
    const [a, b, c] = [join(scratch(), "a.jsonl"), join(scratch(), "b.jsonl"), join(scratch(), "c.jsonl")];
    await decideAll(a, "run-1");
    await decideAll(b, "run-1");
    await decideAll(c, "run-2");
    expect(readFileSync(b, "utf8")).toBe(readFileSync(a, "utf8"));
    const [ea, ec] = [readEvents(a), readEvents(c)];
    ea.forEach((event, i) => {
      expect(ec[i]!.decision_id).not.toBe(event.decision_id);
      expect(ec[i]!.labels!["id"]).not.toBe(event.labels!["id"]);
      expect({ ...ec[i], decision_id: "", labels: null }).toEqual({ ...event, decision_id: "", labels: null });
    });
  });

  it("carries the trusted context that decided, and a raw input as it was given", async () => {
    const file = join(scratch(), "context.jsonl");
    const kernel = await createPolicyKernel({ decisionLog: { file } });
    const context = { role: "analyst", readOnly: true, costUsd: 0.5, now: "2026-11-21T10:00:00Z" };
    const decision = await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: "DELETE FROM users" }, context });
    kernel.close();
    await kernel.decisionLog!.close();
    const [event] = readEvents(file);
    expect(event!.input).toEqual({ agentId: "a1", action: { type: "sql", sql: "DELETE FROM users" }, context });
    expect(event!.result).toEqual(JSON.parse(JSON.stringify(decision)));
    const raw = join(scratch(), "raw.jsonl");
    const policy = join(import.meta.dirname, "..", "..", "examples", "http-authz", "bundle.tar.gz");
    const rawKernel = await createPolicyKernel({ opa: [{ bundle: policy, entrypoints: ["httpapi/authz/allow"] }], rawInput: true, decisionLog: { file: raw } });
    await rawKernel.evaluateInput!({ method: "GET", path: ["finance", "salary", "alice"], user: "alice" });
    rawKernel.close();
    await rawKernel.decisionLog!.close();
    expect(readEvents(raw)[0]!.input).toEqual({ method: "GET", path: ["finance", "salary", "alice"], user: "alice" });
  });

  it("appends to an existing file, and masks the configured paths", async () => {
    const file = join(scratch(), "decisions.jsonl");
    writeFileSync(file, '{"earlier":"line"}\n');
    const kernel = await createPolicyKernel({ decisionLog: { file, labels: { team: "agents", env: "ci" }, mask: ["/input/action/sql", { op: "upsert", path: "/input/agentId", value: "(masked)" }, "/result/provenance"] } });
    await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: "SELECT secret FROM vault WHERE id = 1" } });
    kernel.close();
    await kernel.decisionLog!.close();
    const [earlier, line] = readFileSync(file, "utf8").trim().split("\n");
    expect(earlier).toBe('{"earlier":"line"}');
    const event = JSON.parse(line!) as DecisionLogEvent;
    expect(event.input).toEqual({ agentId: "(masked)", action: { type: "sql" }, context: {} });
    expect(event.erased).toEqual(["/input/action/sql", "/result/provenance"]);
    expect(event.masked).toEqual(["/input/agentId"]);
    expect(Object.keys(event.result as object)).not.toContain("provenance");
    expect(event.labels).toMatchObject({ team: "agents", env: "ci" });
    expect(line).not.toContain("secret");
  });

  it("closing the kernel closes its log: a decision after it is counted, not written", async () => {
    const file = join(scratch(), "decisions.jsonl");
    const kernel = await createPolicyKernel({ decisionLog: { file } });
    await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: "SELECT 1" } });
    kernel.close();
    await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: "SELECT 2" } });
    const report = await kernel.decisionLog!.close();
    expect(report).toMatchObject({ logged: 1, delivered: 1, undelivered: 1, lost: { afterClose: 1 } });
    expect(readEvents(file).length).toBe(1);
  });

  it("lines reach the file within 200 ms without a close, and at exit from a process that never closes", async () => {
    const file = join(scratch(), "quiet.jsonl");
    const kernel = await createPolicyKernel({ decisionLog: { file } });
    await kernel.evaluate({ agentId: "a1", action: { type: "sql", sql: "SELECT 1" } });
    for (let i = 0; i < 100 && !(existsSync(file) && readFileSync(file, "utf8") !== ""); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(readEvents(file).length).toBe(1);
    expect(kernel.decisionLog!.status()).toMatchObject({ delivered: 1, pending: 0 });
    kernel.close();

    // A child process (the built library, dist/) that decides three times and exits without closing anything.
    const exiting = join(scratch(), "exit.jsonl");
    const script = `import { createPolicyKernel } from ${JSON.stringify(join(import.meta.dirname, "..", "..", "dist", "src", "index.js"))};
const kernel = await createPolicyKernel({ decisionLog: { file: ${JSON.stringify(exiting)} } });
for (const sql of ["SELECT 1", "SELECT 2", "DROP TABLE users"]) await kernel.evaluate({ agentId: "a", action: { type: "sql", sql } });
process.exit(0);`;
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { stdio: "pipe" });
    expect(readEvents(exiting).map((e) => (e.result as Decision).allowed)).toEqual([true, true, false]);
  });

  it("a load error opens no file", async () => {
    const file = join(scratch(), "never.jsonl");
    await expect(createPolicyKernel({ bundle: join(scratch(), "missing.tar.gz"), decisionLog: { file } })).rejects.toThrow();
    expect(existsSync(file)).toBe(false);
  });
});

describe("decision-log options: hostile and wrong ones are load errors naming the field", () => {
  const dir = scratch();
  const cases: Array<[string, unknown, RegExp]> = [
    ["neither file nor url", {}, /exactly one of file and url/],
    ["both file and url", { file: join(dir, "x"), url: "http://127.0.0.1:1/logs" }, /exactly one of file and url/],
    ["an unknown option", { file: join(dir, "x"), batch: 5 }, /unknown option 'batch'.*one of file, url/],
    ["an unknown upload option", { url: "http://127.0.0.1:1/logs", upload: { retries: 5 } }, /decisionLog\.upload\.retries: unknown option 'retries'.*maxEvents/],
    ["a token without url", { file: join(dir, "x"), token: "t" }, /token goes with url/],
    ["a label that is not a string", { file: join(dir, "x"), labels: { n: 5 } }, /decisionLog\.labels\.n/],
    ["a label named __proto__", JSON.parse(`{"file": ${JSON.stringify(join(dir, "x"))}, "labels": {"__proto__": {"polluted": "yes"}}}`), /__proto__/],
    ["a mask outside input and result", { file: join(dir, "x"), mask: ["/data/secret"] }, /decisionLog\.mask\[0\]: mask prefix not allowed: "data"/],
    ["a mask with a bad escape", { file: join(dir, "x"), mask: ["/input/ok", "/input/%G0"] }, /decisionLog\.mask\[1\]: invalid URL escape in mask segment "%G0"/],
    ["a mask rule of the wrong type", { file: join(dir, "x"), mask: [5] }, /decisionLog\.mask\[0\]: a path/],
    ["a mask op OPA does not know", { file: join(dir, "x"), mask: [{ op: "replace", path: "/input/x" }] }, /decisionLog\.mask\[0\]: a path \("\/input\/password"\) or \{op: "remove" \| "upsert"/],
    ["zero events per batch", { url: "http://127.0.0.1:1/logs", upload: { maxEvents: 0 } }, /decisionLog\.upload\.maxEvents/],
    ["a file path that is a folder", { file: dir }, /not a file \(a folder\)/],
    ["a string instead of options", "decisions.jsonl", /a DecisionLog, or decision-log options/],
  ];

  it.each(cases)("%s", async (_name, decisionLog, message) => {
    let error: unknown;
    try {
      await createPolicyKernel({ decisionLog: decisionLog as never });
    } catch (caught) {
      error = caught;
    }
    expect(isPolicyKernelError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    await expectPrototypeClean();
  });

  it("a FIFO is refused rather than opened (opening one would block)", async () => {
    const fifo = join(scratch(), "pipe");
    execFileSync("mkfifo", [fifo]);
    await expect(createPolicyKernel({ decisionLog: { file: fifo } })).rejects.toThrow(/not a file \(a FIFO, socket or device\)/);
  });

  it("a file in a folder that does not exist is an io_error naming it", async () => {
    const file = join(scratch(), "no", "such", "folder", "d.jsonl");
    let error: unknown;
    try {
      await createPolicyKernel({ decisionLog: { file } });
    } catch (caught) {
      error = caught;
    }
    expect(isPolicyKernelError(error, "io_error")).toBe(true);
    expect((error as Error).message).toContain(file);
  });
});
