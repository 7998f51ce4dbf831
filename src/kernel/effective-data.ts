import type { RuleSet } from "../engines/json/index.js";
import { kernelSection } from "../engines/rego/bundle.js";
import { getOwn, setOwn } from "../safe-json.js";
import { isPlainObject } from "../values.js";
import { mergeData } from "./merge.js";
import type { PolicySpec } from "./policies.js";

/**
 * The data the policies see: bundle data, then the rule sets' default config under it where
 * the bundle is silent, then the policy helpers' config, then the caller's raw `data`.
 */
export function effectiveData(
  bundleData: Record<string, unknown>,
  ruleSets: readonly RuleSet[],
  specs: readonly PolicySpec[] | undefined,
  regoPolicies: readonly string[],
  override: Record<string, unknown>,
): Record<string, unknown> {
  let config: Record<string, unknown> = {};
  for (const set of ruleSets) if (set.config) config = mergeData(config, set.config);
  config = mergeData(config, readConfig(bundleData));
  const disabled: Record<string, boolean> = {};
  if (specs) {
    for (const spec of specs) {
      // Policy names are data (a bundle's list): written as own keys, never through a prototype.
      const current = getOwn(config, spec.name);
      setOwn(config, spec.name, mergeData(isPlainObject(current) ? current : {}, spec.config, spec.mergeLists ? "union" : "replace"));
    }
    for (const name of regoPolicies) if (!specs.some((s) => s.name === name)) setOwn(disabled, name, true);
  }
  const withConfig = { ...bundleData, policy_kernel: { ...kernelSection(bundleData), config, ...(specs ? { disabled } : {}) } };
  return mergeData(withConfig, override);
}

/** `data.policy_kernel.config`, or {} when the data has none. */
export function readConfig(data: Record<string, unknown>): Record<string, unknown> {
  const config = kernelSection(data)["config"];
  return isPlainObject(config) ? config : {};
}
