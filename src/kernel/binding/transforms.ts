import type { TemplateLeaf, UrlPart } from "./schema.js";

/** A transform's answer: the new value, or why it cannot apply (the action is then denied). */
export type TransformResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

// Relative URLs (/finance/salary/alice) are read against a base that can never be a real host.
const RELATIVE_BASE = "http://relative.invalid";

/** Applies a leaf's transforms to a value read by `from`, in the documented order: url, split, upper/lower. */
export function applyTransforms(leaf: TemplateLeaf, value: unknown): TransformResult {
  let current: TransformResult = { ok: true, value };
  if (leaf.url !== undefined) current = urlPart(current.value, leaf.url);
  if (current.ok && leaf.split !== undefined) current = splitString(current.value, leaf.split);
  if (current.ok && leaf.upper) current = mapStrings(current.value, "upper", (text) => text.toUpperCase());
  if (current.ok && leaf.lower) current = mapStrings(current.value, "lower", (text) => text.toLowerCase());
  return current;
}

function urlPart(value: unknown, part: UrlPart): TransformResult {
  if (typeof value !== "string") return { ok: false, reason: `url expects a string, got ${typeName(value)}` };
  const absolute = URL.canParse(value);
  if (part === "host") {
    return absolute ? { ok: true, value: new URL(value).hostname } : { ok: false, reason: "url: host expects an absolute URL" };
  }
  if (!absolute && !URL.canParse(value, RELATIVE_BASE)) return { ok: false, reason: "url expects a URL" };
  // WHATWG parsing resolves dot segments (/a/../b is /b, also when written %2e%2e): the policy sees
  // the path a server would route, not one an agent dressed up to slip past a prefix check.
  const url = absolute ? new URL(value) : new URL(value, RELATIVE_BASE);
  if (part === "path") return { ok: true, value: url.pathname };
  if (part === "target") return { ok: true, value: `${url.pathname}${url.search}` }; // an HTTP request line's target, as Envoy's http.path
  if (part === "query") return { ok: true, value: url.search.slice(1) };
  const segments: string[] = [];
  for (const raw of url.pathname.split("/")) {
    if (raw === "") continue;
    try {
      segments.push(decodeURIComponent(raw));
    } catch {
      return { ok: false, reason: `url: segments cannot decode the path segment "${raw}"` };
    }
  }
  return { ok: true, value: segments };
}

function splitString(value: unknown, separator: string): TransformResult {
  if (typeof value !== "string") return { ok: false, reason: `split expects a string, got ${typeName(value)}` };
  return { ok: true, value: value.split(separator) };
}

function mapStrings(value: unknown, name: string, change: (text: string) => string): TransformResult {
  if (typeof value === "string") return { ok: true, value: change(value) };
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return { ok: true, value: value.map(change) };
  return { ok: false, reason: `${name} expects a string or an array of strings, got ${typeName(value)}` };
}

/** The JSON type of a value, for a reason. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
