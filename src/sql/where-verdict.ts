import type { SqlWhereVerdict } from "../schemas.js";
import { listOf, names, shapeKey, unwrap, walk, type PgNode } from "./pg-nodes.js";

/**
 * What a WHERE clause can be proven to do, by constant folding on PostgreSQL's parse tree:
 * - "true": holds for every row (`1=1`, `id = id`, `OR true`, `name IS NOT NULL`, `LIKE '%'`);
 * - "false": holds for none (`1=0`, `false`);
 * - "const": the same for every row, value unknown (`EXISTS (SELECT 1)`, `f(1) = 2`): it selects
 *   all rows or none, so a write under it is treated as unrestricted;
 * - "row": depends on the target row's columns, so it can restrict.
 * A "row" verdict is not a proof that few rows match (`id > -1`): the executor's effect budget
 * catches what this analysis cannot see.
 */
type Truth = "true" | "false" | "const" | "row";

/** Which column references belong to the rows being written. */
interface Scope {
  /** The target table's name and alias, lower-case. */
  readonly names: ReadonlySet<string>;
  /** No other table is joined (no FROM/USING), so an unqualified column is the target's. */
  readonly unqualifiedIsTarget: boolean;
}

/** The verdict on an UPDATE or DELETE: its WHERE node (undefined when it has none) and target. */
export function whereVerdict(where: unknown, scope: Scope): SqlWhereVerdict {
  if (where === undefined) return "none";
  let currentOf = false;
  walk(where, (node) => {
    if (node.type === "CurrentOfExpr") currentOf = true;
  });
  if (currentOf) return "unknown"; // WHERE CURRENT OF a cursor: which row is not in the text
  const truth = classify(where, scope);
  return truth === "row" || truth === "false" ? "restricting" : "tautology";
}

/** The columns of the target a WHERE names (lower-case), for comparing two parsers' readings. */
export function targetColumns(where: unknown, scope: Scope): Set<string> {
  const found = new Set<string>();
  walk(where, (node) => {
    if (node.type === "SubLink") return false;
    if (node.type !== "ColumnRef") return;
    const fields = names(node.fields["fields"]);
    const column = fields.at(-1);
    if (column === undefined || column === "*") return;
    if (fields.length === 1 ? scope.unqualifiedIsTarget : scope.names.has(fields.at(-2) ?? "")) found.add(column);
  });
  return found;
}

function classify(value: unknown, scope: Scope): Truth {
  const node = unwrap(value);
  if (!node) return "const";
  const f = node.fields;
  switch (node.type) {
    case "A_Const":
      return constTruth(f);
    case "BoolExpr":
      return boolExpr(String(f["boolop"]), listOf(f["args"]).map((arg) => classify(wrap(arg), scope)));
    case "TypeCast":
      return classify(f["arg"], scope);
    case "A_Expr":
      return aExpr(f, scope);
    case "NullTest":
      if (!refersToTarget(f["arg"], scope)) return "const";
      return f["nulltesttype"] === "IS_NOT_NULL" ? "true" : "row";
    default:
      return refersToTarget(value, scope) ? "row" : "const";
  }
}

/** A literal as a condition: NULL and zero are false, other numbers and `true` hold; strings are left unknown. */
function constTruth(f: Readonly<Record<string, unknown>>): Truth {
  if (f["isnull"] === true) return "false";
  const bool = f["boolval"] as { boolval?: boolean } | undefined;
  if (bool !== undefined) return bool.boolval === true ? "true" : "false";
  const int = f["ival"] as { ival?: number } | undefined;
  if (int !== undefined) return (int.ival ?? 0) !== 0 ? "true" : "false";
  const float = f["fval"] as { fval?: string } | undefined;
  if (float !== undefined) return Number(float.fval ?? "0") !== 0 ? "true" : "false";
  return "const";
}

function boolExpr(op: string, args: Truth[]): Truth {
  if (op === "NOT_EXPR") {
    const [arg = "const"] = args;
    return arg === "true" ? "false" : arg === "false" ? "true" : arg;
  }
  if (op === "AND_EXPR") {
    if (args.includes("false")) return "false";
    if (args.includes("row")) return "row";
    return args.every((a) => a === "true") ? "true" : "const";
  }
  // OR: one disjunct true for every row makes the whole true; a row-independent one may.
  if (args.includes("true")) return "true";
  if (args.includes("const")) return "const";
  return args.includes("row") ? "row" : "false";
}

const HOLDS_WHEN_EQUAL = new Set(["=", "<=", ">=", "==", "is not distinct from"]);
const FAILS_WHEN_EQUAL = new Set(["<>", "!=", "<", ">"]);
/** Patterns every non-null string matches. */
const MATCH_ALL_LIKE = /^%+$/;
const MATCH_ALL_REGEX = new Set(["", ".*", "^", "$", "^.*", ".*$", "^.*$"]);

