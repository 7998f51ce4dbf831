// Masking of decision-log events exactly as OPA's decision-log plugin applies the rules of a mask
// policy (v1/plugins/logs/mask.go, OPA 1.22): a rule is a path ("/input/password": remove) or
// {op: "remove" | "upsert", path, value}; a removed path is listed in the event's `erased`, an
// upserted one in `masked`, each as OPA spells it (segments URL-path-escaped). Here the rules come
// from configuration, so a bad one is a load error (OPA drops the whole event at run time).
import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import { isPlainObject } from "../values.js";
import { setOwn } from "../safe-json.js";

/** Schema of {@link MaskRule}. */
export const MaskRuleSchema = z.union([
  z.string(),
  z.strictObject({
    /** `remove` deletes the path; `upsert` sets it to `value`, creating missing objects on the way. */
    op: z.enum(["remove", "upsert"]),
    /** `/input/...` or `/result/...` (or `/nd_builtin_cache/...`), segments separated by `/`. */
    path: z.string(),
    /** What `upsert` writes (any JSON); absent means null. */
    value: z.unknown().optional(),
  }),
], { error: 'a path ("/input/password") or {op: "remove" | "upsert", path, value}' });
/** One mask rule as OPA's mask policy returns it: a path to remove, or `{op, path, value}`. */
export type MaskRule = z.infer<typeof MaskRuleSchema>;

/** The parts of an event a mask rule may reach, as OPA names them. */
const PARTS = ["input", "result", "nd_builtin_cache"] as const;
type Part = (typeof PARTS)[number];

/** A mask rule checked and split once, at load. */
interface PreparedRule {
  readonly op: "remove" | "upsert";
  readonly part: Part;
  /** Segments after the part, URL-path-escaped as OPA keys them (a segment with a space never matches a key). */
  readonly keys: readonly string[];
  readonly value: unknown;
  /** As OPA writes the path in `erased` / `masked`. */
  readonly shown: string;
}

/** The event members masking reads and writes. */
export interface Maskable {
  input?: unknown;
  result?: unknown;
  nd_builtin_cache?: unknown;
  erased?: string[];
  masked?: string[];
}

/** Rules checked once: each path as OPA's newMaskRule accepts it. Throws a PolicyKernelError naming `field[i]`. */
export function prepareMaskRules(rules: readonly MaskRule[], field: string): readonly PreparedRule[] {
  return rules.map((rule, index) => {
    const { op, path, value } = typeof rule === "string" ? { op: "remove" as const, path: rule, value: undefined } : rule;
    const where = { field: `${field}[${index}]`, expected: 'a path such as "/input/password" or "/result/violations/0", under /input, /result or /nd_builtin_cache' };
    if (path === "") throw new PolicyKernelError("invalid_config", "mask must be non-empty", where);
    if (!path.startsWith("/")) throw new PolicyKernelError("invalid_config", `mask ${JSON.stringify(path)} must be slash-prefixed`, where);
    const segments = path.slice(1).split("/");
    const part = segments[0]!;
    if (!(PARTS as readonly string[]).includes(part)) throw new PolicyKernelError("invalid_config", `mask prefix not allowed: ${JSON.stringify(part)}`, where);
    for (const segment of segments) {
      if (/%(?![0-9A-Fa-f]{2})/.test(segment)) throw new PolicyKernelError("invalid_config", `invalid URL escape in mask segment ${JSON.stringify(segment)}`, where);
    }
    const escaped = segments.map(pathEscape);
    return { op, part: part as Part, keys: escaped.slice(1), value: value ?? null, shown: `/${escaped.join("/")}` };
  });
}

/**
 * Applies the rules in order to `event` (its input and result must be copies the caller owns), as
 * OPA's maskRuleSet.Mask: a path that is not there is skipped silently and not listed, but an
 * upsert creates missing object members on the way.
 */
export function applyMask(event: Maskable, rules: readonly PreparedRule[]): void {
  for (const rule of rules) {
    if (event[rule.part] === undefined) continue;
    if (rule.op === "remove") {
      if (rule.keys.length === 0) delete event[rule.part];
      else {
        const holder = { root: event[rule.part] };
        if (!removeValue(holder, rule.keys)) continue;
        event[rule.part] = holder.root;
      }
      (event.erased ??= []).push(rule.shown);
    } else {
      if (rule.keys.length === 0) event[rule.part] = copyJson(rule.value);
      else {
        const root = event[rule.part];
        if (!(isPlainObject(root) || Array.isArray(root))) continue;
        if (!upsert(root, rule.keys, copyJson(rule.value))) continue;
      }
      (event.masked ??= []).push(rule.shown);
    }
  }
}

/** OPA's removeValue: walk to the parent, delete the member or the array element; false when the path is not there. */
function removeValue(holder: { root: unknown }, keys: readonly string[]): boolean {
  let node = holder.root;
  for (const key of keys.slice(0, -1)) {
    if (isPlainObject(node)) {
      if (!Object.hasOwn(node, key)) return false;
      node = node[key];
    } else if (Array.isArray(node)) {
      const index = goAtoi(key);
      if (index === undefined || index < 0 || index >= node.length) return false;
      node = node[index];
    } else return false;
  }
  const target = keys[keys.length - 1]!;
  if (isPlainObject(node)) {
    if (!Object.hasOwn(node, target)) return false;
    delete node[target];
    return true;
  }
  if (Array.isArray(node)) {
    const index = goAtoi(target);
    if (index === undefined || index < 0 || index >= node.length) return false;
    // OPA writes the shortened slice back into the parent (or the root): splicing in place is the same.
    node.splice(index, 1);
    return true;
  }
  return false;
}

/**
 * OPA's mkdirp: missing object members on the way become `{}`; an array index must exist (Go's
 * append there extends a local copy only, which then fails on the nil element); false when blocked.
 */
function upsert(root: Record<string, unknown> | unknown[], keys: readonly string[], value: unknown): boolean {
  let node: unknown = root;
  for (const key of keys.slice(0, -1)) {
    if (isPlainObject(node)) {
      if (!Object.hasOwn(node, key)) setOwn(node, key, {});
      node = node[key];
    } else if (Array.isArray(node)) {
      const index = goAtoi(key);
      if (index === undefined || index < 0) return false;
      if (index >= node.length) return false;
      node = node[index];
    } else return false;
  }
  const last = keys[keys.length - 1]!;
  if (isPlainObject(node)) {
    setOwn(node, last, value);
    return true;
  }
  if (Array.isArray(node)) {
    const index = goAtoi(last);
    if (index === undefined || index < 0 || index >= node.length) return false;
    node[index] = value;
    return true;
  }
  return false;
}

/** Go's strconv.Atoi: optional sign, decimal digits; undefined where Go errs (out of int64 range included). */
function goAtoi(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const big = BigInt(text);
  if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
  // Beyond any array length anyway: compare as a number.
  return Number(big);
}

/** Go's url.PathEscape: every UTF-8 byte but unreserved characters and $&+:=@ becomes %XX. */
export function pathEscape(segment: string): string {
  let out = "";
  for (const byte of Buffer.from(segment, "utf8")) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+:=@]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** A JSON copy whose object members are all own data properties (a `__proto__` key stays a key). */
function copyJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyJson);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) setOwn(out, key, copyJson(member));
    return out;
  }
  return value;
}

/** A mutable JSON copy of an event part, for masking. */
export function copyForMask(value: unknown): unknown {
  return copyJson(value);
}
