import type { PolicyBundle } from "../../engines/rego/bundle.js";
import { assertBindingFeeds } from "./check.js";
import { entrypointInputPaths, type EntrypointPathsOptions } from "./entrypoint-paths.js";
import { loadInputBinding } from "./load.js";
import type { InputBinding } from "./schema.js";

/**
 * Loads a binding file for `entrypoints` of `bundle` and refuses it, at load, when a policy could
 * never see what it reads: the one call a kernel makes before it evaluates bound actions.
 */
export function loadCheckedBinding(file: string, bundle: PolicyBundle, entrypoints: readonly string[], options: EntrypointPathsOptions = {}): InputBinding {
  const binding = loadInputBinding(file);
  assertBindingFeeds(binding, entrypointInputPaths(bundle, entrypoints, options), file);
  return binding;
}
