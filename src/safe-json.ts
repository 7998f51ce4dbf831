// Guards for JSON read from files and options the agent or a bundle author may control: keys that
// name a prototype, nesting deep enough to overflow a recursive walker, and writes that could
// reach a prototype however a check upstream was missed.
import { PolicyKernelError, issuePath, type ErrorCode } from "./errors.js";

/** Keys that reach a prototype when assigned (`o.__proto__ = x`) or walked (`o.constructor.prototype`). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Deepest nesting of arrays and objects accepted in JSON from files and options. Far above any
 * real configuration, far below what overflows the stack of the recursive walkers data meets later
 * (merges, zod, canonical JSON, the Wasm runtime's JSON reader).
 */
export const MAX_JSON_DEPTH = 100;

/** Whether `key` is one of FORBIDDEN_KEYS. */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** Where a value holds a forbidden key or nests too deep: the path from the root and what was found. */
export interface JsonHazard {
  readonly path: readonly PropertyKey[];
  readonly problem: string;
  readonly expected: string;
}

/**
 * The first forbidden key (own, at any depth) or over-deep nesting in `value`, or undefined.
 * Iterative, so a hostile depth cannot overflow the stack here.
 */
export function findJsonHazard(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonHazard | undefined {
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path: [] }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (current === null || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    if (path.length >= maxDepth) {
      return { path, problem: `nested deeper than ${maxDepth} levels`, expected: `at most ${maxDepth} levels of arrays and objects` };
    }
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...path, i] });
      continue;
    }
    const keys = Reflect.ownKeys(current).filter((key): key is string => typeof key === "string");
    for (const key of keys) {
      if (isForbiddenKey(key)) return { path: [...path, key], problem: `forbidden key "${key}"`, expected: forbiddenExpectation() };
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      stack.push({ value: (current as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return undefined;
}

/** Words for error messages: which keys are refused. */
export function forbiddenExpectation(): string {
  return "no __proto__, constructor or prototype keys";
}

/** Throws a PolicyKernelError of `code` at the first hazard of `value` (see findJsonHazard). */
export function assertNoJsonHazard(value: unknown, code: ErrorCode, where: { file?: string; root?: string } = {}): void {
  const hazard = findJsonHazard(value);
  if (!hazard) return;
  throw new PolicyKernelError(code, hazard.problem, { file: where.file, field: issuePath(hazard.path, where.root), expected: hazard.expected });
}

/**
 * The deepest nesting of `[`/`{` in JSON text, counted without parsing, stopping as soon as it
 * passes `limit`: JSON.parse itself copes with deep nesting, but everything after it recurses.
 */
export function jsonTextDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Parses JSON from a file or option and refuses what could reach a prototype or overflow a walker:
 * over-deep nesting, and `__proto__`, `constructor` or `prototype` keys at any depth. Errors are
 * PolicyKernelErrors of `code` naming `file` and the key path.
 */
export function parseUntrustedJson(text: string, code: ErrorCode, file: string): unknown {
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
    throw new PolicyKernelError(code, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { file, expected: `at most ${MAX_JSON_DEPTH} levels of arrays and objects` });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PolicyKernelError(code, `invalid JSON (${(error as Error).message})`, { file, expected: "valid JSON" }, { cause: error });
  }
  assertNoJsonHazard(value, code, { file });
  return value;
}

/**
 * Sets an own, enumerable data property, never a prototype: `o[key] = v` with key `__proto__`
 * would replace o's prototype instead. For writes whose key came from data.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The own member `key` of `target`, never an inherited one (`o["constructor"]` is Object). */
export function getOwn(target: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(target, key) ? target[key] : undefined;
}
