import { HostBuiltinError } from "./go-values.js";

// OPA's regex builtins use Go's regexp (RE2 syntax, leftmost-first matching, like JS). A pattern
// is rewritten into a JS RegExp (flag u) only from constructs both read the same way; where RE2
// itself rejects the pattern (backreferences, lookaround, a bad repeat) the builtin is undefined,
// as in OPA (a builtin error there makes the call undefined); where RE2 accepts something this
// rewriter does not know, evaluation fails (fail closed), never a different answer.

/** RE2 rejects the pattern: OPA's builtin errors, so the call is undefined. */
export class InvalidRe2 extends Error {}

const cache = new Map<string, RegExp | InvalidRe2>();

/** The pattern as a global JS RegExp matching what Go's regexp matches; throws InvalidRe2 or HostBuiltinError. */
export function compileRe2(builtin: string, pattern: string): RegExp {
  let compiled = cache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = new RegExp(translate(builtin, pattern), "gu" + flagsOf(pattern).js);
    } catch (error) {
      if (error instanceof HostBuiltinError) throw error;
      compiled = error instanceof InvalidRe2 ? error : new InvalidRe2(String(error));
    }
    if (cache.size > 512) cache.clear();
    cache.set(pattern, compiled);
  }
  if (compiled instanceof InvalidRe2) throw compiled;
  compiled.lastIndex = 0;
  return compiled;
}

interface Flags {
  readonly js: string;
  readonly multiline: boolean;
  readonly dotAll: boolean;
  readonly caseless: boolean;
  /** Length of the leading `(?flags)` group. */
  readonly skip: number;
}

function flagsOf(pattern: string): Flags {
  const match = /^\(\?([imsU]+)\)/.exec(pattern);
  const letters = match?.[1] ?? "";
  return {
    js: letters.includes("i") ? "i" : "",
    multiline: letters.includes("m"),
    dotAll: letters.includes("s"),
    caseless: letters.includes("i"),
    skip: match?.[0].length ?? 0,
  };
}

