// GovernedEnvironment's trust boundary on the real kernel and a real FlightRecorder: the executor
// runs the exact frozen copy the kernel checked and the trail recorded; context is the trainer's.
import { beforeAll, describe, expect, it } from "vitest";
import type { Database } from "sql.js";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { GovernedEnvironment, type GovernedEnvironmentOptions, type StepResult } from "../../src/env/environment.js";
import type { ActionBody } from "../../src/schemas.js";
import { loadSqlJs } from "../../src/demo/sql-engine.js";
import { buildPristineDatabase, openDatabase, queryRows } from "../../src/demo/database.js";
import { expectExecutedAsChecked } from "../helpers/trail-pairs.js";

let pristine: Uint8Array;
beforeAll(async () => {
  pristine = buildPristineDatabase(await loadSqlJs());
});

interface Setup {
  env: GovernedEnvironment<null, string>;
  recorder: FlightRecorder;
  executed: unknown[];
  db: Database;
}

/** A real kernel recording into a fresh FlightRecorder, and an executor running SQL on a real SQLite copy. */
async function setup(options: Partial<GovernedEnvironmentOptions<null, string>> = {}): Promise<Setup> {
  const recorder = new FlightRecorder({ chainId: "env-boundary", clock: () => new Date("2026-01-05T10:00:00Z") });
  const kernel = await createPolicyKernel({ recorder });
  const db = openDatabase(await loadSqlJs(), pristine);
  const executed: unknown[] = [];
  const env = new GovernedEnvironment<null, string>(kernel, {
    recorder,
    config: { maxSteps: 500, terminateOnCritical: false },
    contextFn: () => ({ role: "analyst" }),
    executor: async (_state, action) => {
      // A turn for the agent to try something while the step runs.
      await new Promise((resolve) => setTimeout(resolve, 1));
      executed.push(JSON.parse(JSON.stringify(action.action)));
      const body = action.action as { type: string; sql?: unknown };
      if (body.type === "sql") db.exec(String(body.sql));
      return { result: "ran" };
    },
    ...options,
  });
  env.reset({ seed: 1 });
  return { env, recorder, executed, db };
}

const users = (db: Database): number => Number(queryRows(db, "SELECT count(*) FROM users")[0]?.[0] ?? -1);

describe("GovernedEnvironment: the executor runs what the kernel checked", () => {
  it("ignores changes to the proposed object after env.step(), synchronous and after an await", async () => {
    const { env, recorder, executed, db } = await setup();
    const action = { type: "sql", sql: "SELECT name FROM users WHERE id = 1" };
    const first = env.step(action);
    action.sql = "DROP TABLE users";
    await first;
    const nested = { type: "tool_call", tool: "search_docs", args: { q: "x", list: ["a"] } };
    const second = env.step(nested);
    await Promise.resolve();
    nested.args.q = "DELETE FROM users";
    nested.args.list.push("b");
    const [, , , , info] = await second;
    expect(users(db)).toBe(24);
    expect(Object.isFrozen(info.action) && Object.isFrozen(info.action.action) && Object.isFrozen(info.action.context)).toBe(true);
    expect(expectExecutedAsChecked(recorder, executed)).toEqual([
      { type: "sql", sql: "SELECT name FROM users WHERE id = 1" },
      { type: "tool_call", tool: "search_docs", args: { q: "x", list: ["a"] } },
    ]);
  });

  it("denies a getter (never called) and a Proxy (no trap run); nothing executes", async () => {
    const { env, recorder, executed, db } = await setup();
    let calls = 0;
    const getter = { type: "sql", get sql() { calls += 1; return calls > 1 ? "DROP TABLE users" : "SELECT 1"; } };
    const proxy = new Proxy({ type: "sql", sql: "SELECT 1" }, { get: (t, k) => { calls += 1; return Reflect.get(t, k); } });
    for (const action of [getter, proxy]) {
      const [, , , , info] = await env.step(action as unknown as ActionBody);
      expect(info.blocked).toBe(true);
      expect(info.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["kernel/invalid_action"]);
    }
    expect(calls).toBe(0);
    expect(executed).toEqual([]);
    expect(users(db)).toBe(24);
    expect(recorder.entries().map((e) => e.type)).toEqual(["policy_check", "policy_check"]);
  });

  it("hands the executor a frozen copy: changing it throws and the trail keeps what was checked", async () => {
    const { env, recorder, executed } = await setup({
      executor: (_state, action) => {
        executed.push(JSON.parse(JSON.stringify(action.action)));
        (action.action as unknown as { sql: string }).sql = "DROP TABLE users";
        return { result: "unreachable" };
      },
    });
    await expect(env.step({ type: "sql", sql: "SELECT 1 FROM users WHERE id = 2" })).rejects.toThrow(TypeError);
    const checks = recorder.entries().filter((e) => e.type === "policy_check");
    expect(checks.map((e) => e.type === "policy_check" && e.action)).toEqual([{ type: "sql", sql: "SELECT 1 FROM users WHERE id = 2" }]);
    expect(executed).toEqual([{ type: "sql", sql: "SELECT 1 FROM users WHERE id = 2" }]);
  });
});

