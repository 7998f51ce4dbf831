// Type guards for untyped values (parsed JSON, user options), shared by every module.

/** A non-null object that is not an array (a JSON object, an options bag). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** What a value is, for an error message: "an array of 3", "null", "object", "string"... */
export function shapeOf(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? "null" : typeof value;
}

/**
 * Code-unit order for sort(): the same on every host, unlike localeCompare, so anything hashed
 * or written from a sorted list (bundle and rules hashes, reports) is byte-stable.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True for a value callable as a function (the only check zod can make on callbacks). */
export function isFunction(value: unknown): value is (...args: never[]) => unknown {
  return typeof value === "function";
}
