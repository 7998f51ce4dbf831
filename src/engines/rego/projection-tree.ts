import { isPlainObject } from "../../values.js";

/** A node of the path tree: WHOLE keeps the value as it is. */
type PathTree = typeof WHOLE | Map<string, PathTree>;
const WHOLE = Symbol("whole");

/** Paths into the policy input, each a list of member names (`["facts", "sql"]`). */
export type InputPaths = readonly (readonly string[])[];

/** The paths as a tree; null when the input must go whole (see compileProjection). */
function pathTree(paths: InputPaths): PathTree | null {
  // Assigning "__proto__" would set a prototype, not a member; a kept "toJSON" function would
  // make JSON.stringify call it. Neither is a policy input: keep such inputs whole.
  if (paths.some((path) => path.includes("__proto__") || path.includes("toJSON"))) return null;
  let root: PathTree = new Map();
  for (const path of paths) {
    if (path.length === 0) root = WHOLE;
    if (root === WHOLE) break;
    let node: Map<string, PathTree> = root;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const last = i === path.length - 1;
      const child = node.get(key);
      if (child === WHOLE) break; // already kept whole
      if (last) {
        node.set(key, WHOLE);
        break;
      }
      const next = child ?? new Map<string, PathTree>();
      node.set(key, next);
      node = next;
    }
  }
  return root;
}

/** Builds the function that keeps only `paths` of an input (a path covers everything below it). */
export function compileProjection(paths: InputPaths): (input: unknown) => unknown {
  const tree = pathTree(paths);
  if (tree === null) return (input) => input;
  return (input) => keep(input, tree);
}

function keep(value: unknown, tree: PathTree): unknown {
  // Only objects are narrowed: anything else (an array, a string where an object was expected)
  // goes whole, which can only show the policies more, never less.
  if (tree === WHOLE || !isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of tree) {
    if (!Object.hasOwn(value, key)) continue;
    const member = value[key];
    if (member !== undefined) out[key] = keep(member, child);
  }
  return out;
}

/** A path-tree node ready to write: each member's key already in JSON, in the order JSON.stringify would emit it. */
interface JsonNode {
  readonly members: readonly { readonly key: string; readonly prefix: string; readonly child: JsonNode | typeof WHOLE }[];
}

/**
 * Builds `input => JSON.stringify(compileProjection(paths)(input))` that writes the JSON text
 * straight from the input, without allocating the projected copy first (a third of the cost of
 * sending a projected input to the Wasm). A falsy input is no input: "".
 */
export function compileProjectedJson(paths: InputPaths): (input: unknown) => string {
  const tree = pathTree(paths);
  if (tree === null || tree === WHOLE) return wholeJson;
  const root = jsonNode(tree);
  return (input) => (input ? (writeJson(input, root) ?? "") : "");
}

function jsonNode(tree: Map<string, PathTree>): JsonNode {
  // A fresh object's own keys come out integer-like keys first, ascending: the order
  // JSON.stringify emits the projected copy's members in.
  const order = Object.keys(Object.fromEntries([...tree.keys()].map((key) => [key, true])));
  return {
    members: order.map((key) => {
      const child = tree.get(key)!;
      return { key, prefix: `${JSON.stringify(key)}:`, child: child === WHOLE ? WHOLE : jsonNode(child) };
    }),
  };
}

/** JSON.stringify(keep(value, node)), member by member; undefined where JSON.stringify omits the value. */
function writeJson(value: unknown, node: JsonNode | typeof WHOLE): string | undefined {
  if (node === WHOLE || !isPlainObject(value)) return JSON.stringify(value);
  let out = "{";
  for (const { key, prefix, child } of node.members) {
    if (!Object.hasOwn(value, key)) continue;
    const member = value[key];
    if (member === undefined) continue;
    const text = writeJson(member, child);
    if (text === undefined) continue; // a function or symbol: JSON.stringify leaves the member out
    out += out.length === 1 ? prefix + text : `,${prefix}${text}`;
  }
  return `${out}}`;
}

/** Like the SDK: a falsy input is no input. */
export function wholeJson(input: unknown): string {
  // JSON.stringify gives undefined for a function: no input either.
  return input ? (JSON.stringify(input) ?? "") : "";
}