const SPECIAL = new Set([..."\\^$.|?*+()[]{}/-"]);
const PERL_CLASSES: Readonly<Record<string, string>> = {
  d: "0-9",
  w: "0-9A-Za-z_",
  s: "\\t\\n\\f\\r ",
};
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7f",
  blank: "\\t ",
  cntrl: "\\x00-\\x1f\\x7f",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`\\{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

function literal(char: string): string {
  return SPECIAL.has(char) ? `\\${char}` : char;
}

function unsupported(builtin: string, pattern: string, what: string): HostBuiltinError {
  return new HostBuiltinError(builtin, `pattern ${JSON.stringify(pattern)}: ${what} is valid RE2 that this host does not translate`);
}

function translate(builtin: string, pattern: string): string {
  const flags = flagsOf(pattern);
  if (pattern.slice(0, flags.skip).includes("U")) throw unsupported(builtin, pattern, "the U (ungreedy) flag");
  const chars = [...pattern.slice(flags.skip)];
  let out = "";
  let index = 0;
  // Whether the last item can take a repeat (RE2 rejects `**`, `a**`, a leading `*`).
  let repeatable = false;
  let depth = 0;
  while (index < chars.length) {
    const char = chars[index] ?? "";
    index++;
    if (char === "\\") {
      const next = chars[index];
      if (next === undefined) throw new InvalidRe2("trailing backslash");
      index++;
      if (next === "Q") {
        const end = chars.indexOf("\\", index);
        const stop = end >= 0 && chars[end + 1] === "E" ? end : chars.length;
        out += chars.slice(index, stop).map(literal).join("");
        index = stop === chars.length ? stop : stop + 2;
        repeatable = true;
        continue;
      }
      const escape = escapeOutsideClass(builtin, pattern, next, chars, index, flags);
      out += escape.text;
      index = escape.index;
      repeatable = escape.repeatable;
      continue;
    }
    if (char === "[") {
      const parsed = characterClass(builtin, pattern, chars, index);
      out += parsed.text;
      index = parsed.index;
      repeatable = true;
      continue;
    }
    if (char === "(") {
      if (chars[index] === "?") {
        const rest = chars.slice(index + 1).join("");
        if (rest.startsWith(":")) {
          out += "(?:";
          index += 2;
        } else if (/^P?<[A-Za-z_][A-Za-z0-9_]*>/.test(rest)) {
          const named = /^P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
          out += `(?<${named?.[1] ?? ""}>`;
          index += 1 + (named?.[0].length ?? 0);
        } else if (/^[=!]|^<[=!]/.test(rest)) {
          throw new InvalidRe2("lookaround");
        } else {
          throw unsupported(builtin, pattern, "a flag group after the start");
        }
      } else {
        out += "(";
      }
      depth++;
      repeatable = false;
      continue;
    }
    if (char === ")") {
      if (depth === 0) throw new InvalidRe2("unexpected )");
      depth--;
      out += ")";
      repeatable = true;
      continue;
    }
    if (char === "|") {
      out += "|";
      repeatable = false;
      continue;
    }
    if (char === "*" || char === "+" || char === "?") {
      if (!repeatable) throw new InvalidRe2("missing argument to repetition operator");
      out += char;
      if (chars[index] === "?") {
        out += "?";
        index++;
      }
      repeatable = false;
      continue;
    }
    if (char === "{") {
      const repeat = /^\{(\d+)(,(\d*))?\}/.exec(chars.slice(index - 1).join(""));
      if (repeat) {
        if (!repeatable) throw new InvalidRe2("missing argument to repetition operator");
        const low = Number(repeat[1]);
        const high = repeat[3] === undefined || repeat[3] === "" ? undefined : Number(repeat[3]);
        if (low > 1000 || (high !== undefined && (high > 1000 || high < low))) throw new InvalidRe2("invalid repeat count");
        out += repeat[0];
        index += [...repeat[0]].length - 1;
        if (chars[index] === "?") {
          out += "?";
          index++;
        }
        repeatable = false;
        continue;
      }
      out += "\\{";
      repeatable = true;
      continue;
    }
    if (char === ".") {
      out += flags.dotAll ? "[\\s\\S]" : "[^\\n]";
      repeatable = true;
      continue;
    }
    if (char === "^") {
      out += flags.multiline ? "(?<=^|\\n)" : "^";
      repeatable = false;
      continue;
    }
    if (char === "$") {
      out += flags.multiline ? "(?=\\n|$)" : "$";
      repeatable = false;
      continue;
    }
    out += literal(char);
    repeatable = true;
  }
  if (depth !== 0) throw new InvalidRe2("missing )");
  return out;
}

function escapeOutsideClass(
  builtin: string,
  pattern: string,
  next: string,
  chars: readonly string[],
  index: number,
  flags: Flags,
): { text: string; index: number; repeatable: boolean } {
  const perl = PERL_CLASSES[next.toLowerCase()];
  if (perl !== undefined) {
    if (flags.caseless && next.toLowerCase() === "w") throw unsupported(builtin, pattern, "\\w under (?i)");
    return { text: next === next.toLowerCase() ? `[${perl}]` : `[^${perl}]`, index, repeatable: true };
  }
  if (next === "b" || next === "B") {
    if (flags.caseless) throw unsupported(builtin, pattern, "\\b under (?i)");
    return { text: `\\${next}`, index, repeatable: false };
  }
  if (next === "A") return { text: "(?<![\\s\\S])", index, repeatable: false };
  if (next === "z") return { text: "(?![\\s\\S])", index, repeatable: false };
  const single = singleEscape(builtin, pattern, next, chars, index);
  if (single) return { text: single.text, index: single.index, repeatable: true };
  throw new InvalidRe2(`invalid escape \\${next}`);
}

/** An escape that stands for one character, in or out of a class; undefined when it is not one. */
function singleEscape(builtin: string, pattern: string, next: string, chars: readonly string[], index: number): { text: string; index: number } | undefined {
  const named: Readonly<Record<string, string>> = { n: "\\n", t: "\\t", r: "\\r", f: "\\f", v: "\\v", a: "\\x07" };
  if (named[next] !== undefined) return { text: named[next], index };
  if (/^[!-/:-@[-`{-~]$/.test(next)) return { text: `\\${next}`, index };
  if (next === "x") {
    if (chars[index] === "{") {
      const end = chars.indexOf("}", index);
      const hex = chars.slice(index + 1, end).join("");
      if (end < 0 || !/^[0-9A-Fa-f]{1,6}$/.test(hex) || Number.parseInt(hex, 16) > 0x10ffff) throw new InvalidRe2("invalid \\x{}");
      return { text: `\\u{${hex}}`, index: end + 1 };
    }
    const hex = chars.slice(index, index + 2).join("");
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new InvalidRe2("invalid \\x");
    return { text: `\\x${hex}`, index: index + 2 };
  }
  if (/^[0-7]$/.test(next)) {
    // Go: \0 or a digit followed by another octal digit is an octal code of up to three digits;
    // a lone \1-\7 is a backreference, which RE2 rejects.
    const digits = /^[0-7]{0,2}/.exec(chars.slice(index, index + 2).join(""))?.[0] ?? "";
    if (next !== "0" && digits === "") throw new InvalidRe2("backreference");
    const code = Number.parseInt(next + digits, 8);
    return { text: `\\u{${code.toString(16)}}`, index: index + digits.length };
  }
  if (next === "p" || next === "P" || next === "C") throw unsupported(builtin, pattern, `\\${next}`);
  return undefined;
}

