import { PolicyKernelError } from "../../errors.js";
import type { InputPaths } from "../../engines/rego/projection-tree.js";
import { isPlainObject } from "../../values.js";
import { describeWhen, isTemplateLeaf, type BindingWhen, type InputBinding, type TemplateNode } from "./schema.js";

/** One path of the input a binding gives; `opaque` when it is copied from the action (anything below it may be there). */
export interface GivenPath {
  readonly path: readonly string[];
  readonly opaque: boolean;
}

/** A binding under which an entrypoint can never see part of what it reads. */
export interface BindingProblem {
  /** The entrypoint, such as httpapi/authz/allow. */
  readonly entrypoint: string;
  /** The binding that does not feed it. */
  readonly when: BindingWhen;
  /** Every input path the entrypoint reads, dotted (input.path). */
  readonly reads: readonly string[];
  /** Every input path the binding gives, dotted. */
  readonly gives: readonly string[];
  /** What it reads and the binding never gives. */
  readonly missing: readonly string[];
  /** All of it in one sentence. */
  readonly message: string;
}

/** The input paths a template gives: each `from` (opaque) and each literal's own paths. */
export function givenPaths(node: TemplateNode): GivenPath[] {
  const out: GivenPath[] = [];
  const walk = (current: TemplateNode, path: readonly string[]): void => {
    if (!isTemplateLeaf(current)) {
      for (const [key, child] of Object.entries(current)) walk(child, [...path, key]);
      return;
    }
    if (current.from !== undefined) out.push({ path, opaque: true });
    else literalPaths(current.value, path, out);
  };
  walk(node, []);
  return out;
}

function literalPaths(value: unknown, path: readonly string[], out: GivenPath[]): void {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) literalPaths(child, [...path, key], out);
  } else out.push({ path, opaque: false });
}

/**
 * True when a policy reading `read` can see something the binding gives: a given path at or above
 * it that is copied from the action (or is exactly it), or a given path below it.
 */
function feeds(given: readonly GivenPath[], read: readonly string[]): boolean {
  return given.some(({ path, opaque }) => {
    const shared = Math.min(path.length, read.length);
    for (let i = 0; i < shared; i++) if (path[i] !== read[i]) return false;
    return path.length >= read.length || opaque;
  });
}

/**
 * The problems of a binding against what each entrypoint reads (`null`: the whole input, which any
 * binding feeds): every binding must give every path every entrypoint reads, or mark it optional
 * in the template. An empty list means the binding can feed each entrypoint.
 */
export function checkBinding(binding: InputBinding, entrypointPaths: Readonly<Record<string, InputPaths | null>>): BindingProblem[] {
  const problems: BindingProblem[] = [];
  for (const entrypoint of Object.keys(entrypointPaths).sort()) {
    const reads = entrypointPaths[entrypoint];
    if (reads === null || reads === undefined) continue;
    for (const rule of binding.bindings) {
      const given = givenPaths(rule.input);
      const missing = reads.filter((read) => !feeds(given, read));
      if (missing.length === 0) continue;
      const dotted = (paths: readonly (readonly string[])[]): string[] => paths.map((path) => ["input", ...path].join("."));
      const gives = dotted(given.map((each) => each.path));
      const problem = {
        entrypoint,
        when: rule.when,
        reads: dotted(reads),
        gives,
        missing: dotted(missing),
      };
      const givesText = gives.length === 0 ? "nothing" : gives.join(", ");
      problems.push({
        ...problem,
        message: `${entrypoint} reads ${problem.reads.join(", ")}; the binding for ${describeWhen(rule.when)} gives ${givesText}, never ${problem.missing.join(", ")}`,
      });
    }
  }
  return problems;
}

/**
 * Refuses, at load, a binding under which an entrypoint can never see its input (see checkBinding):
 * a PolicyKernelError naming each entrypoint, the paths it reads and what the binding gives.
 */
export function assertBindingFeeds(binding: InputBinding, entrypointPaths: Readonly<Record<string, InputPaths | null>>, file?: string): void {
  const problems = checkBinding(binding, entrypointPaths);
  if (problems.length === 0) return;
  throw new PolicyKernelError("invalid_config", `the input binding cannot feed the policy: ${problems.map((problem) => problem.message).join("; ")}`, {
    file,
    expected: "a binding that gives every input path each entrypoint reads; add the missing paths to each binding's input, with optional: true where the action may lack them",
  });
}
