/** What went wrong in an environment; a string code as in OPA's `rego` errors. */
export type EnvErrorCode = "reset_needed" | "env_closed" | "step_in_progress" | "invalid_step" | "check_failed";

/**
 * Base error of the environment layer. It is not a PolicyKernelError because the kernel's
 * `ErrorCode` union is closed and these failures are about episode order, not policies.
 */
export class EnvError extends Error {
  readonly code: EnvErrorCode;

  constructor(code: EnvErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** `step()` without an episode in progress (before `reset()`, or after it terminated or truncated). */
export class ResetNeeded extends EnvError {
  constructor(message = "no episode in progress: call reset() before step()") {
    super("reset_needed", message);
  }
}

/** `reset()` or `step()` after `close()`. */
export class EnvClosed extends EnvError {
  constructor(message = "the environment is closed") {
    super("env_closed", message);
  }
}

/** A `checkEnv` check failed; `check` names it. */
export class EnvCheckError extends EnvError {
  readonly check: string;

  constructor(check: string, message: string, options?: { cause?: unknown }) {
    super("check_failed", `checkEnv: ${check}: ${message}`, options);
    this.check = check;
  }
}

/** True when `error` is an EnvError (optionally of one code). */
export function isEnvError(error: unknown, code?: EnvErrorCode): error is EnvError {
  return error instanceof EnvError && (code === undefined || error.code === code);
}

/**
 * True when `error` says "reset first". Also accepts a look-alike from another copy of this
 * module (duplicated package install) by name and code, since `instanceof` fails across copies.
 */
export function isResetNeeded(error: unknown): boolean {
  if (error instanceof ResetNeeded) return true;
  if (typeof error !== "object" || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return name === "ResetNeeded" && code === "reset_needed";
}
