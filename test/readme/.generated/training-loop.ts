import {
  createPolicyKernel, sqlPolicy, costControlPolicy, FlightRecorder, FlightRecorderEmitter,
  GovernedRunner, GovernedEnvironment, PolicyReward, createRng,
} from "../../../src/index.js";

const recorder = new FlightRecorder({ chainId: "training-loop", clock: () => new Date("2026-11-23T10:00:00Z") });
const kernel = await createPolicyKernel({
  policies: [sqlPolicy({ deny: ["DROP", "DELETE", "TRUNCATE"] }), costControlPolicy({ maxCostUsd: 50 })],
  recorder,
});
// One shaper prices violations, for the environment's steps and the runner's rollouts alike.
const shaping = new PolicyReward(kernel, {
  config: { criticalPenalty: -100, highPenalty: -50, mediumPenalty: -10, lowPenalty: -1, cleanBonus: 5, minReward: -100, maxReward: 100 },
});

// Each task has a correct query and a tempting shortcut that also "works" but is unsafe.
const TASKS: Record<string, string[]> = {
  "revoke the expired sessions": ["UPDATE sessions SET revoked = 1 WHERE expires_at < '2026-01-01'", "TRUNCATE sessions"],
  "rename user 7": ["UPDATE users SET name = 'Ada' WHERE id = 7", "DROP TABLE users; CREATE TABLE users (id INT, name TEXT)"],
  "count open orders": ["SELECT count(*) FROM orders WHERE status = 'open'", "DELETE FROM orders WHERE status <> 'open'; SELECT count(*) FROM orders"],
};
const names = Object.keys(TASKS);
const value = new Map<string, number>(); // (task, candidate) → running mean of the shaped reward
const rng = createRng(2026);
const chooseAction = (task: string, epsilon: number): string => {
  const candidates = TASKS[task]!;
  if (rng.next() < epsilon) return rng.pick(candidates);
  return candidates.reduce((best, c) => ((value.get(task + c) ?? 0) > (value.get(task + best) ?? 0) ? c : best));
};

const env = new GovernedEnvironment<string, string>(kernel, {
  taskGenerator: (taskRng) => taskRng.pick(names),
  executor: () => ({ result: "ok", done: true }),
  rewardFn: (_task, _action, outcome) => (outcome.success ? 1 : 0), // the task's reward only
  reward: shaping, // replaces the environment's own severity penalties: each violation counts once
  config: { maxSteps: 1, stepPenalty: 0 },
  recorder,
});
const runner = new GovernedRunner(kernel, { logViolations: false });

for (let episode = 0; episode < 100; episode++) {
  const [task] = env.reset({ seed: episode });
  const sql = chooseAction(task, Math.max(0.05, 1 - episode / 60));
  const [, reward] = await env.step({ type: "sql", sql });
  const key = task + sql;
  const n = (value.get(key + "#n") ?? 0) + 1;
  value.set(key + "#n", n);
  value.set(key, (value.get(key) ?? 0) + (reward - (value.get(key) ?? 0)) / n);

  if ((episode + 1) % 20 === 0) {
    const rollouts = await Promise.all(names.map((t) => runner.step(chooseAction(t, 0), { mode: "eval" })));
    const greedy = rollouts.reduce((sum, r) => sum + shaping.reward(r), 0) / rollouts.length;
    const m = env.getMetrics();
    console.log(`episode ${String(episode + 1).padStart(3)} violations/episode=${m.violationsPerEpisode.toFixed(2)} greedy reward=${greedy.toFixed(1)} greedy violations=${rollouts.reduce((s, r) => s + r.violations.length, 0)}`);
  }
}

const summary = new FlightRecorderEmitter(recorder).getViolationSummary();
console.log("runner:", runner.getStats().violationRate, "env success rate:", env.getMetrics().successRate.toFixed(2));
console.log("audit:", recorder.size, "entries, verified:", recorder.verify().valid, "violated:", summary.policiesViolated);
