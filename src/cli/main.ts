#!/usr/bin/env node
import { errorMessage } from "../errors.js";
import { BUILD_USAGE, buildCommand } from "./build-command.js";
import { EVAL_USAGE, evalCommand } from "./eval-command.js";
import { TEST_USAGE, testCommand } from "./test-command.js";
import { TRAIN_USAGE, trainCommand } from "./train-command.js";
import { VERIFY_USAGE, verifyCommand } from "./verify-command.js";

const COMMANDS: Record<string, { usage: string; run: (argv: string[]) => Promise<number> | number }> = {
  eval: { usage: EVAL_USAGE, run: evalCommand },
  test: { usage: TEST_USAGE, run: testCommand },
  build: { usage: BUILD_USAGE, run: buildCommand },
  train: { usage: TRAIN_USAGE, run: trainCommand },
  verify: { usage: VERIFY_USAGE, run: verifyCommand },
};

const HELP = `policy-kernel — a deterministic policy kernel for governed agent training

commands:
${Object.values(COMMANDS).map((c) => c.usage.split("\n")[0]!.replace("usage: ", "  ")).join("\n")}

Run "policy-kernel <command> --help" for a command's options.`;

/** Runs one CLI command; every failure is one clear line on stderr and exit code 1. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    process.stdout.write(`${HELP}\n`);
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`policy-kernel: unknown command "${name}" (expected one of: ${Object.keys(COMMANDS).join(", ")})\n`);
    return 1;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    const message = errorMessage(error);
    process.stderr.write(`policy-kernel ${name}: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
