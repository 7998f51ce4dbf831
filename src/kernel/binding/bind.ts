import { isForbiddenKey, MAX_JSON_DEPTH, setOwn } from "../../safe-json.js";
import { isPlainObject } from "../../values.js";
import type { Violation } from "../../schemas.js";
import { kernelViolation } from "../decision.js";
import { describeWhen, isTemplateLeaf, whenKey, type BindingRule, type InputBinding, type TemplateLeaf, type TemplateNode } from "./schema.js";
import { applyTransforms, typeName } from "./transforms.js";

/**
 * Most JSON values (objects, arrays and scalars together) one bound input may hold. The kernel
 * already caps an action's size; this keeps bindInput bounded on its own, whoever calls it.
 */
export const MAX_BOUND_VALUES = 100_000;

/** The trusted side of a binding: the trainer's context and the agent's id, never supplied by the agent. */
export interface BindingContext {
  /** The trainer's context (role, now, budgets...), read by `from: context.*`. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** The agent's id, read by `from: agentId`. */
  readonly agentId?: string;
}

/**
 * What binding an action gave: the policy input, or why the action cannot be bound (then it is
 * denied: `unbound_action` when no binding applies, `unbindable_action` when one applies but a
 * required field is missing or a transform cannot apply).
 */
export type BindResult =
  | { readonly bound: true; readonly input: unknown; readonly when: BindingRule["when"] }
  | { readonly bound: false; readonly rule: "unbound_action" | "unbindable_action"; readonly description: string };

/** The binding that applies to an action: its tool's first, else its type's; undefined when none does. */
export function findBinding(binding: InputBinding, action: unknown): BindingRule | undefined {
  if (!isPlainObject(action)) return undefined;
  const type = own(action, "type");
  if (typeof type !== "string") return undefined;
  const tool = own(action, "tool");
  const byKey = bindingsByKey(binding);
  return (type === "tool_call" && typeof tool === "string" ? byKey.get(whenKey({ type, tool })) : undefined) ?? byKey.get(whenKey({ type }));
}

/**
 * Builds the policy input for `action` (the agent's action body) from the binding that applies to
 * it and the trusted `trusted` side. Never throws on agent data: what cannot be bound is a result.
 * The binding is indexed on first use: do not change it afterwards (parseInputBinding freezes it).
 */
export function bindInput(binding: InputBinding, action: unknown, trusted: BindingContext = {}): BindResult {
  const rule = findBinding(binding, action);
  if (!rule) {
    const type = isPlainObject(action) ? own(action, "type") : undefined;
    const tool = isPlainObject(action) ? own(action, "tool") : undefined;
    const what = typeof type !== "string" ? "an action without a type" : type === "tool_call" && typeof tool === "string" ? `tool_call ${JSON.stringify(tool)}` : `action type ${JSON.stringify(type)}`;
    const covered = binding.bindings.map((each) => describeWhen(each.when)).join("; ");
    return { bound: false, rule: "unbound_action", description: `no input binding for ${what} (the binding covers: ${covered})` };
  }
  const roots = { action, context: trusted.context ?? {}, agentId: trusted.agentId };
  const budget = { left: MAX_BOUND_VALUES };
  try {
    return { bound: true, input: buildNode(rule.input, roots, budget, "input"), when: rule.when };
  } catch (error) {
    if (!(error instanceof BindingFailure)) throw error;
    return { bound: false, rule: "unbindable_action", description: `input binding for ${describeWhen(rule.when)}: ${error.message}` };
  }
}

/** The critical `kernel/<rule>` violation that denies an action bindInput could not bind. */
export function bindingViolation(result: Extract<BindResult, { bound: false }>): Violation {
  return kernelViolation(result.rule, result.description, "kernel", false);
}

// Each binding's lookup table, built once: bindInput runs before every action.
const tables = new WeakMap<InputBinding, ReadonlyMap<string, BindingRule>>();

function bindingsByKey(binding: InputBinding): ReadonlyMap<string, BindingRule> {
  let table = tables.get(binding);
  if (!table) {
    table = new Map(binding.bindings.map((rule) => [whenKey(rule.when), rule]));
    tables.set(binding, table);
  }
  return table;
}

/** A failure on agent data, turned into a denied action by bindInput. */
class BindingFailure extends Error {}

interface Roots {
  readonly action: unknown;
  readonly context: unknown;
  readonly agentId: unknown;
}

