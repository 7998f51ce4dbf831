// Signed bundles for tests: keys from node:crypto, bundles signed by the pinned OPA's own
// `opa build --signing-key`, tokens re-signed with jose to craft claims, and OPA's verdict on a
// bundle from `opa build -b B --verification-key K` (the cheapest OPA command that verifies).
import { execFile, execFileSync } from "node:child_process";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { CompactSign } from "jose";
import { readTarGz } from "../../src/engines/rego/tar.js";
import { opaPath } from "./opa.js";
import type { TarEntry } from "./tar-writer.js";

const run = promisify(execFile);

/** A key pair in PEM (or an HMAC secret, both sides the same) and the algorithm it signs with. */
export interface TestKey {
  readonly alg: string;
  /** What `--signing-key` gets: a PEM private key or the secret. */
  readonly signing: string;
  /** What `--verification-key` gets: a PEM public key or the secret. */
  readonly verification: string;
  /** The private key for jose (absent for HMAC, where the secret is used). */
  readonly privateKey?: KeyObject;
}

/** A fresh key for `alg`: RSA 2048 (RS*, PS*), EC P-256/384/521 (ES*), Ed25519 (EdDSA), or a random secret (HS*). */
export function makeKey(alg: string, rsaBits = 2048): TestKey {
  const pair = (() => {
    if (alg.startsWith("RS") || alg.startsWith("PS")) return generateKeyPairSync("rsa", { modulusLength: rsaBits });
    if (alg === "ES256") return generateKeyPairSync("ec", { namedCurve: "P-256" });
    if (alg === "ES384") return generateKeyPairSync("ec", { namedCurve: "P-384" });
    if (alg === "ES512") return generateKeyPairSync("ec", { namedCurve: "P-521" });
    if (alg === "EdDSA") return generateKeyPairSync("ed25519");
    return undefined;
  })();
  if (!pair) {
    const secret = `secret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    return { alg, signing: secret, verification: secret };
  }
  return {
    alg,
    signing: pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    verification: pair.publicKey.export({ type: "spki", format: "pem" }) as string,
    privateKey: pair.privateKey,
  };
}

/** Writes `text` to `dir/name` and returns the path. */
export function writeText(dir: string, name: string, text: string | Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Signs `src` (a Rego folder under `work` with entrypoint x/allow) with the real `opa build -t wasm -b --signing-key`; returns the .tar.gz path. */
export function opaSignedBundle(work: string, name: string, src: string, key: TestKey, extra: readonly string[] = []): string {
  const keyFile = writeText(work, `${name}.signing-key`, key.signing);
  const out = join(work, `${name}.tar.gz`);
  execFileSync(opaPath(), ["build", "-t", "wasm", "-e", "x/allow", "-b", relative(work, src), "--signing-key", keyFile, "--signing-alg", key.alg, "--revision", name, ...extra, "-o", out], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
  return out;
}

/** The files of a .tar.gz bundle as tar entries, to alter and write back with tarGzOf. */
export function entriesOf(archive: Uint8Array): TarEntry[] {
  return readTarGz(archive, "test").map((file) => ({ path: file.path, bytes: file.bytes }));
}

/** The decoded JSON payload of the one JWT in `/.signatures.json`. */
export function payloadOf(entries: readonly TarEntry[]): { files: { name: string; hash: string; algorithm: string }[] } & Record<string, unknown> {
  const token = tokenOf(entries);
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
}

/** The one JWT of `/.signatures.json`. */
export function tokenOf(entries: readonly TarEntry[]): string {
  const file = entries.find((entry) => entry.path === "/.signatures.json");
  return (JSON.parse(Buffer.from(file!.bytes ?? "").toString("utf8")) as { signatures: string[] }).signatures[0]!;
}

/** A JWT over `payload` (JSON text, written as given) signed with `key` by jose, with `header`. */
export async function signPayload(payload: string, key: TestKey, header: Record<string, unknown> = {}): Promise<string> {
  const secret = key.privateKey ?? new TextEncoder().encode(key.signing);
  return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: key.alg, typ: "JWT", kid: "default", ...header }).sign(secret);
}

/** `entries` with `/.signatures.json` replaced by `text`. */
export function withSignatures(entries: readonly TarEntry[], text: string): TarEntry[] {
  return entries.map((entry) => (entry.path === "/.signatures.json" ? { path: entry.path, bytes: text } : entry));
}

/** How a case's bundle is verified: the flags OPA gets and the library options the kernel gets. */
export interface VerifySettings {
  readonly key?: string;
  readonly alg?: string;
  readonly scope?: string;
  readonly keyId?: string;
}

/** OPA's verdict on `bundle`: whether `opa build -b bundle --verification-key ...` loads it, and its error line. */
export async function opaVerdict(work: string, bundle: string, settings: VerifySettings, index: number): Promise<{ accepted: boolean; message: string }> {
  const args = ["build", "-b", bundle, "-o", join(work, `opa-out-${index}.tar.gz`)];
  if (settings.key !== undefined) args.push("--verification-key", writeText(work, `verify-key-${index}`, settings.key));
  if (settings.alg !== undefined) args.push("--signing-alg", settings.alg);
  if (settings.scope !== undefined) args.push("--scope", settings.scope);
  if (settings.keyId !== undefined) args.push("--verification-key-id", settings.keyId);
  try {
    await run(opaPath(), args, { cwd: work, maxBuffer: 64 * 1024 * 1024 });
    return { accepted: true, message: "" };
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    return { accepted: false, message: `${stdout}${stderr}`.trim().slice(0, 300) };
  }
}

/** Runs `tasks` with at most `limit` at a time (OPA runs are child processes; the machine is shared). */
export async function pooled<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
