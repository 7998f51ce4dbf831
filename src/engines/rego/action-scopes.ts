import type { WasmPolicy } from "./wasm-instance.js";
import { isPlainObject } from "../../values.js";
import { createWasmEvaluate, entrypointIdOf, evaluateWithoutInput, type WasmEvaluate } from "./wasm-eval.js";

/**
 * The generated aggregate's per-action-type entrypoints (scripts/gen-kernel-rego.mjs): a policy
 * whose every violations rule has the guard `input.action.type == "<type>"` finds nothing for
 * another type, so each such type has an entrypoint with only the policies that can fire for it,
 * and one more holds the unscoped policies for every other type. `kernel/action_scopes` says
 * which policies each has. Together they give exactly what `kernel/policy_violations` gives.
 */
const ACTION_SCOPES_ENTRYPOINT = "kernel/action_scopes";
const OTHER_TYPES_ENTRYPOINT = "kernel/violations_of_other_types";
const typeEntrypoint = (type: string): string => `kernel/violations_of_type/${type}`;

/** The policies that can fire for an action of each scoped type, and for any other type. */
export interface ActionScopes {
  readonly types: Readonly<Record<string, readonly string[]>>;
  readonly other: readonly string[];
}

/** A per-decision evaluation that picks the entrypoint of the action's type. */
export interface ScopedEvaluate {
  readonly evaluate: WasmEvaluate;
  /** Which entrypoint each type gets; `*` is every type not listed. */
  readonly entrypoints: Readonly<Record<string, string>>;
  /** The policies each entrypoint holds. */
  readonly scopes: ActionScopes;
  /** The entrypoint `evaluate` picks for this input (for error messages). */
  entrypointOf(input: unknown): string;
}

/**
 * Evaluates `kernel/action_scopes` once and returns the dispatch by action type, or undefined, and
 * the caller keeps evaluating `kernel/policy_violations`: when the module has no scopes or lacks
 * an entrypoint they name, when the scopes are malformed, when `data` holds a `policies`
 * document (base data there is not covered by the guards the scopes were read from), or when the
 * module predates ABI 1.2 (no direct `opa_eval`).
 * `toJsonFor(names)` writes the input the named policies read.
 */
export function createScopedEvaluate(
  policy: WasmPolicy,
  entrypoints: Readonly<Record<string, number>>,
  data: unknown,
  toJsonFor: (names: readonly string[]) => (input: unknown) => string,
): ScopedEvaluate | undefined {
  const scopesId = entrypointIdOf(entrypoints, ACTION_SCOPES_ENTRYPOINT);
  const otherId = entrypointIdOf(entrypoints, OTHER_TYPES_ENTRYPOINT);
  if (scopesId === undefined || otherId === undefined) return undefined;
  if (isPlainObject(data) && Object.hasOwn(data, "policies")) return undefined;
  let scopes: ActionScopes | undefined;
  try {
    scopes = readScopes(evaluateWithoutInput(policy, scopesId));
  } catch {
    return undefined;
  }
  if (!scopes) return undefined;
  const other = createWasmEvaluate(policy, otherId, toJsonFor(scopes.other));
  if (!other) return undefined;
  const byType = new Map<string, WasmEvaluate>();
  const named: Record<string, string> = {};
  for (const type of Object.keys(scopes.types).sort()) {
    const names = scopes.types[type]!;
    const id = entrypointIdOf(entrypoints, typeEntrypoint(type));
    const evaluate = id === undefined ? undefined : createWasmEvaluate(policy, id, toJsonFor(names));
    if (!evaluate) return undefined;
    byType.set(type, evaluate);
    named[type] = typeEntrypoint(type);
  }
  named["*"] = OTHER_TYPES_ENTRYPOINT;
  return {
    entrypoints: named,
    scopes,
    evaluate(input: unknown): unknown {
      const type = actionTypeOf(input);
      const scoped = type === undefined ? undefined : byType.get(type);
      return (scoped ?? other)(input);
    },
    entrypointOf(input: unknown): string {
      const type = actionTypeOf(input);
      return type !== undefined && byType.has(type) ? typeEntrypoint(type) : OTHER_TYPES_ENTRYPOINT;
    },
  };
}

/**
 * The policies' guards compare input.action.type with a string: any other value, or no action at
 * all, matches none of them, like a type no policy is scoped to (undefined).
 */
function actionTypeOf(input: unknown): string | undefined {
  const type = (input as { action?: { type?: unknown } } | undefined)?.action?.type;
  return typeof type === "string" ? type : undefined;
}

/** `[{result: {types: {<type>: [name...]}, other: [name...]}}]` and nothing else, or undefined. */
export function readScopes(resultSet: unknown): ActionScopes | undefined {
  if (!Array.isArray(resultSet) || resultSet.length !== 1) return undefined;
  const result = (resultSet[0] as { result?: unknown } | undefined)?.result;
  if (!isPlainObject(result)) return undefined;
  const { types, other, ...rest } = result;
  if (Object.keys(rest).length > 0 || !isNameList(other) || !isPlainObject(types)) return undefined;
  if (!Object.values(types).every(isNameList)) return undefined;
  return { types: types as Record<string, string[]>, other };
}

function isNameList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((name) => typeof name === "string");
}
