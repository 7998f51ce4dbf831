import { parseArgs, type ParseArgsConfig } from "node:util";
import { PolicyKernelError, type ErrorLocation } from "../errors.js";
import { editDistance } from "../values.js";

/**
 * A command line the command cannot run: a bad flag, a missing value, a stray argument. `main`
 * prints it as one line followed by where the flags are explained, and exits 1.
 */
export class UsageError extends PolicyKernelError {
  constructor(message: string, location: ErrorLocation = {}) {
    super("invalid_input", message, location);
  }
}

/** The hint every usage error ends with: where the command's flags are explained. */
export function helpHint(command: string): string {
  return `run "policy-kernel ${command} --help" for its flags`;
}

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** What a command accepts besides its flags: nothing (the default), or `name` between `min` and `max` times. */
export interface PositionalSpec {
  /** As the usage line writes it (TRAIL). */
  readonly name: string;
  /** In words (trail file). */
  readonly what: string;
  readonly min: number;
  readonly max: number;
}

/**
 * `util.parseArgs` (strict) behind a check of its own that turns every mistake into a UsageError
 * naming the flag: an unknown flag (with the nearest known one), a missing value, a value given to
 * a boolean flag, a flag given twice that is not repeatable, or arguments where none are accepted.
 * parseArgs alone says "Unknown option '--x'", and silently keeps the last of two values.
 */
export function parseFlags<const O extends OptionsConfig>(
  argv: readonly string[],
  options: O,
  positionals?: PositionalSpec,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>> {
  // A lenient pass first: its tokens say which flag each word is, whatever the mistake.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const seen = new Set<string>();
  const args: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      args.push(token.value);
      continue;
    }
    if (token.kind !== "option") continue;
    const flag = token.rawName;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (option === undefined || !token.rawName.startsWith("--")) {
      const near = nearestFlag(token.name, Object.keys(options));
      throw new UsageError(`unknown flag ${flag}${near ? ` (did you mean --${near}?)` : ""}`);
    }
    if (option.type === "string") {
      if (token.value === undefined) throw new UsageError(`${flag} needs a value`);
      // The lenient pass takes the next word even when it is a flag: "--input --now" lost --input's value.
      if (!token.inlineValue && token.value.startsWith("-") && token.value !== "-") {
        throw new UsageError(`${flag} needs a value, got the flag-like "${token.value}" (a value that starts with "-" is written ${flag}=${token.value})`);
      }
    } else if (token.inlineValue) {
      throw new UsageError(`${flag} takes no value, got "${flag}=${token.value ?? ""}"`);
    }
    if (seen.has(token.name) && option.multiple !== true) throw new UsageError(`${flag} given twice; give it once`);
    seen.add(token.name);
  }
  const spec = positionals ?? { name: "", what: "", min: 0, max: 0 };
  if (spec.max === 0 && args.length > 0) throw new UsageError(`unexpected argument "${args[0]}": this command takes flags only`);
  if (args.length < spec.min || args.length > spec.max) {
    const wanted = spec.min === spec.max ? (spec.min === 1 ? "one" : `${spec.min}`) : spec.min === 0 ? `at most ${spec.max === 1 ? "one" : spec.max}` : `${spec.min} to ${spec.max}`;
    const got = args.length === 0 ? "none" : `${args.length}: ${args.join(" ")}`;
    throw new UsageError(`expected ${wanted} ${spec.what} (${spec.name}), got ${got}`);
  }
  return parseArgs({ args: [...argv], options, strict: true, allowPositionals: spec.max > 0 });
}

/** The known flag a mistyped one most likely meant: at most two edits away, or a prefix of it. */
function nearestFlag(name: string, known: readonly string[]): string | undefined {
  let best: { flag: string; distance: number } | undefined;
  for (const flag of known) {
    const distance = flag.startsWith(name) && name.length >= 2 ? 1 : editDistance(name, flag);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { flag, distance };
  }
  return best?.flag;
}
