// The runner's trust boundary on the real kernel and a real FlightRecorder: the executor runs the
// exact copy the kernel checked and the trail recorded, and the agent cannot set its own context.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "sql.js";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { GovernedRunner, type GovernedRunnerOptions } from "../../src/runner/governed-runner.js";
import type { AgentStepContext } from "../../src/runner/agent.js";
import type { ActionBody } from "../../src/schemas.js";
import { loadSqlJs } from "../../src/demo/sql-engine.js";
import { buildPristineDatabase, openDatabase, queryRows } from "../../src/demo/database.js";
import { expectExecutedAsChecked } from "../helpers/trail-pairs.js";

const NOW = "2026-11-23T10:00:00Z";
let recorder: FlightRecorder;
let kernel: PolicyKernel;
let executed: unknown[];
let db: Database;
let pristine: Uint8Array;

beforeAll(async () => {
  pristine = buildPristineDatabase(await loadSqlJs());
});

/** A fresh recorder, kernel and database per case, so each trail holds one story. */
async function setup(options: GovernedRunnerOptions = {}): Promise<GovernedRunner<unknown, unknown>> {
  recorder = new FlightRecorder({ chainId: "runner-boundary", clock: () => new Date(NOW) });
  kernel = await createPolicyKernel({ recorder });
  executed = [];
  db = openDatabase(await loadSqlJs(), pristine);
  return new GovernedRunner(kernel, {
    recorder,
    logViolations: false,
    // Runs the SQL for real, after recording what it was handed.
    executor: (action) => {
      executed.push(JSON.parse(JSON.stringify(action)));
      if (action.type === "sql") db.exec(String((action as { sql: unknown }).sql));
      return "ran";
    },
    ...options,
  }) as GovernedRunner<unknown, unknown>;
}
afterAll(() => kernel?.close());

const users = (): number => Number(queryRows(db, "SELECT count(*) FROM users")[0]?.[0] ?? -1);
const step = (runner: GovernedRunner<unknown, unknown>, run: (ctx: AgentStepContext) => Promise<unknown>, context: Record<string, unknown> = { role: "analyst" }) =>
  runner.init(async (_input: unknown, ctx: AgentStepContext) => run(ctx)).step(null, { now: NOW, context });

