import { spawnSync } from "node:child_process";
import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** Where a bundle's sources stand in git: the last commit that touched them, and whether they differ from it. */
export interface SourceCommit {
  /** The last commit touching the sources (12 hex digits), or HEAD when none has yet. */
  readonly commit: string;
  /** The sources have changes (staged, unstaged or untracked) that commit does not hold. */
  readonly dirty: boolean;
}

/**
 * The git state of the folders or files a bundle is built from, or undefined when they are not all
 * in one git work tree (or git is missing, or the repository has no commit). The commit is the
 * last one that touched the sources, not HEAD: a commit elsewhere in the repository (the built
 * bundle itself, say) leaves the revision, and so `build --check`, alone.
 */
export function sourceCommit(paths: readonly string[]): SourceCommit | undefined {
  if (paths.length === 0) return undefined;
  const reals = paths.map((path) => realpathSync(path));
  const cwd = isFolder(reals[0]!) ? reals[0]! : dirname(reals[0]!);
  const top = git(cwd, ["rev-parse", "--show-toplevel"]);
  if (top === undefined) return undefined;
  for (const path of reals.slice(1)) {
    if (git(isFolder(path) ? path : dirname(path), ["rev-parse", "--show-toplevel"]) !== top) return undefined;
  }
  const head = git(cwd, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
  if (head === undefined) return undefined;
  // `--` then absolute pathspecs: a source named like an option or a revision stays a path.
  const touched = git(cwd, ["log", "-1", "--format=%H", "--", ...reals]);
  const status = git(cwd, ["status", "--porcelain", "--untracked-files=all", "--", ...reals]);
  if (status === undefined) return undefined;
  return { commit: (touched || head).slice(0, 12), dirty: status !== "" || touched === "" };
}

/**
 * The default revision of a built bundle: `git-<commit>[-dirty]-<content>` when the sources are in
 * git, else the content revision (`rego-<hash of the sources>`) alone. No "+" (the kernel joins
 * several bundles' revisions with it) and no spaces, so it stays one readable token.
 */
export function composeRevision(content: string, commit: SourceCommit | undefined): string {
  return commit === undefined ? content : `${gitPrefix(commit)}${content}`;
}

/** The git part of a revision, `git-3f2a9c1d0e4b-` or `git-3f2a9c1d0e4b-dirty-`, to put before the content hash. */
export function gitPrefix(commit: SourceCommit): string {
  return `git-${commit.commit}${commit.dirty ? "-dirty" : ""}-`;
}

/** Output of one git command (trimmed), or undefined when it fails or git is not installed. */
function git(cwd: string, args: readonly string[]): string | undefined {
  // The sources' repository configures this git: its fsmonitor hook would run a program, so it is
  // off; optional locks off, so a build never writes into the repository's index.
  const run = spawnSync("git", ["-c", "core.fsmonitor=false", "--no-optional-locks", ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error || run.status !== 0) return undefined;
  return run.stdout.trim();
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
