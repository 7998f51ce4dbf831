import { UsageError } from "./flags.js";
import type { KernelFlagValues } from "./kernel-flags.js";
import type { PolicyKernelOptions } from "../kernel/create-kernel.js";

/** The flags of `eval` and `test` that evaluate entrypoints of one's own OPA bundle. */
export const OPA_FLAGS = {
  entrypoint: { type: "string", multiple: true },
  "raw-input": { type: "boolean" },
  binding: { type: "string" },
} as const;

/** What OPA_FLAGS parse to. */
export interface OpaFlagValues {
  entrypoint?: string[];
  "raw-input"?: boolean;
  binding?: string;
}

/** The usage lines of OPA_FLAGS, shared by `eval` and `test`. */
export const OPA_FLAGS_USAGE = `  --entrypoint PKG/RULE   evaluate this entrypoint of --bundle (repeatable), read by its convention
                   (allow: boolean, deny/violation: messages, warn: warnings); the default rules are then left
                   out unless --rules is given (docs/guides/your-own-opa.md)
  --raw-input      the input is the policies' input as it is, not an action (needs --entrypoint)
  --binding FILE   an input binding: each action becomes the input the entrypoints read, checked at load
                   against what they read (docs/guides/input-binding.md; needs --entrypoint, not --raw-input)`;

/**
 * `options` with --entrypoint and --raw-input applied: the bundle's entrypoints become the
 * kernel's `opa` source (the default library and rules are left out unless named). A flag that
 * cannot apply is a UsageError naming it.
 */
export function withOpaFlags(options: PolicyKernelOptions, values: KernelFlagValues & OpaFlagValues): PolicyKernelOptions {
  const entrypoints = values.entrypoint ?? [];
  if (entrypoints.length === 0) {
    if (values["raw-input"]) throw new UsageError("--raw-input needs the entrypoints that read the input: add --bundle B --entrypoint PKG/RULE");
    if (values.binding !== undefined) throw new UsageError("--binding needs the entrypoints whose input it builds: add --bundle B --entrypoint PKG/RULE");
    return options;
  }
  if (values.bundle === undefined) throw new UsageError("--entrypoint needs the bundle it is in: add --bundle PATH");
  if (values["raw-input"] && values.binding !== undefined) throw new UsageError("--binding builds the input from an action; with --raw-input the input is given as it is: choose one");
  if (values["raw-input"] && values.rules !== undefined) throw new UsageError("--rules judge actions, not a raw input: leave --rules out with --raw-input");
  const { bundle: _bundle, verification, ...rest } = options;
  return {
    ...rest,
    opa: [{ bundle: values.bundle, entrypoints, ...(values.binding === undefined ? {} : { binding: values.binding }), ...(verification === undefined ? {} : { verification }) }],
    ...(values.rules === undefined ? { rules: false } : {}),
    ...(values["raw-input"] ? { rawInput: true } : {}),
  };
}
