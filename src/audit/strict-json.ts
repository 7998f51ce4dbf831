import { errorMessage } from "../errors.js";

// JSON.parse keeps the last of two equal keys while other readers keep the first, so a trail
// line with a duplicate key could verify as one value and be read as another: such a line is
// rejected. One linear scan over the text, after JSON.parse has accepted it.

/**
 * Parses one JSON text, refusing an object with two members of the same name at any depth
 * (names compared after unescaping, so "a" and "\u0061" are the same). Throws an Error saying
 * what is wrong, naming the duplicate key.
 */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON: ${errorMessage(error)}`, { cause: error });
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw new Error(`duplicate key ${JSON.stringify(duplicate.key)} at ${duplicate.path}: a reader could take either value`);
  return value;
}

interface Frame {
  /** Member names seen so far; undefined for an array. */
  readonly keys: Set<string> | undefined;
  readonly path: string;
  /** Inside an object: the next string is a member name. */
  expectKey: boolean;
  lastKey: string;
  index: number;
}

/**
 * The first member name that repeats within one object of `text` (valid JSON: JSON.parse accepted
 * it), with the path of that object; undefined when there is none. Linear in the text's length.
 */
export function findDuplicateKey(text: string): { readonly key: string; readonly path: string } | undefined {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const top = stack.at(-1);
      if (top?.keys !== undefined && top.expectKey) {
        const raw = text.slice(start, i + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) return { key, path: top.path };
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack.at(-1);
      const path = parent === undefined ? "$" : parent.keys === undefined ? `${parent.path}[${parent.index}]` : `${parent.path}.${parent.lastKey}`;
      stack.push({ keys: c === 0x7b ? new Set() : undefined, path, expectKey: c === 0x7b, lastKey: "", index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top !== undefined) {
        if (top.keys !== undefined) top.expectKey = true;
        else top.index++;
      }
    }
  }
  return undefined;
}
