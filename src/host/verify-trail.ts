import { existsSync } from "node:fs";
import { toVerifyingKey } from "../audit/checkpoint.js";
import { verifyJsonl } from "../audit/jsonl.js";
import { describeUnsealed } from "../audit/verify.js";
import { PolicyKernelError } from "../errors.js";

/** What `verify_trail` answers: the fields of `policy-kernel verify --json`. */
export interface TrailVerifyReport {
  readonly trail: string;
  readonly status: "sealed" | "unsealed" | "broken";
  readonly publicKey: { readonly path: string; readonly foundBesideTrail: boolean };
  readonly line?: number;
  readonly reason?: string;
  readonly message: string;
  readonly entries?: number;
  readonly checkpoints?: number;
  readonly signedEntries?: number;
  readonly head?: string;
  readonly keyId?: string;
}

/**
 * Verifies a trail file as `policy-kernel verify --json` does: the hash chain, every signed
 * checkpoint, and the final seal, with `publicKey` (a PEM file) or else `<trail>.pub` beside it.
 */
export async function verifyTrailFile(trail: string, publicKeyPath?: string): Promise<TrailVerifyReport> {
  const beside = publicKeyPath === undefined;
  const keyPath = publicKeyPath ?? `${trail}.pub`;
  if (beside && !existsSync(keyPath)) {
    throw new PolicyKernelError("invalid_input", `no public key: pass publicKey (the key published with the trail), or put ${keyPath} beside the trail`, { field: "publicKey" });
  }
  const publicKey = toVerifyingKey(keyPath, "publicKey");
  const key = { path: keyPath, foundBesideTrail: beside };
  const result = await verifyJsonl(trail, { publicKey });
  if (!result.valid) {
    return { trail, status: "broken", publicKey: key, line: result.index + 1, reason: result.reason, message: result.message.replace(/^line \d+: /, "") };
  }
  const facts = {
    entries: result.count,
    checkpoints: result.checkpoints,
    signedEntries: result.signedCount,
    head: result.head,
    ...(result.keyId === undefined ? {} : { keyId: result.keyId }),
    ...(result.tornLine === undefined ? {} : { line: result.tornLine }),
  };
  const counts = `${result.count} entries, ${result.checkpoints} signed checkpoints`;
  if (result.sealed) return { trail, status: "sealed", publicKey: key, ...facts, message: `${counts}, sealed by the final checkpoint; head ${result.head}` };
  return { trail, status: "unsealed", publicKey: key, ...facts, reason: "unsealed", message: `${counts}; the first ${result.signedCount} entries verify and are signed, but ${describeUnsealed(result)}` };
}