// Templates are depth-bounded by the binding file's checks (MAX_JSON_DEPTH), so recursing on them is safe.
function buildNode(node: TemplateNode, roots: Roots, budget: { left: number }, where: string): unknown {
  if (isTemplateLeaf(node)) return buildLeaf(node, roots, budget, where);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node)) {
    const value = buildNode(child, roots, budget, `${where}.${key}`);
    if (value !== undefined) setOwn(out, key, value);
  }
  spend(budget, 1, where);
  return out;
}

function buildLeaf(leaf: TemplateLeaf, roots: Roots, budget: { left: number }, where: string): unknown {
  if (leaf.from === undefined) return copyJson(leaf.value, budget, where);
  const found = lookup(roots, leaf.from);
  if (found === undefined) {
    if (leaf.default !== undefined) return copyJson(leaf.default, budget, where);
    if (leaf.optional) return undefined;
    throw new BindingFailure(`${leaf.from} is missing, which ${where} requires (mark it optional: true, or give a default)`);
  }
  const copied = copyJson(found, budget, where, leaf.from);
  const result = applyTransforms(leaf, copied);
  if (!result.ok) throw new BindingFailure(`${leaf.from} for ${where}: ${result.reason}`);
  return result.value;
}

/** The value at a dotted reference, reading own members only; undefined when any step is missing. */
function lookup(roots: Roots, reference: string): unknown {
  const [root, ...segments] = reference.split(".");
  let current: unknown = root === "action" ? roots.action : root === "context" ? roots.context : roots.agentId;
  for (const segment of segments) {
    if (Array.isArray(current)) current = /^(0|[1-9][0-9]*)$/.test(segment) ? current[Number(segment)] : undefined;
    else if (isPlainObject(current)) current = own(current, segment);
    else return undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * A copy of JSON data from the action or the binding, refusing what the agent could use against
 * a walker or a prototype: forbidden keys, nesting past MAX_JSON_DEPTH, values that are not JSON,
 * and more values than the budget. Iterative, so no depth overflows the stack here.
 */
function copyJson(value: unknown, budget: { left: number }, where: string, from?: string): unknown {
  const source = from ?? "the literal";
  const fail = (path: string, problem: string): never => {
    throw new BindingFailure(`${source}${path} for ${where}: ${problem}`);
  };
  const convert = (item: unknown, path: string, depth: number): { copy: unknown; children?: Array<[string | number, unknown]> } => {
    spend(budget, 1, where);
    if (item === null || typeof item === "string" || typeof item === "boolean") return { copy: item };
    if (typeof item === "number") return Number.isFinite(item) ? { copy: item } : fail(path, "a number that is not finite");
    if (depth >= MAX_JSON_DEPTH) fail(path, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(item)) return { copy: [], children: item.map((child, index) => [index, child]) };
    if (isPlainObject(item)) {
      const keys = Object.keys(item);
      const bad = keys.find(isForbiddenKey);
      if (bad !== undefined) fail(path, `forbidden key "${bad}"`);
      return { copy: {}, children: keys.map((key) => [key, item[key]]) };
    }
    return fail(path, `${typeName(item)} is not JSON`);
  };
  const top = convert(value, "", 0);
  const stack: Array<{ target: unknown; children: Array<[string | number, unknown]>; path: string; depth: number }> = [];
  if (top.children) stack.push({ target: top.copy, children: top.children, path: "", depth: 1 });
  while (stack.length > 0) {
    const frame = stack.pop()!;
    for (const [key, child] of frame.children) {
      if (child === undefined && !Array.isArray(frame.target)) continue; // JSON drops undefined members
      const path = typeof key === "number" ? `${frame.path}[${key}]` : `${frame.path}.${key}`;
      const made = convert(child === undefined ? null : child, path, frame.depth);
      if (Array.isArray(frame.target)) frame.target.push(made.copy);
      else setOwn(frame.target as Record<string, unknown>, key as string, made.copy);
      if (made.children) stack.push({ target: made.copy, children: made.children, path, depth: frame.depth + 1 });
    }
  }
  return top.copy;
}

function spend(budget: { left: number }, count: number, where: string): void {
  budget.left -= count;
  if (budget.left < 0) throw new BindingFailure(`the input for ${where} holds more than ${MAX_BOUND_VALUES} values`);
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
