// Bundle signatures as OPA verifies them (v1/bundle/verify.go, bundle.go `Reader.Read`): a
// `.signatures.json` holding exactly one JWT whose `files` claim lists every file of the bundle
// with its digest; the JWT is checked with the configured key and algorithm (not the token's own
// `alg` or `kid`), then its `scope`, then each file. The JWS check itself is jose's.
import { createPublicKey, type KeyObject } from "node:crypto";
import { compactVerify, errors as joseErrors } from "jose";
import { z } from "zod";
import { PolicyKernelError, fromZodError } from "../../errors.js";
import { BundleHashError, bundleFileDigest } from "./bundle-hash.js";
import { parseFirstGoJsonValue, parseGoJson, type GoJsonValue } from "./go-json.js";
import type { TarFile } from "./tar.js";

/** The JWS algorithms OPA verifies bundle signatures with (jwx's names). */
export const SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA"] as const;

/** How a signed bundle is verified, as OPA's `--verification-key`, `--verification-key-id`, `--scope`, `--signing-alg`. */
export const BundleVerificationSchema = z.strictObject({
  /** A PEM public key (or certificate, or private key) for RS/PS/ES/EdDSA, or the HMAC secret itself for HS256/384/512. */
  key: z.string().min(1),
  /** The key's name (default "default"); as with OPA's CLI it is the key used whatever `kid` the token names. */
  keyId: z.string().min(1).optional(),
  /** The scope the signature must carry (default: none). */
  scope: z.string().optional(),
  /** The algorithm the JWT must be signed with (default RS256, as OPA's `--signing-alg`). */
  alg: z.enum(SIGNING_ALGORITHMS).optional(),
});
/** The key, key id, scope and algorithm a signed bundle is verified with; see BundleVerificationSchema. */
export type BundleVerification = z.input<typeof BundleVerificationSchema>;

const SIGNATURES_FILE = ".signatures.json";
const WHERE_KEY = "--verification-key; library: verification.key";

/** Whether `path` is a bundle's signatures file: OPA matches the base name `.signatures.json` in any folder. */
export function isSignaturesFile(path: string): boolean {
  return path.slice(path.lastIndexOf("/") + 1) === SIGNATURES_FILE;
}

/**
 * Refuses a signed bundle read without a key, as `opa run` does ("verification key not
 * provided"): readBundle cannot verify, so a signed bundle must come through readVerifiedBundle.
 */
export function assertNotSigned(files: readonly TarFile[], location: string): void {
  const signatures = files.filter((file) => isSignaturesFile(file.path));
  if (signatures.length === 0) return;
  if (signatures.length === 1 && isEmptySignatures(decodeSignaturesFile(signatures[0]!, location))) return;
  throw unsignedKeyError(location, signatures[0]!.path);
}

/**
 * Verifies a bundle's signature over its files (from a file, a folder or the network) as OPA
 * does, or, given no `verification`, refuses a signed bundle; given one, refuses an unsigned
 * bundle. Resolves when the bundle may load; otherwise a PolicyKernelError naming the file
 * (`bundle.tar.gz:/data.json`), what failed in OPA's words and the setting to change.
 */
export async function verifyBundleFiles(files: readonly TarFile[], location: string, verification: BundleVerification | undefined): Promise<void> {
  const signatureFiles = files.filter((file) => isSignaturesFile(file.path));
  if (signatureFiles.length > 1) {
    throw fail(location, `bundle contains multiple signatures files: "${signatureFiles[0]!.path}" and "${signatureFiles[1]!.path}"`, "one .signatures.json");
  }
  const config = signatureFiles[0] === undefined ? undefined : decodeSignaturesFile(signatureFiles[0], location);
  if (config === undefined || isEmptySignatures(config)) {
    if (verification === undefined) return;
    throw fail(location, "bundle missing .signatures.json file: it is not signed", `a bundle signed with the key of ${WHERE_KEY} (policy-kernel build --signing-key K); or leave the key out to load it unsigned`);
  }
  if (verification === undefined) throw unsignedKeyError(location, signatureFiles[0]!.path);
  const parsed = BundleVerificationSchema.safeParse(verification);
  if (!parsed.success) throw fromZodError("invalid_config", parsed.error, { root: "verification" });
  const settings = parsed.data;
  const signatureFile = `${location}:${signatureFiles[0]!.path}`;
  if (config.plugin !== "" && config.plugin !== "_default") {
    throw fail(signatureFile, `no verifier exists under id ${config.plugin}`, 'no "plugin", or "_default" (custom verifier plugins are not supported)');
  }
  const tokens = config.signatures ?? [];
  if (tokens.length === 0) throw fail(signatureFile, "missing JWT (expected exactly one)", '{"signatures": ["<one JWT>"]}');
  if (tokens.length > 1) throw fail(signatureFile, "multiple JWTs not supported (expected exactly one)", '{"signatures": ["<one JWT>"]}');
  const claims = await verifyToken(tokens[0]!, settings, signatureFile);
  checkFiles(files, claims.files, location);
}

