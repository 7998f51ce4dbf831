// `make bench`: every row on the same corpus in one run, then cold start and 1M-decision memory
// in child processes. Prints the table and writes bench/results.json.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../../src/audit/atomic-write.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { findPackageRoot } from "../../src/kernel/defaults.js";
import { describeMachine } from "./machine.js";
import { DEFAULT_ROUNDS, median, type MeasureOptions } from "./measure.js";
import { opaGoBench } from "./peers/opa-go.js";
import { floorDisagreement } from "./peers/predicate.js";
import { machineLine, markdownTable, markdownTargets, meanUs, type TargetCheck } from "./report.js";
import { inProcessRows, type Row } from "./rows.js";
import { boundedWorkRows, boundedWorkTable } from "./bounded-work.js";
import { DEFAULT_MAX_ACTION_BYTES } from "../../src/kernel/frozen-action.js";
import { benchSetup, type BenchSetup } from "./setup.js";
import { errorMessage } from "../../src/errors.js";
import { positiveIntFlag } from "../../src/cli/kernel-flags.js";
import { stepProgress } from "../../src/cli/progress.js";

const USAGE = `usage: node dist/bench/src/main.js [flags]   (make bench BENCH_ARGS="...")

  --quick         a short run: shorter samples, 3 rounds, 3 cold-start processes, 100,000 decisions
                  for the memory check (rough figures, for trying a change)
  --rounds N      alternating rounds per in-process row (default ${DEFAULT_ROUNDS}; more is steadier)
  --decisions N   decisions in the memory check (default 1,000,000)
  --opa PATH      the OPA binary for the Go evaluator row (default: $OPA; make passes the pinned one)
  --out FILE      where the results go (default bench/results.json)
  --hostile-mb N  the largest hostile input decided in the bounded-work section (default 10; --quick 1)
  --help          this text`;

let flags: { quick?: boolean; opa?: string; decisions?: string; out?: string; rounds?: string; "hostile-mb"?: string; help?: boolean };
try {
  // strict: a mistyped flag is an error, not silently the default.
  flags = parseArgs({
    options: { quick: { type: "boolean" }, opa: { type: "string" }, decisions: { type: "string" }, out: { type: "string" }, rounds: { type: "string" }, "hostile-mb": { type: "string" }, help: { type: "boolean", short: "h" } },
    strict: true,
  }).values;
} catch (error) {
  console.error(`bench: ${errorMessage(error)}\n\n${USAGE}`);
  process.exit(2);
}
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

/** A whole number >= 1 from a flag, or exit 2 naming the flag. */
function positiveInt(raw: string | undefined, flag: string, fallback: number): number {
  try {
    return positiveIntFlag(raw, flag, fallback);
  } catch (error) {
    console.error(`bench: ${errorMessage(error)}`);
    process.exit(2);
  }
}

const quick = flags.quick === true;
const opaBinary = flags.opa || process.env["OPA"] || undefined;
const decisions = positiveInt(flags.decisions, "--decisions", quick ? 100_000 : 1_000_000);
const out = flags.out ?? join(findPackageRoot(), "bench", "results.json");
const hostileMb = positiveInt(flags["hostile-mb"], "--hostile-mb", quick ? 1 : 10);
const options: MeasureOptions = {
  ...(quick ? { warmupMs: 200, sampleMs: 400, throughputMs: 300 } : {}),
  rounds: positiveInt(flags.rounds, "--rounds", quick ? 3 : DEFAULT_ROUNDS),
};
const here = dirname(fileURLToPath(import.meta.url));

/** Fresh processes the cold start is measured in (the median is reported). */
const COLD_START_PROCESSES = 7;


