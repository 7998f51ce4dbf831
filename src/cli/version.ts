import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { errorMessage } from "../errors.js";
import { readBundle } from "../engines/rego/bundle.js";
import { defaultBundlePath, findPackageRoot } from "../kernel/defaults.js";

export const VERSION_USAGE = `usage: policy-kernel version [--json]   (or policy-kernel --version / -V: the version alone)
  Prints what a bug report needs: the package version, the shipped default bundle's revision and the
  pinned OPA version it is built with (scripts/opa-version.txt; CI checks the bundle is what that OPA
  builds), and Node's version and platform.
  --json   the same as one JSON object`;

/** What `policy-kernel version` reports. */
export interface VersionInfo {
  readonly version: string;
  readonly bundle: { readonly path: string; readonly revision: string | null; readonly opa: string | null };
  readonly node: string;
  readonly platform: string;
}

/** The package's version, from the package.json found beside the code (as the default bundle is). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(findPackageRoot(), "package.json"), "utf8")) as { version?: unknown };
  return typeof manifest.version === "string" ? manifest.version : "unknown";
}

/** The version, the default bundle's revision and pinned OPA, and the Node runtime; unknown parts are null, never an error. */
export function versionInfo(): VersionInfo {
  const root = findPackageRoot();
  const path = defaultBundlePath();
  let revision: string | null;
  try {
    revision = readBundle(path).manifest.revision || null;
  } catch (error) {
    // A report must still print when the bundle is broken: that is the bug it may be about.
    revision = `unreadable: ${errorMessage(error)}`;
  }
  let opa: string | null;
  try {
    opa = readFileSync(join(root, "scripts", "opa-version.txt"), "utf8").trim() || null;
  } catch {
    opa = null;
  }
  return { version: packageVersion(), bundle: { path: relative(root, path), revision, opa }, node: process.version, platform: `${process.platform} ${process.arch}` };
}

/** The lines `policy-kernel version` prints. */
export function versionText(info: VersionInfo): string {
  const opa = info.bundle.opa === null ? "OPA version not recorded" : `built with OPA ${info.bundle.opa}`;
  return [
    `policy-kernel ${info.version}`,
    `default bundle: ${info.bundle.revision ?? "no revision"} (${info.bundle.path}, ${opa})`,
    `node: ${info.node} (${info.platform})`,
  ].join("\n");
}
