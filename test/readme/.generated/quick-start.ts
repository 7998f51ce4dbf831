import { createPolicyKernel, sqlPolicy, costControlPolicy, GovernedRunner, PolicyReward } from "../../../src/index.js";

// 1. A kernel with two policies (Rego, compiled to Wasm by OPA, loaded once)
const kernel = await createPolicyKernel({ policies: [sqlPolicy({ deny: ["DROP", "DELETE"] }), costControlPolicy({ maxCostUsd: 100 })] });
// 2. A governed runner: every action passes the kernel before it executes
const runner = new GovernedRunner(kernel);
// 3. A policy-aware reward: base 1 for success, penalties for violations, +5 when clean
const rewardFn = new PolicyReward(kernel, { baseRewardFn: (rollout) => (rollout.success ? 1 : 0) });
// 4. Run tasks and score them
for (const task of ["SELECT name FROM users WHERE id = 42", "DROP TABLE users"]) {
  const rollout = await runner.step(task);
  console.log(`${task} → success=${rollout.success} violations=${rollout.violations.length} penalty=${rollout.totalPenalty} reward=${rewardFn.reward(rollout)}`);
}
