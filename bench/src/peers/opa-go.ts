import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PolicyInput } from "../../../src/schemas.js";

/** `opa bench` figures for the inputs given: ns/op each and their mean. */
export interface OpaGoResult {
  readonly version: string;
  readonly inputs: number;
  readonly meanNsPerOp: number;
  readonly minNsPerOp: number;
  readonly maxNsPerOp: number;
}

interface OpaBenchJson {
  readonly N?: number;
  readonly T?: number;
}

/**
 * Runs OPA's Go evaluator (`opa bench`, its own process, Go's benchmark loop) on the Rego and
 * data.json the bundle is built from (`rego/`, tests ignored) with each input, querying the same
 * entrypoint as the Wasm (kernel/policy_violations is data.kernel.policy_violations). (`-b` on
 * the bundle would pick its policy.wasm.) `version` is the one describeMachine already read from
 * `opa version`.
 */
export function opaGoBench(opa: string, version: string, regoDir: string, entrypoint: string, inputs: readonly PolicyInput[]): OpaGoResult {
  const query = `data.${entrypoint.replaceAll("/", ".")}`;
  const dir = mkdtempSync(join(tmpdir(), "opa-bench-"));
  try {
    const nsPerOp: number[] = [];
    inputs.forEach((input, index) => {
      const file = join(dir, `input-${index}.json`);
      writeFileSync(file, JSON.stringify(input));
      const out = execFileSync(opa, ["bench", "--format", "json", "--benchmem=false", "--metrics=false", "--fail=false", "-d", regoDir, "--ignore", "*_test.rego", "-i", file, query], {
        encoding: "utf8",
        maxBuffer: 16 * 1024 * 1024,
      });
      const parsed = JSON.parse(out) as OpaBenchJson;
      if (!parsed.N || !parsed.T) throw new Error(`opa bench printed no N/T: ${out.slice(0, 200)}`);
      nsPerOp.push(parsed.T / parsed.N);
    });
    return {
      version,
      inputs: nsPerOp.length,
      meanNsPerOp: nsPerOp.reduce((a, b) => a + b, 0) / nsPerOp.length,
      minNsPerOp: Math.min(...nsPerOp),
      maxNsPerOp: Math.max(...nsPerOp),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
