import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { createDemoEnvironment, runEpisode, type EpisodeRecord } from "../../src/demo/episode.js";
import { KernelTap, type Enforcement } from "../../src/demo/kernel-tap.js";
import { createWorld, type World } from "../../src/demo/world.js";
import { queryRows } from "../../src/demo/database.js";

let world: World;
let kernel: PolicyKernel;

beforeAll(async () => {
  world = await createWorld();
  kernel = await createPolicyKernel();
});
afterAll(() => kernel.close());

const taskIndex = (id: string): number => world.tasks.findIndex((t) => t.id === id);

/** Runs one episode of `taskId` proposing candidates in the given order; `probe` runs on the next episode's database. */
async function play(mode: Enforcement, taskId: string, order: readonly string[], probe: string): Promise<{ record: EpisodeRecord; rows: unknown[][] }> {
  const tap = new KernelTap(kernel, mode);
  const { env } = createDemoEnvironment({ world, tap, rewardConfig: {} });
  let i = 0;
  const task = world.tasks[taskIndex(taskId)]!;
  const record = await runEpisode(
    env,
    tap,
    world,
    (_task, mask) => {
      const index = task.candidates.findIndex((c) => c.id === order[i]);
      i += 1;
      expect(mask[index]).toBe(true);
      return index;
    },
    { options: { taskIndex: taskIndex(taskId) } },
  );
  // The episode's own database is closed by now (its grade was measured before); `probe` reads the next episode's fresh copy.
  const [state] = env.reset({ options: { taskIndex: taskIndex(taskId) } });
  const rows: unknown[][] = queryRows(state.db, probe);
  state.db.close();
  env.close();
  return { record, rows };
}

describe("demo environment", () => {
  it("every task's reference is the safe candidate, and each has a measurable reference", () => {
    expect(world.tasks.length).toBeGreaterThanOrEqual(10);
    for (const task of world.tasks) {
      expect(world.references.has(task.id)).toBe(true);
      expect(task.candidates.some((c) => c.kind === "safe")).toBe(true);
      expect(new Set(task.candidates.map((c) => c.id)).size).toBe(task.candidates.length);
    }
  });

  it("governed: a blocked DROP never executes; the agent retries and the safe action executes", async () => {
    const { record } = await play("enforce", "purge-debug-logs", ["drop-recreate"], "SELECT 1");
    // A critical violation terminates the episode: nothing ran, no row was lost.
    expect(record.proposed).toEqual(["drop-recreate"]);
    expect(record.executed).toBe(false);
    expect(record.deniedProposals).toBe(1);
    expect(record.executedDenied).toBe(0);
    expect(record.grade).toMatchObject({ goalReached: false, accurate: false, rowsDestroyed: 0, rowsCorrupted: 0 });
    expect(record.violationsByPolicy).toEqual({ sql: 2 }); // the DROP and the CREATE: both outside the allow-list

    const retry = await play("enforce", "partner-city-stats", ["full-export", "aggregate"], "SELECT 1");
    expect(retry.record.proposed).toEqual(["full-export", "aggregate"]);
    expect(retry.record.executed).toBe(true);
    expect(retry.record.grade).toMatchObject({ goalReached: true, accurate: true, personalRecordsSent: 0 });
    // The blocked message cost a penalty: the episode earns less than a clean first try would.
    expect(retry.record.reward).toBeLessThan(0);
  });

  it("ungoverned: the same DROP executes, destroys the rows and the kernel's verdict is still counted", async () => {
    const { record } = await play("observe", "purge-debug-logs", ["drop-recreate"], "SELECT 1");
    expect(record.executed).toBe(true);
    expect(record.executedDenied).toBe(1);
    expect(record.grade.goalReached).toBe(true);
    expect(record.grade.accurate).toBe(false);
    const nonDebug = world.pristineState.logs!.size - world.references.get("purge-debug-logs")!.state.logs!.size;
    expect(nonDebug).toBeGreaterThan(0);
    expect(record.grade.rowsDestroyed).toBe(world.references.get("purge-debug-logs")!.state.logs!.size);
  });

  it("ungoverned: a customer export to a partner is measured as personal records sent out", async () => {
    const { record } = await play("observe", "partner-city-stats", ["full-export"], "SELECT 1");
    expect(record.grade.personalRecordsSent).toBe(24);
    expect(record.violationsByPolicy).toEqual({ pii: 1 });
  });

  it("a fresh database per episode: one episode's damage does not leak into the next", async () => {
    const { rows } = await play("observe", "purge-debug-logs", ["delete-all"], "SELECT count(*) FROM logs");
    expect(rows[0]![0]).toBe(world.pristineState.logs!.size);
  });

  it("an UPDATE without WHERE reaches the grader's goal but corrupts other rows", async () => {
    const { record } = await play("observe", "ship-order-17", ["no-where"], "SELECT 1");
    expect(record.grade.goalReached).toBe(true);
    expect(record.grade.accurate).toBe(false);
    expect(record.grade.rowsCorrupted).toBeGreaterThan(0);
  });
});
