import { lstatSync, readFileSync, readdirSync, statSync } from "node:fs";
import { constants as bufferConstants } from "node:buffer";
import { ONCE } from "../../schemas.js";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { sha256Hex } from "../../canonical-json.js";
import { PolicyKernelError, fromZodError } from "../../errors.js";
import { checkEntryLimits, readTarGz, type TarFile, type TarLimits } from "./tar.js";
import { compareCodeUnits, isPlainObject } from "../../values.js";
import { getOwn, isForbiddenKey, parseUntrustedJson, setOwn } from "../../safe-json.js";
import { assertNotSigned } from "./bundle-signature.js";

const MiB = 1024 * 1024;

/** Caps on a bundle's size; defaults fit the shipped bundle (10 files, 210 KB) many times over. */
export const BundleLimitsSchema = z.strictObject({
  /** Bytes of the archive once decompressed, or of a folder's files together (default 64 MiB). */
  maxBytes: z.number().int().min(1).max(bufferConstants.MAX_LENGTH).optional(),
  /** Regular files (default 10,000). */
  maxFiles: z.number().int().min(1).optional(),
  /** Bytes of any one file (default 32 MiB). */
  maxFileBytes: z.number().int().min(1).max(bufferConstants.MAX_LENGTH).optional(),
});
export type BundleLimits = z.input<typeof BundleLimitsSchema>;

/** The caps readBundle applies when not told otherwise. */
export const DEFAULT_BUNDLE_LIMITS: Readonly<Required<BundleLimits>> = Object.freeze({ maxBytes: 64 * MiB, maxFiles: 10_000, maxFileBytes: 32 * MiB });

const ManifestSchema = z.looseObject({
  revision: z.string().default(""),
  roots: z.array(z.string()).optional(),
  // `annotations`: the METADATA of the rules compiled into the module, which `opa build -t wasm` moves here.
  wasm: z.array(z.object({ entrypoint: z.string(), module: z.string(), annotations: z.array(z.unknown()).optional() })).optional(),
});
export type BundleManifest = z.infer<typeof ManifestSchema>;

/** A standard OPA bundle in memory: `/policy.wasm`, `/data.json`, `/.manifest`. */
export interface PolicyBundle {
  /** Where it was read from, for error messages. */
  readonly location: string;
  readonly manifest: BundleManifest;
  readonly wasm: Uint8Array<ArrayBuffer>;
  /**
   * `wasm`, compiled: a `WebAssembly.Module`, typed opaquely so the package's declarations
   * compile in a project whose TypeScript libs have no WebAssembly types (no DOM lib).
   */
  readonly module: object;
  readonly data: Record<string, unknown>;
  /** SHA-256 of the archive bytes, or of the bundle files (sorted path + bytes) for a folder. */
  readonly sha256: string;
  /** SHA-256 of the bundle's Rego modules (hashFiles over the `.rego` files); null when it holds none. */
  readonly modulesSha256: string | null;
  /** The bundle's Rego sources (`opa build` ships them), read for their METADATA annotations. */
  readonly regoModules?: readonly { readonly path: string; readonly text: string }[];
}

/** `data.policy_kernel`, the kernel's own section of policy data (policy list, config, switches), or {}. */
export function kernelSection(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const section = data["policy_kernel"];
  return isPlainObject(section) ? section : {};
}

/**
 * Reads an unsigned bundle from the bytes of a `.tar.gz` archive (one downloaded from a bundle
 * service), validated exactly as readBundle validates a file: the same caps, paths, manifest and
 * Wasm checks. A signed one needs its key: readVerifiedBundleBytes.
 */
export function readBundleBytes(bytes: Uint8Array, location: string, limits: BundleLimits = {}): PolicyBundle {
  const { files, sha256 } = bundleFilesFromBytes(bytes, location, limits);
  assertNotSigned(files, location);
  return parseBundleFiles(files, location, sha256);
}

/** An archive's files, unparsed, and the SHA-256 of its bytes; see readBundleBytes. */
export function bundleFilesFromBytes(bytes: Uint8Array, location: string, limits: BundleLimits = {}): { files: TarFile[]; sha256: string } {
  const caps: TarLimits = { ...DEFAULT_BUNDLE_LIMITS, ...limits };
  if (bytes.length > caps.maxBytes) {
    throw new PolicyKernelError("invalid_bundle", `archive is ${bytes.length} bytes, more than ${caps.maxBytes} (bundleLimits.maxBytes; the CLI's --bundle-max-bytes)`, {
      file: location,
      expected: `at most ${caps.maxBytes} bytes`,
    });
  }
  return { files: readTarGz(bytes, location, caps), sha256: sha256Hex(bytes) };
}

/**
 * Reads a bundle from a `.tar.gz` file or an unpacked bundle folder, validating every part and
 * refusing one over `limits` (see BundleLimitsSchema) before it is unpacked.
 */
export function readBundle(location: string, limits: BundleLimits = {}): PolicyBundle {
  const { files, sha256 } = readBundleFiles(location, limits);
  // A signed bundle needs its key: readVerifiedBundle (bundle-signature.ts) checks it.
  assertNotSigned(files, location);
  return parseBundleFiles(files, location, sha256);
}

