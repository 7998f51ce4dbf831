import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findPackageRoot } from "../kernel/defaults.js";

export const BUILD_USAGE = `usage: policy-kernel build [--out PATH] [--check]
  Compiles rego/ into an OPA bundle (policy.wasm, data.json, .manifest) with the pinned OPA,
  installed on first use with \`go install\`. --check verifies bundle/default.tar.gz is what it builds.`;

/** `policy-kernel build`: the pinned OPA compiles rego/ (scripts/build-bundle.sh does the work). */
export function buildCommand(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { out: { type: "string" }, check: { type: "boolean" } }, strict: true });
  const root = findPackageRoot();
  const args = [join(root, "scripts", "build-bundle.sh")];
  if (values.out) args.push("--out", values.out);
  if (values.check) args.push("--check");
  const run = spawnSync("bash", args, { cwd: root, stdio: "inherit" });
  return run.status ?? 1;
}
