import { InvalidRe2, compileRe2, findAll } from "./re2.js";

// regex.replace, regex.find_n and regex.split as OPA computes them with Go's regexp. A pattern RE2
// rejects makes the call undefined (OPA: a builtin error, undefined outside strict mode).

type Host = (...args: unknown[]) => unknown;

function allStrings(values: unknown[]): values is string[] {
  return values.every((value) => typeof value === "string");
}

function undefinedOnInvalid<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    if (error instanceof InvalidRe2) return undefined;
    throw error;
  }
}

/** Go's Regexp.Expand of `template` for one match: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, match: RegExpExecArray): string {
  let out = "";
  for (let index = 0; index < template.length; index++) {
    const char = template[index];
    if (char !== "$") {
      out += char;
      continue;
    }
    const rest = template.slice(index + 1);
    if (rest.startsWith("$")) {
      out += "$";
      index++;
      continue;
    }
    const braced = /^\{([A-Za-z0-9_]+)\}/.exec(rest);
    const bare = /^[A-Za-z0-9_]+/.exec(rest);
    const name = braced?.[1] ?? bare?.[0];
    if (name === undefined) {
      // Go: a malformed reference is copied as is.
      out += "$";
      continue;
    }
    index += (braced?.[0] ?? bare?.[0] ?? "").length;
    const group = /^\d+$/.test(name) ? (Number(name) < match.length ? match[Number(name)] : undefined) : match.groups?.[name];
    out += group ?? "";
  }
  return out;
}

/** `regex.replace(s, pattern, value)`: Go's ReplaceAllString. */
const replace: Host = (...args) => {
  // An operand of the wrong type is an operand error in OPA: undefined.
  if (!allStrings(args)) return undefined;
  const [text = "", source = "", template = ""] = args;
  return undefinedOnInvalid(() => {
    const regex = compileRe2("regex.replace", source);
    let out = "";
    let last = 0;
    for (const match of findAll(regex, text)) {
      out += text.slice(last, match.index) + expand(template, match);
      last = match.index + match[0].length;
    }
    return out + text.slice(last);
  });
};

/** `regex.find_n(pattern, s, n)`: Go's FindAllString(s, n); n = -1 for all. */
const findN: Host = (pattern, s, n) => {
  const texts = [pattern, s];
  if (!allStrings(texts) || typeof n !== "number" || !Number.isInteger(n)) return undefined;
  const [source = "", text = ""] = texts;
  return undefinedOnInvalid(() => findAll(compileRe2("regex.find_n", source), text, n).map((match) => match[0]));
};

/** `regex.split(pattern, s)`: Go's Split(s, -1). */
const split: Host = (...args) => {
  if (!allStrings(args)) return undefined;
  const [source = "", text = ""] = args;
  return undefinedOnInvalid(() => {
    const regex = compileRe2("regex.split", source);
    if (source.length > 0 && text.length === 0) return [""];
    const parts: string[] = [];
    let begin = 0;
    let end = 0;
    for (const match of findAll(regex, text)) {
      end = match.index;
      if (match.index + match[0].length !== 0) parts.push(text.slice(begin, end));
      begin = match.index + match[0].length;
    }
    if (end !== text.length) parts.push(text.slice(begin));
    return parts;
  });
};

/** The regex builtins this host implements, by name. */
export const REGEX_BUILTINS: Readonly<Record<string, Host>> = {
  "regex.replace": replace,
  "regex.find_n": findN,
  "regex.split": split,
};
