import { execFileSync } from "node:child_process";
import { cpus, platform, release, totalmem } from "node:os";

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

/** Describes this machine; `opa` is the binary `opa bench` uses (or the reason there is none). */
export function describeMachine(opa: string | undefined): Machine {
  const list = cpus();
  const opaVersion = opa ? (/Version: (\S+)/.exec(quiet(opa, ["version"]) ?? "")?.[1] ?? "unknown") : "not installed";
  const dirty = quiet("git", ["status", "--porcelain", "--untracked-files=no"]);
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
