import type { z } from "zod";
import { PolicyKernelError, issuePath } from "../errors.js";

/** Turns a failed options/record parse into a PolicyKernelError naming the field (unknown names included). */
export function optionsError(error: z.ZodError, what: string, code: "invalid_config" | "invalid_input" = "invalid_config"): PolicyKernelError {
  const issue = error.issues[0];
  if (!issue) return new PolicyKernelError(code, `invalid ${what}`);
  if (issue.code === "unrecognized_keys") {
    return new PolicyKernelError(code, `unknown ${what} ${issue.keys.length > 1 ? "names" : "name"}: ${issue.keys.join(", ")}`, {
      field: issuePath([...issue.path, issue.keys[0] ?? ""]),
    });
  }
  return new PolicyKernelError(code, `invalid ${what}: ${issue.message}`, { field: issuePath(issue.path) });
}
