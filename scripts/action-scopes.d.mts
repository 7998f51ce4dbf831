/** Types for scripts/action-scopes.mjs (imported by the tests). */
export interface ParsedModule {
  readonly package?: { readonly path?: readonly unknown[] };
  readonly rules?: readonly unknown[];
}
export function parseModules(opa: string, dir: string): ParsedModule[];
export function actionTypeGuards(modules: readonly ParsedModule[], names: readonly string[]): Record<string, string[] | null>;
export function actionScopes(
  guards: Readonly<Record<string, readonly string[] | null>>,
): { types: Record<string, string[]>; other: string[] } | null;
