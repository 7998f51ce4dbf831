import { readFileSync } from "node:fs";
import { PolicyKernelError } from "../errors.js";
import { UsageError } from "./flags.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../kernel/create-kernel.js";
import { assertNoPreparedValues } from "../engines/rego/prepared-values.js";
import { isPlainObject } from "../values.js";
import { assertNoJsonHazard } from "../safe-json.js";
import type { PolicyKernel } from "../kernel/types.js";
import { VERIFICATION_FLAGS, verificationFromFlags, type VerificationFlagValues } from "./verification-flags.js";
import { BUNDLE_SERVICE_FLAGS, bundleServiceFromFlags, type BundleServiceFlagValues } from "./bundle-service-flags.js";

/** The flags every command that builds a kernel accepts, for `util.parseArgs`. */
export const KERNEL_FLAGS = {
  bundle: { type: "string" },
  rules: { type: "string", multiple: true },
  "no-rules": { type: "boolean" },
  "no-bundle": { type: "boolean" },
  data: { type: "string" },
  "fail-open": { type: "boolean" },
  "log-level": { type: "string" },
  "bundle-max-bytes": { type: "string" },
  "bundle-max-files": { type: "string" },
  ...VERIFICATION_FLAGS,
  ...BUNDLE_SERVICE_FLAGS,
} as const;

export interface KernelFlagValues extends VerificationFlagValues, BundleServiceFlagValues {
  bundle?: string;
  rules?: string[];
  "no-rules"?: boolean;
  "no-bundle"?: boolean;
  data?: string;
  "fail-open"?: boolean;
  "log-level"?: string;
  "bundle-max-bytes"?: string;
  "bundle-max-files"?: string;
}

/** The levels --log-level accepts (pino's, and silent), checked at the flag so the error names it. */
const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** Kernel options from CLI flags; with neither --bundle nor --rules they select the default library. */
export function kernelOptionsFromFlags(values: KernelFlagValues): PolicyKernelOptions {
  // Both halves of a pair would silently mean the "no": say which one to drop instead.
  if (values["no-bundle"] && values.bundle !== undefined) throw new UsageError("--bundle and --no-bundle contradict each other; give one");
  if (values["no-rules"] && values.rules !== undefined) throw new UsageError("--rules and --no-rules contradict each other; give one");
  const logLevel = values["log-level"] ?? "warn";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`, { field: "--log-level" });
  }
  const options: Record<string, unknown> = {};
  if (values["no-bundle"]) options["bundle"] = false;
  else if (values.bundle) options["bundle"] = values.bundle;
  if (values["no-rules"]) options["rules"] = false;
  else if (values.rules) options["rules"] = values.rules;
  if (values.data) {
    const data = readJsonObject(values.data, "--data");
    assertNoPreparedValues(data, { file: displayName(values.data), field: "policy_kernel.prepared" });
    options["data"] = data;
    options["dataSource"] = displayName(values.data);
  }
  if (values["bundle-max-bytes"] !== undefined || values["bundle-max-files"] !== undefined) {
    const limits: Record<string, number> = {};
    if (values["bundle-max-bytes"] !== undefined) limits["maxBytes"] = positiveIntFlag(values["bundle-max-bytes"], "--bundle-max-bytes", 0);
    if (values["bundle-max-files"] !== undefined) limits["maxFiles"] = positiveIntFlag(values["bundle-max-files"], "--bundle-max-files", 0);
    options["bundleLimits"] = limits;
  }
  const verification = verificationFromFlags(values);
  if (verification) options["verification"] = verification;
  const service = bundleServiceFromFlags(values);
  if (service) options["bundleService"] = service;
  if (values["fail-open"]) options["failOpen"] = true;
  // Warnings (a bundle whose build record is not trusted, a policy failing) reach a CLI user on
  // stderr unless asked otherwise; the library stays silent by default.
  options["logLevel"] = logLevel;
  return options as PolicyKernelOptions;
}

/** Builds a kernel from CLI flags (see kernelOptionsFromFlags). */
export async function kernelFromFlags(values: KernelFlagValues): Promise<PolicyKernel> {
  return createPolicyKernel(kernelOptionsFromFlags(values));
}

/** Reads a JSON object from a file (or `-` for stdin), with errors that name the file. */
function readJsonObject(path: string, flag: string): Record<string, unknown> {
  const value = readJson(path, flag);
  if (!isPlainObject(value)) {
    throw new PolicyKernelError("invalid_input", "not a JSON object", { file: displayName(path), field: flag, expected: "a JSON object" });
  }
  assertNoJsonHazard(value, "invalid_config", { file: displayName(path) });
  return value;
}

/** Why a file could not be read, in words a user can act on; the errno code stays for searching. */
const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: "file not found",
  EISDIR: "is a folder, not a file",
  EACCES: "permission denied",
  ENOTDIR: "a part of the path is a file, not a folder",
};

/** Reads and parses a JSON file (or stdin for `-`); `flag` names the flag that gave the path in errors. */
export function readJson(path: string, flag?: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    const why = READ_FAILURES[code];
    throw new PolicyKernelError("io_error", `cannot read file (${why ? `${code}: ${why}` : code})`, { file: displayName(path), ...(flag ? { field: flag } : {}) });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PolicyKernelError("invalid_input", `invalid JSON (${(error as Error).message})`, { file: displayName(path), expected: "valid JSON" });
  }
}

/** `-` reads standard input; name it so in messages. */
export function displayName(path: string): string {
  return path === "-" ? "<stdin>" : path;
}

/** A whole number from 1 to `max` from a flag, `fallback` when it is absent; a PolicyKernelError naming the flag otherwise. */
export function positiveIntFlag(raw: string | undefined, flag: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > max) {
    throw new UsageError(`must be a whole number from 1 to ${max}, got "${raw}"`, { field: flag });
  }
  return Number(raw);
}
