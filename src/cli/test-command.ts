import { statSync } from "node:fs";
import { BUNDLE_SERVICE_USAGE } from "./bundle-service-flags.js";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PolicyKernelError } from "../errors.js";
import { loadDecisionCases, runDecisionCases } from "../testing/decision-cases.js";
import { KERNEL_FLAGS, kernelOptionsFromFlags } from "./kernel-flags.js";
import { OPA_FLAGS, OPA_FLAGS_USAGE, withOpaFlags } from "./opa-flags.js";
import { createPolicyKernel } from "../kernel/create-kernel.js";
import type { PolicyKernel } from "../kernel/types.js";

export const TEST_USAGE = `usage: policy-kernel test [PATH...] [--bundle PATH] [--entrypoint PKG/RULE...] [--raw-input | --binding FILE] [--rules PATH...] [--data FILE] [--fail-open] [--log-level L]
  Runs decision case files (JSON or YAML: {description, input, now?, expect: {allowed, violations?, includes?, signals?}})
  against the kernel; prints each failure with a diff and ends with "N passed, N failed". Exit 1 on any failure.
  violations: [{policy, rule, severity, description? | descriptionMatches?}] is the exact set; includes: [...]
  lists violations that must be present among others, matched on the fields given; with neither, only
  allowed is compared. An invalid file is reported with every problem in it (cases numbered from 1).
  With no PATH it runs the case files in test/cases/ under the current directory. The kernel flags are eval's;
  with --raw-input each case's input is the policies' input as it is.
${OPA_FLAGS_USAGE}
${BUNDLE_SERVICE_USAGE}`;

/** Where `test` looks with no PATH: relative to the current directory, never to the installed package. */
export const DEFAULT_CASES_FOLDER = join("test", "cases");

/** `policy-kernel test`: data-driven decision tests, before any training run. */
export async function testCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...KERNEL_FLAGS, ...OPA_FLAGS }, allowPositionals: true, strict: true });
  const options = withOpaFlags(kernelOptionsFromFlags(values), values);
  const paths = positionals.length > 0 ? positionals : [defaultCasesFolder()];
  const cases = loadDecisionCases(paths);
  const kernel = await createPolicyKernel(options);
  try {
    const results = await runDecisionCases(options.rawInput ? rawInputCases(kernel) : kernel, cases);
    let failed = 0;
    for (const result of results) {
      if (result.passed) continue;
      failed++;
      process.stdout.write(`FAIL ${result.case.file} [${result.case.index + 1}] ${result.case.description}\n`);
      for (const line of result.diff) process.stdout.write(`    ${line}\n`);
    }
    process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
    return failed === 0 && results.length > 0 ? 0 : 1;
  } finally {
    kernel.close();
  }
}

/** The kernel as the case runner sees it, each case's input decided as the policies' raw input. */
function rawInputCases(kernel: PolicyKernel): PolicyKernel {
  const evaluateInput = kernel.evaluateInput?.bind(kernel);
  if (!evaluateInput) throw new PolicyKernelError("invalid_config", "the kernel cannot decide on a raw input");
  return { ...kernel, policyNames: kernel.policyNames, provenance: kernel.provenance, evaluate: evaluateInput, evaluateUntrusted: evaluateInput, close: () => kernel.close() };
}

/** ./test/cases when it is a folder; else an error saying what `test` needs (the package ships no cases of its own). */
function defaultCasesFolder(): string {
  const folder = join(process.cwd(), DEFAULT_CASES_FOLDER);
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // absent: explained below
  }
  if (isFolder) return folder;
  throw new PolicyKernelError(
    "invalid_input",
    `no case files given and no ${DEFAULT_CASES_FOLDER}/ folder in ${process.cwd()}. ` +
      "Pass case files or folders (policy-kernel test cases/ more.yaml), or put them in ./test/cases/. " +
      "A case file is JSON or YAML: a case, a list of cases or {cases: [...]}, each " +
      "{description, input: <action>, now?, expect: {allowed, violations?: [{policy, rule, severity}], includes?: [...], signals?}}; " +
      'see "policy-kernel test --help"',
  );
}
