import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { buildCorpusBundle, expectedDecision, expectedFromOpa, loadCorpus, type CorpusPolicy, type ExpectedDecision } from "../helpers/opa-corpus.js";

// The library (createPolicyKernel({opa, rawInput}) + evaluateInput) and the acceptance contract, as
// a policy team runs it: `policy-kernel eval --bundle B --entrypoint
// PKG/RULE ... --raw-input --input F` on every input of the corpus, against `opa eval` of the pinned
// OPA on the same files. Exit 0 allowed, 2 denied; each message (or Gatekeeper msg) is a violation's
// description with the severity METADATA (or the convention's default) gives.
const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "dist", "src", "cli", "main.js");
const run = promisify(execFile);

interface CliDecision {
  allowed: boolean;
  violations: { description: string; severity: string; blocked: boolean }[];
}

async function evalCli(bundle: string, policy: CorpusPolicy, input: unknown): Promise<{ code: number; decision: CliDecision }> {
  const file = join(mkdtempSync(join(tmpdir(), "pk-corpus-in-")), "input.json");
  writeFileSync(file, JSON.stringify(input));
  const args = [cli, "eval", "--bundle", bundle, ...policy.entrypoints.flatMap((e) => ["--entrypoint", e.path]), "--raw-input", "--input", file];
  try {
    const { stdout } = await run(process.execPath, args, { encoding: "utf8" });
    return { code: 0, decision: JSON.parse(stdout) as CliDecision };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (failed.code !== 2) throw new Error(`eval exited ${failed.code}: ${failed.stderr}`, { cause: error });
    return { code: 2, decision: JSON.parse(failed.stdout ?? "") as CliDecision };
  }
}

const corpus = loadCorpus();

/** The decision against what the conventions make of OPA's answers: allowed, each message, its severity. */
function expectDecision(decision: CliDecision, expected: ExpectedDecision, where: string): void {
  expect(decision.allowed, where).toBe(expected.allowed);
  expect(decision.violations.length, where).toBe(expected.messages.length + expected.falseBooleans.length);
  const messages = new Set(expected.messages.map((m) => m.description));
  const got = decision.violations
    .filter((v) => messages.has(v.description))
    .map(({ description, severity, blocked }) => ({ description, severity, blocked }))
    .sort((a, b) => (a.description < b.description ? -1 : a.description > b.description ? 1 : 0));
  expect(got, where).toEqual(expected.messages);
}

describe("the bring-your-own-OPA corpus through the library and the CLI, against opa eval", () => {
  it("has at least 20 policies, each with several inputs", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(20);
    for (const policy of corpus) expect(policy.inputs.length, policy.name).toBeGreaterThanOrEqual(2);
  });

  for (const policy of corpus) {
    it(`decides ${policy.name} as OPA does (${policy.inputs.length} inputs)`, async () => {
      const bundle = buildCorpusBundle(policy);
      const answers = expectedFromOpa(policy);
      const kernel = await createPolicyKernel({ opa: [{ bundle, entrypoints: policy.entrypoints.map((e) => e.path) }], rawInput: true });
      try {
        for (const [index, input] of policy.inputs.entries()) {
          const expected = expectedDecision(policy, answers[index]!);
          const where = `${policy.name} input ${index + 1}`;
          expectDecision((await kernel.evaluateInput!(input)) as CliDecision, expected, `${where} (library)`);
          const { code, decision } = await evalCli(bundle, policy, input);
          expect(code, where).toBe(expected.allowed ? 0 : 2);
          expectDecision(decision, expected, `${where} (CLI)`);
        }
      } finally {
        kernel.close();
      }
    }, 120_000);
  }
});
