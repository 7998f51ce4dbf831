import { existsSync } from "node:fs";
import { toVerifyingKey } from "../audit/checkpoint.js";
import { verifyJsonl } from "../audit/jsonl.js";
import { verifyReport } from "../audit/verify-report.js";
import { PolicyKernelError } from "../errors.js";
import { parseFlags } from "./flags.js";

export const VERIFY_USAGE = `usage: policy-kernel verify TRAIL [--public-key FILE] [--json]
  Verifies an audit trail (a FlightRecorder JSON Lines file): the hash chain, every signed checkpoint,
  no duplicate JSON keys, and that the trail ends with the final checkpoint its writer seals it with.
  --public-key FILE  the Ed25519 public key (PEM) the checkpoints must be signed with. Without it, TRAIL.pub
                     beside the trail is used, which proves integrity only against that file: whoever could
                     rewrite the trail could rewrite it too. Keep a copy where the agent cannot write.
  --json             print the result as one JSON object
  Exit 0 intact and sealed; 2 broken (the first bad line named); 3 intact but unsealed (entries after the
  last checkpoint, no final checkpoint, or an incomplete last line: a killed run or a cut-off trail);
  1 usage or I/O error (no key, unreadable file).`;

/** Exit codes of `verify`; 1 (usage or I/O error) is main's. */
export const VERIFY_EXIT = Object.freeze({ sealed: 0, broken: 2, unsealed: 3 });

type KeySource = { readonly path: string; readonly beside: boolean };

/** The public key file: the one given, else TRAIL.pub beside the trail; a usage error when there is neither. */
function keySource(trail: string, given: string | undefined): KeySource {
  if (given !== undefined) return { path: given, beside: false };
  const beside = `${trail}.pub`;
  if (existsSync(beside)) return { path: beside, beside: true };
  throw new PolicyKernelError("invalid_input", `no public key: pass --public-key FILE (the key published with the run), or put ${beside} beside the trail`, {
    field: "--public-key",
  });
}

/** `policy-kernel verify`: checks a trail's chain and signed checkpoints; exit 0 sealed, 2 broken, 3 unsealed. */
export async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { "public-key": { type: "string" }, json: { type: "boolean" } }, { name: "TRAIL", what: "trail file", min: 1, max: 1 });
  const trail = positionals[0]!;
  const key = keySource(trail, values["public-key"]);
  const publicKey = toVerifyingKey(key.path, key.beside ? "public key beside the trail" : "--public-key");
  if (key.beside) {
    process.stderr.write(
      `policy-kernel verify: note: using ${key.path}, found beside the trail: this proves integrity only against that file (whoever could rewrite the trail could rewrite it too); pass --public-key with a copy kept elsewhere\n`,
    );
  }
  const result = await verifyJsonl(trail, { publicKey });
  const report = verifyReport(trail, key, result);
  const { text, ...json } = report;
  process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
  return VERIFY_EXIT[report.status];
}

