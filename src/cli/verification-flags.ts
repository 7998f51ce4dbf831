import { existsSync, readFileSync, statSync } from "node:fs";
import { PolicyKernelError } from "../errors.js";
import { SIGNING_ALGORITHMS, type BundleVerification } from "../engines/rego/bundle-signature.js";
import { UsageError } from "./flags.js";

/** The flags that verify a signed --bundle, with OPA's names (`opa run`, `opa build`). */
export const VERIFICATION_FLAGS = {
  "verification-key": { type: "string" },
  "verification-key-id": { type: "string" },
  scope: { type: "string" },
  "signing-alg": { type: "string" },
} as const;

/** What VERIFICATION_FLAGS parse to. */
export interface VerificationFlagValues {
  "verification-key"?: string;
  "verification-key-id"?: string;
  scope?: string;
  "signing-alg"?: string;
}

/** The usage lines of VERIFICATION_FLAGS. */
export const VERIFICATION_FLAGS_USAGE = `  --verification-key K   --bundle is signed (OPA's .signatures.json): verify it with K, the path of a PEM public key
                   (RS/PS/ES/EdDSA) or the HMAC secret (HS*: a file's text, or the value itself); a signed bundle
                   without it, or an unsigned one with it, is refused (docs/guides/signed-bundles.md)
  --signing-alg A  the algorithm the signature must use, as OPA's flag: ${SIGNING_ALGORITHMS.join(", ")} (default RS256)
  --scope S        the scope the signature must carry (default: none)
  --verification-key-id ID   the key's name (default "default"; as in OPA, the token's kid does not select it)`;

/** The kernel's `verification` option from the flags, or undefined without --verification-key; a UsageError names a flag that cannot apply. */
export function verificationFromFlags(values: VerificationFlagValues & { bundle?: string | undefined }): BundleVerification | undefined {
  const key = values["verification-key"];
  if (key === undefined) {
    for (const flag of ["verification-key-id", "scope", "signing-alg"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} says how to verify a signed bundle: add --verification-key K (and --bundle B)`);
    }
    return undefined;
  }
  if (values.bundle === undefined) throw new UsageError("--verification-key verifies the signature of --bundle: add --bundle B (the default library is not signed)");
  const alg = values["signing-alg"] ?? "RS256";
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new UsageError(`must be one of ${SIGNING_ALGORITHMS.join(", ")}, got "${alg}"`, { field: "--signing-alg" });
  }
  return {
    key: keyText(key, alg),
    alg: alg as (typeof SIGNING_ALGORITHMS)[number],
    ...(values["verification-key-id"] === undefined ? {} : { keyId: values["verification-key-id"] }),
    ...(values.scope === undefined ? {} : { scope: values.scope }),
  };
}

/**
 * The key as OPA's CLI reads --verification-key: a file's content when the path exists, else the
 * value itself. A value that is neither a file, PEM text nor an HMAC secret is a path mistyped.
 */
function keyText(value: string, alg: string): string {
  if (existsSync(value)) {
    if (!statSync(value).isFile()) throw new PolicyKernelError("io_error", "is a folder, not a key file", { file: value, field: "--verification-key" });
    return readFileSync(value, "utf8");
  }
  if (alg.startsWith("HS") || value.startsWith("-----BEGIN")) return value;
  throw new PolicyKernelError("io_error", `file not found: for ${alg} the key is the path of a PEM public key (an HMAC secret goes with --signing-alg HS256/384/512)`, { file: value, field: "--verification-key" });
}
