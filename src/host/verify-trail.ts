import { existsSync } from "node:fs";
import { toVerifyingKey } from "../audit/checkpoint.js";
import { verifyJsonl } from "../audit/jsonl.js";
import { verifyReport, type VerifyReport } from "../audit/verify-report.js";
import { PolicyKernelError } from "../errors.js";

/** What `verify_trail` answers: `policy-kernel verify --json`'s report. */
export type TrailVerifyReport = Omit<VerifyReport, "text">;

/**
 * Verifies a trail file as `policy-kernel verify --json` does: the hash chain, every signed
 * checkpoint, and the final seal, with `publicKey` (a PEM file) or else `<trail>.pub` beside it.
 */
export async function verifyTrailFile(trail: string, publicKeyPath?: string): Promise<TrailVerifyReport> {
  const beside = publicKeyPath === undefined;
  const path = publicKeyPath ?? `${trail}.pub`;
  if (beside && !existsSync(path)) {
    throw new PolicyKernelError("invalid_input", `no public key: pass publicKey (the key published with the trail), or put ${path} beside the trail`, { field: "publicKey" });
  }
  const result = await verifyJsonl(trail, { publicKey: toVerifyingKey(path, "publicKey") });
  const { text: _text, ...report } = verifyReport(trail, { path, beside }, result);
  return report;
}
