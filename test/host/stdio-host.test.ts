// The real `policy-kernel serve --stdio` as a child process (dist/, built first): every op, the
// error codes, hostile lines, the ways it ends, and trails byte-identical to an in-process env.
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyJsonl } from "../../src/audit/jsonl.js";
import { GovernedSqlEnv } from "../../src/gym/governed-sql-env.js";
import { CLI, startHost, type HostProcess } from "../helpers/stdio-host.js";

const dir = mkdtempSync(join(tmpdir(), "pk-stdio-host-"));
const keyPath = join(dir, "key.pem");
writeFileSync(keyPath, generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }));
const SAFE = { type: "sql", sql: "SELECT name FROM users WHERE id = 42" };
const DROP = { type: "sql", sql: "DROP TABLE users" };
const MAX_LINE = 8192;

async function sealed(path: string): Promise<boolean> {
  const result = await verifyJsonl(path, { publicKey: readFileSync(`${path}.pub`, "utf8") });
  return result.valid && result.sealed;
}

describe("serve --stdio: ops", () => {
  let host: HostProcess;
  beforeAll(async () => {
    host = await startHost(["--stdio", "--max-envs", "2", "--max-line-bytes", String(MAX_LINE)]);
  });
  afterAll(async () => {
    await host.end();
  });

  it("announces itself once ready, and hello says the same", async () => {
    const ready = await host.ready;
    expect(ready).toMatchObject({ ready: true, protocol: 1, kinds: ["sql", "gate"] });
    const { ready: _r, ...rest } = ready;
    expect(await host.ok("hello")).toEqual(rest);
    expect((ready["policies"] as string[]).length).toBeGreaterThan(0);
  });

  it("evaluates one action and a batch, as the kernel decides them", async () => {
    const one = await host.ok("evaluate", { action: { agentId: "a", action: DROP } });
    expect(one.decision.allowed).toBe(false);
    const both = await host.ok("evaluate_batch", { actions: [{ agentId: "a", action: SAFE }, { agentId: "a", action: DROP }] });
    expect(both.decisions.map((d: { allowed: boolean }) => d.allowed)).toEqual([true, false]);
    expect(both.decisions[1]).toEqual(one.decision);
  });

  it("makes a sql env and runs it: reset, step, metrics, trail, close", async () => {
    const made = await host.ok("make", { kind: "sql" });
    expect(made.spec).toMatchObject({ kind: "sql", actionCount: 4, maxSteps: 3 });
    const reset = await host.ok("reset", { env: made.env, seed: 3 });
    expect(Object.keys(reset.info)).toEqual(["taskId", "prompt", "episode", "seed"]);
    const step = await host.ok("step", { env: made.env, action: 0 });
    expect(Object.keys(step)).toEqual(["observation", "reward", "terminated", "truncated", "info"]);
    expect(step.observation.step).toBe(1);
    const metrics = await host.ok("metrics", { env: made.env });
    expect(metrics).toMatchObject({ totalEpisodes: 1, totalSteps: 1 });
    const trail = await host.ok("trail", { env: made.env, entries: true });
    expect(trail.entries).toBe(trail.lines.length);
    expect(trail.lines[0]).toMatchObject({ type: "policy_check", chainId: `policy-kernel-host/sql/${made.env}` });
    const closed = await host.ok("close", { env: made.env });
    expect(closed).toEqual({ entries: trail.entries, head: trail.head, path: null, verified: true });
    const again = await host.request("step", { env: made.env, action: 0 });
    expect(again.error?.code).toBe("env_closed");
  });

  it("makes a gate: check, record, and the trail holds both", async () => {
    const path = join(dir, "gate.jsonl");
    const { env } = await host.ok("make", { kind: "gate", options: { agentId: "py", trail: { path, signingKey: keyPath } } });
    const denied = await host.ok("check", { env, action: DROP });
    expect([denied.runs, denied.terminate]).toEqual([false, true]);
    expect(denied.penalty).toBeLessThan(0);
    expect((await host.request("record", { env })).error?.code).toBe("invalid_step");
    const allowed = await host.ok("check", { env, action: SAFE, context: { role: "analyst" } });
    expect(allowed.runs).toBe(true);
    expect(await host.ok("record", { env, result: { rows: 1 }, success: true })).toEqual({});
    const refused = await host.ok("check", { env, action: { agentId: "py", action: SAFE } });
    expect(refused.violations.some((v: { rule: string }) => v.rule === "agent_context")).toBe(true);
    const closed = await host.ok("close", { env });
    expect(closed).toMatchObject({ entries: 4, path, verified: true });
    const report = await host.ok("verify_trail", { path });
    expect(report).toMatchObject({ status: "sealed", entries: 4 });
  });

  it("runs a batch in order, one result per request, errors in place", async () => {
    const { env } = await host.ok("make", { kind: "sql" });
    const { results } = await host.ok("batch", {
      requests: [
        { op: "reset", env, seed: 5 },
        { op: "step", env, action: 9 },
        { op: "step", env, action: 1 },
        { op: "hello" },
        { op: "evaluate", action: { agentId: "a", action: SAFE } },
      ],
    });
    expect(results.map((r: { ok: boolean }) => r.ok)).toEqual([true, false, true, false, true]);
    expect(results[1].error.code).toBe("invalid_step");
    expect(results[3].error.field).toBe("requests[3].op");
    // The same requests one by one, on a second env, give the same results.
    const { env: other } = await host.ok("make", { kind: "sql" });
    expect(await host.ok("reset", { env: other, seed: 5 })).toEqual(results[0].result);
    expect(await host.ok("step", { env: other, action: 1 })).toEqual(results[2].result);
    expect((await host.request("make", { kind: "sql" })).error?.code).toBe("too_many_envs");
    await host.ok("close", { env });
    await host.ok("close", { env: other });
  });

  it("answers every malformed request with its code, and keeps serving", async () => {
    const cases: Array<[string, string, number | string | null, string?]> = [
      ["not json", "invalid_request", null],
      ["[1, 2]", "invalid_request", null],
      ['{"op": "hello"}', "invalid_request", null, "id"],
      ['{"id": 1.5, "op": "hello"}', "invalid_request", null, "id"],
      ['{"id": 7}', "invalid_request", 7, "op"],
      ['{"id": 8, "op": "fly"}', "unknown_op", 8, "op"],
      ['{"id": 9, "op": "constructor"}', "unknown_op", 9, "op"],
      ['{"id": 10, "op": "step", "env": 999, "action": 0}', "unknown_env", 10, "env"],
      ['{"id": 11, "op": "hello", "extra": 1}', "invalid_request", 11, "extra"],
      ['{"id": 12, "op": "step", "env": 1, "action": "0"}', "invalid_request", 12, "action"],
      ['{"id": 13, "op": "evaluate", "action": {"__proto__": {"admin": true}}}', "invalid_request", 13, "action.__proto__"],
      ['{"id": 14, "op": "evaluate", "action": {"a": {"constructor": {}}}}', "invalid_request", 14, "action.a.constructor"],
      ['{"id": 15, "op": "evaluate", "action": {"n": 1e400}}', "invalid_request", 15, "action.n"],
      ['{"id": 16, "op": "evaluate", "action": {"n": NaN}}', "invalid_request", null],
      ['{"id": 17, "op": "evaluate", "action": {"n": Infinity}}', "invalid_request", null],
      [`{"id": 18, "op": "evaluate", "action": ${"[".repeat(150)}${"]".repeat(150)}}`, "invalid_request", null],
      ['{"id": 19, "op": "make", "kind": "sql", "options": {"governed": "yes"}}', "invalid_request", 19, "options.governed"],
      ['{"id": 20, "op": "make", "kind": "sql", "options": {"rewardConfig": {"criticalPenalty": 5}}}', "invalid_config", 20],
      ['{"id": 21, "op": "make", "kind": "gate", "options": {"startTime": "monday"}}', "invalid_config", 21, "startTime"],
      ['{"id": 22, "op": "make", "kind": "pool"}', "invalid_request", 22, "kind"],
      ['{"id": 23, "op": "step", "env": 1e20, "action": 0}', "invalid_request", 23, "env"],
    ];
    for (const [line, code, id, field] of cases) {
      const reply = await host.raw(line);
      expect({ line, ok: reply.ok, code: reply.error?.code, id: reply.id }).toEqual({ line, ok: false, code, id });
      if (field !== undefined) expect({ line, field: reply.error?.field }).toEqual({ line, field });
      expect(reply.error?.message.length).toBeGreaterThan(0);
    }
    expect((await host.ok("hello")).protocol).toBe(1);
  });

  it("skips a line over --max-line-bytes with too_large, and serves the next one", async () => {
    const big = JSON.stringify({ id: 99, op: "evaluate", action: { agentId: "a", action: { type: "sql", sql: `SELECT '${"x".repeat(MAX_LINE * 3)}'` } } });
    const reply = await host.raw(big);
    expect([reply.ok, reply.id, reply.error?.code]).toEqual([false, null, "too_large"]);
    expect(reply.error?.message).toContain(String(Buffer.byteLength(big)));
    expect((await host.ok("hello")).protocol).toBe(1);
  });
});