/** `.signatures.json` as OPA's decoder reads it into `{signatures []string; plugin string}`. */
interface SignaturesConfig {
  /** null when absent or null: with no plugin either, the bundle counts as unsigned. */
  readonly signatures: readonly string[] | null;
  readonly plugin: string;
}

function isEmptySignatures(config: SignaturesConfig): boolean {
  return config.signatures === null && config.plugin === "";
}

function decodeSignaturesFile(file: TarFile, location: string): SignaturesConfig {
  const where = `${location}:${file.path}`;
  try {
    const value = parseFirstGoJsonValue(decodeUtf8(file.bytes));
    const fields = goStructFields(value, ["signatures", "plugin"]);
    const list = fields.get("signatures");
    let signatures: string[] | null = null;
    if (list !== undefined && !isNull(list)) {
      if (list.kind !== "array") throw new Error("signatures: expected an array of strings");
      signatures = list.items.map((item) => goString(item, "signatures[]"));
    }
    return { signatures, plugin: goString(fields.get("plugin"), "plugin") };
  } catch (error) {
    throw fail(where, `bundle load failed on signatures decode: ${(error as Error).message}`, '{"signatures": ["<one JWT>"]}');
  }
}

/** A file entry of the JWT's `files` claim. */
interface SignedFile {
  readonly name: string;
  readonly hash: string;
  readonly algorithm: string;
}

/** The claims OPA reads from the JWT payload (bundle.DecodedSignature). */
interface DecodedSignature {
  readonly files: readonly SignedFile[];
  readonly scope: string;
}

/** Checks the JWT with the configured key and algorithm, then its scope; returns its claims. */
async function verifyToken(token: string, settings: z.output<typeof BundleVerificationSchema>, where: string): Promise<DecodedSignature> {
  const parts = token.split(".");
  if (parts.length !== 3) throw fail(where, "failed to split compact JWT: invalid number of segments", "a compact JWT: header.payload.signature");
  const [, payload, signature] = parts as [string, string, string];
  let claims: DecodedSignature;
  try {
    claims = decodeClaims(decodeUtf8(goBase64Url(payload, "payload")));
  } catch (error) {
    throw fail(where, `JWT payload: ${(error as Error).message}`, 'a JSON object {"files": [{"name", "hash", "algorithm"}], "scope"?, ...}');
  }
  const alg = settings.alg ?? "RS256";
  const key = verificationKey(settings.key, alg, where);
  try {
    goBase64Url(signature, "signature");
  } catch (error) {
    throw fail(where, `failed to base64 decode JWT signature: ${(error as Error).message}`, "a base64url signature");
  }
  try {
    await compactVerify(token, key, { algorithms: [alg] });
  } catch (error) {
    throw fail(where, `failed to verify JWT signature: ${joseReason(error, alg, key)}`, `a JWT signed with the private key or secret matching ${WHERE_KEY}, algorithm ${alg} (--signing-alg; library: verification.alg)`);
  }
  const scope = settings.scope ?? "";
  if (claims.scope !== scope) {
    throw fail(where, `scope mismatch: the signature's scope is "${claims.scope}"`, `scope "${scope}" (--scope; library: verification.scope)`);
  }
  return claims;
}

/** Every bundle file is listed with a matching digest, and every listed file is in the bundle. */
function checkFiles(files: readonly TarFile[], signed: readonly SignedFile[], location: string): void {
  // Later entries for the same name replace earlier ones, as OPA builds its map.
  const pending = new Map<string, SignedFile>();
  for (const entry of signed) pending.set(entry.name, entry);
  for (const file of files) {
    if (isSignaturesFile(file.path)) continue;
    const name = file.path.replace(/^\/+/, "");
    const where = `${location}:${file.path}`;
    const entry = pending.get(name);
    if (entry === undefined) throw fail(where, `file ${name} not included in bundle signature`, "every bundle file listed in the signature's files claim: rebuild and sign the bundle");
    if (entry.algorithm === "") throw fail(where, `no hashing algorithm provided for file ${name}`, "an algorithm such as SHA-256 in its files entry");
    let digest: Buffer;
    try {
      digest = bundleFileDigest(file.path, file.bytes, entry.algorithm);
    } catch (error) {
      if (error instanceof BundleHashError) throw fail(where, error.message, "the file as it was signed");
      throw error;
    }
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(entry.hash)) throw fail(where, `the signed hash "${entry.hash.slice(0, 80)}" is not hexadecimal`, "a hex digest");
    const want = entry.hash.toLowerCase();
    const got = digest.toString("hex");
    if (want !== got) throw fail(where, `digest mismatch (want: ${want}, got: ${got}): the file is not the one that was signed`, "the bundle exactly as signed: rebuild and sign it again, or find who changed it");
    pending.delete(name);
  }
  if (pending.size > 0) {
    const names = [...pending.keys()];
    throw fail(location, `file(s) [${names.join(" ")}] specified in bundle signatures but not found in the target bundle`, "every signed file in the bundle");
  }
}

