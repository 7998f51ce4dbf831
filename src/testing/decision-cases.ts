import { readFileSync, readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { PolicyKernelError, issuePath } from "../errors.js";
import type { Decision } from "../schemas.js";
import type { PolicyKernel } from "../kernel/types.js";
import { compareCodeUnits } from "../values.js";
import { ExpectationSchema, diffDecision } from "./case-expectations.js";

export { ExpectationSchema } from "./case-expectations.js";

/** One data-driven decision test, as in Cedar's integration tests. */
export const DecisionCaseSchema = z.strictObject({
  description: z.string().min(1),
  input: z.unknown(),
  /** Logical time for the decision (overrides `input.context.now`). */
  now: z.string().optional(),
  expect: ExpectationSchema,
});
/** A decision case as loaded, with the file it came from and its zero-based index in that file (reports say `index + 1`). */
export type DecisionCase = z.infer<typeof DecisionCaseSchema> & { readonly file: string; readonly index: number };

const CASE_EXTENSIONS = [".json", ".yaml", ".yml"];
/** A case file larger than this is refused before it is read: a test file that size is a mistake, not a test. */
export const MAX_CASE_FILE_BYTES = 8 * 1024 * 1024;
// One bad generated file can hold thousands of problems; the first ones say what is wrong.
const MAX_PROBLEMS_SHOWN = 50;
const FILE_SHAPE = "a case, a list of cases or {cases: [...]}, each {description, input, now?, expect: {allowed, violations? | includes?, signals?}}";

/**
 * Loads case files; a folder contributes its .json/.yaml/.yml files (recursively, sorted). Every
 * problem in every file is reported at once, in one PolicyKernelError; case numbers are one-based.
 */
export function loadDecisionCases(paths: readonly string[]): DecisionCase[] {
  const problems: string[] = [];
  const cases: DecisionCase[] = [];
  for (const file of expandPaths(paths)) {
    const loaded = loadCaseFile(file);
    if (Array.isArray(loaded)) cases.push(...loaded);
    else problems.push(...loaded.problems.map((problem) => `${file}: ${problem}`));
  }
  if (problems.length === 1) throw new PolicyKernelError("invalid_case_file", problems[0]!);
  if (problems.length > 1) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((problem) => `\n  ${problem}`).join("");
    const more = problems.length > MAX_PROBLEMS_SHOWN ? `\n  (+${problems.length - MAX_PROBLEMS_SHOWN} more)` : "";
    throw new PolicyKernelError("invalid_case_file", `${problems.length} problems in the case files:${shown}${more}`);
  }
  return cases;
}

function expandPaths(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    if (!isFolder(path)) {
      files.push(path);
      continue;
    }
    const found = caseFilesUnder(path);
    if (found.length === 0) {
      throw new PolicyKernelError("invalid_case_file", `no case files in this folder (nothing named *${CASE_EXTENSIONS.join(", *")}, at any depth)`, {
        file: path,
        expected: `case files in JSON or YAML: ${FILE_SHAPE}`,
      });
    }
    files.push(...found);
  }
  return files;
}

function caseFilesUnder(folder: string): string[] {
  const entries = readdirSync(folder, { withFileTypes: true }).sort((a, b) => compareCodeUnits(a.name, b.name));
  return entries.flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return caseFilesUnder(path);
    return CASE_EXTENSIONS.includes(extname(entry.name)) ? [path] : [];
  });
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    throw new PolicyKernelError("io_error", "no such file or folder", { file: path });
  }
}

/** The file's cases, or every problem found in it (each without the file name). */
function loadCaseFile(file: string): DecisionCase[] | { problems: string[] } {
  const size = statSync(file).size;
  if (size > MAX_CASE_FILE_BYTES) {
    return { problems: [`${size} bytes is over the ${MAX_CASE_FILE_BYTES}-byte limit of a case file; split it into several files`] };
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return { problems: [`cannot read case file (${(error as NodeJS.ErrnoException).code ?? "error"})`] };
  }
  let raw: unknown;
  try {
    raw = extname(file) === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    return { problems: [`cannot parse as ${extname(file) === ".json" ? "JSON" : "YAML"} (${(error as Error).message.split("\n")[0]})`] };
  }
  const listed = caseList(raw);
  if ("problem" in listed) return { problems: [`${listed.problem} (expected ${FILE_SHAPE})`] };
  const { items } = listed;
  if (items.length === 0) return { problems: [`no cases in this file (expected ${FILE_SHAPE})`] };
  const problems: string[] = [];
  const cases: DecisionCase[] = [];
  items.forEach((item, index) => {
    const parsed = DecisionCaseSchema.safeParse(item);
    if (parsed.success) {
      cases.push({ ...parsed.data, file, index });
      return;
    }
    const name = caseName(item, index);
    for (const issue of parsed.error.issues) {
      const where = issue.path.length > 0 ? `${issuePath(issue.path)}: ` : "";
      problems.push(`${name}: ${where}${issue.message.replace(/^Invalid input: expected (\w+), received undefined$/, "missing (expected $1)")}`);
    }
  });
  return problems.length > 0 ? { problems } : cases;
}

/** The cases a parsed file holds, by its shape. */
function caseList(raw: unknown): { items: readonly unknown[] } | { problem: string } {
  if (Array.isArray(raw)) return { items: raw };
  if (raw === null || raw === undefined) return { problem: "the file is empty" };
  if (typeof raw !== "object") return { problem: `the file holds a ${typeof raw}` };
  if (Object.hasOwn(raw, "cases")) {
    const cases = (raw as { cases: unknown }).cases;
    if (!Array.isArray(cases)) return { problem: `cases: is ${cases === null ? "null" : typeof cases}, not a list` };
    const others = Object.keys(raw).filter((key) => key !== "cases");
    if (others.length > 0) return { problem: `unknown key${others.length > 1 ? "s" : ""} ${others.map((k) => JSON.stringify(k)).join(", ")} beside cases:` };
    return { items: cases };
  }
  return { items: [raw] };
}

/** "case 3 (its description)": one-based, as people count; the description when it is a string. */
function caseName(item: unknown, index: number): string {
  const description = item !== null && typeof item === "object" && typeof (item as { description?: unknown }).description === "string" ? (item as { description: string }).description : "";
  const label = `case ${index + 1}`;
  return description ? `${label} (${JSON.stringify(description.length > 60 ? `${description.slice(0, 57)}...` : description)})` : label;
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