/** A bundle's files, unparsed, and its SHA-256 (of the archive, or of a folder's files); see readBundle. */
export function readBundleFiles(location: string, limits: BundleLimits = {}): { files: TarFile[]; sha256: string } {
  const caps: TarLimits = { ...DEFAULT_BUNDLE_LIMITS, ...limits };
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
    const files = readFolder(location, caps);
    return { files, sha256: hashFiles(files) };
  }
  const archive = readBytes(location, caps);
  return { files: readTarGz(archive, location, caps), sha256: sha256Hex(archive) };
}

/** Builds a PolicyBundle from the files of an archive or folder. */
export function parseBundleFiles(files: readonly TarFile[], location: string, sha256: string): PolicyBundle {
  checkPaths(files, location);
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
  const regoModules = modules.map((file) => ({ path: file.path, text: Buffer.from(file.bytes).toString("utf8") }));
  return { location, manifest, wasm, module, data: mergeDataFiles(files, location), sha256, modulesSha256, regoModules };
}

function parseManifest(bytes: Uint8Array | undefined, location: string): BundleManifest {
  if (!bytes) return ManifestSchema.parse({});
  const json = parseJson(bytes, `${location}:/.manifest`);
  const result = ManifestSchema.safeParse(json, ONCE);
  if (!result.success) throw fromZodError("invalid_bundle", result.error, { file: `${location}:/.manifest` });
  return result.data;
}

/**
 * Every path is one a bundle may hold: no `.`, `..` or empty segment (a path that would climb out
 * of the bundle once unpacked), no segment that names a prototype (`/__proto__/data.json` would
 * merge its data onto Object.prototype), and no path twice.
 */
function checkPaths(files: readonly TarFile[], location: string): void {
  const seen = new Set<string>();
  for (const { path } of files) {
    const fail = (problem: string, expected: string): never => {
      throw new PolicyKernelError("invalid_bundle", `entry "${path}" ${problem}`, { file: location, expected });
    };
    for (const segment of path.split("/").slice(1)) {
      if (segment === "" || segment === "." || segment === "..") fail(`has a "${segment}" path segment`, "paths without empty, . or .. segments");
      if (isForbiddenKey(segment)) fail(`has the forbidden path segment "${segment}"`, "no __proto__, constructor or prototype path segments");
    }
    if (seen.has(path)) fail("appears twice", "each path once");
    seen.add(path);
  }
}

/**
 * Data files merge at the path of their folder, as OPA does (`/a/b/data.json` → data.a.b). Only
 * own members are followed and written (setOwn), and every key was checked by parseUntrustedJson,
 * so no file can write through a prototype.
 */
function mergeDataFiles(files: readonly TarFile[], location: string): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const dataFiles = files.filter((file) => /(^|\/)data\.json$/.test(file.path)).sort((a, b) => compareCodeUnits(a.path, b.path));
  for (const file of dataFiles) {
    const value = parseJson(file.bytes, `${location}:${file.path}`);
    if (!isPlainObject(value)) {
      throw new PolicyKernelError("invalid_bundle", "data file is not a JSON object", { file: `${location}:${file.path}`, expected: "a JSON object" });
    }
    const segments = file.path.split("/").slice(1, -1);
    let target = data;
    for (const segment of segments) {
      const next = getOwn(target, segment);
      if (isPlainObject(next)) target = next;
      else {
        const created: Record<string, unknown> = {};
        setOwn(target, segment, created);
        target = created;
      }
    }
    for (const [key, member] of Object.entries(value)) setOwn(target, key, member);
  }
  return data;
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  return parseUntrustedJson(Buffer.from(bytes).toString("utf8"), "invalid_bundle", file);
}

function readBytes(path: string, limits: TarLimits): Uint8Array {
  try {
    // Deflate adds at most a few bytes per 64 KiB it stores, so an archive larger than the cap holds
    // about as much or more: refused unread.
    const size = statSync(path).size;
    if (size > limits.maxBytes) {
      throw new PolicyKernelError("invalid_bundle", `archive is ${size} bytes, more than ${limits.maxBytes} (bundleLimits.maxBytes; the CLI's --bundle-max-bytes)`, {
        file: path,
        expected: `at most ${limits.maxBytes} bytes`,
      });
    }
    return readFileSync(path);
  } catch (error) {
    if (error instanceof PolicyKernelError) throw error;
    throw new PolicyKernelError("invalid_bundle", `cannot read bundle (${(error as NodeJS.ErrnoException).code ?? "error"})`, { file: path });
  }
}

/**
 * The regular files under `root`. A symbolic link (to a file or a folder) is refused, not followed:
 * it could read any file on the host into the bundle. Sizes are checked before a file is read.
 */
function readFolder(root: string, limits: TarLimits): TarFile[] {
  const files: TarFile[] = [];
  let total = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const path = `/${relative(root, full).split(sep).join("/")}`;
      if (entry.isSymbolicLink()) {
        throw new PolicyKernelError("invalid_bundle", `"${path}" is a symbolic link`, { file: root, expected: "regular files and folders only; links are not followed" });
      }
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const size = lstatSync(full).size;
        checkEntryLimits(limits, files.length + 1, size, path, root);
        total += size;
        if (total > limits.maxBytes) {
          throw new PolicyKernelError("invalid_bundle", `files total more than ${limits.maxBytes} bytes (bundleLimits.maxBytes; the CLI's --bundle-max-bytes)`, {
            file: root,
            expected: `at most ${limits.maxBytes} bytes`,
          });
        }
        files.push({ path, bytes: readFileSync(full) });
      }
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
