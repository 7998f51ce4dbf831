import type { z } from "zod";
import { findNonJson } from "./values.js";

/** The one error type of the kernel; `code` says what kind of failure it is. */
export type ErrorCode =
  | "invalid_action"
  | "invalid_config"
  | "invalid_bundle"
  | "invalid_rules"
  | "invalid_case_file"
  | "invalid_input"
  | "engine_error"
  | "opa_unavailable"
  | "io_error"
  /** A flight recorder was asked for entries its `retain` window no longer holds in memory. */
  | "not_retained"
  /** A long run was stopped from outside (an AbortSignal, Ctrl-C) before it finished. */
  | "interrupted";

/** Where a bad value is: the file, the field and what was expected there (each optional). */
export interface ErrorLocation {
  /** File the bad value came from, when there is one. */
  readonly file?: string;
  /** Dotted path of the offending field (`action.sql`, `rules[2].conditions`). */
  readonly field?: string;
  /** What was expected there, in words. */
  readonly expected?: string;
}

/** Base error: `name` follows the subclass so logs and `instanceof` agree. */
export class PolicyKernelError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly expected: string | undefined;
  /** The message without its location: what went wrong, as the thrower said it. */
  readonly reason: string;

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(formatLocated(message, location), options);
    this.name = new.target.name;
    this.code = code;
    this.reason = message;
    this.file = location.file;
    this.field = location.field;
    this.expected = location.expected;
  }
}

/**
 * The text of anything thrown: an Error's message, the `message` of a plain object (opa-wasm
 * throws `{message}` for aborts and missing builtins), else its string form.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error !== null && typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  return String(error);
}

/** True when `error` is a PolicyKernelError (optionally of one code). */
export function isPolicyKernelError(error: unknown, code?: ErrorCode): error is PolicyKernelError {
  return error instanceof PolicyKernelError && (code === undefined || error.code === code);
}

function formatLocated(message: string, { file, field, expected }: ErrorLocation): string {
  const where = [file, field].filter((part): part is string => Boolean(part)).join(": ");
  const want = expected ? ` (expected ${expected})` : "";
  return where ? `${where}: ${message}${want}` : `${message}${want}`;
}

/** Dotted path of a zod issue (`rules[2].event.params`), prefixed by `root` when given. */
export function issuePath(path: readonly PropertyKey[], root = ""): string {
  let out = root;
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || "(root)";
}

/** Turns the first issue of a zod error into a located PolicyKernelError. */
export function fromZodError(
  code: ErrorCode,
  error: z.ZodError,
  location: { file?: string; root?: string } = {},
): PolicyKernelError {
  const issue = error.issues[0];
  if (!issue) return new PolicyKernelError(code, "invalid value", { file: location.file });
  const field = issuePath(issue.path, location.root);
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more issue${error.issues.length > 2 ? "s" : ""})` : "";
  return new PolicyKernelError(code, `${issue.message}${more}`, { file: location.file, field });
}

/** Throws an "invalid_config" PolicyKernelError at the first place `value` is not JSON data (see findNonJson). */
export function assertJsonData(value: unknown, field: string): void {
  const problem = findNonJson(value);
  if (!problem) return;
  throw new PolicyKernelError("invalid_config", `${problem.found} is not JSON data`, {
    field: issuePath(problem.path, field),
    expected: "JSON data: objects, arrays, strings, finite numbers, booleans, null",
  });
}