describe("GovernedRunner: the executor runs what the kernel checked (time of check is time of use)", () => {
  it("ignores a change made right after ctx.act returned", async () => {
    const runner = await setup();
    await step(runner, async (ctx) => {
      const action = { type: "sql", sql: "SELECT name FROM users WHERE id = 1" };
      const pending = ctx.act(action);
      action.sql = "DROP TABLE users";
      return pending;
    });
    expect(users()).toBe(24);
    expect(expectExecutedAsChecked(recorder, executed)).toEqual([{ type: "sql", sql: "SELECT name FROM users WHERE id = 1" }]);
  });

  it("ignores a change made after an await, while the decision is pending, nested args included", async () => {
    const runner = await setup({ executor: async (action) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      executed.push(JSON.parse(JSON.stringify(action)));
      const args = (action as { args?: { sql?: unknown } }).args;
      if (typeof args?.sql === "string") db.exec(args.sql);
      return "ran";
    } });
    await step(
      runner,
      async (ctx) => {
        const action = { type: "tool_call", tool: "sql_query", args: { sql: "SELECT 1 FROM users WHERE id = 1" } };
        const pending = ctx.act(action);
        await Promise.resolve();
        action.args.sql = "DELETE FROM users";
        await new Promise((resolve) => setTimeout(resolve, 1));
        action.args = { sql: "DROP TABLE users" };
        return pending;
      },
      { role: "admin" },
    );
    expect(users()).toBe(24);
    expect(expectExecutedAsChecked(recorder, executed)).toEqual([{ type: "tool_call", tool: "sql_query", args: { sql: "SELECT 1 FROM users WHERE id = 1" } }]);
  });

  it("denies a getter that would answer differently per read, without calling it", async () => {
    const runner = await setup();
    let reads = 0;
    const rollout = await step(runner, async (ctx) =>
      ctx.act({
        type: "sql",
        get sql() {
          reads += 1;
          return reads === 1 ? "SELECT 1" : "DROP TABLE users";
        },
      } as unknown as ActionBody),
    );
    expect(reads).toBe(0);
    expect(rollout.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["kernel/invalid_action"]);
    expect(executed).toEqual([]);
    expect(recorder.entries().map((e) => e.type)).toEqual(["policy_check"]);
  });

  it("denies a Proxy, at the top or nested, without running its traps", async () => {
    const runner = await setup();
    let trapped = 0;
    const handler = { get: (target: object, key: PropertyKey) => { trapped += 1; return Reflect.get(target, key); } };
    const rollout = await step(runner, async (ctx) => {
      await ctx.act(new Proxy({ type: "sql", sql: "SELECT 1" }, handler) as ActionBody);
      await ctx.act({ type: "tool_call", tool: "sql_query", args: new Proxy({ sql: "SELECT 1" }, handler) });
    });
    expect(trapped).toBe(0);
    expect(rollout.violations.map((v) => v.rule)).toEqual(["invalid_action", "invalid_action"]);
    expect(users()).toBe(24);
    expect(executed).toEqual([]);
  });

  it("hands the executor and onViolation a frozen copy: their changes throw and change nothing recorded", async () => {
    const attempts: string[] = [];
    const runner = await setup({
      onViolation: (_violation, info) => {
        try {
          (info.action as { text: string }).text = "DROP TABLE users";
        } catch (error) {
          attempts.push(`onViolation: ${(error as Error).name}`);
        }
      },
      executor: (action) => {
        executed.push(JSON.parse(JSON.stringify(action)));
        try {
          (action as { to: string }).to = "evil@attacker.io";
        } catch (error) {
          attempts.push(`executor: ${(error as Error).name}`);
        }
        return "sent";
      },
    });
    // An internal message with a card number: the pii policy warns, so onViolation runs, and the message executes.
    const rollout = await step(runner, async (ctx) => ctx.act({ type: "message", to: "billing@example.com", text: "card 4111 1111 1111 1111" }), { role: "support" });
    expect(rollout.executedActions).toBe(1);
    expect(attempts).toEqual(["onViolation: TypeError", "executor: TypeError"]);
    expect(expectExecutedAsChecked(recorder, executed)).toEqual([{ type: "message", to: "billing@example.com", text: "card 4111 1111 1111 1111" }]);
  });
});

describe("GovernedRunner: one object from check to execution", () => {
  it("hands the kernel's recorder, onViolation and the executor the same frozen object", async () => {
    const seen: { recorded: unknown[]; violation: unknown[]; executed: unknown[] } = { recorded: [], violation: [], executed: [] };
    const sink = { record: (event: { type: string; action?: unknown }) => void (event.type === "policy_check" && seen.recorded.push(event.action)) };
    const recording = await createPolicyKernel({ recorder: sink });
    const runner = new GovernedRunner(recording, {
      logViolations: false,
      onViolation: (_v, info) => void seen.violation.push(info.action),
      executor: (action) => void seen.executed.push(action),
    });
    await runner.step({ type: "message", to: "billing@example.com", text: "card 4111 1111 1111 1111" }, { context: { role: "support" } });
    expect(seen.recorded).toHaveLength(1);
    expect(seen.violation[0]).toBe(seen.recorded[0]);
    expect(seen.executed[0]).toBe(seen.recorded[0]);
    expect(Object.isFrozen(seen.executed[0])).toBe(true);
    recording.close();
  });
});

