import type { PolicyInput } from "../../schemas.js";
import { inOperator, notInOperator, parseOperator, type JsonRulesOperator } from "./operators.js";
import { parsePath, resolveSteps } from "./paths.js";
import type { JsonCondition } from "./rule-set.js";

/** A rule's condition as a plain function of the input. It may throw where json-rules-engine would reject. */
export type CompiledCondition = (input: PolicyInput) => boolean;

type Read = (input: PolicyInput) => unknown;

/**
 * json-rules-engine 7.3.1's default operators (dist/engine-default-operators.js) with the
 * adapter's missing-safe `in`/`notIn` (operators.ts): `validator(fact) && cb(fact, value)`.
 */
const numberValidator = (factValue: unknown): boolean => Number.parseFloat(factValue as string).toString() !== "NaN";
// Typed by the operator list, so an operator added there without a closure here does not compile.
const OPERATORS: Readonly<Record<JsonRulesOperator, (a: unknown, b: unknown) => boolean>> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  in: inOperator,
  notIn: notInOperator,
  contains: (a, b) => Array.isArray(a) && a.indexOf(b) > -1,
  doesNotContain: (a, b) => Array.isArray(a) && a.indexOf(b) === -1,
  lessThan: (a, b) => numberValidator(a) && (a as number) < (b as number),
  lessThanInclusive: (a, b) => numberValidator(a) && (a as number) <= (b as number),
  greaterThan: (a, b) => numberValidator(a) && (a as number) > (b as number),
  greaterThanInclusive: (a, b) => numberValidator(a) && (a as number) >= (b as number),
};

const INPUT_FACTS: Readonly<Record<string, Read>> = {
  agentId: (input) => input.agentId,
  action: (input) => input.action,
  context: (input) => input.context,
  facts: (input) => input.facts,
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object";
}

/**
 * Almanac.factValue: a path is resolved only on an object (arrays included); on anything else
 * json-rules-engine returns the fact value itself. `config` is frozen, so its reads are constants.
 */
function compileRead(fact: string, path: string | undefined, config: Readonly<Record<string, unknown>>): Read | undefined {
  const steps = path ? parsePath(path) : [];
  if (!steps) return undefined;
  if (fact === "config") {
    const value = steps.length === 0 || !path ? config : resolveSteps(config, steps);
    return () => value;
  }
  const read = Object.hasOwn(INPUT_FACTS, fact) ? INPUT_FACTS[fact] : undefined;
  if (!read) return undefined;
  if (!path) return read;
  return (input) => {
    const value = read(input);
    return isObject(value) ? resolveSteps(value, steps) : value;
  };
}

/**
 * Compiles an expanded condition tree (references already resolved) into a closure that decides
 * exactly as json-rules-engine with the adapter's resolver and operators; undefined when the tree
 * uses something this compiler does not cover (operator decorators, custom facts), so that rule
 * keeps running on json-rules-engine.
 */
export function compileCondition(node: JsonCondition, config: Readonly<Record<string, unknown>>): CompiledCondition | undefined {
  if ("all" in node) {
    const children = node.all.map((child) => compileCondition(child, config));
    if (children.some((c) => c === undefined)) return undefined;
    const list = children as CompiledCondition[];
    if (list.length === 1) return list[0];
    if (list.length === 2) {
      const [a, b] = list as [CompiledCondition, CompiledCondition];
      return (input) => a(input) && b(input);
    }
    return (input) => list.every((c) => c(input));
  }
  if ("any" in node) {
    const children = node.any.map((child) => compileCondition(child, config));
    if (children.some((c) => c === undefined)) return undefined;
    const list = children as CompiledCondition[];
    if (list.length === 1) return list[0];
    return (input) => list.some((c) => c(input));
  }
  if ("not" in node) {
    const inner = compileCondition(node.not, config);
    return inner && ((input) => !inner(input));
  }
  if ("condition" in node) return undefined; // expanded before compiling; never reached for loaded sets
  const parsed = parseOperator(node.operator);
  if (!parsed || parsed.decorators.length > 0) return undefined;
  const op = OPERATORS[parsed.operator];
  const left = compileRead(node.fact, node.path, config);
  if (!left) return undefined;
  const value = node.value;
  if (isObject(value) && Object.hasOwn(value, "fact")) {
    const ref = value as { fact: unknown; path?: unknown };
    if (typeof ref.fact !== "string" || (ref.path !== undefined && typeof ref.path !== "string")) return undefined;
    const right = compileRead(ref.fact, ref.path as string | undefined, config);
    if (!right) return undefined;
    return (input) => op(left(input), right(input));
  }
  return (input) => op(left(input), value);
}
