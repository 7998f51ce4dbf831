import type { RuleSet } from "../engines/json/index.js";
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
      const current = isPlainObject(config[spec.name]) ? (config[spec.name] as Record<string, unknown>) : {};
      config[spec.name] = spec.mergeLists ? mergeAddingLists(current, spec.config) : mergeData(current, spec.config);
    }
    for (const name of regoPolicies) if (!specs.some((s) => s.name === name)) disabled[name] = true;
  }
  const kernelData = isPlainObject(bundleData["policy_kernel"]) ? bundleData["policy_kernel"] : {};
  const withConfig = { ...bundleData, policy_kernel: { ...kernelData, config, ...(specs ? { disabled } : {}) } };
  return mergeData(withConfig, override);
}

/** `data.policy_kernel.config`, or {} when the data has none. */
export function readConfig(data: Record<string, unknown>): Record<string, unknown> {
  const kernelData = data["policy_kernel"];
  const config = isPlainObject(kernelData) ? kernelData["config"] : undefined;
  return isPlainObject(config) ? config : {};
}

function mergeAddingLists(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = Array.isArray(current) && Array.isArray(value) ? [...new Set([...current, ...value])] : value;
  }
  return out;
}
