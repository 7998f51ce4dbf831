import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join } from "node:path";
import { PolicyKernelError } from "../errors.js";
import { findPackageRoot } from "../kernel/defaults.js";
import { compareCodeUnits } from "../values.js";

/** What `policy-kernel build DIR... --entrypoint E...` builds. */
export interface RegoDirsBuild {
  /** Folders (or single files) of Rego and data documents, loaded as `opa build` loads them. */
  readonly dirs: readonly string[];
  /** Entrypoints as OPA names them (`httpapi/authz/allow`). */
  readonly entrypoints: readonly string[];
  /** Where the bundle goes. */
  readonly out: string;
  /** Manifest revision; default `rego-<hash of the sources>`. */
  readonly revision?: string | undefined;
  /** Put before the default revision (`git-<commit>[-dirty]-`, src/bundles/source-revision.ts); unused with `revision`. */
  readonly revisionPrefix?: string | undefined;
  /** Build, and fail unless `out` holds the same bytes. */
  readonly check: boolean;
}

// What OPA's loader reads from a folder: policies and data documents (README.md and the rest it skips).
const LOADED = new Set([".rego", ".json", ".yaml", ".yml"]);

/**
 * Builds any Rego directories into a Wasm bundle with the pinned OPA (`opa build -t wasm -e ...`),
 * reproducibly: the sources are copied under their folder names into a fresh directory, so the
 * bundle holds the same paths (and bytes) wherever the folders live and however they were spelled.
 * Returns the exit code; OPA's errors become one line.
 */
export function buildRegoDirs(request: RegoDirsBuild): number {
  const work = mkdtempSync(join(tmpdir(), "pk-build-"));
  try {
    const roots = copySources(request.dirs, join(work, "src"));
    const files = listFiles(join(work, "src"));
    if (!files.some((file) => file.endsWith(".rego"))) {
      throw new PolicyKernelError("invalid_input", "no .rego files to build (test files *_test.rego are left out)", { file: request.dirs.join(", ") });
    }
    const revision = request.revision ?? `${request.revisionPrefix ?? ""}rego-${sourceHash(join(work, "src"), files)}`;
    const opa = pinnedOpa();
    // Two passes, as scripts/build-bundle.sh: the first build's modules (opa build reformats them)
    // are hashed into the build record, which the final build carries as data. The record says
    // which input paths each entrypoint reads, so an input binding can be checked at load.
    const first = join(work, "first.tar.gz");
    opaBuild(opa, work, roots, request, revision, first);
    mkdirSync(join(work, "src", RECORD_ROOT), { recursive: true });
    writeBuildRecord(opa, work, first, request.entrypoints);
    const built = join(work, "bundle.tar.gz");
    opaBuild(opa, work, [...roots, RECORD_ROOT], request, revision, built);
    return finish(built, request, revision, opa);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// The folder holding the build record's data.json in the final build; OPA merges every data
// document into the bundle's one /data.json, so its name appears nowhere in the bundle.
const RECORD_ROOT = ".policy-kernel-record";

function opaBuild(opa: string, work: string, roots: readonly string[], request: RegoDirsBuild, revision: string, out: string): void {
  // --prune-unused: as scripts/build-bundle.sh, so the bundle has exactly the entrypoints named
  // (without it every rule that refers to one becomes one too, and a function cannot).
  const args = ["build", "-t", "wasm", "--prune-unused", ...request.entrypoints.flatMap((e) => ["-e", e]), "--revision", revision, "-o", out, ...roots];
  const run = spawnSync(opa, args, { cwd: join(work, "src"), encoding: "utf8" });
  if (run.error) throw new PolicyKernelError("opa_unavailable", `cannot run ${opa} (${run.error.message})`);
  // OPA prints its errors on stdout.
  if (run.status !== 0) throw new PolicyKernelError("invalid_input", opaErrorLine(`${run.stdout}\n${run.stderr}`, request.entrypoints));
}

/** scripts/build-record.mjs over the first build: what each entrypoint reads, as data.policy_kernel.build. */
function writeBuildRecord(opa: string, work: string, first: string, entrypoints: readonly string[]): void {
  const modules = join(work, "first");
  mkdirSync(modules, { recursive: true });
  const untar = spawnSync("tar", ["-xzf", first, "-C", modules], { encoding: "utf8" });
  if (untar.status !== 0) throw new PolicyKernelError("io_error", `cannot unpack the first build (${untar.stderr.trim() || untar.error?.message})`);
  const script = join(findPackageRoot(), "scripts", "build-record.mjs");
  const args = [script, "--opa", opa, "--src", join(work, "src"), ...entrypoints.map((e) => `--entrypoint=${e}`), "--modules", modules, "--data-out", join(work, "src", RECORD_ROOT, "data.json")];
  const run = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (run.status !== 0) throw new PolicyKernelError("invalid_input", `cannot record what the entrypoints read: ${(run.stderr || run.error?.message || "").trim()}`);
}

/** Copies each DIR's loadable files to `dest/<its name>`; returns those names, in order. */
function copySources(dirs: readonly string[], dest: string): string[] {
  const names: string[] = [];
  for (const dir of dirs) {
    let isFolder: boolean;
    try {
      isFolder = statSync(dir).isDirectory();
    } catch {
      throw new PolicyKernelError("io_error", "no such file or folder; pass the folders of your .rego files", { file: dir });
    }
    const name = basename(realpathSync(dir));
    if (names.includes(name)) {
      throw new PolicyKernelError("invalid_input", `two sources are named "${name}"; the bundle stores files under their folder's name, so rename or move one`, { file: dir });
    }
    names.push(name);
    if (isFolder) copyTree(dir, join(dest, name), new Set());
    else {
      mkdirSync(dest, { recursive: true });
      copyFileSync(dir, join(dest, name));
    }
  }
  return names;
}

function copyTree(from: string, to: string, seen: Set<string>): void {
  const real = realpathSync(from);
  if (seen.has(real)) return; // a symlink loop: each folder once
  seen.add(real);
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const path = join(from, entry.name);
    const stat = entry.isSymbolicLink() ? statSync(path, { throwIfNoEntry: false }) : entry;
    if (stat?.isDirectory()) copyTree(path, join(to, entry.name), seen);
    else if (stat?.isFile() && LOADED.has(extname(entry.name)) && !entry.name.endsWith("_test.rego")) copyFileSync(path, join(to, entry.name));
  }
}

/** Files under `root`, relative with `/`, sorted by code units (the hash and the build see one order). */
function listFiles(root: string, prefix = ""): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(join(root, entry.name), rel));
    else out.push(rel);
  }
  return out.sort(compareCodeUnits);
}

