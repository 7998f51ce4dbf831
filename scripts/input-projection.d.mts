// Types for the functions tests import from input-projection.mjs.
interface DepsTerm {
  readonly type: string;
  readonly value: unknown;
}
export function inputPathsFromDeps(deps: { readonly base?: readonly (readonly DepsTerm[])[] }): string[][] | null;
export function modulesSha256(dir: string): string;
export function coversPaths(paths: readonly (readonly string[])[], needed: readonly (readonly string[])[]): boolean;
export function isDataOnlyRule(deps: { readonly base?: readonly (readonly DepsTerm[])[]; readonly virtual?: readonly (readonly DepsTerm[])[] }, entrypoint: string): boolean;
export function dataOnlyPrepares(
  names: unknown,
  depsOf: (entrypoint: string) => { readonly base?: readonly (readonly DepsTerm[])[]; readonly virtual?: readonly (readonly DepsTerm[])[] },
): string[];
