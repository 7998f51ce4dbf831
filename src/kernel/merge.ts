import { getOwn, setOwn } from "../safe-json.js";
import { isPlainObject } from "../values.js";

/**
 * Deep merge for configuration data: objects merge key by key, anything else replaces. Lists
 * replace too, so an override of a deny list is a whole new list, unless `lists` is "union"
 * (both lists' distinct items, the base's first). Inputs are not mutated. Only own members are
 * read and written (a `__proto__` key is an own key, never the prototype), so no key in the data
 * can reach a prototype even where a check upstream missed it.
 */
export function mergeData(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
  lists: "replace" | "union" = "replace",
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = getOwn(out, key);
    if (isPlainObject(current) && isPlainObject(value)) setOwn(out, key, mergeData(current, value, lists));
    else if (lists === "union" && Array.isArray(current) && Array.isArray(value)) setOwn(out, key, [...new Set([...current, ...value])]);
    else setOwn(out, key, value);
  }
  return out;
}
