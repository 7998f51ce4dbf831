import { describe, expect, it } from "vitest";
import { measureInterleaved, median } from "../../bench/src/measure.js";

const fast = { warmupMs: 5, sampleMs: 30, throughputMs: 15 };

describe("measureInterleaved", () => {
  it("measures every row in alternating rounds, sync and async alike", async () => {
    const order: string[] = [];
    let last = "";
    const track = (name: string) => (): void => {
      if (last !== name) order.push(name);
      last = name;
    };
    const rounds: number[] = [];
    const [a, b] = await measureInterleaved([track("a"), async () => track("b")()], 4, { ...fast, rounds: 3, onRound: (round) => rounds.push(round) });
    expect(rounds).toEqual([1, 2, 3]);
    // Warm-up a, warm-up b, then a b a b a b: each row runs in every round.
    expect(order).toEqual(["a", "b", "a", "b", "a", "b", "a", "b"]);
    for (const result of [a, b]) {
      if (result === undefined || "error" in result) throw new Error("expected a measurement");
      expect(result.iterations).toBeGreaterThan(0);
      expect(result.p50Us).toBeGreaterThan(0);
      expect(result.p99Us).toBeGreaterThanOrEqual(result.p50Us);
      expect(result.opsPerSec).toBeGreaterThan(0);
    }
  });

  it("reports a row that throws as its error and goes on with the others", async () => {
    let calls = 0;
    const results = await measureInterleaved(
      [
        (i) => {
          if (i === 2) throw new Error("policy exploded");
        },
        () => calls++,
      ],
      4,
      { ...fast, rounds: 2 },
    );
    expect(results[0]).toEqual({ error: "policy exploded" });
    expect(results[1]).not.toHaveProperty("error");
    expect(calls).toBeGreaterThan(0);
  });
});

describe("median", () => {
  it("takes the middle value, or the mean of the two middle ones, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
});
