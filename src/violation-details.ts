// A violation's `details`: the structured payload Gatekeeper templates return beside `msg`
// (`{"missing_labels": [...]}`), carried into the Violation so a trainer or a report can use it.
// It comes from a policy, and policies echo agent input into it, so it is bounded and copied.
import { canonicalJson } from "./canonical-json.js";
import type { JsonValue } from "./audit/json-value.js";
import { isForbiddenKey, setOwn } from "./safe-json.js";
import { isPlainObject } from "./values.js";

/** Canonical-JSON bytes a violation's details may take; larger details are replaced by a note saying so. */
export const MAX_DETAILS_BYTES = 8192;

/** Nesting a violation's details may have; deeper ones are replaced by a note saying so. */
export const MAX_DETAILS_DEPTH = 16;

/**
 * A frozen, JSON-only copy of a policy's details, or a frozen `{"omitted": why}` when they are not
 * plain JSON, nest too deep, carry a prototype key or exceed MAX_DETAILS_BYTES: the finding still
 * counts (it blocks as its rule says), only the payload is dropped, and the note says why.
 */
export function boundedDetails(value: unknown): JsonValue {
  const copy = copyJson(value, 0);
  if (copy === undefined) return omitted(`details that are not plain JSON of at most ${MAX_DETAILS_DEPTH} levels without __proto__, constructor or prototype keys`);
  const bytes = Buffer.byteLength(canonicalJson(copy), "utf8");
  return bytes > MAX_DETAILS_BYTES ? omitted(`details of ${bytes} bytes, over the ${MAX_DETAILS_BYTES} a violation carries`) : copy;
}

/** True when `value` is details a violation may carry: plain JSON within the depth and MAX_DETAILS_BYTES, frozen or not. */
export function isViolationDetails(value: unknown): value is JsonValue {
  const copy = copyJson(value, 0);
  return copy !== undefined && Buffer.byteLength(canonicalJson(copy), "utf8") <= MAX_DETAILS_BYTES;
}

function omitted(why: string): JsonValue {
  return Object.freeze({ omitted: why });
}

// Undefined when the value is not JSON within the bounds; otherwise a deeply frozen copy.
function copyJson(value: unknown, depth: number): JsonValue | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (depth >= MAX_DETAILS_DEPTH) return undefined;
  if (Array.isArray(value)) {
    const items: JsonValue[] = [];
    for (const item of value as unknown[]) {
      const copy = copyJson(item, depth + 1);
      if (copy === undefined) return undefined;
      items.push(copy);
    }
    return Object.freeze(items) as JsonValue[];
  }
  if (!isPlainObject(value)) return undefined;
  // Parsed JSON only: a Date or a class instance would encode as something else.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (isForbiddenKey(key)) return undefined;
    const copy = copyJson(value[key], depth + 1);
    if (copy === undefined) return undefined;
    setOwn(out, key, copy);
  }
  return Object.freeze(out) as { [key: string]: JsonValue };
}
