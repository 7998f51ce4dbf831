import { Operator, OperatorDecorator } from "json-rules-engine";

/**
 * The operators json-rules-engine 7.3.1 registers by default (dist/engine-default-operators.js).
 * A test compares this list with a fresh Engine's operator map, so an upgrade that adds or
 * drops one fails loudly instead of letting rule files drift.
 */
export const JSON_RULES_OPERATORS = [
  "equal",
  "notEqual",
  "in",
  "notIn",
  "contains",
  "doesNotContain",
  "lessThan",
  "lessThanInclusive",
  "greaterThan",
  "greaterThanInclusive",
] as const;
export type JsonRulesOperator = (typeof JSON_RULES_OPERATORS)[number];

/** The operator decorators of 7.3.1 (dist/engine-default-operator-decorators.js), used as `decorator:operator`. */
export const JSON_RULES_OPERATOR_DECORATORS = ["someFact", "someValue", "everyFact", "everyValue", "swap", "not"] as const;
export type JsonRulesOperatorDecorator = (typeof JSON_RULES_OPERATOR_DECORATORS)[number];

/** An operator name split the way json-rules-engine's OperatorMap.get resolves it. */
export interface ParsedOperator {
  /** Outermost first: `not:someValue:equal` gives ["not", "someValue"]. */
  readonly decorators: readonly JsonRulesOperatorDecorator[];
  readonly operator: JsonRulesOperator;
}

const OPERATOR_SET: ReadonlySet<string> = new Set(JSON_RULES_OPERATORS);
const DECORATOR_SET: ReadonlySet<string> = new Set(JSON_RULES_OPERATOR_DECORATORS);

/** Parses `decorator:…:operator`; undefined when any part is not one json-rules-engine knows. */
export function parseOperator(name: string): ParsedOperator | undefined {
  const parts = name.split(":");
  const operator = parts.pop();
  if (operator === undefined || !OPERATOR_SET.has(operator)) return undefined;
  if (!parts.every((part) => DECORATOR_SET.has(part))) return undefined;
  return {
    decorators: parts as JsonRulesOperatorDecorator[],
    operator: operator as JsonRulesOperator,
  };
}

/** Words for error messages: what an operator may be. */
export const OPERATOR_EXPECTATION =
  `one of ${JSON_RULES_OPERATORS.join(", ")}, optionally prefixed by decorators ` +
  `(${JSON_RULES_OPERATOR_DECORATORS.map((d) => `${d}:`).join(", ")})`;

const NUMERIC_OPERATORS: ReadonlySet<JsonRulesOperator> = new Set([
  "lessThan",
  "lessThanInclusive",
  "greaterThan",
  "greaterThanInclusive",
]);

/**
 * Checks a literal condition `value` against what the operator chain does with it, so the
 * mistakes json-rules-engine would only reveal at run time (a TypeError, or a comparison that is
 * silently always false) are reported at load. Returns what was expected, or undefined when fine.
 */
export function literalValueProblem(parsed: ParsedOperator, value: unknown): string | undefined {
  const [decorator, ...rest] = parsed.decorators;
  if (decorator === undefined) {
    if ((parsed.operator === "in" || parsed.operator === "notIn") && !Array.isArray(value)) {
      return `an array value for operator "${parsed.operator}"`;
    }
    if (NUMERIC_OPERATORS.has(parsed.operator) && (typeof value !== "number" || !Number.isFinite(value))) {
      // "50" would compare as text against some facts; a rule author means the number.
      return `a number value for operator "${parsed.operator}"`;
    }
    return undefined;
  }
  const inner: ParsedOperator = { decorators: rest, operator: parsed.operator };
  switch (decorator) {
    case "someValue":
    case "everyValue": {
      if (!Array.isArray(value)) return `an array value for decorator "${decorator}"`;
      for (const item of value as unknown[]) {
        const problem = literalValueProblem(inner, item);
        if (problem) return `${problem} in each element (decorator "${decorator}")`;
      }
      return undefined;
    }
    case "swap":
      // The literal becomes the fact side of the inner operator; the fact is only known at run time.
      return undefined;
    default:
      return literalValueProblem(inner, value);
  }
}

function isArrayOrString(value: unknown): value is unknown[] | string {
  return Array.isArray(value) || typeof value === "string";
}

/** The missing-safe `in`: false (not a TypeError) when the value side is not an array or string. */
export const inOperator = (a: unknown, b: unknown): boolean => isArrayOrString(b) && b.indexOf(a as string) > -1;
/** The missing-safe `notIn`. */
export const notInOperator = (a: unknown, b: unknown): boolean => isArrayOrString(b) && b.indexOf(a as string) === -1;

/**
 * Replacements registered on every engine for the defaults that throw a TypeError when the value
 * side is missing (`in`/`notIn` call `value.indexOf`, `someValue`/`everyValue` call
 * `value.some`). Same names and the same result whenever the default would not throw; when the
 * value side is not an array (or string), the comparison is false, so a missing fact or path
 * "simply does not match" on either side of a condition.
 */
export function missingSafeOperators(): { operators: Operator[]; decorators: OperatorDecorator[] } {
  return {
    operators: [
      new Operator("in", inOperator),
      new Operator("notIn", notInOperator),
    ],
    decorators: [
      new OperatorDecorator(
        "someValue",
        (factValue: unknown, jsonValue: unknown, next: (a: unknown, b: unknown) => boolean) =>
          Array.isArray(jsonValue) && jsonValue.some((jv: unknown) => next(factValue, jv)),
      ),
      new OperatorDecorator(
        "everyValue",
        (factValue: unknown, jsonValue: unknown, next: (a: unknown, b: unknown) => boolean) =>
          Array.isArray(jsonValue) && jsonValue.every((jv: unknown) => next(factValue, jv)),
      ),
    ],
  };
}
