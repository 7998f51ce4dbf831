import { join } from "node:path";
import { createRegoEngine } from "../../src/engines/rego/rego-engine.js";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { createJsonRulesEngine, loadRuleSets } from "../../src/engines/json/index.js";
import { defaultBundlePath, defaultRulesPath } from "../../src/kernel/defaults.js";
import { runEngineContract } from "./engine-contract.js";

runEngineContract("rego (default bundle)", async () => {
  const bundle = readBundle(defaultBundlePath());
  return createRegoEngine({ bundle, policyNames: ["cost"] });
});

runEngineContract("json (rules/parity/cost.json)", async () =>
  createJsonRulesEngine({ ruleSets: loadRuleSets([join(defaultRulesPath(), "parity", "cost.json")]), config: { cost: { max_cost_usd: 100 } } }),
);