function characterClass(builtin: string, pattern: string, chars: readonly string[], start: number): { text: string; index: number } {
  let index = start;
  let out = "[";
  if (chars[index] === "^") {
    out += "^";
    index++;
  }
  let first = true;
  let items = 0;
  while (index < chars.length) {
    const char = chars[index] ?? "";
    if (char === "]" && !first) {
      if (items === 0) throw new InvalidRe2("empty class");
      return { text: `${out}]`, index: index + 1 };
    }
    first = false;
    if (char === "[" && chars[index + 1] === ":") {
      const end = chars.indexOf("]", index);
      const body = chars.slice(index + 2, end).join("");
      const negated = body.startsWith("^");
      const name = (negated ? body.slice(1) : body).replace(/:$/, "");
      const ranges = POSIX_CLASSES[name];
      if (end < 0 || !body.endsWith(":") || ranges === undefined) throw new InvalidRe2("invalid character class range");
      if (negated) throw unsupported(builtin, pattern, "a negated POSIX class");
      out += ranges;
      index = end + 1;
      items++;
      continue;
    }
    let low: string;
    if (char === "\\") {
      const next = chars[index + 1];
      if (next === undefined) throw new InvalidRe2("trailing backslash");
      const perl = PERL_CLASSES[next.toLowerCase()];
      if (perl !== undefined) {
        if (next !== next.toLowerCase()) throw unsupported(builtin, pattern, `\\${next} inside a class`);
        out += perl;
        index += 2;
        items++;
        continue;
      }
      const single = singleEscape(builtin, pattern, next, chars, index + 2);
      if (!single) throw new InvalidRe2(`invalid escape \\${next}`);
      low = single.text;
      index = single.index;
    } else {
      low = literal(char);
      index++;
    }
    if (chars[index] === "-" && chars[index + 1] !== "]" && chars[index + 1] !== undefined) {
      index++;
      const high = chars[index] ?? "";
      let highText: string;
      if (high === "\\") {
        const next = chars[index + 1];
        const single = next === undefined ? undefined : singleEscape(builtin, pattern, next, chars, index + 2);
        if (!single) throw new InvalidRe2("invalid range");
        highText = single.text;
        index = single.index;
      } else {
        highText = literal(high);
        index++;
      }
      out += `${low}-${highText}`;
    } else {
      out += low;
    }
    items++;
  }
  throw new InvalidRe2("missing ]");
}

/** Go's FindAllStringIndex: every match, skipping an empty match that abuts the previous match. */
export function findAll(regex: RegExp, text: string, limit = -1): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  regex.lastIndex = 0;
  let previousEnd = -1;
  while (limit < 0 || found.length < limit) {
    const match = regex.exec(text);
    if (match === null) break;
    const end = match.index + match[0].length;
    if (match[0].length === 0) {
      // Step over one code point so an empty match cannot repeat forever.
      const code = text.codePointAt(match.index);
      regex.lastIndex = match.index + (code !== undefined && code > 0xffff ? 2 : 1);
      if (match.index === previousEnd) continue;
    }
    found.push(match);
    previousEnd = end;
    if (match.index >= text.length && match[0].length === 0) break;
  }
  regex.lastIndex = 0;
  return found;
}
