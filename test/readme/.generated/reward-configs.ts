import {
  createPolicyKernel, GovernedRunner, PolicyReward, createPolicyReward, policyPenalty, CompositeReward,
  conservativeRewardConfig, lenientRewardConfig, unboundedRewardConfig,
} from "../../../src/index.js";

const kernel = await createPolicyKernel();
const runner = new GovernedRunner(kernel);
const clean = await runner.step("SELECT 1");
const warned = await runner.step({ type: "message", to: "billing@example.com", text: "card 4111 1111 1111 1111" });
const blocked = await runner.step("DELETE FROM users");

const configs = {
  default: {},
  conservative: conservativeRewardConfig,
  lenient: lenientRewardConfig,
  multiplicative: { multiplicative: true, multiplicativeFactor: 0.5 },
  unbounded: unboundedRewardConfig,
};
for (const [name, config] of Object.entries(configs)) {
  const reward = new PolicyReward(kernel, { config });
  console.log(`${name.padEnd(15)} clean=${reward.reward(clean)} warned=${reward.reward(warned)} blocked=${reward.reward(blocked)}`);
}
console.log(policyPenalty(blocked.violations, { criticalPenalty: -200 }));

const custom = createPolicyReward(kernel, {
  severityPenalties: { critical: -200, high: -80, medium: -15, low: -2 },
  cleanBonus: 10,
});
console.log(custom.reward(warned), custom.getStats());

const composite = new CompositeReward({
  components: [[(r) => (r.success ? 1 : 0), 1], [(r) => -r.violations.length, 0.5]],
  normalize: true,
});
console.log(composite.reward(clean), composite.reward(blocked));

try {
  new PolicyReward(kernel, { config: { criticalPenalty: 100 } });
} catch (error) {
  console.log((error as Error).message);
}
