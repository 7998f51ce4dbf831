import type { ArmName } from "./arm.js";
import type { ArmSummary, DemoSummary } from "./run-demo.js";

/** One row of the comparison: a label and how to read the value from an arm. */
interface Row {
  readonly label: string;
  readonly value: (arm: ArmSummary) => string;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const num = (x: number): string => String(x);
const fixed = (x: number): string => x.toFixed(2);

/** The rows of the comparison table, shared by the text table and the HTML report. */
export function comparisonRows(window: number): readonly Row[] {
  return [
    { label: `attempted-violation rate, last ${window} episodes`, value: (a) => pct(a.lastWindow.attemptedViolationRate) },
    { label: "attempted-violation rate, greedy after training", value: (a) => pct(a.greedyAfter.attemptedViolationRate) },
    { label: "executed actions the kernel denies (training)", value: (a) => num(a.training.executedDenied) },
    { label: "executed actions with any violation (training)", value: (a) => num(a.training.executedViolating) },
    { label: "task accuracy, greedy before training", value: (a) => pct(a.greedyBefore.accuracy) },
    { label: "task accuracy, greedy after training", value: (a) => pct(a.greedyAfter.accuracy) },
    { label: `task accuracy, last ${window} episodes`, value: (a) => pct(a.lastWindow.accuracy) },
    { label: `goal reached (grader's view), last ${window} episodes`, value: (a) => pct(a.lastWindow.goalRate) },
    { label: `mean reward, last ${window} episodes`, value: (a) => fixed(a.lastWindow.meanReward) },
    { label: "rows destroyed (training)", value: (a) => num(a.training.rowsDestroyed) },
    { label: "rows corrupted (training)", value: (a) => num(a.training.rowsCorrupted) },
    { label: "personal records sent out (training)", value: (a) => num(a.training.personalRecordsSent) },
    { label: "audit entries (hash chain verified)", value: (a) => `${a.audit.entries}${a.audit.verified ? " ok" : " FAILED"}` },
  ];
}

/** Arms present in a summary, in table order. */
export function presentArms(summary: DemoSummary): [ArmName, ArmSummary][] {
  return summary.experiment.arms.flatMap((arm) => {
    const data = summary.arms[arm];
    return data ? [[arm, data] as [ArmName, ArmSummary]] : [];
  });
}

/** Every policy some arm violated in training, sorted (rows of the text table and bars of the report). */
export function violatedPolicies(arms: readonly (readonly [ArmName, ArmSummary])[]): string[] {
  return [...new Set(arms.flatMap(([, a]) => Object.keys(a.training.violationsByPolicy)))].sort();
}

/** Means of a 0/1 or numeric series over `parts` equal slices (the text learning curve). */
export function slices(values: readonly number[], parts: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < parts; i += 1) {
    const from = Math.floor((i * values.length) / parts);
    const to = Math.floor(((i + 1) * values.length) / parts);
    const part = values.slice(from, to);
    out.push(part.length === 0 ? 0 : part.reduce((a, b) => a + b, 0) / part.length);
  }
  return out;
}

/** Every bundle revision that decided some arm's training, in the order first seen. */
export function revisionsSeen(summary: DemoSummary): readonly (string | null)[] {
  const seen: (string | null)[] = [];
  for (const arm of Object.values(summary.arms)) for (const revision of arm?.bundleRevisions ?? []) if (!seen.includes(revision)) seen.push(revision);
  return seen;
}

/** Which bundle and rules decided the run, by revision first (the name people recognise), then SHA-256. */
export function policiesLine(summary: DemoSummary): string {
  const { bundleRevision, bundleSha256, rulesSha256 } = summary.kernel.provenance;
  const seen = revisionsSeen(summary);
  const bundle =
    bundleSha256 === null
      ? "no bundle"
      : seen.length > 1
        ? `bundle revisions ${seen.map((r) => r ?? "(none)").join(" -> ")} (swapped mid-run; now sha256 ${bundleSha256.slice(0, 12)})`
        : `bundle revision ${bundleRevision ?? "(none)"} (sha256 ${bundleSha256.slice(0, 12)})`;
  return `policies: ${bundle}, rules ${rulesSha256 === null ? "none" : `sha256 ${rulesSha256.slice(0, 12)}`}`;
}

/** The fixed-width comparison table, learning curves and learned policies, as printed by `train`. */
export function renderTable(summary: DemoSummary): string {
  const { experiment } = summary;
  const arms = presentArms(summary);
  const rows = comparisonRows(experiment.evalWindow);
  const labelWidth = Math.max(...rows.map((r) => r.label.length), 6);
  const colWidth = 12;
  const out: string[] = [];
  out.push(
    `policy-kernel train: seed ${String(experiment.seed)}, ${experiment.episodes} episodes per arm, ${experiment.tasks.length} tasks, ` +
      `greedy evaluation ${experiment.evalRepeats}x per task`,
    policiesLine(summary),
    "",
  );
  out.push(`${"metric".padEnd(labelWidth)}${arms.map(([name]) => name.padStart(colWidth)).join("")}`);
  out.push("-".repeat(labelWidth + colWidth * arms.length));
  for (const row of rows) out.push(`${row.label.padEnd(labelWidth)}${arms.map(([, a]) => row.value(a).padStart(colWidth)).join("")}`);

  const parts = Math.min(10, experiment.episodes);
  const curve = (title: string, pick: (a: ArmSummary) => readonly number[], format: (x: number) => string): void => {
    out.push("", `${title} (each column ${Math.round(100 / parts)}% of training):`);
    for (const [name, a] of arms) out.push(`  ${name.padEnd(11)}${slices(pick(a), parts).map((x) => format(x).padStart(6)).join("")}`);
  };
  curve("learning curve: task accuracy", (a) => a.curve.accurate, (x) => x.toFixed(2));
  curve("learning curve: attempted-violation rate", (a) => a.curve.attemptedViolation, (x) => x.toFixed(2));
  curve("learning curve: mean reward", (a) => a.curve.reward, (x) => x.toFixed(1));

  const policies = violatedPolicies(arms);
  if (policies.length > 0) {
    out.push("", "violations per policy (training, attempted):");
    for (const p of policies) out.push(`  ${p.padEnd(labelWidth - 2)}${arms.map(([, a]) => num(a.training.violationsByPolicy[p] ?? 0).padStart(colWidth)).join("")}`);
  }

  out.push("", "learned greedy policy (candidate, author's label):");
  const taskWidth = Math.max(...experiment.tasks.map((t) => t.id.length)) + 2;
  out.push(`  ${"task".padEnd(taskWidth)}${arms.map(([name]) => name.padEnd(32)).join("")}`.trimEnd());
  for (const task of experiment.tasks) {
    const cells = arms.map(([, a]) => {
      const choice = a.learnedPolicy.find((c) => c.task === task.id);
      return choice ? `${choice.candidate} (${choice.kind})`.padEnd(32) : "".padEnd(32);
    });
    out.push(`  ${task.id.padEnd(taskWidth)}${cells.join("")}`.trimEnd());
  }
  return `${out.join("\n")}\n`;
}
