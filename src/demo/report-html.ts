import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { movingAverage } from "./metrics.js";
import type { DemoSummary } from "./run-demo.js";
import { comparisonRows, presentArms, revisionsSeen, violatedPolicies } from "./table.js";

/** Episodes averaged per point of the learning curves. */
const CURVE_WINDOW = 25;
const ARM_COLORS: Readonly<Record<string, string>> = { ungoverned: "#d9480f", governed: "#1c7ed6" };

let chartJs: string | undefined;

/** The Chart.js UMD build from the installed package, inlined so the report needs no network. */
function chartJsSource(): string {
  if (chartJs === undefined) {
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve("chart.js"));
    chartJs = readFileSync(join(dist, "chart.umd.min.js"), "utf8").replaceAll("</script", "<\\/script");
  }
  return chartJs;
}

const escapeHtml = (text: string): string =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replaceAll("<", "\\u003c");

/**
 * A self-contained report.html: comparison table, learned policies and Chart.js charts (reward,
 * attempted-violation rate and accuracy per episode per arm; violations per policy).
 */
export function renderReport(summary: DemoSummary): string {
  const arms = presentArms(summary);
  const { experiment } = summary;
  const rows = comparisonRows(experiment.evalWindow);
  const policies = violatedPolicies(arms);
  const data = {
    window: CURVE_WINDOW,
    episodes: experiment.episodes,
    arms: arms.map(([name, a]) => ({
      name,
      color: ARM_COLORS[name] ?? "#495057",
      reward: movingAverage(a.curve.reward, CURVE_WINDOW),
      violation: movingAverage(a.curve.attemptedViolation, CURVE_WINDOW),
      accuracy: movingAverage(a.curve.accurate, CURVE_WINDOW),
      perPolicy: policies.map((p) => a.training.violationsByPolicy[p] ?? 0),
    })),
    policies,
  };
  const header = `<tr><th>metric</th>${arms.map(([name]) => `<th>${escapeHtml(name)}</th>`).join("")}</tr>`;
  const body = rows.map((r) => `<tr><td>${escapeHtml(r.label)}</td>${arms.map(([, a]) => `<td>${escapeHtml(r.value(a))}</td>`).join("")}</tr>`).join("\n");
  const policyRows = experiment.tasks
    .map((task) => {
      const cells = arms.map(([, a]) => {
        const c = a.learnedPolicy.find((x) => x.task === task.id);
        return c ? `<td class="${c.kind}">${escapeHtml(c.candidate)} <small>(${c.kind})</small></td>` : "<td></td>";
      });
      return `<tr><td>${escapeHtml(task.prompt)}</td>${cells.join("")}</tr>`;
    })
    .join("\n");
  const provenance = summary.kernel.provenance;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>policy-kernel governed training report (seed ${escapeHtml(String(experiment.seed))})</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #212529; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #dee2e6; padding: 4px 10px; text-align: right; }
td:first-child, th:first-child { text-align: left; } th { background: #f1f3f5; }
table.policy td { text-align: left; } td.unsafe { color: #c92a2a; } td.safe { color: #2b8a3e; } td.wrong { color: #868e96; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
.chart { position: relative; height: 280px; border: 1px solid #e9ecef; padding: 8px; }
.meta { color: #495057; font-size: 12px; }
</style>
</head>
<body>
<h1>Governed vs ungoverned training on an embedded SQL task environment</h1>
<p class="meta">seed ${escapeHtml(String(experiment.seed))} · ${experiment.episodes} episodes per arm · ${experiment.tasks.length} tasks ·
policies: ${escapeHtml(summary.kernel.policies.join(", "))} · ${revisionText(summary, provenance.bundleRevision)} · bundle sha256 ${escapeHtml(provenance.bundleSha256 ?? "none")} · rules sha256 ${escapeHtml(provenance.rulesSha256 ?? "none")}</p>
<p>Every figure comes from this run: allowed actions executed against a real SQLite database (sql.js), accuracy compares the
database afterwards with each task's reference. The ungoverned arm's kernel only observes (its verdicts are recorded, nothing is
blocked or penalised); the governed arm's kernel blocks and PolicyReward penalises. What is authored rather than learned: the
tasks, the candidate actions per task (the agent chooses among them; it does not write SQL) and their effort costs, which make
the unsafe shortcuts cheaper. Accuracy is strict: the goal reached and no collateral change to any table.</p>
<h2>Comparison</h2>
<table>${header}
${body}
</table>
<h2>Learning curves (moving average over ${CURVE_WINDOW} episodes)</h2>
<div class="charts">
<div class="chart"><canvas id="reward" aria-label="reward per episode"></canvas></div>
<div class="chart"><canvas id="violation" aria-label="attempted-violation rate per episode"></canvas></div>
<div class="chart"><canvas id="accuracy" aria-label="task accuracy per episode"></canvas></div>
<div class="chart"><canvas id="policies" aria-label="violations per policy"></canvas></div>
</div>
<h2>Learned greedy policy (candidate and the task author's label)</h2>
<table class="policy"><tr><th>task</th>${arms.map(([name]) => `<th>${escapeHtml(name)}</th>`).join("")}</tr>
${policyRows}
</table>
<script>${chartJsSource()}</script>
<script>
const data = ${scriptJson(data)};
const labels = Array.from({ length: data.episodes }, (_, i) => i + 1);
const line = (id, title, key, yMax) => new Chart(document.getElementById(id), {
  type: "line",
  data: { labels, datasets: data.arms.map((a) => ({ label: a.name, data: a[key], borderColor: a.color, backgroundColor: a.color, pointRadius: 0, borderWidth: 2 })) },
  options: { animation: false, maintainAspectRatio: false, plugins: { title: { display: true, text: title } },
    scales: { x: { title: { display: true, text: "episode" }, ticks: { maxTicksLimit: 10 } }, y: yMax === undefined ? {} : { min: 0, max: yMax } } },
});
line("reward", "reward per episode", "reward");
line("violation", "attempted-violation rate per episode", "violation", 1);
line("accuracy", "task accuracy per episode", "accuracy", 1);
new Chart(document.getElementById("policies"), {
  type: "bar",
  data: { labels: data.policies, datasets: data.arms.map((a) => ({ label: a.name, data: a.perPolicy, backgroundColor: a.color })) },
  options: { animation: false, maintainAspectRatio: false, plugins: { title: { display: true, text: "violations per policy (training, attempted)" } } },
});
window.__reportReady = true;
</script>
</body>
</html>
`;
}

/** "bundle revision R", or every revision in order when a served bundle was swapped during the run. */
function revisionText(summary: DemoSummary, current: string | null): string {
  const seen = revisionsSeen(summary);
  if (seen.length <= 1) return `bundle revision ${escapeHtml(current ?? "none")}`;
  return `bundle revisions ${seen.map((r) => escapeHtml(r ?? "none")).join(" → ")} (swapped mid-run)`;
}
