import { isPlainObject } from "../values.js";

/**
 * Deep merge for configuration data: objects merge key by key, anything else (arrays
 * included) replaces, so an override of a deny list is a whole new list. Inputs are not mutated.
 */
export function mergeData(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeData(current, value) : value;
  }
  return out;
}
