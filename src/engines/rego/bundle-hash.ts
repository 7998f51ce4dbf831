import { createHash } from "node:crypto";
import { goHashInput, parseGoJson } from "./go-json.js";

/** The hash algorithms a signed file entry may name, as OPA spells them (bundle/hash.go), and node:crypto's names for them. */
export const SIGNATURE_HASHES: Readonly<Record<string, string>> = Object.freeze({
  MD5: "md5",
  "SHA-1": "sha1",
  "SHA-224": "sha224",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
  "SHA-512-224": "sha512-224",
  "SHA-512-256": "sha512-256",
});

/** Why a file could not be hashed the way OPA hashes it; the verifier names the file. */
export class BundleHashError extends Error {}

/** Whether OPA hashes `path` over its parsed JSON rather than its bytes (bundle.IsStructuredDoc). */
export function isStructuredDoc(path: string): boolean {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base === "data.json" || base === ".manifest" || isYamlDataFile(path);
}

/** `data.yaml` / `data.yml`: OPA hashes them over the YAML's JSON form, which policy-kernel does not load. */
export function isYamlDataFile(path: string): boolean {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base === "data.yaml" || base === "data.yml";
}

/**
 * The digest OPA's verifier computes for a bundle file (bundle/verify.go `VerifyBundleFile`):
 * `data.json` and `.manifest` over their parsed JSON (so whitespace and key order do not count,
 * a number's spelling does), every other file over its bytes. Throws BundleHashError when a
 * structured file is not UTF-8 JSON, and for an algorithm OPA does not know.
 */
export function bundleFileDigest(path: string, bytes: Uint8Array, algorithm: string): Buffer {
  const name = Object.hasOwn(SIGNATURE_HASHES, algorithm) ? SIGNATURE_HASHES[algorithm] : undefined;
  if (name === undefined) throw new BundleHashError(`unsupported hashing algorithm: ${algorithm}`);
  const hash = createHash(name);
  if (!isStructuredDoc(path)) return hash.update(bytes).digest();
  if (isYamlDataFile(path)) throw new BundleHashError("YAML data files cannot be verified here: policy-kernel loads data from data.json only; ship the data as data.json");
  hash.update(goHashInput(parseStructured(bytes)));
  return hash.digest();
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function parseStructured(bytes: Uint8Array): ReturnType<typeof parseGoJson> {
  // OPA's util.Unmarshal drops a UTF-8 byte-order mark before parsing.
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    // Go would read each bad byte as U+FFFD; a signed file OPA wrote is UTF-8, so bad bytes are tampering.
    throw new BundleHashError("not valid UTF-8");
  }
  try {
    return parseGoJson(text);
  } catch (error) {
    throw new BundleHashError(`not JSON (${(error as Error).message})`);
  }
}
