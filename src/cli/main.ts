#!/usr/bin/env node
import { withFlagNames } from "./flag-names.js";
import { errorMessage } from "../errors.js";
import { UsageError, helpHint, parseFlags } from "./flags.js";
import { VERSION_USAGE, packageVersion, versionInfo, versionText } from "./version.js";

interface Loaded {
  readonly usage: string;
  readonly run: (argv: string[]) => Promise<number> | number;
}

interface Command {
  /** One line for the overview. */
  readonly summary: string;
  /**
   * The command's module, imported when it is used: loading the kernel costs most of a second,
   * which --version, help and verify do not need.
   */
  readonly load: () => Promise<Loaded>;
}

const HELP_USAGE = `usage: policy-kernel help [COMMAND]
  Prints the overview of the commands, or COMMAND's flags (the same as policy-kernel COMMAND --help).`;

const COMMANDS: Readonly<Record<string, Command>> = {
  eval: {
    summary: "evaluate one action; print its Decision (exit 0 allowed, 2 denied)",
    load: async () => import("./eval-command.js").then((m) => ({ usage: m.EVAL_USAGE, run: m.evalCommand })),
  },
  test: {
    summary: "run decision case files against the kernel",
    load: async () => import("./test-command.js").then((m) => ({ usage: m.TEST_USAGE, run: m.testCommand })),
  },
  build: {
    summary: "compile Rego into an OPA bundle with the pinned OPA",
    load: async () => import("./build-command.js").then((m) => ({ usage: m.BUILD_USAGE, run: m.buildCommand })),
  },
  train: {
    summary: "the governed-vs-ungoverned training experiment; writes a run folder",
    load: async () => import("./train-command.js").then((m) => ({ usage: m.TRAIN_USAGE, run: m.trainCommand })),
  },
  verify: {
    summary: "verify an audit trail's hash chain and signed checkpoints",
    load: async () => import("./verify-command.js").then((m) => ({ usage: m.VERIFY_USAGE, run: m.verifyCommand })),
  },
  replay: {
    summary: "decide an audit trail's decisions again: reproduce them, or report what a candidate changes",
    load: async () => import("./replay-command.js").then((m) => ({ usage: m.REPLAY_USAGE, run: m.replayCommand })),
  },
  diff: {
    summary: "what a new bundle or rules would decide differently, on case files or generated actions",
    load: async () => import("./diff-command.js").then((m) => ({ usage: m.DIFF_USAGE, run: m.diffCommand })),
  },
  serve: {
    summary: "host governed environments for a trainer in another language (--stdio: JSON lines)",
    load: async () => import("./serve-command.js").then((m) => ({ usage: m.SERVE_USAGE, run: m.serveCommand })),
  },
  help: { summary: "this overview, or a command's flags", load: async () => ({ usage: HELP_USAGE, run: helpCommand }) },
  version: { summary: "the version, the default bundle's OPA and Node's version", load: async () => ({ usage: VERSION_USAGE, run: versionCommand }) },
};

const NAMES = Object.keys(COMMANDS);

const HELP = `policy-kernel — a deterministic policy kernel for governed agent training

usage: policy-kernel COMMAND [flags]

commands:
${NAMES.map((name) => `  ${name.padEnd(8)} ${COMMANDS[name]!.summary}`).join("\n")}

flags:
  --help, -h      the overview; after a command, its flags
  --version, -V   the version alone ("policy-kernel version" prints more, for bug reports)

exit codes: 0 ok, 1 error or bad flag, 2 denied (eval) or broken trail (verify), 3 unsealed trail (verify)
  or changed decisions over the threshold (replay, diff),
  130/143 train stopped by Ctrl-C/SIGTERM

Run "policy-kernel help COMMAND" (or "policy-kernel COMMAND --help") for a command's flags.`;

/** The command a name selects; own keys only, so "constructor" is not a command. */
function commandNamed(name: string): Command | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

const OVERVIEW_HINT = 'run "policy-kernel help" for the overview';

function unknownCommand(name: string): string {
  return `unknown command "${name}" (commands: ${NAMES.join(", ")})`;
}

/** `policy-kernel help [COMMAND]`: the overview or one command's usage, on stdout. */
async function helpCommand(argv: string[]): Promise<number> {
  const { positionals } = parseFlags(argv, {}, { name: "COMMAND", what: "command", min: 0, max: 1 });
  const [name] = positionals;
  if (name === undefined) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const command = commandNamed(name);
  if (!command) throw new UsageError(`${unknownCommand(name)}; ${OVERVIEW_HINT}`);
  process.stdout.write(`${(await command.load()).usage}\n`);
  return 0;
}

/** `policy-kernel version [--json]`: what a bug report needs. */
function versionCommand(argv: string[]): number {
  const { values } = parseFlags(argv, { json: { type: "boolean" } });
  const info = versionInfo();
  process.stdout.write(values.json ? `${JSON.stringify(info, null, 2)}\n` : `${versionText(info)}\n`);
  return 0;
}

/** parseArgs' own errors (commands that call it directly) carry a code; they are usage errors too. */
function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string" && (error as NodeJS.ErrnoException).code!.startsWith("ERR_PARSE_ARGS_");
}

/** Runs one CLI command; every failure is one clear line on stderr and exit code 1. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // Not asked for: the overview is the error message, so it goes to stderr (stdout may be a file).
    process.stderr.write(`${HELP}\n`);
    return 1;
  }
  if (name === "--help" || name === "-h") return main(["help", ...rest]);
  if (name === "--version" || name === "-V") {
    if (rest.length > 0) {
      process.stderr.write(`policy-kernel: ${name} takes nothing after it, got "${rest.join(" ")}"; run "policy-kernel version" for the details\n`);
      return 1;
    }
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = commandNamed(name);
  if (!command) {
    const what = name.startsWith("-") ? `unknown flag ${name} before a command (commands: ${NAMES.join(", ")})` : unknownCommand(name);
    process.stderr.write(`policy-kernel: ${what}; ${OVERVIEW_HINT}\n`);
    return 1;
  }
  const loaded = await command.load();
  if (name !== "help" && (rest.includes("--help") || rest.includes("-h"))) {
    process.stdout.write(`${loaded.usage}\n`);
    return 0;
  }
  try {
    return await loaded.run(rest);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      // parseArgs' messages run over several lines and sentences; the first says what is wrong.
      const first = errorMessage(error).split("\n")[0]!.replace(/^(Unknown option '[^']*')\..*$/, "$1");
      const hint = name === "help" ? "" : `; ${helpHint(name)}`;
      process.stderr.write(`policy-kernel ${name}: ${first}${hint}\n`);
      return 1;
    }
    process.stderr.write(`policy-kernel ${name}: ${errorMessage(withFlagNames(error))}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
