import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { ImpactCollector, impactText, type ImpactSummary } from "../audit/impact.js";
import { PolicyKernelError } from "../errors.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../kernel/create-kernel.js";
import type { PolicyKernel } from "../kernel/types.js";
import type { Provenance } from "../schemas.js";
import { loadDecisionCases } from "../testing/decision-cases.js";
import { generateActions } from "../testing/generated-actions.js";
import { parseFlags, UsageError } from "./flags.js";
import { kernelOptionsFromFlags, positiveIntFlag } from "./kernel-flags.js";
import { countProgress } from "./progress.js";
import { REPLAY_EXIT } from "./replay-command.js";
import { exceedsThreshold, thresholdFromFlags, thresholdText, type Threshold } from "./threshold.js";

export const DIFF_USAGE = `usage: policy-kernel diff OLD NEW [--cases DIR] [--generated N] [--seed S] [--data D] [--max-changed N | --threshold P] [--json] [--no-progress]
  What NEW would decide differently from OLD, before it ships, when there is no trail to replay.
  OLD and NEW are both bundles (.tar.gz, or a folder with a .manifest or policy.wasm; the default rules
  beside each) or both JSON rules (a rule-set file or folder; the default bundle beside each).
  Both decide the same corpus; the decisions that change (allowed -> denied, denied -> allowed, violations
  added or removed) are counted per policy/rule, with examples.
  --cases DIR      decision case files (as policy-kernel test reads them): each case's input and now
  --generated N    N generated actions of every type and varied contexts (default 1000 without --cases)
  --seed S         the generated corpus's seed (default 0): the same seed, the same actions
  --data D         JSON data merged over both sides' bundle data
  --max-changed N, --threshold P, --json, --no-progress   as for replay
  Exit 0 within the threshold (or none given); 3 more decisions change than the threshold allows; 1 error.`;

const DIFF_FLAGS = {
  cases: { type: "string", multiple: true },
  generated: { type: "string" },
  seed: { type: "string" },
  data: { type: "string" },
  "log-level": { type: "string" },
  "max-changed": { type: "string" },
  threshold: { type: "string" },
  json: { type: "boolean" },
  "no-progress": { type: "boolean" },
} as const;

const MAX_GENERATED = 1_000_000;
const DEFAULT_GENERATED = 1000;

/** Whether a path is a bundle or JSON rules, from its name and, for a folder, what it holds. */
function policyKind(path: string, flag: string): "bundle" | "rules" {
  if (!existsSync(path)) throw new PolicyKernelError("io_error", "no such file or folder", { file: path, field: flag });
  if (path.endsWith(".tar.gz")) return "bundle";
  if (statSync(path).isDirectory()) return existsSync(join(path, ".manifest")) || existsSync(join(path, "policy.wasm")) ? "bundle" : "rules";
  if (path.endsWith(".json")) return "rules";
  throw new UsageError(`"${path}" is neither a bundle (.tar.gz or a bundle folder) nor JSON rules (.json or a folder of them)`, { field: flag });
}

/** The kernel options of one side: the path as bundle or rules, the rest default, --data over both. */
function sideOptions(path: string, kind: "bundle" | "rules", base: PolicyKernelOptions): PolicyKernelOptions {
  return kind === "bundle" ? { ...base, bundle: path } : { ...base, rules: [path] };
}

/** One corpus's change report. */
interface CorpusReport {
  readonly corpus: string;
  readonly impact: ImpactSummary;
}

/** `policy-kernel diff OLD NEW`: the change report of two revisions on case files and a generated corpus; exit 3 over the threshold. */
export async function diffCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, DIFF_FLAGS, { name: "OLD NEW", what: "bundles or rules", min: 2, max: 2 });
  const [oldPath, newPath] = positionals as [string, string];
  const threshold = thresholdFromFlags(values["max-changed"], values.threshold);
  const oldKind = policyKind(oldPath, "OLD");
  const newKind = policyKind(newPath, "NEW");
  if (oldKind !== newKind) throw new UsageError(`OLD is ${oldKind === "bundle" ? "a bundle" : "JSON rules"} and NEW is ${newKind === "bundle" ? "a bundle" : "JSON rules"}: compare like with like`);
  const generated = values.generated === undefined ? (values.cases === undefined ? DEFAULT_GENERATED : 0) : positiveIntFlag(values.generated, "--generated", 0, MAX_GENERATED);
  if (values.seed !== undefined && !/^-?\d+$/.test(values.seed.trim())) throw new UsageError(`must be an integer, got "${values.seed}"`, { field: "--seed" });
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  const cases = values.cases === undefined ? [] : loadDecisionCases(values.cases);
  const base = kernelOptionsFromFlags({ ...(values.data === undefined ? {} : { data: values.data }), ...(values["log-level"] === undefined ? {} : { "log-level": values["log-level"] }) });
  const kernels: PolicyKernel[] = [];
  const progress = values["no-progress"] ? undefined : countProgress(process.stderr, "diff", "decisions");
  const reports: CorpusReport[] = [];
  let provenance: { old: Provenance; new: Provenance } | undefined;
  try {
    const before = await createPolicyKernel(sideOptions(oldPath, oldKind, base));
    kernels.push(before);
    const after = await createPolicyKernel(sideOptions(newPath, newKind, base));
    kernels.push(after);
    provenance = { old: before.provenance, new: after.provenance };
    if (cases.length > 0) {
      const impact = new ImpactCollector();
      for (const [i, c] of cases.entries()) {
        const options = c.now === undefined ? {} : { now: c.now };
        const action = (c.input as { action?: unknown } | null)?.action;
        impact.add(`${c.file} case ${c.index + 1} (${c.description})`, action, await before.evaluateUntrusted(c.input, options), await after.evaluateUntrusted(c.input, options));
        progress?.onStep("cases", i + 1, cases.length);
      }
      reports.push({ corpus: `cases (${values.cases!.join(", ")})`, impact: impact.summary() });
    }
    if (generated > 0) {
      const impact = new ImpactCollector();
      for (const [i, action] of generateActions(generated, seed).entries()) {
        impact.add(`generated #${i + 1}`, action.action, await before.evaluate(action), await after.evaluate(action));
        progress?.onStep("generated", i + 1, generated);
      }
      reports.push({ corpus: `generated (${generated} actions, seed ${seed})`, impact: impact.summary() });
    }
  } finally {
    progress?.stop();
    for (const kernel of kernels) kernel.close();
  }
  const over = threshold !== undefined && reports.some((r) => exceedsThreshold(r.impact, threshold));
  const exit = over ? REPLAY_EXIT.overThreshold : REPLAY_EXIT.ok;
  if (values.json) process.stdout.write(`${JSON.stringify({ old: oldPath, new: newPath, provenance, threshold: threshold ?? null, corpora: reports, exitCode: exit }, null, 2)}\n`);
  else process.stdout.write(`${diffText(oldPath, newPath, reports, threshold, over)}\n`);
  return exit;
}

function diffText(oldPath: string, newPath: string, reports: readonly CorpusReport[], threshold: Threshold | undefined, over: boolean): string {
  const head = `${over ? "OVER THRESHOLD" : "CHANGES"}: ${oldPath} -> ${newPath}${threshold ? ` (threshold: ${thresholdText(threshold)})` : ""}`;
  return [head, ...reports.map((r) => `${r.corpus}:\n${impactText(r.impact).replace(/^/gm, "  ")}`)].join("\n");
}
