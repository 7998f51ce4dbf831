import { types } from "node:util";
import { canonicalJson, sha256Hex } from "../canonical-json.js";

// The one copy of an action: made once where it enters (runner, environment, or the kernel for a
// direct caller), frozen, and then evaluated, executed and recorded as it is. Nothing the agent
// still holds (the object it proposed, a getter, a Proxy) can change what runs after the check.

/** Default `maxActionBytes`: far above any real action, low enough that one decision's work is bounded. */
export const DEFAULT_MAX_ACTION_BYTES = 4 * 1024 * 1024;
/** Objects and arrays nested deeper than this are not an action (and would cost a deep recursion). */
export const MAX_ACTION_DEPTH = 64;

/** Why a value could not be copied: the rule of the kernel violation that denies it, and what was found. */
export interface CopyRefusal {
  readonly rule: "action_too_large" | "invalid_action";
  readonly description: string;
}

export type FrozenCopyResult = { readonly ok: true; readonly value: unknown; readonly bytes: number } | { readonly ok: false; readonly refusal: CopyRefusal };

/** Every copy made here, with its size: the kernel takes a copy it is handed as it is. */
const copies = new WeakMap<object, number>();

/** True for an object made by `frozenCopy` (deeply frozen, JSON data only). */
export function isFrozenCopy(value: unknown): boolean {
  return typeof value === "object" && value !== null && copies.has(value);
}

/** The size `frozenCopy` measured for a copy it made (compact JSON, string escapes not counted), else undefined. */
export function frozenCopySize(value: unknown): number | undefined {
  return typeof value === "object" && value !== null ? copies.get(value) : undefined;
}

class Refused extends Error {
  constructor(readonly refusal: CopyRefusal) {
    super(refusal.description);
  }
}

/**
 * A deep, JSON-safe, deeply frozen copy of `value`, reading each own property once, or why not.
 * Plain objects and arrays, strings, finite numbers, booleans and null are copied (-0 becomes 0,
 * undefined members are dropped, symbol keys and non-enumerable members are left out, as JSON
 * does). Refused: a getter or setter (it could answer differently on every read; it is never
 * called), a Proxy (its traps are never run), a function, a symbol or bigint value, a non-finite
 * number, an object that is not plain (Date, Map, class instance), a cycle, nesting deeper than
 * MAX_ACTION_DEPTH, and more than `maxBytes` of data — the count stops the copy there, so a huge
 * or exponentially shared value costs at most `maxBytes` of work. A value already made here is
 * returned as it is. `path` names the root in descriptions (`action`).
 */
export function frozenCopy(value: unknown, maxBytes: number = DEFAULT_MAX_ACTION_BYTES, path = "action"): FrozenCopyResult {
  const known = frozenCopySize(value);
  if (known !== undefined) return known <= maxBytes ? { ok: true, value, bytes: known } : { ok: false, refusal: tooLarge(maxBytes, path) };
  const copier = new Copier(maxBytes, path);
  try {
    const copy = copier.copy(value, 0);
    if (typeof copy === "object" && copy !== null) copies.set(copy, copier.bytes);
    return { ok: true, value: copy, bytes: copier.bytes };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, refusal: error.refusal };
    // A RangeError from a stack too deep for MAX_ACTION_DEPTH cannot happen; anything else is still a refusal.
    return { ok: false, refusal: { rule: "invalid_action", description: `${path} could not be copied: ${String(error)}` } };
  }
}

/** SHA-256 hex of an action body's canonical JSON: what the trail's tool_call entry names as `actionSha256`. */
export function actionSha256(body: unknown): string {
  return sha256Hex(canonicalJson(body));
}

function tooLarge(maxBytes: number, path: string): CopyRefusal {
  return { rule: "action_too_large", description: `${path} is larger than maxActionBytes (${maxBytes} bytes); it was not analysed` };
}

class Copier {
  bytes = 0;
  /** Objects on the path from the root to the one being copied: meeting one again is a cycle. */
  readonly #open = new Set<object>();
  /** Keys from the root to the value being copied; a description is built from it only on refusal. */
  readonly #keys: (string | number)[] = [];

  constructor(
    private readonly maxBytes: number,
    private readonly root: string,
  ) {}

