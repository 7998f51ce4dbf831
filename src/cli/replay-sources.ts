import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { readBundle } from "../engines/rego/bundle.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../kernel/create-kernel.js";
import { defaultBundlePath, defaultRulesPath } from "../kernel/defaults.js";
import type { PolicyKernel } from "../kernel/types.js";
import type { Provenance } from "../schemas.js";
import { compareCodeUnits } from "../values.js";
import { DEMO_CHAIN_PREFIX, demoKernelData } from "../demo/kernel-data.js";
import { kernelOptionsFromFlags, type KernelFlagValues } from "./kernel-flags.js";

// Which kernel decides a trail's decisions again: the bundle, rules and data its provenance names,
// found locally (the default library always is), unless flags name a candidate.

/** The provenance fields a recorded kernel must match, in the order they are reported. */
const FIELDS = ["bundleSha256", "rulesSha256", "dataSha256", "bundleRevision"] as const;

/** How one provenance of a trail is decided again: the kernel, and whether it is the recorded revision. */
export interface ReplayKernel {
  readonly kernel: PolicyKernel;
  /** True when the kernel's provenance is the recorded one: its decisions must then be identical. */
  readonly recorded: boolean;
}

/** Where recorded bundles are looked for: the default bundle, then every *.tar.gz beside the trail, sorted. */
function bundleCandidates(trail: string): string[] {
  const folder = dirname(trail);
  let beside: string[] = [];
  try {
    beside = readdirSync(folder)
      .filter((name) => name.endsWith(".tar.gz"))
      .sort(compareCodeUnits)
      .map((name) => join(folder, name));
  } catch {
    // An unreadable folder holds no candidates; the error below names where we looked.
  }
  return [defaultBundlePath(), ...beside];
}

/** The bundle file whose SHA-256 is `sha`, among the candidates; undefined when none is. */
function findBundle(sha: string, candidates: readonly string[]): string | undefined {
  for (const path of candidates) {
    try {
      if (readBundle(path).sha256 === sha) return path;
    } catch {
      // Not a bundle (or a broken one): it is not the recorded bundle either.
    }
  }
  return undefined;
}

/**
 * Kernel options for deciding again the decisions of `provenance`: flags first (a candidate), then
 * the recorded bundle (by SHA-256), the default rules, and the demo's data for a demo trail.
 * PolicyKernelError "invalid_input" when the recorded bundle is not found, saying how to pass it.
 */
export function replayKernelOptions(provenance: Provenance, flags: KernelFlagValues, trail: string, chainId: string | undefined): PolicyKernelOptions {
  const options: Record<string, unknown> = { ...kernelOptionsFromFlags(flags) };
  if (options["bundle"] === undefined) {
    const sha = provenance.bundleSha256;
    if (sha === null) options["bundle"] = false;
    else {
      const candidates = bundleCandidates(trail);
      const found = findBundle(sha, candidates);
      if (found === undefined) {
        throw new PolicyKernelError(
          "invalid_input",
          `the trail's decisions were made by bundle revision ${JSON.stringify(provenance.bundleRevision)} (sha256 ${sha}), which is neither the default bundle nor a *.tar.gz beside the trail`,
          { file: trail, field: "decision.provenance.bundleSha256", expected: `--bundle B with that bundle (build it again from that revision's rego/ with policy-kernel build), or the bundle copied into ${dirname(trail)}` },
        );
      }
      options["bundle"] = found;
    }
  }
  if (options["rules"] === undefined) options["rules"] = provenance.rulesSha256 === null ? false : [defaultRulesPath()];
  // A demo run judged SQL as SQLite against its world's schema: the same data, with --data merged over it.
  if (chainId?.startsWith(DEMO_CHAIN_PREFIX)) {
    options["data"] = demoKernelData((options["data"] as Record<string, unknown> | undefined) ?? {});
    options["dataSource"] ??= "the demo's data";
  }
  return options as PolicyKernelOptions;
}

/** True when no flag names a candidate: the trail's own revision must then be found and must match. */
export function namesNoCandidate(flags: KernelFlagValues): boolean {
  return flags.bundle === undefined && flags.rules === undefined && flags.data === undefined && !flags["no-bundle"] && !flags["no-rules"];
}

/**
 * The kernel that decides again the decisions `provenance` made. Without candidate flags its
 * provenance must be the recorded one: PolicyKernelError "invalid_input" naming each field that
 * differs and the flag that supplies it otherwise.
 */
export async function replayKernel(provenance: Provenance, flags: KernelFlagValues, trail: string, chainId: string | undefined): Promise<ReplayKernel> {
  const options = replayKernelOptions(provenance, flags, trail, chainId);
  let kernel: PolicyKernel;
  try {
    kernel = await createPolicyKernel(options);
  } catch (error) {
    if (error instanceof PolicyKernelError) throw error;
    throw new PolicyKernelError("invalid_input", `cannot build the kernel to replay with: ${errorMessage(error)}`, { file: trail });
  }
  const differing = FIELDS.filter((field) => kernel.provenance[field] !== provenance[field]);
  if (differing.length > 0 && namesNoCandidate(flags)) {
    kernel.close();
    const advice: Record<(typeof FIELDS)[number], string> = {
      bundleSha256: "--bundle B",
      bundleRevision: "--bundle B",
      rulesSha256: "--rules R with the rule sets the run loaded",
      dataSha256: "--data D with the data the run merged over the bundle",
    };
    const detail = differing.map((field) => `${field} ${JSON.stringify(provenance[field])} (found ${JSON.stringify(kernel.provenance[field])})`).join(", ");
    throw new PolicyKernelError("invalid_input", `the trail's recorded revision cannot be rebuilt from what is found locally: ${detail}`, {
      file: trail,
      field: "decision.provenance",
      expected: [...new Set(differing.map((field) => advice[field]))].join(" and "),
    });
  }
  return { kernel, recorded: differing.length === 0 };
}
