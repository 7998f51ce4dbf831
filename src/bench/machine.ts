import { execFileSync } from "node:child_process";
import { cpus, platform, release, totalmem } from "node:os";
import { resolve } from "node:path";
import { findPackageRoot } from "../kernel/defaults.js";

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

// git runs in the package, wherever the bench was started from: the commit is the code's.
function quiet(command: string, args: readonly string[], { trim = true } = {}): string | undefined {
  try {
    const out = execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], cwd: findPackageRoot() });
    return trim ? out.trim() : out;
  } catch {
    return undefined;
  }
}

/**
 * Describes this machine; `opa` is the binary `opa bench` uses (or the reason there is none).
 * `output` is the results file this run writes: a tracked copy from an earlier run does not make
 * the checkout "uncommitted changes", since it holds figures, not code.
 */
export function describeMachine(opa: string | undefined, output?: string): Machine {
  const list = cpus();
  const opaVersion = opa ? (/Version: (\S+)/.exec(quiet(opa, ["version"]) ?? "")?.[1] ?? "unknown") : "not installed";
  const dirty = changedFiles().some((file) => file !== (output && resolve(output)));
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
    opa: opaVersion,
    date: new Date().toISOString(),
    commit: `${quiet("git", ["rev-parse", "--short=12", "HEAD"]) ?? "unknown"}${dirty ? " (+ uncommitted changes)" : ""}`,
  };
}

/** Absolute paths of the tracked files changed in the working tree (none outside a git checkout). */
function changedFiles(): string[] {
  const top = quiet("git", ["rev-parse", "--show-toplevel"]);
  // Untrimmed: an entry starts with its two status letters, the first often a space.
  const status = quiet("git", ["status", "--porcelain", "-z", "--untracked-files=no"], { trim: false });
  if (!top || !status) return [];
  // -z: each entry is "XY path\0"; a rename or copy (X or Y is R or C) is followed by "from\0".
  const entries = status.split("\0");
  const files: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.length < 4) continue;
    files.push(resolve(top, entry.slice(3)));
    if (/[RC]/.test(entry.slice(0, 2))) files.push(resolve(top, entries[++i] ?? ""));
  }
  return files;
}
