import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PolicyKernelError } from "../errors.js";
import { findPackageRoot } from "../kernel/defaults.js";

export const BUILD_USAGE = `usage: policy-kernel build [DIR] [--out FILE] [--check]
  Compiles a folder of Rego policies (default ./rego) into an OPA Wasm bundle for --bundle, with
  the pinned OPA: opa of that version on PATH, else installed once with \`go install\` into
  ~/.cache/policy-kernel (or .tools/ in a clone). The folder is laid out as the package's rego/:
  *.rego files with \`package policies.<name>\` and a data.json listing them in
  policy_kernel.policies; the aggregate kernel.rego is generated. DIR is never written to.
  --out FILE   where the bundle goes (default ./bundle.tar.gz)
  --check      build, and fail unless --out is byte-identical to it (CI: the bundle is current)`;

const DEFAULT_FOLDER = "rego";
const DEFAULT_OUT = "bundle.tar.gz";

/** `policy-kernel build`: the pinned OPA compiles the user's folder (scripts/build-bundle.sh does the work). */
export function buildCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: "string" }, check: { type: "boolean" } }, allowPositionals: true, strict: true });
  if (positionals.length > 1) {
    throw new PolicyKernelError("invalid_input", `one folder to build, got ${positionals.length} (${positionals.join(", ")})`, { expected: "policy-kernel build [DIR] [--out FILE]" });
  }
  const folder = resolve(positionals[0] ?? DEFAULT_FOLDER);
  if (!isFolder(folder)) {
    throw new PolicyKernelError(
      "io_error",
      positionals[0] === undefined
        ? `no folder given and no ./${DEFAULT_FOLDER}/ in ${process.cwd()}; pass the folder of your .rego files and data.json (policy-kernel build policies/), see "policy-kernel build --help"`
        : "not a folder; pass the folder that holds your .rego files and data.json",
      positionals[0] === undefined ? {} : { file: positionals[0] },
    );
  }
  const out = resolve(values.out ?? DEFAULT_OUT);
  const rebuild = ["policy-kernel build", ...(positionals[0] === undefined ? [] : [positionals[0]]), ...(values.out === undefined ? [] : ["--out", values.out])].join(" ");
  const args = [join(findPackageRoot(), "scripts", "build-bundle.sh"), "--rego", folder, "--out", out, "--rebuild-hint", rebuild];
  if (values.check) args.push("--check");
  const run = spawnSync("bash", args, { stdio: "inherit" });
  if (run.error) throw new PolicyKernelError("io_error", `cannot run bash (${run.error.message}); policy-kernel build needs bash, node and OPA or Go`);
  return run.status ?? 1;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
