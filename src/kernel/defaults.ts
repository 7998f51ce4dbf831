import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let packageRoot: string | undefined;

/** The folder holding this package's package.json, found from this file (works from src/ and dist/). */
export function findPackageRoot(): string {
  if (packageRoot) return packageRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "policy-kernel") {
      packageRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("policy-kernel: cannot find the package root from " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The prebuilt default bundle shipped with the package (built from rego/ by the pinned OPA). */
export function defaultBundlePath(): string {
  return join(findPackageRoot(), "bundle", "default.tar.gz");
}

/** The folder of default JSON rule sets (`rules/*.json`, not its subfolders). */
export function defaultRulesPath(): string {
  return join(findPackageRoot(), "rules");
}

/** Policies of the default Rego library, by package name under `data.policies`. */
export const DEFAULT_REGO_POLICIES = ["business_hours", "cost", "pii", "sql", "tools", "transactions"] as const;

/** Policies of the default JSON rule sets. */
export const DEFAULT_JSON_POLICIES = ["rate_limit", "read_only"] as const;
