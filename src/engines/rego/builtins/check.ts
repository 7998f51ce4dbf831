import type { WasmPolicy } from "../wasm-instance.js";
import { PolicyKernelError } from "../../../errors.js";
import { HOST_BUILTIN_NAMES, NONDETERMINISTIC_BUILTINS } from "./registry.js";
import { parseRfc3339Ns, type LogicalClock } from "./time.js";

/** A builtin policy.wasm imports that this host will not run, and why. */
export interface BuiltinProblem {
  readonly builtin: string;
  readonly reason: "nondeterministic" | "not_implemented";
  /** What it reads (for a non-deterministic builtin). */
  readonly reads?: string;
}

interface WasmExports {
  builtins(): number;
  opa_json_dump(address: number): number;
}

/** The builtins a loaded module imports from the host (OPA's Wasm implements the rest itself), sorted. */
export function importedBuiltins(policy: WasmPolicy): string[] {
  const instance = policy.wasmInstance as WebAssembly.Instance;
  const exports = instance.exports as unknown as WasmExports;
  const memory = policy.mem as WebAssembly.Memory;
  const address = exports.opa_json_dump(exports.builtins());
  const bytes = new Uint8Array(memory.buffer);
  let end = address;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return Object.keys(JSON.parse(Buffer.from(bytes.subarray(address, end)).toString("utf8")) as Record<string, number>).sort();
}

const HOST = new Set(HOST_BUILTIN_NAMES);

/**
 * Of the builtins a module imports, those this host refuses: non-deterministic, or implemented by
 * no one. Every import is the host's job (OPA's Wasm compiles the rest in), so the SDK's
 * capabilities.json, which lists what its Wasm runtime covers, is no guide here.
 */
export function builtinProblems(imported: readonly string[]): BuiltinProblem[] {
  const problems: BuiltinProblem[] = [];
  for (const builtin of imported) {
    const reads = NONDETERMINISTIC_BUILTINS[builtin];
    if (reads !== undefined) problems.push({ builtin, reason: "nondeterministic", reads });
    else if (!HOST.has(builtin)) problems.push({ builtin, reason: "not_implemented" });
  }
  return problems;
}

/** One sentence per problem, naming the builtin and what to do. */
export function describeBuiltinProblem(problem: BuiltinProblem): string {
  return problem.reason === "nondeterministic"
    ? `${problem.builtin}: non-deterministic (it reads ${problem.reads ?? "the world outside input and data"}): not allowed in a policy the kernel runs; pass what it would fetch in the input or data instead`
    : `${problem.builtin}: OPA's Wasm leaves it to the host and this host does not implement it; rewrite the rule without it (docs/builtins.md lists the builtins implemented)`;
}

/** Refuses at load a module that imports a builtin this host will not run (PolicyKernelError naming each one). */
export function assertBuiltinsImplemented(policy: WasmPolicy, file: string): void {
  const problems = builtinProblems(importedBuiltins(policy));
  if (problems.length === 0) return;
  throw new PolicyKernelError("invalid_bundle", `policy.wasm uses builtins the kernel will not run: ${problems.map(describeBuiltinProblem).join("; ")}`, {
    file,
    expected: "a policy that uses only the builtins in docs/builtins.md",
  });
}

/** A LogicalClock an engine sets before each evaluation from the input's `context.now`. */
export class EvaluationClock implements LogicalClock {
  private current: bigint | undefined;

  /** Sets the time `time.now_ns` returns during the next evaluation (from `context.now`; none: undefined). */
  set(now: unknown): void {
    if (typeof now !== "string") {
      this.current = undefined;
      return;
    }
    const exact = parseRfc3339Ns(now);
    const ms = Date.parse(now);
    this.current = exact ?? (Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n);
  }

  /** The evaluation's time in nanoseconds since the epoch. */
  now(): bigint | undefined {
    return this.current;
  }
}
