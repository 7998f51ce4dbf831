import type { PolicyFacts } from "../../schemas.js";
import { factsReadByPaths, type FactsRead } from "../facts-read.js";
import { parsePath } from "./paths.js";
import { isJsonRulesFact } from "./rule-set.js";

/** One place a condition tree reads a fact: a leaf or a `value` fact reference (a `{condition}` reference has no fact). */
export interface FactRead {
  readonly fact: unknown;
  readonly path: unknown;
  /** Where it stands in the tree, for messages (`all[0]`, `all[1].value`). */
  readonly field: readonly PropertyKey[];
}

/** Every fact read in a condition tree, through all/any/not and `value` references. */
export function* factReads(node: unknown, field: readonly PropertyKey[] = []): Generator<FactRead> {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const [index, child] of node.entries()) yield* factReads(child, [...field, index]);
    return;
  }
  const record = node as Record<string, unknown>;
  if (Object.hasOwn(record, "fact") || Object.hasOwn(record, "condition")) yield { fact: record.fact, path: record.path, field };
  for (const key of ["all", "any", "not"]) {
    if (Object.hasOwn(record, key)) yield* factReads(record[key], [...field, key]);
  }
  // Only a fact reference is resolved; a literal value that merely looks like one inside an array is data.
  const value = record.value;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) yield* factReads(value, [...field, "value"]);
}

/**
 * The enrichment facts an expanded condition tree reads (`fact: "facts"` with a `$.name…` path,
 * on either side of a comparison); "all" when one reads `facts` whole or the tree has a part
 * this cannot tell (a `{condition}` reference, a fact that is not a name, a custom fact, whose
 * function is handed the whole input). The same on both paths: a rule json-rules-engine runs
 * (a decorated operator, `fastPath: false`) reads what its conditions name, like a compiled one.
 */
export function factsReadByCondition(node: unknown): FactsRead {
  const paths: string[][] = [];
  for (const { fact, path } of factReads(node)) {
    if (!isJsonRulesFact(fact)) return "all";
    if (fact !== "facts") continue;
    const first = typeof path === "string" ? parsePath(path)?.[0] : undefined;
    if (first?.kind !== "member") return "all";
    paths.push(["facts", first.name as keyof PolicyFacts]);
  }
  return factsReadByPaths(paths);
}