  #count(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.maxBytes) throw new Refused(tooLarge(this.maxBytes, this.root));
  }

  /** Where the value being copied is, as `action.args.sql` or `action.list[2]`. */
  #path(): string {
    let path = this.root;
    for (const key of this.#keys) path += typeof key === "number" ? `[${key}]` : `.${key.length > 64 ? `${key.slice(0, 64)}…` : key}`;
    return path;
  }

  #refuse(what: string): Refused {
    return new Refused({ rule: "invalid_action", description: `${this.#path()} ${what}` });
  }

  copy(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case "string":
        // UTF-8 takes at least a byte per UTF-16 code unit: a string longer than what is left is over.
        if (value.length > this.maxBytes - this.bytes) this.#count(value.length + 2);
        this.#count(Buffer.byteLength(value, "utf8") + 2);
        return value;
      case "boolean":
        this.#count(value ? 4 : 5);
        return value;
      case "number":
        if (!Number.isFinite(value)) throw this.#refuse(`is ${String(value)}, which has no JSON form`);
        this.#count(String(value).length);
        return value === 0 ? 0 : value; // -0 → 0, as JSON
      case "object":
        if (value === null) {
          this.#count(4);
          return null;
        }
        return this.#object(value, depth);
      default:
        throw this.#refuse(`is a ${typeof value}; an action is JSON data`);
    }
  }

  #object(value: object, depth: number): unknown {
    // A copy made before (the body a runner copied first) is taken as it is: frozen already, and its size known.
    const known = copies.get(value);
    if (known !== undefined) {
      this.#count(known);
      return value;
    }
    // util.types.isProxy asks the engine, not the object: no trap runs.
    if (types.isProxy(value)) throw this.#refuse("is a Proxy; an action is plain data");
    if (depth >= MAX_ACTION_DEPTH) throw this.#refuse(`is nested deeper than ${MAX_ACTION_DEPTH} levels`);
    if (this.#open.has(value)) throw this.#refuse("refers back to itself (a cycle)");
    const isArray = Array.isArray(value);
    const proto: unknown = Object.getPrototypeOf(value);
    if (!isArray && proto !== Object.prototype && proto !== null) throw this.#refuse("is not a plain object (a Date, Map or class instance); an action is JSON data");
    if (isArray && proto !== Array.prototype) throw this.#refuse("is an array of a subclass; an action is JSON data");
    this.#open.add(value);
    const keys = this.#keys;
    // Descriptors are read once, and no getter is ever called: the copy is what the own data properties held.
    let out: unknown;
    if (isArray) {
      const length = (value as unknown[]).length;
      // Counted before any element is read: a huge (or sparse) array is refused at once.
      this.#count(2 + Math.max(0, length - 1));
      const items: unknown[] = new Array<unknown>(length);
      for (let i = 0; i < length; i++) {
        const descriptor = Object.getOwnPropertyDescriptor(value, i);
        keys.push(i);
        if (descriptor === undefined) {
          this.#count(4);
          items[i] = null; // a hole, as JSON writes it
        } else {
          items[i] = this.copy(this.#dataOf(descriptor), depth + 1);
        }
        keys.pop();
      }
      out = Object.freeze(items);
    } else {
      this.#count(2);
      const descriptors = Object.getOwnPropertyDescriptors(value) as Record<string, PropertyDescriptor>;
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(descriptors)) {
        const descriptor = descriptors[key]!;
        if (!descriptor.enumerable) continue;
        keys.push(key);
        const member = this.#dataOf(descriptor);
        if (member !== undefined) {
          this.#count(key.length + 4);
          const copied = this.copy(member, depth + 1);
          // defineProperty, so an own "__proto__" member stays a member and never sets the prototype.
          if (key === "__proto__") Object.defineProperty(copy, key, { value: copied, enumerable: true, writable: true, configurable: true });
          else copy[key] = copied;
        }
        keys.pop();
      }
      out = Object.freeze(copy);
    }
    this.#open.delete(value);
    return out;
  }

  /** The value of a data property; an accessor is refused without being called. */
  #dataOf(descriptor: PropertyDescriptor): unknown {
    if (descriptor.get !== undefined || descriptor.set !== undefined) throw this.#refuse("is a getter/setter; an action is plain data, read once");
    return descriptor.value;
  }
}
