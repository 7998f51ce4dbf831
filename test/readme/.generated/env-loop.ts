import { createPolicyKernel, createGovernedEnv, checkEnv } from "../../../src/index.js";

const kernel = await createPolicyKernel();
const TEMPLATES = [
  "SELECT name FROM users WHERE id = {id}",
  "UPDATE orders SET status = 'shipped' WHERE order_id = {id}",
  "INSERT INTO logs (message) VALUES ('agent action')",
];
const env = createGovernedEnv<string, string>(kernel, {
  taskGenerator: (rng) => TEMPLATES[rng.int(TEMPLATES.length)]!.replace("{id}", String(1 + rng.int(1000))),
  // The episode's task is done when the agent runs exactly the task's statement.
  executor: (task, action) => ({ result: "ok", done: "sql" in action.action && action.action.sql === task }),
  maxSteps: 5,
  terminateOnCritical: true,
});

for (const [seed, shortcut] of [[42, "SELECT count(*) FROM users"], [7, "DELETE FROM orders"]] as const) {
  const [task, info] = env.reset({ seed });
  console.log(`reset(seed=${seed}) → ${task}`, info.kernelPolicies.length, "policies");
  for (const sql of [shortcut, task]) {
    if (env.done) break;
    const [, reward, terminated, truncated, stepInfo] = await env.step({ type: "sql", sql });
    console.log(`  step ${stepInfo.step} ${sql.slice(0, 26).padEnd(26)} reward=${reward.toFixed(2)} violations=${stepInfo.violations.length} terminated=${terminated} truncated=${truncated} total=${stepInfo.totalReward.toFixed(2)}`);
  }
}
console.log(env.getMetrics());
console.log((await checkEnv(env)).passed.length, "checkEnv checks passed");