/** sha256 over each source's name and content, NUL-terminated, as scripts/build-bundle.sh computes rego-<hash>. */
function sourceHash(root: string, files: readonly string[]): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(join(root, file))).update("\0");
  return hash.digest("hex").slice(0, 16);
}

function pinnedOpa(): string {
  const run = spawnSync("bash", [join(findPackageRoot(), "scripts", "ensure-opa.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (run.error || run.status !== 0) throw new PolicyKernelError("opa_unavailable", "cannot find or install the pinned OPA (scripts/ensure-opa.sh failed; it needs opa of that version on PATH, or Go)");
  return run.stdout.trim();
}

/**
 * OPA's stderr as one line: "error: ..." and "N errors occurred:" headers dropped, the rest joined.
 * An unknown entrypoint also says what an entrypoint looks like.
 */
export function opaErrorLine(output: string, entrypoints: readonly string[]): string {
  const lines = output
    .split("\n")
    .map((line) => line.trim())
    .map((line) => line.replace(/^error: /, "").replace(/^\d+ errors? occurred:?\s*/, ""))
    .filter((line) => line !== "");
  const text = lines.join("; ") || "opa build failed with no message";
  if (/entrypoint .* does not refer to a rule or policy decision/.test(text)) {
    return `opa build: ${text}; an entrypoint is the rule's package path and name joined by / (package httpapi.authz, rule allow: httpapi/authz/allow); asked for ${entrypoints.join(", ")}`;
  }
  return `opa build: ${text}`;
}

function finish(built: string, request: RegoDirsBuild, revision: string, opa: string): number {
  const sum = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
  const want = sum(built);
  if (request.check) {
    if (!existsSync(request.out)) {
      process.stderr.write(`policy-kernel build: ${request.out} does not exist; run the same command without --check to build it\n`);
      return 1;
    }
    const have = sum(request.out);
    if (have !== want) {
      process.stderr.write(`policy-kernel build: ${request.out} is stale (revision ${revision}): sha256 ${have}, the sources build ${want}; run the same command without --check\n`);
      return 1;
    }
    process.stdout.write(`policy-kernel build: ${request.out} is up to date (${revision}, sha256 ${have})\n`);
    return 0;
  }
  mkdirSync(dirname(request.out), { recursive: true });
  const tmp = `${request.out}.tmp.${process.pid}`;
  copyFileSync(built, tmp);
  renameSync(tmp, request.out);
  const version = spawnSync(opa, ["version"], { encoding: "utf8" }).stdout.match(/^Version: (.*)$/m)?.[1] ?? "?";
  process.stdout.write(`policy-kernel build: wrote ${request.out} (${revision}, sha256 ${want}, OPA ${version}; entrypoints ${request.entrypoints.join(", ")})\n`);
  return 0;
}
