import { isForbiddenKey } from "../../safe-json.js";

/**
 * Condition `path`s: a deliberately small JSONPath subset. json-rules-engine's default resolver
 * (jsonpath-plus) accepts nearly any text (`$.[` returns an array of every node), turns
 * wildcards and recursive descent into arrays, and runs filter expressions through a script
 * evaluator. A policy condition should name exactly one value, so paths are limited to member
 * and index steps, checked at load, and resolved by `resolvePath` below, which the engine uses
 * as its `pathResolver` so load-time checks and run-time lookups agree.
 */

/** One step of a path: an own member of a plain object, or an index into an array. */
export type PathStep = { readonly kind: "member"; readonly name: string } | { readonly kind: "index"; readonly index: number };

/** Words for error messages: what a path may be. */
export const PATH_EXPECTATION =
  'a JSONPath of member and index steps such as $.actionsInWindow, $.sql.statements[0].kind or $["odd-key"]' +
  " (no wildcards, recursive descent, slices or filters; no __proto__, constructor or prototype steps)";

const STEP = /^(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[(0|[1-9][0-9]*)\]|\['([^'\\]*)'\]|\["([^"\\]*)"\])/;

const cache = new Map<string, readonly PathStep[] | null>();

/** Parses a path of the supported subset; undefined when it is not one. */
export function parsePath(path: string): readonly PathStep[] | undefined {
  const cached = cache.get(path);
  if (cached !== undefined) return cached ?? undefined;
  const steps = parseUncached(path);
  cache.set(path, steps ?? null);
  return steps;
}

function parseUncached(path: string): readonly PathStep[] | undefined {
  if (!path.startsWith("$")) return undefined;
  const steps: PathStep[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const match = STEP.exec(rest);
    if (!match) return undefined;
    const [whole, dotted, index, single, double] = match;
    if (index !== undefined) steps.push({ kind: "index", index: Number(index) });
    else {
      const name = dotted ?? single ?? double ?? "";
      // resolveSteps reads own members only; refusing these names says so at load instead of never matching.
      if (isForbiddenKey(name)) return undefined;
      steps.push({ kind: "member", name });
    }
    rest = rest.slice(whole.length);
  }
  return steps;
}

/**
 * The value a path names, or undefined when any step is missing. Only own members of plain
 * objects and in-range array indexes are followed, so `$.length` or `$.constructor` never
 * reach built-in properties.
 */
export function resolveSteps(value: unknown, steps: readonly PathStep[]): unknown {
  let current: unknown = value;
  for (const step of steps) {
    if (step.kind === "index") {
      if (!Array.isArray(current) || step.index >= current.length) return undefined;
      current = current[step.index] as unknown;
    } else {
      if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
      if (!Object.hasOwn(current, step.name)) return undefined;
      current = (current as Record<string, unknown>)[step.name];
    }
  }
  return current;
}

/**
 * The engine's `pathResolver`. Paths are validated at load; one that is not (a rule added
 * behind the loader's back) throws, which fails the evaluation closed rather than guessing.
 */
export function resolvePath(value: unknown, path: string): unknown {
  const steps = parsePath(path);
  if (!steps) throw new Error(`unsupported condition path ${JSON.stringify(path)} (expected ${PATH_EXPECTATION})`);
  return resolveSteps(value, steps);
}
