import { isPlainObject } from "../values.js";

/**
 * Deep merge for configuration data: objects merge key by key, anything else replaces. Lists
 * replace too, so an override of a deny list is a whole new list, unless `lists` is "union"
 * (both lists' distinct items, the base's first). Inputs are not mutated.
 */
export function mergeData(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
  lists: "replace" | "union" = "replace",
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    if (isPlainObject(current) && isPlainObject(value)) out[key] = mergeData(current, value, lists);
    else if (lists === "union" && Array.isArray(current) && Array.isArray(value)) out[key] = [...new Set([...current, ...value])];
    else out[key] = value;
  }
  return out;
}
