import { bundleFilesFromBytes, parseBundleFiles, readBundleFiles, type BundleLimits, type PolicyBundle } from "./bundle.js";
import { verifyBundleFiles, type BundleVerification } from "./bundle-signature.js";

/** Where a bundle comes from and how it is checked: size caps and, for a signed bundle, its key. */
export interface ReadBundleOptions {
  /** Caps on the bundle; see BundleLimitsSchema. */
  readonly limits?: BundleLimits | undefined;
  /** The key (and key id, scope, algorithm) its `.signatures.json` must verify with; absent: the bundle must be unsigned. */
  readonly verification?: BundleVerification | undefined;
}

/**
 * Reads a bundle (`.tar.gz` or folder) and verifies its signature as OPA does before anything in
 * it is parsed: given a key, the bundle must be signed with it, every file as signed; given none,
 * it must be unsigned (as `opa run` refuses a signed bundle without `--verification-key`).
 */
export async function readVerifiedBundle(location: string, options: ReadBundleOptions = {}): Promise<PolicyBundle> {
  const { files, sha256 } = readBundleFiles(location, options.limits);
  await verifyBundleFiles(files, location, options.verification);
  return parseBundleFiles(files, location, sha256);
}

/** readVerifiedBundle for the bytes of a `.tar.gz` archive (one downloaded from a bundle service), named `location` in errors. */
export async function readVerifiedBundleBytes(bytes: Uint8Array, location: string, options: ReadBundleOptions = {}): Promise<PolicyBundle> {
  const { files, sha256 } = bundleFilesFromBytes(bytes, location, options.limits);
  await verifyBundleFiles(files, location, options.verification);
  return parseBundleFiles(files, location, sha256);
}

/** How the kernel reads a bundle location (a path, or a URL's downloaded archive): caps and verification applied. */
export type BundleReader = (location: string, options: ReadBundleOptions) => Promise<PolicyBundle>;