describe("serve --stdio: how it ends", () => {
  it("stdin EOF: every env's trail is flushed, sealed and verifiable; exit 0", async () => {
    const host = await startHost();
    const path = join(dir, "eof.jsonl");
    const { env } = await host.ok("make", { kind: "sql", options: { trail: { path } } });
    await host.ok("reset", { env, seed: 1 });
    await host.ok("step", { env, action: 0 });
    expect(await host.end()).toEqual({ code: 0, signal: null });
    expect(await sealed(path)).toBe(true);
  });

  it("SIGTERM: the same, exit 0", async () => {
    const host = await startHost();
    const path = join(dir, "term.jsonl");
    const { env } = await host.ok("make", { kind: "gate", options: { trail: { path } } });
    await host.ok("check", { env, action: SAFE });
    host.child.kill("SIGTERM");
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(await sealed(path)).toBe(true);
  });

  it("shutdown: replies {} first, then the same, exit 0", async () => {
    const host = await startHost();
    const path = join(dir, "shutdown.jsonl");
    const { env } = await host.ok("make", { kind: "sql", options: { trail: { path } } });
    await host.ok("reset", { env });
    expect(await host.ok("shutdown")).toEqual({});
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(await sealed(path)).toBe(true);
  });

  it("the trainer dies mid-stream (its end of stdout closed, then stdin): no crash on the broken pipe, trails sealed, exit 0", async () => {
    const host = await startHost();
    const path = join(dir, "died.jsonl");
    const { env } = await host.ok("make", { kind: "sql", options: { trail: { path } } });
    await host.ok("reset", { env, seed: 2 });
    for (let i = 0; i < 200; i++) host.child.stdin.write(`${JSON.stringify({ id: i, op: "step", env, action: i % 4 })}\n`);
    host.child.stdout.destroy();
    host.child.stdin.end();
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(await sealed(path)).toBe(true);
  });

  it("a load error: one line on stderr, nothing on stdout, exit 1; and serve needs --stdio", () => {
    const bad = spawnSync(process.execPath, [CLI, "serve", "--stdio", "--bundle", join(dir, "missing.tar.gz")], { encoding: "utf8", input: "" });
    expect([bad.status, bad.stdout]).toEqual([1, ""]);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    const bare = spawnSync(process.execPath, [CLI, "serve"], { encoding: "utf8", input: "" });
    expect([bare.status, bare.stdout]).toEqual([1, ""]);
    expect(bare.stderr).toContain("--stdio is required");
  });
});

