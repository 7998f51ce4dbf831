import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { opaGoBench } from "../../bench/src/peers/opa-go.js";
import { benchSetup } from "../../bench/src/setup.js";
import { createRegoEngine, DEFAULT_ENTRYPOINT } from "../../src/engines/rego/rego-engine.js";
import { opaPath } from "../helpers/opa.js";

// `make bench` end to end, as short as it goes: that it runs and what it writes, never how fast
// (speed is the bench's own business, on a quiet machine). OPA Go is left out here (its loop runs
// a second per input) and checked on its own below.
const root = join(import.meta.dirname, "..", "..");
const bench = join(root, "dist", "bench", "src", "main.js");

function run(args: string[]) {
  const env = { ...process.env };
  delete env["OPA"];
  const result = spawnSync(process.execPath, [bench, ...args], { encoding: "utf8", cwd: root, env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Results {
  machine: { commit: string; node: string; cores: number; opa: string };
  rounds: number;
  corpus: { agree: number; total: number; denied: number };
  rows: { id: string; name: string; error?: string; result?: { iterations: number; p50Us: number; p99Us: number; meanUs: number; opsPerSec: number } }[];
  targets: { target: string; measured: string; met: boolean | null }[];
  memory: { decisions: number; before: { wasm: number }; after: { wasm: number } };
  coldStart: { processes: number; firstMs: number };
  table: string;
  boundedWork: { input: string; megabytes: number; ms: number; allowed: boolean; rules: string[] }[];
  boundedTable: string;
}

describe("make bench", () => {
  it("measures every row, checks the floor, prints the table and writes results.json", () => {
    const folder = mkdtempSync(join(tmpdir(), "pk-bench-"));
    const out = join(folder, "results.json");
    const { code, stdout, stderr } = run(["--quick", "--rounds", "1", "--decisions", "2000", "--out", out]);
    // Read before the assertions, so the folder goes whatever they find; a failed run wrote nothing.
    const written = existsSync(out) ? readFileSync(out, "utf8") : "";
    rmSync(folder, { recursive: true, force: true });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("round 1/1 done");
    expect(stdout).toContain("floor agrees with the kernel on 80/80");
    expect(stdout).toContain(`wrote ${out}`);

    const results = JSON.parse(written) as Results;
    expect(results.machine.commit).toMatch(/^[0-9a-f]{12}/);
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.opa).toBe("not installed");
    expect(results.rounds).toBe(1);
    expect(results.corpus).toMatchObject({ agree: 80, total: 80 });
    expect(results.rows.map((row) => row.id)).toEqual([
      "kernel_full", "kernel_rego", "kernel_json", "kernel_agt_equivalent", "engine_rego", "stock_opa_wasm", "stock_opa_wasm_typed",
      "engine_json", "engine_json_promise", "opa_go", "plain_json_rules_engine", "agt_sdk", "ts_predicate", "env_step", "env_step_streamed", "sql_env_step",
    ]);
    for (const row of results.rows) {
      if (row.id === "opa_go") {
        expect(row.error).toMatch(/no opa binary/);
        continue;
      }
      expect(row.error, row.name).toBeUndefined();
      expect(row.result!.iterations).toBeGreaterThan(0);
      expect(row.result!.p50Us).toBeGreaterThan(0);
      expect(row.result!.p99Us).toBeGreaterThanOrEqual(row.result!.p50Us);
      expect(row.result!.opsPerSec).toBeGreaterThan(0);
    }
    // Every target of the issue is reported, met or not; only OPA Go's is unmeasured here.
    expect(results.targets).toHaveLength(12);
    expect(results.targets.filter((t) => t.met === null).map((t) => t.target)).toEqual(["Rego path faster than OPA's Go evaluator"]);
    expect(results.memory.decisions).toBe(2000);
    expect(results.memory.after.wasm).toBe(results.memory.before.wasm);
    expect(results.coldStart.processes).toBe(3);
    expect(results.coldStart.firstMs).toBeGreaterThan(0);
    // The table printed is the table written, one line per row under its header.
    expect(stdout).toContain(results.table);
    expect(results.table.split("\n")).toHaveLength(2 + results.rows.length);
    // Hostile inputs up to 1 MB (--quick): four sizes of each of four inputs, analysed, and each once more
    // under the default size limit; every decision names the rules that made it.
    expect(results.boundedWork).toHaveLength(4 * 5);
    expect(new Set(results.boundedWork.map((r) => r.megabytes))).toEqual(new Set([0.1, 0.25, 0.5, 1]));
    for (const row of results.boundedWork) expect(row.ms, row.input).toBeGreaterThan(0);
    expect(results.boundedWork.find((r) => r.input.startsWith("sql: one long WHERE"))?.allowed).toBe(false);
    expect(stdout).toContain(results.boundedTable);
  });

  it("explains its flags on --help and refuses an unknown one with them", () => {
    const help = run(["--help"]);
    expect(help.code).toBe(0);
    for (const flag of ["--quick", "--rounds N", "--decisions N", "--opa PATH", "--out FILE"]) expect(help.stdout).toContain(flag);
    const wrong = run(["--round", "3"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("Unknown option '--round'");
    expect(wrong.stderr).toContain("--rounds N");
    expect(run(["--rounds", "0"]).stderr).toMatch(/--rounds/);
  });

  it("runs OPA's Go evaluator on the bundle's Rego with one input and reports ns/op", async () => {
    const setup = benchSetup();
    // The entrypoint the bench queries: the Rego engine's per-decision one.
    const rego = await createRegoEngine({ bundle: setup.bundle, data: setup.data, entrypoint: DEFAULT_ENTRYPOINT });
    rego.close();
    const go = opaGoBench(opaPath(), "pinned", join(root, "rego"), rego.decisionEntrypoint, setup.inputs.slice(0, 1));
    expect(go.inputs).toBe(1);
    expect(go.meanNsPerOp).toBeGreaterThan(0);
    expect(go.minNsPerOp).toBe(go.meanNsPerOp);
  });
});
