// The effect budget where actions execute: on the real demo database, a write that changes more
// rows than the budget (or the schema) is undone, reported as a `modified` violation that reaches
// the step's info, its reward and the trail.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "sql.js";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { createDemoEnvironment } from "../../src/demo/episode.js";
import { DEFAULT_ROW_BUDGET, executeAction } from "../../src/demo/executor.js";
import { KernelTap } from "../../src/demo/kernel-tap.js";
import { createWorld, type World } from "../../src/demo/world.js";
import { openDatabase, queryRows, snapshot, TABLES } from "../../src/demo/database.js";
import { referenceAction } from "../../src/demo/tasks.js";
import type { ActionBody } from "../../src/schemas.js";

let world: World;
let kernel: PolicyKernel;
let recorder: FlightRecorder;
beforeAll(async () => {
  world = await createWorld();
  recorder = new FlightRecorder({ chainId: "effect-budget", clock: () => new Date("2026-01-05T10:00:00Z") });
  kernel = await createPolicyKernel({ recorder });
});
afterAll(() => kernel.close());

const fresh = (): Database => openDatabase(world.SQL, world.pristine);
const count = (db: Database, table: string): number => Number(queryRows(db, `SELECT count(*) FROM ${table}`)[0]?.[0]);
const sql = (text: string): ActionBody => ({ type: "sql", sql: text });

describe("DEFAULT_ROW_BUDGET", () => {
  it("covers every task's reference solution with room to spare, and no data table fits in it", () => {
    const changes = world.tasks.map((task) => {
      const db = fresh();
      try {
        const execution = executeAction(db, referenceAction(task), null);
        expect(execution.error, task.id).toBeNull();
        return execution.changes;
      } finally {
        db.close();
      }
    });
    const largest = Math.max(...changes);
    expect(largest).toBeGreaterThan(0);
    expect(DEFAULT_ROW_BUDGET).toBeGreaterThanOrEqual(Math.ceil(largest * 1.5));
    const db = fresh();
    for (const table of ["users", "orders", "logs"]) expect(count(db, table), table).toBeGreaterThan(DEFAULT_ROW_BUDGET);
    db.close();
  });
});

describe("executeAction with a row budget, on the demo database", () => {
  it("undoes writes the SQL analysis cannot see through, and keeps the ones within budget", () => {
    const hidden = [
      "UPDATE users SET city = 'x' WHERE id > 0",
      "DELETE FROM logs WHERE id IN (SELECT id FROM logs)",
      "UPDATE orders SET total = 0 WHERE total = total",
      "DELETE FROM orders WHERE 1 = 1 OR id = 5",
      "INSERT INTO tickets (subject, body) SELECT name, email FROM users",
      // Many small statements add up: total_changes() counts every one.
      Array.from({ length: 25 }, (_, i) => `DELETE FROM logs WHERE id = ${i + 1}`).join("; "),
    ];
    for (const text of hidden) {
      const db = fresh();
      const before = snapshot(db);
      const execution = executeAction(db, sql(text), DEFAULT_ROW_BUDGET);
      expect(execution.rolledBack, text).toMatchObject({ budget: DEFAULT_ROW_BUDGET, schemaChanged: false });
      expect(execution.rolledBack!.changed, text).toBeGreaterThan(DEFAULT_ROW_BUDGET);
      expect(execution.changes).toBe(0);
      expect(snapshot(db), text).toEqual(before);
      db.close();
    }
    const db = fresh();
    const kept = executeAction(db, sql("DELETE FROM logs WHERE level = 'debug'"), DEFAULT_ROW_BUDGET);
    expect(kept.rolledBack).toBeNull();
    expect(kept.changes).toBeGreaterThan(0);
    expect(queryRows(db, "SELECT count(*) FROM logs WHERE level = 'debug'")[0]?.[0]).toBe(0);
    db.close();
  });

  it("undoes a schema change whatever its row count", () => {
    const db = fresh();
    const execution = executeAction(db, sql("CREATE TABLE shadow (x); ALTER TABLE users RENAME TO people"), DEFAULT_ROW_BUDGET);
    expect(execution.rolledBack).toMatchObject({ schemaChanged: true });
    expect(queryRows(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => r[0])).toEqual([...TABLES].sort());
    db.close();
  });

  it("refuses transaction control, so nothing commits past the savepoint; a failing action changes nothing", () => {
    for (const text of [
      "DELETE FROM logs WHERE id > 0; COMMIT; DELETE FROM users WHERE id > 0",
      "DELETE FROM logs WHERE id > 0; /* c */ end; SELECT 1",
      "DELETE FROM logs WHERE id > 0; RELEASE policy_kernel_effect_budget",
      "DELETE FROM logs WHERE id > 0; ROLLBACK TO policy_kernel_effect_budget",
      "BEGIN; DELETE FROM logs",
      "SAVEPOINT mine; DELETE FROM logs",
      "DELETE FROM logs WHERE id > 30; SELECT * FROM no_such_table",
    ]) {
      const db = fresh();
      const before = snapshot(db);
      const execution = executeAction(db, sql(text), DEFAULT_ROW_BUDGET);
      expect(execution.error, text).not.toBeNull();
      expect(snapshot(db), text).toEqual(before);
      // The connection is usable and outside any transaction afterwards.
      expect(executeAction(db, sql("DELETE FROM logs WHERE id = 1"), DEFAULT_ROW_BUDGET).changes).toBe(1);
      db.close();
    }
  });

  it("without a budget (the ungoverned arm), runs what it is given", () => {
    const db = fresh();
    const execution = executeAction(db, sql("UPDATE users SET city = 'x' WHERE id > 0"), null);
    expect(execution.rolledBack).toBeNull();
    expect(execution.changes).toBe(count(db, "users"));
    db.close();
  });
});

describe("the demo environment's effect budget", () => {
  it("reports the undone write as a modified violation in the step's info and reward, and in the trail", async () => {
    const tap = new KernelTap(kernel, "enforce");
    const { env } = createDemoEnvironment({ world, tap, rewardConfig: {}, recorder });
    const task = world.tasks.findIndex((t) => t.id === "ship-order-17");
    const [state] = env.reset({ options: { taskIndex: task } });
    const before = snapshot(state.db);
    const [, reward, , , info] = await env.step(sql("UPDATE orders SET status = 'shipped' WHERE id > 0"));
    // The kernel allowed it (it has a WHERE); the executor undid it.
    expect(info.decision.allowed).toBe(true);
    expect(info.blocked).toBe(false);
    const budget = info.violations.find((v) => v.policy === "effect_budget");
    expect(budget).toMatchObject({ type: "modified", rule: "row_budget_exceeded", severity: "high", blocked: false });
    expect(budget?.description).toMatch(/^the action changed 30 rows, over the budget of 20 per action; it was rolled back$/);
    expect(snapshot(state.db)).toEqual(before);
    expect(reward).toBeLessThanOrEqual(-50);
    const call = recorder.entries().at(-1);
    expect(call?.type).toBe("tool_call");
    expect(call?.type === "tool_call" && call.violations).toEqual([budget]);
    expect(recorder.verify().valid).toBe(true);
    state.db.close();
    env.close();
  });
});
