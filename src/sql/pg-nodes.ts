// Reading the JSON parse trees of libpg-query (PostgreSQL's own parser). Every node is wrapped in
// an object with one key, its type ({"ColumnRef": {...}}); lists are arrays of such wrappers;
// protobuf leaves out default values, so a missing number is 0 and a missing boolean false.

/** One parse-tree node: its type and its fields. */
export interface PgNode {
  readonly type: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The node a wrapper holds, or undefined for anything that is not a one-key wrapper object. */
export function unwrap(value: unknown): PgNode | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const type = keys[0]!;
  const fields = (value as Record<string, unknown>)[type];
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) return undefined;
  return { type, fields: fields as Record<string, unknown> };
}

/** The nodes of a list field (absent lists are empty). */
export function listOf(value: unknown): PgNode[] {
  if (!Array.isArray(value)) return [];
  const out: PgNode[] = [];
  for (const item of value) {
    const node = unwrap(item);
    if (node) out.push(node);
  }
  return out;
}

/** The `sval`s of a list of String nodes (qualified names, operator names), lower-cased. */
export function names(value: unknown): string[] {
  return listOf(value).map((node) => (node.type === "String" ? String(node.fields["sval"] ?? "") : "*").toLowerCase());
}

/**
 * Calls `visit` on every wrapped node under `root` (root included), depth first. `visit` returns
 * false to skip a node's children. Iterative, so a deeply nested tree cannot overflow the stack.
 */
export function walk(root: unknown, visit: (node: PgNode) => boolean | void): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== "object") continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
      continue;
    }
    const node = unwrap(value);
    if (node) {
      if (visit(node) === false) continue;
      for (const field of Object.values(node.fields)) stack.push(field);
      continue;
    }
    // A plain field object (an alias, a `sval` holder): its members may hold nodes.
    for (const field of Object.values(value)) stack.push(field);
  }
}

/** Canonical text of a subtree without source locations, to compare two expressions structurally. */
export function shapeKey(value: unknown, rewrite?: (node: PgNode) => unknown): string {
  return JSON.stringify(value, function (this: unknown, key, member: unknown) {
    if (key === "location") return undefined;
    if (rewrite && member !== null && typeof member === "object" && !Array.isArray(member)) {
      const node = unwrap(member);
      if (node) {
        const replaced = rewrite(node);
        if (replaced !== undefined) return replaced;
      }
    }
    return member;
  });
}
