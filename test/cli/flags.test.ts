// parseFlags: every command-line mistake is a UsageError naming the flag; good lines parse as parseArgs does.
import { describe, expect, it } from "vitest";
import { UsageError, parseFlags } from "../../src/cli/flags.js";

const OPTIONS = {
  input: { type: "string" },
  rules: { type: "string", multiple: true },
  json: { type: "boolean" },
  "no-progress": { type: "boolean" },
} as const;

/** The UsageError `argv` raises, as its message. */
function mistake(argv: string[], positionals?: Parameters<typeof parseFlags>[2]): string {
  try {
    parseFlags(argv, OPTIONS, positionals);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
}

describe("parseFlags", () => {
  it("parses a good line exactly as util.parseArgs does, repeatable flags kept in order", () => {
    const { values, positionals } = parseFlags(["--input", "-", "--rules", "a.json", "--rules=b.json", "--json", "t.jsonl"], OPTIONS, { name: "TRAIL", what: "trail", min: 1, max: 1 });
    expect(values).toEqual({ input: "-", rules: ["a.json", "b.json"], json: true });
    expect(positionals).toEqual(["t.jsonl"]);
  });

  it("names an unknown flag and the known one it is nearest to", () => {
    expect(mistake(["--inptu", "x"])).toBe("unknown flag --inptu (did you mean --input?)");
    expect(mistake(["--no-prog"])).toBe("unknown flag --no-prog (did you mean --no-progress?)");
    expect(mistake(["--frobnicate"])).toBe("unknown flag --frobnicate");
    // Short flags are not defined: -x is unknown, not a silent positional.
    expect(mistake(["-x"])).toBe("unknown flag -x");
  });

  it("names a flag whose value is missing, or swallowed the next flag", () => {
    expect(mistake(["--input"])).toBe("--input needs a value");
    expect(mistake(["--input", "--json"])).toBe(`--input needs a value, got the flag-like "--json" (a value that starts with "-" is written --input=--json)`);
    // ... and the way out it names works.
    expect(parseFlags(["--input=--json"], OPTIONS).values.input).toBe("--json");
  });

  it("refuses a value given to a boolean flag, and a flag given twice that is not repeatable", () => {
    expect(mistake(["--json=yes"])).toBe(`--json takes no value, got "--json=yes"`);
    expect(mistake(["--input", "a", "--input=b"])).toBe("--input given twice; give it once");
    expect(mistake(["--json", "--json"])).toBe("--json given twice; give it once");
  });

  it("counts positional arguments against what the command takes", () => {
    expect(mistake(["stray"])).toBe(`unexpected argument "stray": this command takes flags only`);
    const one = { name: "TRAIL", what: "trail file", min: 1, max: 1 };
    expect(mistake([], one)).toBe("expected one trail file (TRAIL), got none");
    expect(mistake(["a", "b"], one)).toBe("expected one trail file (TRAIL), got 2: a b");
    expect(mistake(["a", "b"], { name: "COMMAND", what: "command", min: 0, max: 1 })).toBe("expected at most one command (COMMAND), got 2: a b");
    // After "--" a word that looks like a flag is an argument.
    expect(parseFlags(["--", "--odd-name"], OPTIONS, one).positionals).toEqual(["--odd-name"]);
  });
});
