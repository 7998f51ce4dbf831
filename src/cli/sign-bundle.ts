import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { PolicyKernelError } from "../errors.js";
import { SIGNING_ALGORITHMS, isSignaturesFile } from "../engines/rego/bundle-signature.js";
import { readTarGz } from "../engines/rego/tar.js";
import { findPackageRoot } from "../kernel/defaults.js";
import { UsageError } from "./flags.js";

/** The flags of `build` that sign the bundle it wrote, with OPA's names (`opa build`, `opa sign`). */
export const SIGNING_FLAGS = {
  "signing-key": { type: "string" },
  "signing-alg": { type: "string" },
  "claims-file": { type: "string" },
} as const;

/** The usage lines of SIGNING_FLAGS. */
export const SIGNING_FLAGS_USAGE = `  --signing-key K    sign the bundle (OPA's .signatures.json, with \`opa sign\` of the pinned OPA): K is the path of a
                     PEM private key (RS/PS/ES/EdDSA) or the HMAC secret (docs/guides/signed-bundles.md)
  --signing-alg A    ${SIGNING_ALGORITHMS.join(", ")} (default RS256)
  --claims-file F    JSON claims to sign beside the files (scope, iss, keyid, ...), as opa build's`;

/** How `build` signs: the key as OPA takes it, the algorithm, optional claims. */
export interface BundleSigning {
  readonly key: string;
  readonly alg: string;
  readonly claimsFile?: string | undefined;
}

/** The signing request from the flags, or undefined without --signing-key; a UsageError names a flag that cannot apply. */
export function signingFromFlags(values: { "signing-key"?: string | undefined; "signing-alg"?: string | undefined; "claims-file"?: string | undefined; check?: boolean | undefined }): BundleSigning | undefined {
  const key = values["signing-key"];
  if (key === undefined) {
    for (const flag of ["signing-alg", "claims-file"] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --signing-key K`);
    return undefined;
  }
  if (values.check) throw new UsageError("--check compares bytes, and ECDSA and PSS signatures differ on every run: check the unsigned build, then sign it");
  const alg = values["signing-alg"] ?? "RS256";
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) throw new UsageError(`must be one of ${SIGNING_ALGORITHMS.join(", ")}, got "${alg}"`, { field: "--signing-alg" });
  const claimsFile = values["claims-file"];
  if (claimsFile !== undefined && !existsSync(claimsFile)) throw new PolicyKernelError("io_error", "file not found", { file: claimsFile, field: "--claims-file" });
  // A path is made absolute: opa sign runs in another folder. Otherwise the value is the HMAC secret (or PEM text) itself, as OPA reads it.
  return { key: existsSync(key) ? resolve(key) : key, alg, claimsFile: claimsFile === undefined ? undefined : resolve(claimsFile) };
}

/** Runs after a build: signs `out` when asked and the build succeeded; returns the exit code. */
export function signAfterBuild(status: number, out: string, signing: BundleSigning | undefined): number {
  if (status !== 0 || signing === undefined) return status;
  const files = signBundleFile(out, signing);
  process.stdout.write(`policy-kernel build: signed ${out} (${signing.alg}, ${files} files in /.signatures.json)\n`);
  return 0;
}

/**
 * Adds `/.signatures.json` to a built `.tar.gz` bundle: `opa sign --bundle` of the pinned OPA
 * signs its unpacked files, and the signature is appended to the archive, so every other byte of
 * the bundle stays as `opa build` wrote it. Returns the number of files signed.
 */
export function signBundleFile(out: string, signing: BundleSigning): number {
  const archive = readFileSync(out);
  const files = readTarGz(archive, out);
  if (files.some((file) => isSignaturesFile(file.path))) throw new PolicyKernelError("invalid_bundle", "already signed", { file: out, expected: "an unsigned bundle to sign" });
  const work = mkdtempSync(join(tmpdir(), "pk-sign-"));
  try {
    const unpacked = join(work, "bundle");
    for (const file of files) {
      const path = join(unpacked, ...file.path.split("/").filter(Boolean));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.bytes);
    }
    const args = ["sign", "--bundle", ".", "--signing-key", signing.key, "--signing-alg", signing.alg, "-o", ".", ...(signing.claimsFile ? ["--claims-file", signing.claimsFile] : [])];
    const run = spawnSync(pinnedOpa(), args, { cwd: unpacked, encoding: "utf8" });
    if (run.error) throw new PolicyKernelError("opa_unavailable", `cannot run opa (${run.error.message})`);
    // OPA prints its errors on stdout.
    if (run.status !== 0) throw new PolicyKernelError("invalid_input", `opa sign: ${`${run.stdout}${run.stderr}`.replace(/^error: /m, "").trim() || "failed with no message"}`, { field: "--signing-key", expected: `a PEM private key for ${signing.alg}, or the HMAC secret for HS*` });
    const signature = readFileSync(join(unpacked, ".signatures.json"));
    const tmp = `${out}.tmp.${process.pid}`;
    writeFileSync(tmp, gzipSync(appendTarEntry(gunzipSync(archive), "/.signatures.json", signature)));
    renameSync(tmp, out);
    return files.length;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const BLOCK = 512;

/** `tar` with one regular file appended before its end-of-archive blocks (mode 0600, owner 0, time 0: as opa build writes entries). */
function appendTarEntry(tar: Uint8Array, path: string, bytes: Uint8Array): Buffer {
  let offset = 0;
  while (offset + BLOCK <= tar.length && !tar.subarray(offset, offset + BLOCK).every((byte) => byte === 0)) {
    const size = Number.parseInt(Buffer.from(tar.subarray(offset + 124, offset + 136)).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  const header = Buffer.alloc(BLOCK);
  const put = (text: string, at: number): void => void header.write(text, at, "latin1");
  const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, "0")}\0`;
  put(path, 0);
  put(octal(0o600, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(bytes.length, 12), 124);
  put(octal(0, 12), 136);
  put("0", 156);
  put("ustar\u000000", 257);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const padding = Buffer.alloc((BLOCK - (bytes.length % BLOCK)) % BLOCK);
  return Buffer.concat([tar.subarray(0, offset), header, bytes, padding, Buffer.alloc(2 * BLOCK)]);
}

function pinnedOpa(): string {
  const run = spawnSync("bash", [join(findPackageRoot(), "scripts", "ensure-opa.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (run.error || run.status !== 0) throw new PolicyKernelError("opa_unavailable", "cannot find or install the pinned OPA (scripts/ensure-opa.sh failed; it needs opa of that version on PATH, or Go)");
  return run.stdout.trim();
}
