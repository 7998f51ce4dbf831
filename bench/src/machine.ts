import { execFileSync } from "node:child_process";
import { cpus, platform, release, totalmem } from "node:os";
import { resolve } from "node:path";
import { findPackageRoot } from "../../src/kernel/defaults.js";

/** Where a run happened, for results.json and the README. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
  readonly opa: string;
  readonly date: string;
  readonly commit: string;
}

function quiet(command: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Describes this machine; `opa` is the binary `opa bench` uses (or the reason there is none),
 * `output` the results file this run writes.
 */
export function describeMachine(opa: string | undefined, output: string): Machine {
  const list = cpus();
  const opaVersion = opa ? (/Version: (\S+)/.exec(quiet(opa, ["version"]) ?? "")?.[1] ?? "unknown") : "not installed";
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
    opa: opaVersion,
    date: new Date().toISOString(),
    commit: commitOf(output),
  };
}

/**
 * The package's commit, "+ uncommitted changes" when a tracked file differs from it. Asked of the
 * package (`git -C`), wherever the bench was started from: the commit is the code's. The results
 * file this run rewrites does not count: a tracked copy from an earlier run holds figures, not code.
 */
function commitOf(output: string): string {
  const root = findPackageRoot();
  const [top, head] = (quiet("git", ["-C", root, "rev-parse", "--show-toplevel", "--short=12", "HEAD"]) ?? "").split("\n");
  if (!top || !head) return "unknown";
  // Staged or not, relative to the top; --no-renames lists a renamed file under both names.
  const changed = (quiet("git", ["-C", root, "diff", "--name-only", "--no-renames", "-z", "HEAD"]) ?? "").split("\0").filter(Boolean);
  const results = resolve(output);
  return changed.some((file) => resolve(top, file) !== results) ? `${head} (+ uncommitted changes)` : head;
}
