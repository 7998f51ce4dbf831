import { readFileSync, readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { PolicyKernelError, fromZodError } from "../errors.js";
import { SeveritySchema, type Decision } from "../schemas.js";
import type { PolicyKernel } from "../kernel/types.js";
import { compareCodeUnits } from "../values.js";

/** What a case expects of a Decision; violations compare as a set of (policy, rule, severity). */
export const ExpectationSchema = z.strictObject({
  allowed: z.boolean(),
  violations: z.array(z.strictObject({ policy: z.string(), rule: z.string(), severity: SeveritySchema })).default([]),
  signals: z.array(z.string()).optional(),
});

/** One data-driven decision test, as in Cedar's integration tests. */
export const DecisionCaseSchema = z.strictObject({
  description: z.string().min(1),
  input: z.unknown(),
  /** Logical time for the decision (overrides `input.context.now`). */
  now: z.string().optional(),
  expect: ExpectationSchema,
});
/** A decision case as loaded, with the file it came from and its index in that file (for reports). */
export type DecisionCase = z.infer<typeof DecisionCaseSchema> & { readonly file: string; readonly index: number };

const CaseFileSchema = z.union([z.array(DecisionCaseSchema), z.strictObject({ cases: z.array(DecisionCaseSchema) }), DecisionCaseSchema]);

const CASE_EXTENSIONS = new Set([".json", ".yaml", ".yml"]);

/** Loads case files; a folder contributes its .json/.yaml/.yml files (recursively, sorted). */
export function loadDecisionCases(paths: readonly string[]): DecisionCase[] {
  return expandPaths(paths).flatMap(loadCaseFile);
}

function expandPaths(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      throw new PolicyKernelError("io_error", "no such file or folder", { file: path });
    }
    if (!isDirectory) files.push(path);
    else {
      const entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => compareCodeUnits(a.name, b.name));
      files.push(...expandPaths(entries.filter((e) => e.isDirectory() || CASE_EXTENSIONS.has(extname(e.name))).map((e) => join(path, e.name))));
    }
  }
  return files;
}

function loadCaseFile(file: string): DecisionCase[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new PolicyKernelError("io_error", `cannot read case file (${(error as NodeJS.ErrnoException).code ?? "error"})`, { file });
  }
  let raw: unknown;
  try {
    raw = extname(file) === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new PolicyKernelError("invalid_case_file", `cannot parse (${(error as Error).message.split("\n")[0]})`, { file, expected: "JSON or YAML" });
  }
  const parsed = CaseFileSchema.safeParse(raw);
  if (!parsed.success) {
    // Re-validate as a list to point at the exact case and field rather than "invalid union".
    const asList = z.array(DecisionCaseSchema).safeParse(Array.isArray(raw) ? raw : (raw as { cases?: unknown })?.cases ?? [raw]);
    throw fromZodError("invalid_case_file", asList.success ? parsed.error : asList.error, { file, root: Array.isArray(raw) ? "" : "cases" });
  }
  const list = Array.isArray(parsed.data) ? parsed.data : "cases" in parsed.data ? parsed.data.cases : [parsed.data];
  return list.map((item, index) => ({ ...item, file, index }));
}

/** The outcome of one case; `diff` lists expected (-) and actual (+) lines when it failed. */
export interface CaseResult {
  readonly case: DecisionCase;
  readonly passed: boolean;
  readonly diff: readonly string[];
  readonly decision: Decision;
}

/** Runs every case against the kernel, in order. */
export async function runDecisionCases(kernel: PolicyKernel, cases: readonly DecisionCase[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const item of cases) {
    const decision = await kernel.evaluateUntrusted(item.input, item.now ? { now: item.now } : {});
    const diff = diffDecision(item.expect, decision);
    results.push({ case: item, passed: diff.length === 0, diff, decision });
  }
  return results;
}

type Expectation = z.infer<typeof ExpectationSchema>;

function diffDecision(expect: Expectation, decision: Decision): string[] {
  const lines: string[] = [];
  if (expect.allowed !== decision.allowed) lines.push(`- allowed: ${expect.allowed}`, `+ allowed: ${decision.allowed}`);
  const expected = expect.violations.map(key).sort();
  const actual = decision.violations.map(key).sort();
  for (const line of expected.filter((k) => !actual.includes(k))) lines.push(`- violation ${line}`);
  for (const line of actual.filter((k) => !expected.includes(k))) {
    const full = decision.violations.find((v) => key(v) === line);
    lines.push(`+ violation ${line}${full ? ` — ${full.description}` : ""}`);
  }
  if (expect.signals) {
    const want = [...expect.signals].sort().join(",");
    const got = decision.signals.join(",");
    if (want !== got) lines.push(`- signals: [${want}]`, `+ signals: [${got}]`);
  }
  return lines;
}

function key(v: { policy: string; rule: string; severity: string }): string {
  return `${v.policy}/${v.rule} (${v.severity})`;
}
