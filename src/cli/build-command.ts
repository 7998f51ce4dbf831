import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PolicyKernelError } from "../errors.js";
import { findPackageRoot } from "../kernel/defaults.js";
import { buildRegoDirs } from "./build-rego-dirs.js";
import { SIGNING_FLAGS, SIGNING_FLAGS_USAGE, signAfterBuild, signingFromFlags } from "./sign-bundle.js";
import { gitPrefix, sourceCommit } from "../bundles/source-revision.js";

export const BUILD_USAGE = `usage: policy-kernel build [DIR] [--out FILE] [--revision R | --no-git] [--check]
       policy-kernel build [DIR...] --entrypoint PKG/RULE [--entrypoint ...] [--out FILE] [--revision R | --no-git] [--check]
  Compiles Rego into an OPA Wasm bundle for --bundle, with the pinned OPA: opa of that version on
  PATH, else installed once with \`go install\` into ~/.cache/policy-kernel (or .tools/ in a clone).
  Without --entrypoint, DIR (default ./rego) is laid out as the package's rego/: *.rego files with
  \`package policies.<name>\` and a data.json listing them in policy_kernel.policies; the aggregate
  kernel.rego is generated. With --entrypoint, any Rego folders (any packages, with the .json/.yaml
  data documents OPA loads from them; *_test.rego left out) build as \`opa build -t wasm -e PKG/RULE\`.
  DIR is never written to, and the same sources build the same bytes wherever they live.
  --out FILE         where the bundle goes (default ./bundle.tar.gz)
  -e, --entrypoint E a rule to evaluate, as OPA names it (package httpapi.authz, rule allow: httpapi/authz/allow)
  --revision R       the manifest's revision (default rego-<sha256 of the sources, 16 hex digits>, after
                     git-<commit>[-dirty]- when the sources are in git: the last commit touching them)
  --no-git           the content revision alone, as outside git (what the shipped default bundle uses)
  --check            build, and fail unless --out is byte-identical to it (CI: the bundle is current)
${SIGNING_FLAGS_USAGE}`;

const DEFAULT_FOLDER = "rego";
const DEFAULT_OUT = "bundle.tar.gz";

/** `policy-kernel build`: the pinned OPA compiles the user's folders (scripts/build-bundle.sh, or a plain opa build with --entrypoint). */
export function buildCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { out: { type: "string" }, check: { type: "boolean" }, entrypoint: { type: "string", multiple: true, short: "e" }, revision: { type: "string" }, "no-git": { type: "boolean" }, ...SIGNING_FLAGS },
    allowPositionals: true,
    strict: true,
  });
  const entrypoints = values.entrypoint ?? [];
  const signing = signingFromFlags(values);
  if (values.revision !== undefined && !/^[\x21-\x7e]{1,200}$/.test(values.revision)) {
    throw new PolicyKernelError("invalid_input", `--revision ${JSON.stringify(values.revision)} is not a revision`, { expected: "1 to 200 printable ASCII characters without spaces (v1.4.2, git-3f2a9c1)" });
  }
  if (positionals.length > 1 && entrypoints.length === 0) {
    throw new PolicyKernelError("invalid_input", `one folder to build, got ${positionals.length} (${positionals.join(", ")}); several Rego folders build with --entrypoint PKG/RULE`, { expected: "policy-kernel build [DIR] [--out FILE]" });
  }
  const folders = positionals.length > 0 ? positionals : [DEFAULT_FOLDER];
  for (const folder of folders) {
    if (isFolder(folder) || (entrypoints.length > 0 && positionals.length > 0 && isFile(folder))) continue;
    throw new PolicyKernelError(
      "io_error",
      positionals.length === 0
        ? `no folder given and no ./${DEFAULT_FOLDER}/ in ${process.cwd()}; pass the folder of your .rego files${entrypoints.length === 0 ? " and data.json" : ""} (policy-kernel build policies/), see "policy-kernel build --help"`
        : `not a folder; pass the folder that holds your .rego files${entrypoints.length === 0 ? " and data.json" : ""}`,
      positionals.length === 0 ? {} : { file: folder },
    );
  }
  if (values.revision !== undefined && values["no-git"]) {
    throw new PolicyKernelError("invalid_input", "--revision names the revision and --no-git chooses the default one: give one of them", { expected: "--revision R, or --no-git" });
  }
  const out = resolve(values.out ?? DEFAULT_OUT);
  // The default revision names the sources' git commit (src/bundles/source-revision.ts).
  const commit = values.revision === undefined && !values["no-git"] ? sourceCommit(folders.map((folder) => resolve(folder))) : undefined;
  const revisionPrefix = commit === undefined ? undefined : gitPrefix(commit);
  if (entrypoints.length > 0) {
    return signAfterBuild(buildRegoDirs({ dirs: folders.map((folder) => resolve(folder)), entrypoints, out, revision: values.revision, revisionPrefix, check: values.check === true }), out, signing);
  }
  const rebuild = [
    "policy-kernel build",
    ...positionals,
    ...(values.out === undefined ? [] : ["--out", values.out]),
    ...(values.revision === undefined ? [] : ["--revision", values.revision]),
    ...(values["no-git"] ? ["--no-git"] : []),
  ].join(" ");
  const args = [join(findPackageRoot(), "scripts", "build-bundle.sh"), "--rego", resolve(folders[0]!), "--out", out, "--rebuild-hint", rebuild];
  if (values.revision !== undefined) args.push("--revision", values.revision);
  if (revisionPrefix !== undefined) args.push("--revision-prefix", revisionPrefix);
  if (values.check) args.push("--check");
  const run = spawnSync("bash", args, { stdio: "inherit" });
  if (run.error) throw new PolicyKernelError("io_error", `cannot run bash (${run.error.message}); policy-kernel build needs bash, node and OPA or Go`);
  return signAfterBuild(run.status ?? 1, out, signing);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
