import { readFileSync, readdirSync, statSync } from "node:fs";
import { ONCE } from "../../schemas.js";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { sha256Hex } from "../../canonical-json.js";
import { PolicyKernelError, fromZodError } from "../../errors.js";
import { readTarGz, type TarFile } from "./tar.js";
import { compareCodeUnits, isPlainObject } from "../../values.js";

const ManifestSchema = z.looseObject({
  revision: z.string().default(""),
  roots: z.array(z.string()).optional(),
  wasm: z.array(z.object({ entrypoint: z.string(), module: z.string() })).optional(),
});
export type BundleManifest = z.infer<typeof ManifestSchema>;

/** A standard OPA bundle in memory: `/policy.wasm`, `/data.json`, `/.manifest`. */
export interface PolicyBundle {
  /** Where it was read from, for error messages. */
  readonly location: string;
  readonly manifest: BundleManifest;
  readonly wasm: Uint8Array<ArrayBuffer>;
  /** `wasm`, compiled. */
  readonly module: WebAssembly.Module;
  readonly data: Record<string, unknown>;
  /** SHA-256 of the archive bytes, or of the bundle files (sorted path + bytes) for a folder. */
  readonly sha256: string;
  /** SHA-256 of the bundle's Rego modules (hashFiles over the `.rego` files); null when it holds none. */
  readonly modulesSha256: string | null;
}

/** `data.policy_kernel`, the kernel's own section of policy data (policy list, config, switches), or {}. */
export function kernelSection(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const section = data["policy_kernel"];
  return isPlainObject(section) ? section : {};
}

/** Reads a bundle from a `.tar.gz` file or an unpacked bundle folder, validating every part. */
export function readBundle(location: string): PolicyBundle {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(location).isDirectory();
  } catch (error) {
    throw new PolicyKernelError("invalid_bundle", `cannot read bundle (${(error as NodeJS.ErrnoException).code ?? "error"})`, {
      file: location,
      expected: "a bundle .tar.gz file or an unpacked bundle folder",
    });
  }
  if (isDirectory) {
    const files = readFolder(location);
    return parseBundleFiles(files, location, hashFiles(files));
  }
  const archive = readBytes(location);
  return parseBundleFiles(readTarGz(archive, location), location, sha256Hex(archive));
}

/** Builds a PolicyBundle from the files of an archive or folder. */
function parseBundleFiles(files: readonly TarFile[], location: string, sha256: string): PolicyBundle {
  const byPath = new Map(files.map((file) => [file.path, file.bytes]));
  const manifest = parseManifest(byPath.get("/.manifest"), location);
  const modulePath = manifest.wasm?.[0]?.module ?? "/policy.wasm";
  const wasmBytes = byPath.get(modulePath);
  if (!wasmBytes) {
    throw new PolicyKernelError("invalid_bundle", `no ${modulePath} in the bundle`, {
      file: location,
      expected: "a bundle built with `opa build -t wasm`",
    });
  }
  // A private copy: the Wasm runtime wants a plain ArrayBuffer, and callers may reuse theirs.
  const wasm = new Uint8Array(wasmBytes);
  // Compiled here, once: this is the check that the bytes are a module, and the Rego engine
  // instantiates the result instead of compiling (and so validating) the bytes again.
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(wasm);
  } catch {
    throw new PolicyKernelError("invalid_bundle", `${modulePath} is not a valid WebAssembly module (truncated or corrupt)`, {
      file: location,
      expected: "the policy.wasm that `opa build -t wasm` wrote",
    });
  }
  const modules = files.filter((file) => file.path.endsWith(".rego"));
  const modulesSha256 = modules.length === 0 ? null : hashFiles([...modules].sort((a, b) => compareCodeUnits(a.path, b.path)));
  return { location, manifest, wasm, module, data: mergeDataFiles(files, location), sha256, modulesSha256 };
}

function parseManifest(bytes: Uint8Array | undefined, location: string): BundleManifest {
  if (!bytes) return ManifestSchema.parse({});
  const json = parseJson(bytes, `${location}:/.manifest`);
  const result = ManifestSchema.safeParse(json, ONCE);
  if (!result.success) throw fromZodError("invalid_bundle", result.error, { file: `${location}:/.manifest` });
  return result.data;
}

/** Data files merge at the path of their folder, as OPA does (`/a/b/data.json` → data.a.b). */
function mergeDataFiles(files: readonly TarFile[], location: string): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const dataFiles = files.filter((file) => /(^|\/)data\.json$/.test(file.path)).sort((a, b) => compareCodeUnits(a.path, b.path));
  for (const file of dataFiles) {
    const value = parseJson(file.bytes, `${location}:${file.path}`);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new PolicyKernelError("invalid_bundle", "data file is not a JSON object", { file: `${location}:${file.path}`, expected: "a JSON object" });
    }
    const segments = file.path.split("/").slice(1, -1);
    let target = data;
    for (const segment of segments) {
      const next = target[segment];
      target = (next && typeof next === "object" ? next : (target[segment] = {})) as Record<string, unknown>;
    }
    Object.assign(target, value);
  }
  return data;
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new PolicyKernelError("invalid_bundle", `invalid JSON (${(error as Error).message})`, { file, expected: "valid JSON" });
  }
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new PolicyKernelError("invalid_bundle", `cannot read bundle (${(error as NodeJS.ErrnoException).code ?? "error"})`, { file: path });
  }
}

function readFolder(root: string): TarFile[] {
  const files: TarFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) files.push({ path: `/${relative(root, full).split(sep).join("/")}`, bytes: readFileSync(full) });
    }
  };
  walk(root);
  // Code-unit order: the folder hash (bundleSha256) must not depend on the host locale.
  return files.sort((a, b) => compareCodeUnits(a.path, b.path));
}

/**
 * SHA-256 over each file's path, length and bytes, in the given order. scripts/build-record.mjs
 * computes the same over a built bundle's modules: keep the two in step.
 */
function hashFiles(files: readonly TarFile[]): string {
  const parts: Uint8Array[] = [];
  for (const file of files) parts.push(Buffer.from(`${file.path}\0${file.bytes.length}\0`), file.bytes);
  return sha256Hex(Buffer.concat(parts));
}