/** The key as jose takes it: the secret's bytes for HMAC, else a public key from PEM (public key, certificate or private key). */
function verificationKey(key: string, alg: string, where: string): Uint8Array | KeyObject {
  if (alg.startsWith("HS")) return new TextEncoder().encode(key);
  try {
    return createPublicKey(key);
  } catch (error) {
    throw fail(where, `failed to parse PEM block containing the key (${(error as Error).message})`, `a PEM public key, certificate or private key for ${alg} (${WHERE_KEY})`);
  }
}

/** jose's reason, with what to do when the key or the algorithm is the wrong kind. */
function joseReason(error: unknown, alg: string, key: Uint8Array | KeyObject): string {
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "signature mismatch: the bundle was not signed with this key, or the token was altered";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return `the token's header names another algorithm than ${alg}: give the one it was signed with (--signing-alg; library: verification.alg)`;
  const message = error instanceof Error ? error.message : String(error);
  if (!(key instanceof Uint8Array)) {
    const type = key.asymmetricKeyType ?? "unknown";
    const fits = type === "rsa" || type === "rsa-pss" ? "RS256/384/512 or PS256/384/512" : type === "ec" ? "ES256/384/512 (by curve)" : type === "ed25519" ? "EdDSA" : "another algorithm";
    return `${message} (the key is ${type.toUpperCase()}; it verifies ${fits}, and the algorithm is ${alg}: set --signing-alg / verification.alg)`;
  }
  return message;
}

/** The claims OPA's json.Unmarshal into DecodedSignature keeps: `files` and `scope` (`keyid`, `iat`, `iss` typed but unused). */
function decodeClaims(text: string): DecodedSignature {
  const value = parseGoJson(text);
  const fields = goStructFields(value, ["files", "keyid", "scope", "iat", "iss"]);
  goString(fields.get("keyid"), "keyid");
  goString(fields.get("iss"), "iss");
  goInt64(fields.get("iat"), "iat");
  const list = fields.get("files");
  const files: SignedFile[] = [];
  if (list !== undefined && !isNull(list)) {
    if (list.kind !== "array") throw new Error("files: expected an array of {name, hash, algorithm}");
    for (const item of list.items) {
      const entry = goStructFields(item, ["name", "hash", "algorithm"]);
      files.push({ name: goString(entry.get("name"), "files[].name"), hash: goString(entry.get("hash"), "files[].hash"), algorithm: goString(entry.get("algorithm"), "files[].algorithm") });
    }
  }
  return { files, scope: goString(fields.get("scope"), "scope") };
}

/**
 * An object's members as Go's json.Unmarshal matches them to struct fields: names compared
 * without ASCII case, the last of several winning, unknown names (`__proto__` among them)
 * ignored; null decodes to an empty struct. Anything but an object or null is an error.
 */
function goStructFields(value: GoJsonValue, names: readonly string[]): Map<string, GoJsonValue> {
  const fields = new Map<string, GoJsonValue>();
  if (isNull(value)) return fields;
  if (value.kind !== "object") throw new Error(`expected a JSON object, got ${value.kind}`);
  for (const [key, member] of value.entries) {
    const name = names.find((candidate) => candidate === key.toLowerCase() && /^[\x20-\x7e]*$/.test(key));
    if (name !== undefined) fields.set(name, member);
  }
  return fields;
}

function isNull(value: GoJsonValue): boolean {
  return value.kind === "literal" && value.literal === "null";
}

function goString(value: GoJsonValue | undefined, field: string): string {
  if (value === undefined || isNull(value)) return "";
  if (value.kind !== "string") throw new Error(`${field}: expected a string, got ${value.kind === "literal" ? value.literal : value.kind}`);
  return value.value;
}

function goInt64(value: GoJsonValue | undefined, field: string): void {
  if (value === undefined || isNull(value)) return;
  const ok = value.kind === "number" && /^-?\d+$/.test(value.literal) && BigInt(value.literal) >= -(2n ** 63n) && BigInt(value.literal) < 2n ** 63n;
  if (!ok) throw new Error(`${field}: expected a whole number of seconds`);
}

/**
 * A segment decoded as OPA decodes it (base64.RawURLEncoding into a buffer sized for the whole
 * segment): no padding, trailing bits ignored. Go skips CR and LF but OPA keeps the buffer's unused
 * tail, so a segment holding them never verifies: refused here outright.
 */
function goBase64Url(segment: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) throw new Error(`the ${what} is not unpadded base64url`);
  return Buffer.from(segment, "base64url");
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new Error("not valid UTF-8");
  }
}

function unsignedKeyError(location: string, path: string): PolicyKernelError {
  return fail(
    location,
    `verification key not provided: the bundle is signed (${path})`,
    `the key it was signed with: --verification-key K [--signing-alg A] [--scope S] (library: verification: {key, alg?, scope?})`,
  );
}

function fail(file: string, message: string, expected: string): PolicyKernelError {
  return new PolicyKernelError("invalid_bundle", message, { file, expected });
}