describe("GovernedRunner: context is the trainer's", () => {
  it("denies ctx.act(action, context) and records the attempt; the trainer's context is what the kernel saw", async () => {
    const runner = await setup();
    const rollout = await step(
      runner,
      async (ctx) => (ctx.act as (a: ActionBody, c: unknown) => Promise<unknown>)({ type: "sql", sql: "UPDATE users SET city = 'x' WHERE id = 1" }, { role: "admin", spentUsd: 0, readOnly: false }),
      { role: "analyst", readOnly: true },
    );
    expect(rollout.executedActions).toBe(0);
    const rules = rollout.violations.map((v) => `${v.policy}/${v.rule}`);
    expect(rules).toContain("kernel/agent_context");
    // Evaluated under the trainer's readOnly: the write is refused by read_only too.
    expect(rules).toContain("read_only/write_in_read_only");
    const [entry] = recorder.entries();
    expect(entry?.type === "policy_check" && entry.decision.violations.some((v) => v.rule === "agent_context" && v.blocked)).toBe(true);
    expect(executed).toEqual([]);
  });

  it("denies a full {agentId, action, context} from the agent, evaluating its body under the trainer's context", async () => {
    const runner = await setup();
    const rollout = await step(runner, async (ctx) =>
      ctx.act({ agentId: "root", action: { type: "sql", sql: "SELECT 1" }, context: { role: "admin" } } as unknown as ActionBody),
    );
    expect(rollout.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["kernel/agent_context"]);
    const [entry] = recorder.entries();
    expect(entry).toMatchObject({ type: "policy_check", agentId: "agent", action: { type: "sql", sql: "SELECT 1" } });
  });

  it("keeps actionsInWindow itself: 120 actions get 80 rate-limit violations, and a forged count only gets denials", async () => {
    const honest = await setup();
    const select = { type: "sql", sql: "SELECT 1 FROM users WHERE id = 1" } as const;
    const fair = await step(honest, async (ctx) => {
      for (let i = 0; i < 120; i++) await ctx.act(select);
    });
    expect(fair.violations.filter((v) => v.policy === "rate_limit")).toHaveLength(80);
    expect(fair.executedActions).toBe(50);
    const forging = await setup();
    const forged = await step(forging, async (ctx) => {
      for (let i = 0; i < 120; i++) await (ctx.act as (a: ActionBody, c: unknown) => Promise<unknown>)(select, { actionsInWindow: 0 });
    });
    expect(forged.executedActions).toBe(0);
    expect(forged.violations.filter((v) => v.rule === "agent_context")).toHaveLength(120);
    // Denied attempts count toward the window too.
    expect(forged.violations.filter((v) => v.policy === "rate_limit")).toHaveLength(80);
  });

  it("prices actions with the trainer's costFn and sums spending per step, concurrent proposals included", async () => {
    const runner = await setup({ costFn: (action) => (action.type === "tool_call" ? 30 : 0) });
    const call = { type: "tool_call", tool: "search_docs", args: { q: "x" } } as const;
    const sequential = await step(runner, async (ctx) => {
      for (let i = 0; i < 4; i++) await ctx.act(call);
    });
    expect(sequential.decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(sequential.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["cost/budget_exceeded"]);
    // Proposed together: each sees what the ones before it reserved.
    const together = await step(runner, async (ctx) => Promise.all([0, 1, 2, 3].map(() => ctx.act(call))));
    expect(together.decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    // A new step starts from the trainer's spentUsd again.
    const next = await step(runner, async (ctx) => ctx.act(call), { role: "analyst", spentUsd: 90 });
    expect(next.decisions.map((d) => d.allowed)).toEqual([false]);
  });

  it("hands costFn the frozen copy the kernel checks, not the agent's object", async () => {
    const priced: unknown[] = [];
    const runner = await setup({
      costFn: (action) => {
        priced.push(action);
        return 1;
      },
    });
    await step(runner, async (ctx) => ctx.act({ type: "sql", sql: "SELECT 1 FROM users WHERE id = 1" }));
    const [entry] = recorder.entries();
    expect(Object.isFrozen(priced[0])).toBe(true);
    expect(priced).toEqual([entry?.type === "policy_check" && entry.action]);
  });

  it("denies an action when costFn throws or prices it nonsensically", async () => {
    for (const costFn of [() => { throw new Error("no price"); }, () => Number.NaN, () => -1]) {
      const runner = await setup({ costFn: costFn as () => number });
      const rollout = await step(runner, async (ctx) => ctx.act({ type: "sql", sql: "SELECT 1" }));
      expect(rollout.violations.map((v) => `${v.policy}/${v.rule}`)).toEqual(["kernel/context_error"]);
      expect(executed).toEqual([]);
    }
  });
});