function child(script: string, extra: readonly string[] = []): Record<string, unknown> {
  const text = execFileSync(process.execPath, ["--expose-gc", join(here, script), ...extra], { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(text.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
}

/** The floor must decide like the kernel (floorDisagreement) on the corpus. */
async function checkFloor(setup: BenchSetup): Promise<{ agree: number; total: number; denied: number; meanBytes: number }> {
  const kernel = await createPolicyKernel();
  let agree = 0;
  let denied = 0;
  for (let i = 0; i < setup.actions.length; i++) {
    const decision = await kernel.evaluateUntrusted(setup.actions[i]);
    const disagreement = floorDisagreement(decision, setup.predicate(setup.inputs[i]!));
    if (disagreement === undefined) agree++;
    else console.error(`floor disagrees on #${i} (${setup.corpus[i]?.label}): ${disagreement}`);
    if (!decision.allowed) denied++;
  }
  kernel.close();
  const meanBytes = setup.actions.reduce<number>((sum, a) => sum + JSON.stringify(a).length, 0) / setup.actions.length;
  return { agree, total: setup.actions.length, denied, meanBytes };
}

const setup = benchSetup();
const machine = describeMachine(opaBinary, out);
console.log(`policy-kernel bench — ${machineLine(machine)}`);
const corpusStats = await checkFloor(setup);
console.log(`corpus: ${corpusStats.total} actions, mean ${Math.round(corpusStats.meanBytes)} bytes, ${corpusStats.denied} denied; floor agrees with the kernel on ${corpusStats.agree}/${corpusStats.total}`);

// On a terminal the rounds are a bar on stderr; piped or logged, the same lines as always.
const roundsProgress = stepProgress((message) => console.log(message), "measuring", "rounds");
const { rows, regoEntrypoint } = await inProcessRows(setup, options, roundsProgress);
roundsProgress.stop();
for (const row of rows) {
  const r = row.result;
  console.log(row.error ? `  ${row.name}: not run (${row.error})` : `  ${row.name}: p50 ${r?.p50Us.toFixed(2)} µs, p99 ${r?.p99Us.toFixed(2)} µs, ${Math.round(r?.opsPerSec ?? 0)} ops/s`);
}

// OPA Go on one input of each corpus kind (the corpus cycles through its kinds).
const kinds = new Set<string>();
const goInputs = setup.inputs.filter((_, i) => {
  const label = setup.corpus[i]?.label ?? "";
  if (kinds.has(label)) return false;
  kinds.add(label);
  return true;
});
let goRow: Row;
if (!opaBinary) goRow = { id: "opa_go", name: "OPA Go evaluator (opa bench)", what: "", error: "no opa binary (scripts/ensure-opa.sh needs Go to install it)" };
else {
  try {
    // The generated aggregate's input half, which the Rego engine's per-type entrypoints add up to.
    const go = opaGoBench(opaBinary, machine.opa, join(findPackageRoot(), "rego"), regoEntrypoint, goInputs);
    goRow = { id: "opa_go", name: `OPA ${go.version} Go evaluator (opa bench)`, what: `same Rego and data, ${regoEntrypoint}, ${go.inputs} inputs (one per kind), mean of ns/op; min ${Math.round(go.minNsPerOp)} max ${Math.round(go.maxNsPerOp)}`, nsPerOp: go.meanNsPerOp };
  } catch (error) {
    goRow = { id: "opa_go", name: "OPA Go evaluator (opa bench)", what: "", error: errorMessage(error).split("\n")[0] ?? "failed" };
  }
}
rows.splice(rows.findIndex((r) => r.id === "plain_json_rules_engine"), 0, goRow);
console.log(goRow.error ? `  OPA Go: not run (${goRow.error})` : `  ${goRow.name}: ${(goRow.nsPerOp! / 1000).toFixed(2)} µs/op`);

// One fresh process is one noisy sample on a shared machine: take the median of several.
const coldRuns = Array.from({ length: quick ? 3 : COLD_START_PROCESSES }, () => child("cold-start-child.js"));
const firstMs = coldRuns.map((run) => Number(run["firstMs"]));
const cold = {
  processes: coldRuns.length,
  firstMs: median(firstMs),
  firstMinMs: Math.min(...firstMs),
  firstMaxMs: Math.max(...firstMs),
  warmMedianMs: median(coldRuns.map((run) => Number(run["warmMedianMs"]))),
  runs: coldRuns,
};
console.log(`cold start: first createPolicyKernel ${cold.firstMs.toFixed(1)} ms (median of ${cold.processes} processes, ${cold.firstMinMs.toFixed(1)}–${cold.firstMaxMs.toFixed(1)}), warm median ${cold.warmMedianMs.toFixed(1)} ms`);
const memory = child("memory-child.js", [String(decisions)]) as {
  decisions: number;
  seconds: number;
  before: { rss: number; wasm: number };
  after: { rss: number; wasm: number };
};
const rssGrowthMb = (memory.after.rss - memory.before.rss) / 2 ** 20;
console.log(`memory: ${memory.decisions} decisions in ${memory.seconds.toFixed(1)} s; RSS ${(memory.before.rss / 2 ** 20).toFixed(1)} -> ${(memory.after.rss / 2 ** 20).toFixed(1)} MB; Wasm ${memory.before.wasm} -> ${memory.after.wasm} bytes`);

// Hostile inputs of growing size: a tenth, a quarter, half and all of --hostile-mb.
const bounded = await boundedWorkRows([0.1, 0.25, 0.5, 1].map((f) => f * hostileMb), quick ? 1 : 3, (message) => console.log(message));
const analysed = bounded.filter((r) => !r.input.endsWith("(default size limit)"));
const slowestMs = Math.max(...analysed.filter((r) => r.megabytes === hostileMb).map((r) => r.ms));
// Linear work: the time per megabyte at the largest size is not far above the smallest's.
const growth = Math.max(...[...new Set(analysed.map((r) => r.input))].map((input) => {
  const mine = analysed.filter((r) => r.input === input);
  return (mine.at(-1)?.msPerMb ?? 0) / Math.max(mine[0]?.msPerMb ?? 1, 1e-9);
}));

const get = (id: string) => rows.find((r) => r.id === id);
const p50 = (id: string) => get(id)?.result?.p50Us;
const ratio = (slow: string, fast: string): number | undefined => {
  const a = meanUs(get(slow));
  const b = meanUs(get(fast));
  return a !== undefined && b !== undefined ? a / b : undefined;
};
const check = (target: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string): TargetCheck =>
  value === undefined ? { target, measured: "not measured", met: null } : { target, measured: show(value), met: ok(value) };
const x = (v: number) => `${v.toFixed(1)}x (mean per call)`;
const targets: TargetCheck[] = [
  check("full kernel decision p50 <= 5 µs", p50("kernel_full"), (v) => v <= 5, (v) => `${v.toFixed(2)} µs`),
  check("full kernel decision p99 <= 25 µs", get("kernel_full")?.result?.p99Us, (v) => v <= 25, (v) => `${v.toFixed(2)} µs`),
  check("Rego path p50 <= 3 µs", p50("engine_rego"), (v) => v <= 3, (v) => `${v.toFixed(2)} µs (kernel Rego-only evaluate incl. validation and enrichment: ${p50("kernel_rego")?.toFixed(2)} µs)`),
  check("Rego path >= 2x faster than stock opa-wasm evaluate", ratio("stock_opa_wasm", "engine_rego"), (v) => v >= 2, (v) => {
    const typed = ratio("stock_opa_wasm_typed", "engine_rego");
    return typed === undefined ? x(v) : `${x(v)}; ${typed.toFixed(1)}x when the stock SDK also gets the per-type entrypoint`;
  }),
  check("Rego path faster than OPA's Go evaluator", ratio("opa_go", "engine_rego"), (v) => v > 1, x),
  check("JSON rules >= 100x faster than plain json-rules-engine", ratio("plain_json_rules_engine", "engine_json"), (v) => v >= 100, x),
  check("kernel >= 5x faster than the agent-governance SDK on equivalent rules", ratio("agt_sdk", "kernel_agt_equivalent"), (v) => v >= 5, (v) => `${x(v)}: kernel with tools, cost, transactions vs the SDK with the same three (raw action in, the SDK gets pre-enriched input); full 8-policy kernel ${ratio("agt_sdk", "kernel_full")?.toFixed(1)}x`),
  check("governed env.step >= 100,000 steps/s", get("env_step")?.result?.opsPerSec, (v) => v >= 100_000, (v) => `${Math.round(v).toLocaleString("en-US")} steps/s`),
  check(`${memory.decisions.toLocaleString("en-US")} decisions: RSS growth < 20 MB`, rssGrowthMb, (v) => v < 20, (v) => `${v.toFixed(1)} MB`),
  check("Wasm memory flat", memory.after.wasm - memory.before.wasm, (v) => v === 0, (v) => `${memory.before.wasm} -> ${memory.after.wasm} bytes (+${v})`),
  check(`a ${hostileMb} MB SQL string or message is decided in bounded, linear time`, slowestMs, () => growth <= 3 && bounded.filter((r) => r.input.endsWith("(default size limit)")).every((r) => r.rules.includes("kernel/action_too_large")), (v) => `slowest ${v.toFixed(0)} ms per decision at ${hostileMb} MB; ms per MB grows ${growth.toFixed(1)}x from a tenth of the size to all of it; over the default limit (${(DEFAULT_MAX_ACTION_BYTES / 2 ** 20).toFixed(0)} MiB) denied unread in ${Math.max(...bounded.filter((r) => r.input.endsWith("(default size limit)")).map((r) => r.ms)).toFixed(1)} ms`),
  check("cold start <= 20 ms", cold.firstMs, (v) => v <= 20, (v) => `${v.toFixed(1)} ms first in a fresh process (median of ${cold.processes}; ${cold.firstMinMs.toFixed(1)}–${cold.firstMaxMs.toFixed(1)}), ${cold.warmMedianMs.toFixed(1)} ms warm median`),
];

const table = markdownTable(rows);
const boundedTable = boundedWorkTable(bounded);
console.log(`\n${machineLine(machine)}\n\n${table}\n\n${boundedTable}\n\n${markdownTargets(targets)}`);
mkdirSync(dirname(out), { recursive: true });
const results = { machine, quick, rounds: options.rounds, corpus: { ...corpusStats, kinds: [...kinds] }, rows, opaGoInputs: goInputs.length, coldStart: cold, memory: { ...memory, rssGrowthMb }, boundedWork: bounded, targets, table, boundedTable };
await writeFileAtomic(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${out}`);
