import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { opaPath } from "./opa.js";

/**
 * The bring-your-own-OPA corpus (test/fixtures/opa-corpus/): policies written in the conventions teams
 * use, and raw inputs for each. What OPA decides is never recorded by hand: `expectedFromOpa` runs
 * `opa eval` of the pinned OPA on every input, and `expectedDecision` turns its answers into what the
 * kernel must decide, by the documented conventions.
 */
export const CORPUS_DIR = join(import.meta.dirname, "..", "fixtures", "opa-corpus");

export interface CorpusEntrypoint {
  readonly path: string;
  /** The severity the kernel must report for this entrypoint's violations (METADATA, else the convention's default). */
  readonly severity: string;
}

export interface CorpusPolicy {
  readonly name: string;
  readonly entrypoints: readonly CorpusEntrypoint[];
  readonly inputs: readonly unknown[];
}

/** The corpus as listed in corpus.yaml. */
export function loadCorpus(): CorpusPolicy[] {
  const raw = parseYaml(readFileSync(join(CORPUS_DIR, "corpus.yaml"), "utf8")) as { name: string; entrypoints: (string | CorpusEntrypoint)[]; inputs: unknown[] }[];
  return raw.map((p) => ({
    name: p.name,
    inputs: p.inputs,
    entrypoints: p.entrypoints.map((e) => (typeof e === "string" ? { path: e, severity: defaultSeverity(e) } : e)),
  }));
}

/** The convention an entrypoint follows, from its rule name (allow*: boolean; warn*: warnings; else messages). */
export function conventionOf(entrypoint: string): "boolean" | "warn" | "deny" {
  const rule = entrypoint.split("/").at(-1)!;
  if (rule.startsWith("allow")) return "boolean";
  if (rule === "warn" || rule.startsWith("warn_")) return "warn";
  return "deny";
}

function defaultSeverity(entrypoint: string): string {
  return conventionOf(entrypoint) === "warn" ? "medium" : "high";
}

/** Builds the policy's folder into a Wasm bundle with every entrypoint, with the pinned OPA. */
export function buildCorpusBundle(policy: CorpusPolicy): string {
  const out = join(mkdtempSync(join(tmpdir(), `pk-corpus-${policy.name}-`)), "bundle.tar.gz");
  const args = ["build", "-t", "wasm", ...policy.entrypoints.flatMap((e) => ["-e", e.path]), "-o", out, "-r", `corpus-${policy.name}`, join(CORPUS_DIR, policy.name)];
  execFileSync(opaPath(), args, { stdio: ["ignore", "pipe", "pipe"] });
  return out;
}

/** OPA's value of each entrypoint on each input (undefined: no value), one `opa eval` per entrypoint. */
export function expectedFromOpa(policy: CorpusPolicy): Record<string, unknown>[] {
  const folder = mkdtempSync(join(tmpdir(), `pk-corpus-eval-${policy.name}-`));
  const inputFile = join(folder, "inputs.json");
  writeFileSync(inputFile, JSON.stringify(policy.inputs));
  const perInput: Record<string, unknown>[] = policy.inputs.map(() => ({}));
  for (const entrypoint of policy.entrypoints) {
    const ref = `data.${entrypoint.path.replaceAll("/", ".")}`;
    // Every input in one evaluation: an object from input index to the entrypoint's value.
    const query = `{i: v | some i, c in input; v := ${ref} with input as c}`;
    const out = execFileSync(opaPath(), ["eval", "-d", join(CORPUS_DIR, policy.name), "-i", inputFile, "--format", "json", query], { encoding: "utf8" });
    const value = (JSON.parse(out) as { result: { expressions: { value: Record<string, unknown> }[] }[] }).result[0]!.expressions[0]!.value;
    for (const [index, v] of Object.entries(value)) perInput[Number(index)]![entrypoint.path] = v;
  }
  return perInput;
}

/** What the kernel must decide, by the conventions: blocking messages, warnings, boolean decisions. */
export interface ExpectedDecision {
  readonly allowed: boolean;
  /** Each message as OPA wrote it (deny/violation/warn), with its severity and whether it blocks; sorted. */
  readonly messages: readonly { description: string; severity: string; blocked: boolean }[];
  /** Boolean entrypoints that were not true (one violation each). */
  readonly falseBooleans: readonly string[];
}

/** The Decision the conventions give for OPA's answers on one input. */
export function expectedDecision(policy: CorpusPolicy, answers: Record<string, unknown>): ExpectedDecision {
  const messages: { description: string; severity: string; blocked: boolean }[] = [];
  const falseBooleans: string[] = [];
  for (const entrypoint of policy.entrypoints) {
    const value = answers[entrypoint.path];
    const convention = conventionOf(entrypoint.path);
    if (convention === "boolean") {
      if (value !== true) falseBooleans.push(entrypoint.path);
      continue;
    }
    for (const item of (value ?? []) as unknown[]) {
      const message = typeof item === "string" ? item : String((item as { msg: unknown }).msg);
      messages.push({ description: message, severity: entrypoint.severity, blocked: convention !== "warn" });
    }
  }
  messages.sort((a, b) => (a.description < b.description ? -1 : a.description > b.description ? 1 : 0));
  return { allowed: falseBooleans.length === 0 && messages.every((m) => !m.blocked), messages, falseBooleans };
}
