import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { AUDIT_RETAIN } from "../../src/demo/arm.js";
import { createJsonRulesEngine } from "../../src/engines/json/index.js";
import { createRegoEngine, DEFAULT_ENTRYPOINT } from "../../src/engines/rego/rego-engine.js";
import { GovernedEnvironment } from "../../src/env/environment.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { PolicyReward } from "../../src/reward/policy-reward.js";
import type { ActionBody, ActionContext } from "../../src/schemas.js";
import { DEFAULT_ROUNDS, measureInterleaved, type Measurement, type MeasureOptions } from "./measure.js";
import { agtSdkPeer, sdkEquivalentKernelOptions } from "./peers/agt-sdk.js";
import { plainJsonRulesEngine, stockOpaWasm, stockOpaWasmByType } from "./peers/stock.js";
import type { BenchSetup } from "./setup.js";
import { sqlEnvStepRow } from "./sql-env-row.js";

/** One row of the table: what was measured, on what, and the figures (or why it could not run). */
export interface Row {
  readonly id: string;
  readonly name: string;
  /** What one call does and on which input. */
  readonly what: string;
  readonly result?: Measurement;
  /** OPA Go reports ns/op from its own benchmark loop, not percentiles. */
  readonly nsPerOp?: number;
  readonly error?: string;
}

/** A message, and for a step of a longer task how far it is (a terminal draws those as a bar). */
type Progress = (message: string, step?: { readonly done: number; readonly total: number }) => void;

/** A row to measure: its label and the call it times (index into the corpus), or why it cannot run. */
type RowSpec = { readonly id: string; readonly name: string; readonly what: string } & (
  | { readonly call: (i: number) => unknown; readonly error?: undefined }
  | { readonly call?: undefined; readonly error: string }
);

export interface InProcessRows {
  readonly rows: Row[];
  /** The Rego engine's decision entrypoint (the input half its per-type entrypoints replace), for the peer measured in its own process. */
  readonly regoEntrypoint: string;
}

/**
 * The in-process rows, on the same corpus in this process, measured side by side in
 * alternating rounds (measureInterleaved), so the ratios between rows are comparable.
 */
export async function inProcessRows(setup: BenchSetup, options: MeasureOptions, progress: Progress): Promise<InProcessRows> {
  const { actions, inputs } = setup;
  const specs: RowSpec[] = [];
  const spec = (id: string, name: string, what: string, call: (i: number) => unknown): void => {
    specs.push({ id, name, what, call });
  };

  const full = await createPolicyKernel();
  spec("kernel_full", "kernel: full default (Rego + JSON rules)", "kernel.evaluateUntrusted(raw action): validate, enrich, Rego, JSON rules, decision", (i) => full.evaluateUntrusted(actions[i]));
  const regoOnly = await createPolicyKernel({ rules: false });
  spec("kernel_rego", "kernel: Rego only", "kernel.evaluateUntrusted(raw action) with rules: false", (i) => regoOnly.evaluateUntrusted(actions[i]));
  const jsonOnly = await createPolicyKernel({ bundle: false });
  spec("kernel_json", "kernel: JSON rules only", "kernel.evaluateUntrusted(raw action) with bundle: false", (i) => jsonOnly.evaluateUntrusted(actions[i]));
  // The SDK row's rule set, on this kernel: the like-for-like comparison.
  const agtEquivalent = await createPolicyKernel(sdkEquivalentKernelOptions());
  spec("kernel_agt_equivalent", "kernel: tools, cost, transactions only", "kernel.evaluateUntrusted(raw action) with the three policies the SDK row runs", (i) => agtEquivalent.evaluateUntrusted(actions[i]));

  const rego = await createRegoEngine({ bundle: setup.bundle, data: setup.data, entrypoint: DEFAULT_ENTRYPOINT });
  spec("engine_rego", "Rego path (kernel's Rego engine)", "regoEngine.evaluate(enriched input): one Wasm call + result checks", (i) => rego.evaluate(inputs[i]!));
  // The engine's decision entrypoint: the generated aggregate's input half, which its per-type entrypoints replace (row 7 gets those).
  const stock = await stockOpaWasm(setup.bundle.wasm, setup.data, rego.decisionEntrypoint);
  spec("stock_opa_wasm", "stock opa-wasm LoadedPolicy.evaluate", `same policy.wasm entrypoint (${rego.decisionEntrypoint}), data and enriched input`, (i) => stock(inputs[i]!));
  if (rego.actionTypeEntrypoints) {
    const typed = await stockOpaWasmByType(setup.bundle.wasm, setup.data, rego.actionTypeEntrypoints);
    spec("stock_opa_wasm_typed", "stock opa-wasm, per-type entrypoint", "the same, on the entrypoint the Rego path picks for the action's type (kernel/violations_of_type/<type>, else kernel/violations_of_other_types); no prepared values", (i) => typed(inputs[i]!));
  }

  const json = createJsonRulesEngine({ ruleSets: setup.ruleSets, config: setup.config });
  spec("engine_json", "JSON rules path (kernel's JSON engine)", "jsonEngine.evaluateSync(enriched input), the call the kernel makes (all rules compiled)", (i) => json.evaluateSync(inputs[i]!));
  spec("engine_json_promise", "JSON rules path, promise API", "await jsonEngine.evaluate(enriched input)", (i) => json.evaluate(inputs[i]!));
  const plain = plainJsonRulesEngine(setup.ruleSets, setup.config);
  spec("plain_json_rules_engine", "plain json-rules-engine run()", "same rules, same facts (agentId, action, context, facts, config)", (i) => plain(inputs[i]!));

  const agt = await agtSdkPeer(setup.config);
  // A peer that could not be loaded keeps its place in the table, with why.
  if ("error" in agt) specs.push({ id: "agt_sdk", name: "@microsoft/agent-governance-sdk evaluatePolicy", what: "tools/cost/transactions rules", error: agt.error });
  else spec("agt_sdk", `@microsoft/agent-governance-sdk ${agt.version} evaluatePolicy`, "tools, cost, transactions as expression rules (deny-overrides), enriched input", (i) => agt.evaluate(inputs[i]!));
  const { predicate } = setup;
  spec("ts_predicate", "hand-written TypeScript predicate (floor)", "all 8 default policies as plain TS over the enriched input; names only", (i) => predicate(inputs[i]!));
  const envStep = await envStepSpec(setup);
  specs.push(envStep.spec);
  const envStepStreamed = await envStepSpec(setup, { streamed: true });
  specs.push(envStepStreamed.spec);
  const sqlEnvStep = await sqlEnvStepRow();
  specs.push(sqlEnvStep);

  const calls = specs.flatMap((s) => (s.call ? [s.call] : []));
  const rounds = Math.max(1, options.rounds ?? DEFAULT_ROUNDS);
  progress(`measuring ${calls.length} rows side by side in alternating rounds`, { done: 0, total: rounds });
  const results = await measureInterleaved(calls, actions.length, { ...options, onRound: (round, total) => progress(`  round ${round}/${total} done`, { done: round, total }) });
  let next = 0;
  const rows: Row[] = specs.map(({ id, name, what, error }) => {
    if (error !== undefined) return { id, name, what, error };
    const result = results[next++]!;
    return "error" in result ? { id, name, what, error: result.error } : { id, name, what, result };
  });
  for (const k of [full, regoOnly, jsonOnly, agtEquivalent]) k.close();
  envStep.close();
  envStepStreamed.close();
  await sqlEnvStep.close();
  rego.close();
  json.close();
  return { rows, regoEntrypoint: rego.decisionEntrypoint };
}

