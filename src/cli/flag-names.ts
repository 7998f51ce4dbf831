import { PolicyKernelError } from "../errors.js";

// The kernel names a bad option by its library path (`createPolicyKernel.opa[0].entrypoints`);
// a CLI user gave a flag, so the CLI says the flag. Longest prefix first.
const FLAG_OF_OPTION: readonly (readonly [RegExp, string])[] = [
  [/^createPolicyKernel\.opa\[0\]\.entrypoints(?:\[\d+\])?/, "--entrypoint"],
  [/^createPolicyKernel\.opa\[0\]\.binding/, "--binding"],
  [/^createPolicyKernel\.opa\[0\](?:\.bundle)?/, "--bundle"],
  [/^createPolicyKernel\.rawInput/, "--raw-input"],
  [/^createPolicyKernel\.bundleLimits\.maxBytes/, "--bundle-max-bytes"],
  [/^createPolicyKernel\.bundleLimits\.maxFiles/, "--bundle-max-files"],
  [/^createPolicyKernel\.bundle/, "--bundle"],
  [/^createPolicyKernel\.rules/, "--rules"],
  [/^createPolicyKernel\.data/, "--data"],
];

/**
 * `error` with the kernel option it names replaced by the CLI flag that set it (the rest of the
 * field path kept: `--binding.rules[2].when`); any other error as it is.
 */
export function withFlagNames(error: unknown): unknown {
  if (!(error instanceof PolicyKernelError) || error.field === undefined) return error;
  for (const [pattern, flag] of FLAG_OF_OPTION) {
    const match = pattern.exec(error.field);
    if (!match) continue;
    const field = flag + error.field.slice(match[0].length);
    return new PolicyKernelError(error.code, error.reason, { ...(error.file === undefined ? {} : { file: error.file }), field, ...(error.expected === undefined ? {} : { expected: error.expected }) }, { cause: error });
  }
  return error;
}