describe("serve --stdio: the same trail as in process", () => {
  const actions = [0, 2, 1, 3, 1, 0, 2, 2, 1, 0];

  async function hostRun(name: string): Promise<{ results: string[]; trail: Buffer }> {
    const host = await startHost();
    const path = join(dir, name);
    const { env } = await host.ok("make", { kind: "sql", options: { trail: { path, chainId: "bridge", signingKey: keyPath } } });
    const results = [JSON.stringify(await host.ok("reset", { env, seed: 21 }))];
    for (const [i, action] of actions.entries()) {
      const r = await host.ok("step", { env, action });
      results.push(JSON.stringify(r));
      if ((r.terminated || r.truncated) && i < actions.length - 1) results.push(JSON.stringify(await host.ok("reset", { env })));
    }
    expect((await host.ok("close", { env })).verified).toBe(true);
    await host.end();
    return { results, trail: readFileSync(path) };
  }

  it("host-driven and in-process runs give equal results and byte-identical trails; two host runs too", async () => {
    const [first, second] = await Promise.all([hostRun("host-1.jsonl"), hostRun("host-2.jsonl")]);
    const path = join(dir, "in-process.jsonl");
    const env = await GovernedSqlEnv.open({ trail: { path, chainId: "bridge", signingKey: keyPath } });
    const results = [JSON.stringify(env.reset({ seed: 21 }))];
    for (const [i, action] of actions.entries()) {
      const r = await env.step(action);
      results.push(JSON.stringify(r));
      if ((r.terminated || r.truncated) && i < actions.length - 1) results.push(JSON.stringify(env.reset({})));
    }
    await env.close();
    expect(first.results).toEqual(results);
    expect(first.trail.equals(readFileSync(path))).toBe(true);
    expect(second.results).toEqual(first.results);
    expect(second.trail.equals(first.trail)).toBe(true);
  });

  it("scripts/drive-sql-env.mjs prints what the host returns and writes the same trail", async () => {
    const path = join(dir, "driven.jsonl");
    const plan = join(dir, "plan.json");
    writeFileSync(plan, JSON.stringify({ seed: 21, actions, trail: { path, chainId: "bridge", signingKey: keyPath } }));
    const driven = spawnSync(process.execPath, [join(import.meta.dirname, "..", "..", "scripts", "drive-sql-env.mjs"), plan], { encoding: "utf8" });
    expect(driven.status).toBe(0);
    const hosted = await hostRun("host-3.jsonl");
    expect(driven.stdout.trim().split("\n")).toEqual(hosted.results);
    expect(readFileSync(path).equals(hosted.trail)).toBe(true);
  });
});
