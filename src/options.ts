// Shared by the modules whose options are a strict zod object (kernel, policy helpers, runner,
// reward, audit; the environment names every unknown key itself): one way to say "unknown option x, expected one of …".
import type { z } from "zod";
import { fromZodError, issuePath, PolicyKernelError, type ErrorCode } from "./errors.js";

/** Known keys of an options object, by the dotted path of the (sub-)object ("" for the top level). */
export type KnownKeys = Readonly<Record<string, readonly string[]>>;

/**
 * Turns a zod error on an options object into a PolicyKernelError (`invalid_config` unless
 * told otherwise). An unknown key gets its own message listing the known ones, because zod's
 * default ("Unrecognized key") located at "(root)" does not tell a user what to type instead.
 * `known` is the options schema itself (its top-level keys) or the keys by sub-object path.
 */
export function optionsError(
  error: z.ZodError,
  root: string,
  known: KnownKeys | { readonly shape: object },
  code: ErrorCode = "invalid_config",
): PolicyKernelError {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") {
    const byPath: KnownKeys = "shape" in known ? { "": Object.keys(known.shape) } : known;
    const key = issue.keys[0] ?? "?";
    const keys = byPath[issue.path.length === 0 ? "" : issuePath(issue.path)];
    const location: { field: string; expected?: string } = { field: issuePath([...issue.path, key], root) };
    if (keys && keys.length > 0) location.expected = `one of ${keys.join(", ")}`;
    return new PolicyKernelError(code, `unknown option '${key}'`, location);
  }
  return fromZodError(code, error, { root });
}
