import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

/** Path of the pinned OPA binary (installed on first use by scripts/ensure-opa.sh). */
export function opaPath(): string {
  return execFileSync("bash", [join(root, "scripts", "ensure-opa.sh")], { encoding: "utf8" }).trim();
}

/** Builds a Wasm bundle from a fixture folder with the real OPA compiler; returns the .tar.gz path. */
export function buildFixtureBundle(
  sourceDir: string,
  options: { entrypoint: string; capabilities?: object; revision?: string },
): string {
  const out = mkdtempSync(join(tmpdir(), "pk-bundle-"));
  const args = ["build", "-t", "wasm", "-e", options.entrypoint, "-o", join(out, "bundle.tar.gz"), "-r", options.revision ?? "fixture"];
  if (options.capabilities) {
    const caps = join(out, "capabilities.json");
    writeFileSync(caps, JSON.stringify(options.capabilities));
    args.push("--capabilities", caps);
  }
  execFileSync(opaPath(), [...args, sourceDir], { cwd: out, stdio: ["ignore", "pipe", "pipe"] });
  return join(out, "bundle.tar.gz");
}

/** OPA's own capabilities for its version, to extend with a custom builtin declaration. */
export function currentCapabilities(): { builtins: object[] } & Record<string, unknown> {
  return JSON.parse(execFileSync(opaPath(), ["capabilities", "--current"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }));
}