/**
 * A full governed step: kernel (with FlightRecorder) + executor + env reward + PolicyReward,
 * resetting when episodes end. With `streamed`, the recorder appends every entry to a JSON Lines
 * file in a temporary folder and keeps AUDIT_RETAIN entries in memory, as the demo's training run does.
 */
async function envStepSpec(setup: BenchSetup, { streamed = false } = {}): Promise<{ spec: RowSpec; close: () => void }> {
  const folder = streamed ? mkdtempSync(join(tmpdir(), "policy-kernel-bench-")) : undefined;
  const stream = folder === undefined ? {} : { jsonlPath: join(folder, "audit.jsonl"), retain: AUDIT_RETAIN };
  const recorder = new FlightRecorder({ chainId: "bench", clock: () => new Date(0), ...stream });
  const kernel = await createPolicyKernel({ recorder });
  const policyReward = new PolicyReward(kernel);
  const bodies = setup.corpus.map((entry) => (entry.action as { action: ActionBody }).action);
  const contexts = setup.corpus.map((entry) => (entry.action as { context: ActionContext }).context);
  let cursor = 0;
  const env = new GovernedEnvironment<{ n: number }, unknown>(kernel, {
    recorder,
    taskGenerator: () => ({ n: 0 }),
    contextFn: () => {
      const { role, costUsd, readOnly } = contexts[cursor % contexts.length]!;
      return { role, costUsd, readOnly };
    },
    executor: (state) => ({ result: { rows: 1 }, observation: { n: state.n + 1 } }),
    reward: policyReward,
  });
  const spec: RowSpec = folder
    ? {
        id: "env_step_streamed",
        name: "governed env.step, audit streamed to disk",
        what: `as env.step, the FlightRecorder appending every entry to a JSONL file and keeping ${AUDIT_RETAIN.toLocaleString("en-US")} in memory`,
        call: step,
      }
    : {
        id: "env_step",
        name: "governed env.step",
        what: "GovernedEnvironment.step: kernel + FlightRecorder (decisions and executions, all kept in memory) + executor + env reward + PolicyReward",
        call: step,
      };
  function step(i: number): unknown {
    cursor = i;
    if (env.done) env.reset();
    return env.step(bodies[i]!);
  }
  const close = (): void => {
    kernel.close();
    recorder.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  };
  return { spec, close };
}
