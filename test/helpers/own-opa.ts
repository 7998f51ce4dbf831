import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { opaPath } from "./opa.js";

/** A folder of Rego sources (and data.json) and the Wasm bundle the pinned OPA built from it. */
export interface OwnOpaBundle {
  readonly dir: string;
  readonly bundle: string;
}

/** Writes `files` (path → text) to a fresh folder and builds it with `opa build -t wasm -e ...` for each entrypoint. */
export function buildOwnBundle(files: Readonly<Record<string, string>>, entrypoints: readonly string[], capabilities?: object): OwnOpaBundle {
  const root = mkdtempSync(join(tmpdir(), "pk-own-opa-"));
  const dir = join(root, "src");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const bundle = join(root, "bundle.tar.gz");
  const caps = join(root, "capabilities.json");
  if (capabilities) writeFileSync(caps, JSON.stringify(capabilities));
  execFileSync(opaPath(), ["build", "-t", "wasm", ...entrypoints.flatMap((e) => ["-e", e]), ...(capabilities ? ["--capabilities", caps] : []), "-o", bundle, dir], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  return { dir, bundle };
}

/**
 * What `opa eval` of the pinned OPA gives for `data.<package path>` on `input`: the package's
 * document, each rule's value as OPA computes it (a rule that is undefined is absent).
 */
export function opaEvalPackage(dir: string, pkg: string, input: unknown): Record<string, unknown> {
  const scratch = mkdtempSync(join(tmpdir(), "pk-opa-eval-"));
  const inputFile = join(scratch, "input.json");
  writeFileSync(inputFile, JSON.stringify(input));
  const out = execFileSync(opaPath(), ["eval", "-d", dir, "-i", inputFile, `data.${pkg}`, "--format", "json"], { encoding: "utf8" });
  const parsed = JSON.parse(out) as { result?: { expressions: { value: Record<string, unknown> }[] }[] };
  return parsed.result?.[0]?.expressions[0]?.value ?? {};
}

/** `opa inspect -a --format json` of a folder: its annotations. */
export function opaInspectAnnotations(dir: string): { annotations: Record<string, unknown>; location: { file: string; row: number } }[] {
  const out = execFileSync(opaPath(), ["inspect", "-a", "--format", "json", dir], { encoding: "utf8" });
  return (JSON.parse(out) as { annotations?: never[] }).annotations ?? [];
}
