import { z } from "zod";
import { EffectSchema, SeveritySchema } from "../../schemas.js";
import { ConventionSchema } from "./conventions.js";
import { BundleVerificationSchema } from "../rego/bundle-signature.js";

/** One entrypoint of an OPA bundle with what configuration says of its findings (over METADATA and the convention's defaults). */
export const OpaEntrypointConfigSchema = z.strictObject({
  /** The entrypoint as `opa build -e` names it: `httpapi/authz/allow` (or `data.httpapi.authz.allow`). */
  path: z.string().min(1),
  /** How its result reads; default: from the result's shape and the rule's name. */
  convention: ConventionSchema.optional(),
  /** Any case, as METADATA writes it (`High`); read as lower case. */
  severity: z.string().transform((value) => value.toLowerCase()).pipe(SeveritySchema).optional(),
  effect: EffectSchema.exclude(["signal"]).optional(),
  penalty: z.number().finite().nonnegative().optional(),
  /** The violation's `policy` (default: the package, `httpapi.authz`) and `rule` (default: the rule, `allow`). */
  policy: z.string().min(1).optional(),
  rule: z.string().min(1).optional(),
});
/** An entrypoint and how its findings are read; see OpaEntrypointConfigSchema. */
export type OpaEntrypointConfig = z.input<typeof OpaEntrypointConfigSchema>;

/** One OPA bundle the kernel evaluates, and which of its entrypoints govern. */
export const OpaSourceSchema = z.strictObject({
  /** Bundle `.tar.gz` or folder built by `opa build -t wasm -e ENTRYPOINT...`. */
  bundle: z.string().min(1),
  /** Its entrypoints that decide: a path, or a path with its convention and weights. */
  entrypoints: z.array(z.union([z.string().min(1), OpaEntrypointConfigSchema])).min(1),
  /**
   * An input binding file (docs/guides/input-binding.md): each agent action becomes the input these
   * policies read. Checked at load against the input paths the bundle's build record lists for
   * each entrypoint (`policy-kernel build DIR --entrypoint E` records them).
   */
  binding: z.string().min(1).optional(),
  /** The key the bundle is signed with (OPA's `.signatures.json`; docs/guides/signed-bundles.md); absent: it must be unsigned. */
  verification: BundleVerificationSchema.optional(),
});
/** An OPA bundle and the entrypoints of it that decide (kernel option `opa`). */
export type OpaSource = z.input<typeof OpaSourceSchema>;

/** `data.a.b.c` (as `opa eval` writes it) or `a/b/c` (as `opa build -e` does), as the module's entrypoint map names it: `a/b/c`. */
export function entrypointName(path: string): string {
  const trimmed = path.trim();
  if (trimmed.startsWith("data.")) return trimmed.slice("data.".length).split(".").join("/");
  return trimmed.replace(/^\/+/, "");
}
