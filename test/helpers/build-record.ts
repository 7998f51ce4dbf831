import type { PolicyBundle } from "../../src/engines/rego/bundle.js";

/** The same bundle with its build record (data.policy_kernel.build) changed; undefined from `change` removes it. */
export function withBuildRecord(bundle: PolicyBundle, change: (record: Record<string, unknown>) => unknown): PolicyBundle {
  const kernel = bundle.data["policy_kernel"] as Record<string, unknown>;
  const { build, ...rest } = kernel;
  const changed = change(structuredClone(build) as Record<string, unknown>);
  return { ...bundle, data: { ...bundle.data, policy_kernel: changed === undefined ? rest : { ...rest, build: changed } } };
}
