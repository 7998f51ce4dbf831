#!/usr/bin/env node
// Drives a GovernedSqlEnv in process (no host) from dist/ and prints one JSON line per reset and
// step result, exactly as `policy-kernel serve --stdio` returns them (same key order), then closes
// the trail. The cross-bridge test compares these lines and the trail bytes with an episode driven
// from Python through the host. Build first: npx tsc -p tsconfig.build.json.
//
//   node scripts/drive-sql-env.mjs PLAN.json
//
// PLAN: {"seed": 7, "actions": [0, 2, 1, ...], "resets"?: [{seed?, options?: {taskIndex?}}, ...],
//        "governed"?: true, "rowBudget"?: int|null, "rewardConfig"?: {...},
//        "trail": {"path"?, "chainId"?, "signingKey"?}}
// Reset k (0-based) uses resets[k] when given, else {seed} for the first and {} after. The first
// reset comes before the first action; after an episode ends (terminated or truncated), the next
// action is preceded by the next reset. The kernel is the default library, as a host started
// with no kernel flags.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { GovernedSqlEnv } = await import(join(root, "dist/src/index.js"));

function fail(message) {
  process.stderr.write(`drive-sql-env: ${message}\n`);
  process.exit(1);
}

const planPath = process.argv[2];
if (planPath === undefined || process.argv.length > 3) fail("usage: node scripts/drive-sql-env.mjs PLAN.json");
let plan;
try {
  plan = JSON.parse(readFileSync(planPath, "utf8"));
} catch (error) {
  fail(`${planPath}: ${error.message}`);
}
if (typeof plan !== "object" || plan === null || Array.isArray(plan)) fail(`${planPath}: expected a JSON object`);
const known = ["seed", "actions", "resets", "governed", "rowBudget", "rewardConfig", "trail"];
for (const key of Object.keys(plan)) if (!known.includes(key)) fail(`${planPath}: unknown member "${key}" (expected ${known.join(", ")})`);
if (!Array.isArray(plan.actions) || !plan.actions.every(Number.isInteger)) fail(`${planPath}: actions must be an array of integers`);
if (plan.resets !== undefined && !Array.isArray(plan.resets)) fail(`${planPath}: resets must be an array of {seed?, options?}`);

const env = await GovernedSqlEnv.open({
  trail: plan.trail ?? {},
  ...(plan.governed === undefined ? {} : { governed: plan.governed }),
  ...(plan.rowBudget === undefined ? {} : { rowBudget: plan.rowBudget }),
  ...(plan.rewardConfig === undefined ? {} : { rewardConfig: plan.rewardConfig }),
});
const lines = [];
let resets = 0;
const reset = () => {
  const given = plan.resets?.[resets];
  const params = given ?? (resets === 0 && plan.seed !== undefined ? { seed: plan.seed } : {});
  resets += 1;
  lines.push(JSON.stringify(env.reset(params)));
};
try {
  reset();
  for (const [i, action] of plan.actions.entries()) {
    const result = await env.step(action);
    lines.push(JSON.stringify(result));
    if ((result.terminated || result.truncated) && i < plan.actions.length - 1) reset();
  }
} finally {
  await env.close();
}
process.stdout.write(lines.map((line) => `${line}\n`).join(""));
