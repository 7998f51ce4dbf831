import { KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { canonicalJson } from "../canonical-json.js";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { Sha256HexSchema } from "./entries.js";

// Signed checkpoints: Ed25519 signatures over (chain id, entry count, chain head), written into
// the trail between entries. They are not links of the hash chain, so the entries (and their
// hashes, span ids and the head) stay the same whatever key signed them and whenever a
// checkpoint fell; each checkpoint is bound to its one position by its count and head instead.
// No timestamp either: reading the recorder's clock would move the logical time of later entries.

/** One signed checkpoint line of a trail. */
export const CheckpointSchema = z.strictObject({
  type: z.literal("checkpoint"),
  chainId: z.string().min(1),
  /** Entries the checkpoint covers: seq 0 to count - 1, all of them before it in the trail. */
  count: z.number().int().nonnegative(),
  /** Hash of entry count - 1 (GENESIS_HASH when count is 0): the chain head it signs. */
  head: Sha256HexSchema,
  /** `count` of the previous checkpoint, null for the first: a removed checkpoint shows. */
  prevCount: z.number().int().nonnegative().nullable(),
  /** True for the checkpoint `close()` writes: the trail ends here, nothing may follow. */
  final: z.boolean(),
  /** SHA-256 hex of the signing key's public key (SPKI DER): which key to check it with. */
  keyId: Sha256HexSchema,
  /** Ed25519 signature (base64) over the canonical JSON of every other member. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, "an Ed25519 signature in base64 (88 characters)"),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;
export type UnsignedCheckpoint = Omit<Checkpoint, "signature">;

/** The bytes a checkpoint's signature covers: the canonical JSON of all its members but `signature`. */
export function checkpointMessage(checkpoint: UnsignedCheckpoint | Checkpoint): Buffer {
  const { signature: _signature, ...signed } = checkpoint as Checkpoint;
  return Buffer.from(canonicalJson(signed), "utf8");
}

/** Signs a checkpoint with an Ed25519 private key (node:crypto; deterministic, as RFC 8032 says). */
export function signCheckpoint(unsigned: UnsignedCheckpoint, privateKey: KeyObject): Checkpoint {
  const signature = sign(null, checkpointMessage(unsigned), privateKey).toString("base64");
  return { ...unsigned, signature };
}

/** Whether the checkpoint's signature verifies with this public key. */
export function checkpointSignatureValid(checkpoint: Checkpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, checkpointMessage(checkpoint), publicKey, Buffer.from(checkpoint.signature, "base64"));
  } catch {
    return false;
  }
}

/** The key id checkpoints carry: SHA-256 hex of the public key's SPKI DER encoding. */
export function trailKeyId(publicKey: KeyObject): string {
  return createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
}

/** A public key as the PEM text (SPKI) a `.pub` file beside a trail holds. */
export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: "spki", format: "pem" }).toString();
}

/** A new Ed25519 key pair for one recorder (the private half never leaves the process). */
export function generateTrailKeyPair(): { readonly privateKey: KeyObject; readonly publicKey: KeyObject } {
  return generateKeyPairSync("ed25519");
}

/** A PEM text or the path of a file holding one. */
function pemText(source: string | Buffer, field: string): string | Buffer {
  if (Buffer.isBuffer(source) || source.trimStart().startsWith("-----BEGIN")) return source;
  try {
    return readFileSync(source);
  } catch (error) {
    throw new PolicyKernelError("io_error", `cannot read the key file: ${errorMessage(error)}`, { file: source, field }, { cause: error });
  }
}

/** An Ed25519 private key from a KeyObject, a PEM text (PKCS#8) or a PEM file path; "invalid_config" naming `field` otherwise. */
export function toSigningKey(source: KeyObject | string | Buffer, field = "signingKey"): KeyObject {
  return ed25519Key(source, field, "private", ED25519_PRIVATE, (s) => (s instanceof KeyObject ? s : createPrivateKey(pemText(s, field))));
}

/** An Ed25519 public key from a KeyObject (a private one gives its public half), a PEM text or a PEM file path. */
export function toVerifyingKey(source: KeyObject | string | Buffer, field = "publicKey"): KeyObject {
  return ed25519Key(source, field, "public", ED25519_PUBLIC, (s) =>
    s instanceof KeyObject ? (s.type === "private" ? createPublicKey(s) : s) : createPublicKey(pemText(s, field)),
  );
}

const ED25519_PRIVATE = "an Ed25519 private key: a KeyObject, PKCS#8 PEM text or the path of a PEM file";
const ED25519_PUBLIC = "an Ed25519 public key: a KeyObject, SPKI PEM text or the path of a PEM file";

/** Reads a key with `read` and checks it is an Ed25519 key of `type`; every failure names `field` and what was expected. */
function ed25519Key(
  source: KeyObject | string | Buffer,
  field: string,
  type: "private" | "public",
  expected: string,
  read: (source: KeyObject | string | Buffer) => KeyObject,
): KeyObject {
  let key: KeyObject;
  try {
    key = read(source);
  } catch (error) {
    if (error instanceof PolicyKernelError) throw error;
    throw new PolicyKernelError("invalid_config", `not a ${type} key: ${errorMessage(error)}`, { field, expected }, { cause: error });
  }
  if (key.type !== type || key.asymmetricKeyType !== "ed25519") {
    throw new PolicyKernelError("invalid_config", `a ${key.asymmetricKeyType ?? "symmetric"} ${key.type} key was given`, { field, expected });
  }
  return key;
}
