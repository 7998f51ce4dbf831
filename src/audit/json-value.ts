/** A value that survives JSON encoding unchanged. */
// Same shape as zod's `z.json()` output, so entry schemas and this copier agree on one type.
// Mutable in the type only: every array and object toJsonCopy returns is frozen.
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

// Deeper values are cut: they only come from hostile or buggy callers, and unbounded
// recursion here would overflow the stack on the kernel's hot path.
const MAX_DEPTH = 64;

/**
 * Deep, frozen, JSON-safe copy of any value, and it never throws. Follows JSON.stringify
 * where JSON has an answer (undefined/functions/symbols dropped from objects and null in
 * arrays, non-finite numbers null, `toJSON` honoured) and otherwise records what it saw
 * (bigint as its decimal string, a cycle as "[Circular]", a throwing getter as "[Unreadable]")
 * so an audit entry can always be written and hashed. Object keys come out in code-unit order.
 *
 * Also says whether JSON.stringify of the copy is its canonical JSON: it is unless some object
 * key is an array index ("0", "12"), which JS objects list first whatever the insertion order.
 * The recorder then hashes entries with the native encoder instead of canonicalJson (the
 * largest cost of an audit entry).
 */
export function toJsonCopy(value: unknown): { readonly value: JsonValue; readonly stringifiesCanonically: boolean } {
  const walk: Walk = { ancestors: [], indexKeys: false };
  const copy = convert(value, walk, 0) ?? null;
  return { value: copy, stringifiesCanonically: !walk.indexKeys };
}

interface Walk {
  /** The objects being copied, outermost first: a short stack (depth is capped), cheaper than a Set. */
  readonly ancestors: object[];
  /** Set when an object key is an array index, which defeats insertion order. */
  indexKeys: boolean;
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/** A key JS objects list before all others ("0" to "4294967294"); most keys fail at the first character. */
function isArrayIndex(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 0x30 && first <= 0x39 && ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;
}

// `undefined` means "no JSON form": the caller drops the member or writes null.
function convert(value: unknown, walk: Walk, depth: number): JsonValue | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;
  const ancestors = walk.ancestors;
  if (ancestors.includes(object)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[MaxDepth]";
  ancestors.push(object);
  try {
    const toJson = readMember(object, "toJSON");
    if (typeof toJson === "function") {
      const replaced: unknown = callSafely(toJson as (this: unknown, key: string) => unknown, object);
      return convert(replaced, walk, depth + 1);
    }
    if (Array.isArray(object)) {
      const items: JsonValue[] = [];
      for (let i = 0; i < object.length; i++) items.push(convert(readMember(object, i), walk, depth + 1) ?? null);
      Object.freeze(items);
      return items;
    }
    const out: Record<string, JsonValue> = {};
    const keys = Object.keys(object);
    if (keys.length > 1) keys.sort(); // code-unit order, as canonicalJson writes them
    for (const key of keys) {
      const member = convert(readMember(object, key), walk, depth + 1);
      if (member === undefined) continue;
      if (!walk.indexKeys && isArrayIndex(key)) walk.indexKeys = true;
      // Assigning "__proto__" would set the prototype instead of adding a member.
      if (key === "__proto__") Object.defineProperty(out, key, { value: member, enumerable: true, writable: true, configurable: true });
      else out[key] = member;
    }
    return Object.freeze(out);
  } catch {
    // A revoked Proxy throws even from Array.isArray or Object.keys.
    return UNREADABLE;
  } finally {
    ancestors.pop();
  }
}

const UNREADABLE = "[Unreadable]";

function readMember(object: object, key: PropertyKey): unknown {
  try {
    return (object as Record<PropertyKey, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

function callSafely(fn: (this: unknown, key: string) => unknown, self: object): unknown {
  try {
    return fn.call(self, "");
  } catch {
    return UNREADABLE;
  }
}
