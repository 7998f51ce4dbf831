// Types for the functions tests import from build-record.mjs.
interface DepsTerm {
  readonly type: string;
  readonly value: unknown;
}
interface Deps {
  readonly base?: readonly (readonly DepsTerm[])[];
  readonly virtual?: readonly (readonly DepsTerm[])[];
}
type Paths = string[][];
export function inputPathsFromDeps(deps: Deps): Paths | null;
export function modulesSha256(dir: string): string;
export function coversPaths(paths: readonly (readonly string[])[], needed: readonly (readonly string[])[]): boolean;
export function isDataOnlyRule(deps: Deps, entrypoint: string): boolean;
export function dataOnlyPrepares(names: unknown, rawDepsOfEntrypoint: (entrypoint: string) => Deps): string[];
export function buildRecord(options: {
  entrypoints: readonly string[];
  policies: unknown;
  modulesSha256: string;
  rawDeps: (query: string) => Deps;
  depsOf: (query: string) => Paths | null;
}): {
  modules_sha256: string;
  input_paths: Record<string, Paths>;
  whole_input?: string[];
  policy_paths?: Record<string, Paths>;
  split?: { aggregate: string; policies: string; config: string };
  prepare?: string[];
};
