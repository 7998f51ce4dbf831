import { describe, expect, it } from "vitest";
import { QLearningAgent, DEFAULT_AGENT_CONFIG, fullMask } from "../../src/demo/agent.js";
import { createRng } from "../../src/env/rng.js";

describe("QLearningAgent", () => {
  it("learns the best arm of a deterministic bandit", () => {
    const agent = new QLearningAgent(new Map([["t", 3]]));
    const rng = createRng(1);
    const payoff = [2, 9, 5];
    for (let e = 0; e < 200; e += 1) {
      const a = agent.act("t", fullMask(3), agent.epsilon(e, 200), rng);
      agent.update("t", a, payoff[a]!, null);
    }
    expect(agent.greedy("t", fullMask(3), rng)).toBe(1);
  });

  it("breaks ties with the generator, not by list order", () => {
    const agent = new QLearningAgent(new Map([["t", 4]]));
    const rng = createRng(7);
    const picks = new Set(Array.from({ length: 40 }, () => agent.greedy("t", fullMask(4), rng)));
    expect(picks.size).toBeGreaterThan(1);
  });

  it("never proposes a masked action and bootstraps from the remaining ones", () => {
    const agent = new QLearningAgent(new Map([["t", 2]]), { ...DEFAULT_AGENT_CONFIG, alpha: 1, initialValue: 0 });
    const rng = createRng(3);
    for (let i = 0; i < 20; i += 1) expect(agent.act("t", [false, true], 1, rng)).toBe(1);
    agent.update("t", 1, 4, null);
    agent.update("t", 0, -100, { state: "t", mask: [false, true] });
    expect(agent.table()["t"]).toEqual([-100 + DEFAULT_AGENT_CONFIG.gamma * 4, 4]);
  });

  it("decays epsilon linearly to its floor", () => {
    const agent = new QLearningAgent(new Map([["t", 1]]));
    expect(agent.epsilon(0, 100)).toBe(1);
    expect(agent.epsilon(99, 100)).toBeCloseTo(DEFAULT_AGENT_CONFIG.epsilonEnd);
    expect(agent.epsilon(30, 100)).toBeGreaterThan(agent.epsilon(31, 100));
  });
});
