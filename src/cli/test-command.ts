import { parseArgs } from "node:util";
import { join } from "node:path";
import { findPackageRoot } from "../kernel/defaults.js";
import { loadDecisionCases, runDecisionCases } from "../testing/decision-cases.js";
import { KERNEL_FLAGS, kernelFromFlags } from "./kernel-flags.js";

export const TEST_USAGE = `usage: policy-kernel test [PATH...] [--bundle PATH] [--rules PATH...] [--data FILE] [--fail-open] [--log-level L]
  Runs decision case files (JSON or YAML: {description, input, now?, expect: {allowed, violations: [{policy, rule, severity}], signals?}})
  against the kernel; prints each failure with a diff and ends with "N passed, N failed". Exit 1 on any failure.
  With no PATH it runs the repository's own cases in test/cases/. The kernel flags are eval's.`;

/** `policy-kernel test`: data-driven decision tests, before any training run. */
export async function testCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...KERNEL_FLAGS }, allowPositionals: true, strict: true });
  const paths = positionals.length > 0 ? positionals : [join(findPackageRoot(), "test", "cases")];
  const cases = loadDecisionCases(paths);
  const kernel = await kernelFromFlags(values);
  try {
    const results = await runDecisionCases(kernel, cases);
    let failed = 0;
    for (const result of results) {
      if (result.passed) continue;
      failed++;
      process.stdout.write(`FAIL ${result.case.file} [${result.case.index}] ${result.case.description}\n`);
      for (const line of result.diff) process.stdout.write(`    ${line}\n`);
    }
    process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
    return failed === 0 && results.length > 0 ? 0 : 1;
  } finally {
    kernel.close();
  }
}
