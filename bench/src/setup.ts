import { readBundle, type PolicyBundle } from "../../src/engines/rego/bundle.js";
import { loadRuleSets, type RuleSet } from "../../src/engines/json/index.js";
import { defaultBundlePath, defaultRulesPath } from "../../src/kernel/defaults.js";
import { toPolicyInput } from "../../src/kernel/enrich.js";
import { effectiveData, readConfig } from "../../src/kernel/effective-data.js";
import { ActionSchema, type PolicyInput } from "../../src/schemas.js";
import { benchCorpus, type CorpusAction } from "./corpus.js";
import { defaultPredicate, type DefaultPolicyConfig, type PredicateResult } from "./peers/predicate.js";

/** Everything every row shares: the corpus, its enriched inputs, the default bundle, rules and data. */
export interface BenchSetup {
  readonly corpus: readonly CorpusAction[];
  readonly actions: readonly unknown[];
  readonly inputs: readonly PolicyInput[];
  readonly bundlePath: string;
  readonly bundle: PolicyBundle;
  readonly ruleSets: readonly RuleSet[];
  /** The data the default kernel gives the Wasm (bundle data, rule-set config merged under it). */
  readonly data: Record<string, unknown>;
  /** `data.policy_kernel.config`, the `config` fact of the JSON rules, shaped as the shipped defaults (what the floor and the SDK row read). */
  readonly config: Record<string, unknown> & DefaultPolicyConfig;
  /** The floor: the default policies hand-written in TypeScript over `config`. */
  readonly predicate: (input: PolicyInput) => PredicateResult;
}

/** Loads the shipped defaults and builds the corpus, as `createPolicyKernel()` would see them. */
export function benchSetup(): BenchSetup {
  const corpus = benchCorpus();
  const actions = corpus.map((entry) => entry.action);
  const inputs = actions.map((action) => toPolicyInput(ActionSchema.parse(action)));
  const bundlePath = defaultBundlePath();
  const bundle = readBundle(bundlePath);
  const ruleSets = loadRuleSets([defaultRulesPath()]);
  // The kernel's own merge (no policy helpers, no override), so the engine rows see its data.
  const data = effectiveData(bundle.data, ruleSets, undefined, [], {});
  const config = readConfig(data) as Record<string, unknown> & DefaultPolicyConfig;
  return { corpus, actions, inputs, bundlePath, bundle, ruleSets, data, config, predicate: defaultPredicate(config) };
}
