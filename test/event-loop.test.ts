import { describe, expect, it } from "vitest";
import { eventLoopTurns } from "../src/event-loop.js";

describe("eventLoopTurns", () => {
  it("costs nothing until the interval passed, then resolves after the timers that were due", async () => {
    const turn = eventLoopTurns(5);
    expect(turn()).toBeUndefined();
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const started = performance.now();
    // Spin on microtasks alone: only a turn lets the timer run.
    while (!fired) {
      await turn();
      expect(performance.now() - started).toBeLessThan(10_000);
    }
    expect(fired).toBe(true);
    expect(turn()).toBeUndefined(); // a new interval began at the turn
  });
});
