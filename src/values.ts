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

/**
 * Where a value stops being JSON data, as a path from the root and what was found there; undefined
 * when it is JSON data (plain objects, arrays, strings, finite numbers, booleans, null; undefined
 * members are dropped as JSON drops them). Policy data must be: Rego sees it as JSON, and a Date or
 * a function would reach the JSON rules as something else.
 */
export function findNonJson(value: unknown): { path: PropertyKey[]; found: string } | undefined {
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path: [] }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const item = stack.pop()!;
    const current = item.value;
    switch (typeof current) {
      case "string":
      case "boolean":
        continue;
      case "number":
        if (Number.isFinite(current)) continue;
        return { path: item.path, found: String(current) };
      case "object":
        break;
      default:
        return { path: item.path, found: `a ${typeof current}` };
    }
    if (current === null) continue;
    if (seen.has(current)) return { path: item.path, found: "a circular reference" };
    seen.add(current);
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...item.path, i] });
      continue;
    }
    const proto: unknown = Object.getPrototypeOf(current);
    if (proto !== Object.prototype && proto !== null) return { path: item.path, found: `a ${current.constructor?.name ?? "non-plain"} object` };
    for (const [key, member] of Object.entries(current).reverse()) {
      if (member !== undefined) stack.push({ value: member, path: [...item.path, key] });
    }
  }
  return undefined;
}

/** Describes a non-number for an error message (`NaN`, `a string`, `a Promise`). */
export function describeValue(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function") {
    return "a Promise (it must be synchronous)";
  }
  if (typeof value === "object") return Array.isArray(value) ? shapeOf(value) : "an object";
  return `a ${typeof value}`;
}

/** Turns -0 into 0 so sums and stats compare and serialise as users expect. */
export function noNegativeZero(value: number): number {
  return value === 0 ? 0 : value;
}

/** `ms` since the epoch as a UTC ISO 8601 timestamp; null when it is not a time a log can carry. */
export function isoOf(ms: number): string | null {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return null;
  const iso = date.toISOString();
  // Years outside 0000-9999 print as "+010000-…", which no ISO 8601 reader accepts.
  return /^\d{4}-/.test(iso) ? iso : null;
}

/** Levenshtein distance, for "did you mean" hints; callers keep both strings short (quadratic table). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