describe("GovernedEnvironment: one object from check to execution", () => {
  it("hands the kernel's recorder, the executor and the step's info the same frozen object", async () => {
    const recorded: unknown[] = [];
    const kernel = await createPolicyKernel({ recorder: { record: (event) => void (event.type === "policy_check" && recorded.push(event.action)) } });
    const executed: unknown[] = [];
    const env = new GovernedEnvironment(kernel, { contextFn: () => ({ role: "analyst" }), executor: (_s, action) => (executed.push(action), { result: "ok" }) });
    env.reset();
    const [, , , , info] = await env.step({ type: "sql", sql: "SELECT 1 FROM users WHERE id = 1" });
    expect(recorded).toHaveLength(1);
    expect(executed[0]).toBe(info.action);
    expect(info.action.action).toBe(recorded[0]);
    kernel.close();
  });
});

describe("GovernedEnvironment: context is the trainer's", () => {
  it("keeps actionsInWindow itself: 120 steps get 80 rate-limit violations; a forged context only gets denials, recorded", async () => {
    const select = { type: "sql", sql: "SELECT 1 FROM users WHERE id = 1" };
    const honest = await setup();
    let limited = 0;
    for (let i = 0; i < 120; i++) limited += (await honest.env.step(select))[4].violations.filter((v) => v.policy === "rate_limit").length;
    expect(limited).toBe(80);
    expect(honest.executed).toHaveLength(50);

    const forging = await setup();
    let forgedLimited = 0;
    let refused = 0;
    for (let i = 0; i < 120; i++) {
      const [, , , , info] = await forging.env.step({ agentId: "agent", action: select, context: { actionsInWindow: 0, role: "admin" } } as unknown as ActionBody);
      forgedLimited += info.violations.filter((v) => v.policy === "rate_limit").length;
      if (info.violations.some((v) => v.rule === "agent_context")) refused += 1;
    }
    expect(refused).toBe(120);
    expect(forgedLimited).toBe(80);
    expect(forging.executed).toEqual([]);
    const checks = forging.recorder.entries().filter((e) => e.type === "policy_check");
    expect(checks).toHaveLength(120);
    expect(checks.every((e) => e.type === "policy_check" && e.decision.violations.some((v) => v.rule === "agent_context"))).toBe(true);
  });

  it("denies a context passed as a second argument", async () => {
    const { env, executed } = await setup();
    const [, , , , info] = await (env.step as (a: unknown, c: unknown) => Promise<StepResult<null>>)({ type: "sql", sql: "SELECT 1" }, { role: "admin" });
    expect(info.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["kernel/agent_context"]);
    expect(info.action.context.role).toBe("analyst");
    expect(executed).toEqual([]);
  });

  it("takes the price from the trainer's costFn, not from the action, and sums it per episode", async () => {
    const { env } = await setup({ costFn: (action) => ((action as { tool?: unknown }).tool === "search_docs" ? 60 : 0) });
    // The agent's own "costUsd" fields are just fields of the body: the price is costFn's.
    const premium = { type: "tool_call", tool: "search_docs", costUsd: 0, context: { costUsd: 0 } };
    const first = (await env.step(premium as ActionBody))[4];
    expect(first.action.context.costUsd).toBe(60);
    const second = (await env.step(premium as ActionBody))[4];
    expect(second.action.context.spentUsd).toBe(60);
    expect(second.violations.map((v) => `${v.policy}/${v.rule}`)).toContain("cost/budget_exceeded");
    const error = await env.step({ type: "sql", sql: "SELECT 1" }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeUndefined();
    const broken = await setup({ costFn: () => Number.NaN });
    await expect(broken.env.step({ type: "sql", sql: "SELECT 1" })).rejects.toThrow(/costFn must return a finite cost/);
  });
});