function aExpr(f: Readonly<Record<string, unknown>>, scope: Scope): Truth {
  const kind = String(f["kind"]);
  const op = names(f["name"]).join(".");
  const left = f["lexpr"];
  const right = f["rexpr"];
  const leftRow = refersToTarget(left, scope);
  const rightRow = refersToTarget(right, scope);
  if (!leftRow && !rightRow) return foldComparison(kind, op, left, right);
  if (kind === "AEXPR_OP" || kind === "AEXPR_NOT_DISTINCT" || kind === "AEXPR_DISTINCT") {
    if (sameExpression(left, right, scope)) {
      const name = kind === "AEXPR_NOT_DISTINCT" ? "is not distinct from" : kind === "AEXPR_DISTINCT" ? "<>" : op;
      if (HOLDS_WHEN_EQUAL.has(name)) return "true";
      if (FAILS_WHEN_EQUAL.has(name)) return "false";
    }
    if ((op === "~" || op === "~*") && MATCH_ALL_REGEX.has(stringConst(right) ?? "\0")) return "true";
    return "row";
  }
  if ((kind === "AEXPR_LIKE" || kind === "AEXPR_ILIKE") && (op === "~~" || op === "~~*")) {
    const pattern = stringConst(right);
    if (pattern !== undefined && MATCH_ALL_LIKE.test(pattern)) return "true";
    return "row";
  }
  if (kind === "AEXPR_IN" && op === "=" && listItems(right).some((item) => sameExpression(left, item, scope))) return "true";
  return "row";
}

/** Both sides row-independent: decided for literals of one kind, else the same for every row. */
function foldComparison(kind: string, op: string, left: unknown, right: unknown): Truth {
  if (kind !== "AEXPR_OP") return "const";
  const a = literal(left);
  const b = literal(right);
  if (a === undefined || b === undefined || typeof a !== typeof b) return "const";
  switch (op) {
    case "=":
    case "==":
      return a === b ? "true" : "false";
    case "<>":
    case "!=":
      return a !== b ? "true" : "false";
    case "<":
      return a < b ? "true" : "false";
    case ">":
      return a > b ? "true" : "false";
    case "<=":
      return a <= b ? "true" : "false";
    case ">=":
      return a >= b ? "true" : "false";
    default:
      return "const";
  }
}

function literal(value: unknown): number | string | undefined {
  const node = unwrap(value);
  if (node?.type === "TypeCast") return undefined; // '1'::int vs 1: leave casts alone
  if (node?.type !== "A_Const") return undefined;
  const f = node.fields;
  if (f["ival"] !== undefined) return (f["ival"] as { ival?: number }).ival ?? 0;
  if (f["fval"] !== undefined) return Number((f["fval"] as { fval?: string }).fval ?? "0");
  if (f["sval"] !== undefined) return (f["sval"] as { sval?: string }).sval ?? "";
  return undefined;
}

function stringConst(value: unknown): string | undefined {
  const node = unwrap(value);
  if (node?.type !== "A_Const" || node.fields["sval"] === undefined) return undefined;
  return (node.fields["sval"] as { sval?: string }).sval ?? "";
}

/** Structural equality, reading `users.id` and `id` as one column when both are the target's. */
function sameExpression(a: unknown, b: unknown, scope: Scope): boolean {
  const rewrite = (node: PgNode): unknown => {
    if (node.type !== "ColumnRef") return undefined;
    const fields = names(node.fields["fields"]);
    if (fields.length >= 2 && scope.names.has(fields.at(-2) ?? "")) return { ColumnRef: { target: fields.at(-1) } };
    if (fields.length === 1 && scope.unqualifiedIsTarget) return { ColumnRef: { target: fields[0] } };
    return { ColumnRef: { other: fields } };
  };
  return shapeKey(a, rewrite) === shapeKey(b, rewrite);
}

/**
 * Whether an expression reads a column of the target row. Inside a subquery only a reference
 * qualified with the target's name or alias counts (an unqualified one there usually names the
 * subquery's own table; reading it as uncorrelated can only deny more).
 */
function refersToTarget(value: unknown, scope: Scope): boolean {
  let found = false;
  const visitOuter = (node: PgNode): boolean => {
    if (found) return false;
    if (node.type === "SubLink") {
      walk(node.fields["testexpr"], visitOuter);
      walk(node.fields["subselect"], visitInner);
      return false;
    }
    if (node.type === "ColumnRef") {
      const fields = names(node.fields["fields"]);
      if (fields.length === 1 ? scope.unqualifiedIsTarget : scope.names.has(fields.at(-2) ?? "")) found = true;
    }
    return true;
  };
  const visitInner = (node: PgNode): boolean => {
    if (found) return false;
    if (node.type === "ColumnRef") {
      const fields = names(node.fields["fields"]);
      if (fields.length >= 2 && scope.names.has(fields.at(-2) ?? "")) found = true;
    }
    return true;
  };
  walk(value, visitOuter);
  return found;
}

/** The members of an IN list (a List node, or a bare array). */
function listItems(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  const node = unwrap(value);
  return node?.type === "List" && Array.isArray(node.fields["items"]) ? node.fields["items"] : [];
}

/** BoolExpr args come unwrapped from listOf: put the wrapper back for classify. */
function wrap(node: PgNode): unknown {
  return { [node.type]: node.fields };
}
