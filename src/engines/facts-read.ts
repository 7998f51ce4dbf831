import { PolicyFactsSchema, type PolicyFacts } from "../schemas.js";
import type { InputPaths } from "./rego/projection-tree.js";

/**
 * Which enrichment facts (`input.facts.*`) an engine's policies can read: the names, or "all"
 * when the engine cannot tell. The kernel skips computing a fact no engine reads (SQL analysis,
 * PII detection, the clock), so a kernel running a few policies pays only for what they use.
 */
export type FactsRead = ReadonlySet<keyof PolicyFacts> | "all";

/**
 * What an engine's policies read for each action type (`other`: any type not listed), when its
 * policies are scoped to types: a transaction policy's clock is not needed for an SQL action.
 */
export interface FactsReadByActionType {
  readonly types: Readonly<Record<string, FactsRead>>;
  readonly other: FactsRead;
}

const FACT_NAMES: ReadonlySet<string> = new Set(Object.keys(PolicyFactsSchema.shape));

/** The facts named by input paths (`["facts", "sql", ...]`); "all" for the whole input, all facts, or an unknown fact. */
export function factsReadByPaths(paths: InputPaths | null): FactsRead {
  if (paths === null) return "all";
  const names = new Set<keyof PolicyFacts>();
  for (const path of paths) {
    if (path.length === 0) return "all";
    if (path[0] !== "facts") continue;
    const name = path[1];
    if (name === undefined || !FACT_NAMES.has(name)) return "all";
    names.add(name as keyof PolicyFacts);
  }
  return names;
}

/** What several engines read together; an engine that does not say (undefined) reads everything. */
export function unionFactsRead(reads: readonly (FactsRead | undefined)[]): FactsRead {
  const names = new Set<keyof PolicyFacts>();
  for (const read of reads) {
    if (read === undefined || read === "all") return "all";
    for (const name of read) names.add(name);
  }
  return names;
}
