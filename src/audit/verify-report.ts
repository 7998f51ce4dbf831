import { describeUnsealed, type VerifyResult } from "./verify.js";

/** What `policy-kernel verify` reports about a trail file (its `--json` output, and `text` for the terminal). */
export interface VerifyReport {
  readonly trail: string;
  readonly status: "sealed" | "unsealed" | "broken";
  readonly publicKey: { readonly path: string; readonly foundBesideTrail: boolean };
  /** The first bad line (1-based), for a broken trail; the incomplete last line, for a torn one. */
  readonly line?: number;
  readonly reason?: string;
  readonly message: string;
  readonly entries?: number;
  readonly checkpoints?: number;
  readonly signedEntries?: number;
  readonly head?: string;
  readonly keyId?: string;
  readonly text: string;
}

/** The report of verifying `trail` with the key at `key.path` (found beside the trail, or given). */
export function verifyReport(trail: string, key: { readonly path: string; readonly beside: boolean }, result: VerifyResult): VerifyReport {
  const publicKey = { path: key.path, foundBesideTrail: key.beside };
  if (!result.valid) {
    const line = result.index + 1;
    // chainWalk prefixes the line; the report names it in its own field.
    const message = result.message.replace(/^line \d+: /, "");
    return { trail, status: "broken", publicKey, line, reason: result.reason, message, text: `BROKEN: ${trail}: line ${line}: ${result.reason}: ${message}` };
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
  if (result.sealed) {
    const message = `${counts}, sealed by the final checkpoint; head ${result.head}`;
    return { trail, status: "sealed", publicKey, ...facts, message, text: `verified: ${trail}: ${message}` };
  }
  const message = `${counts}; the first ${result.signedCount} entries verify and are signed, but ${describeUnsealed(result)}`;
  return { trail, status: "unsealed", publicKey, ...facts, reason: "unsealed", message, text: `UNSEALED: ${trail}: ${message}` };
}
