import { PolicyKernelError } from "../errors.js";
import { kernelSection } from "../engines/rego/bundle.js";
import { KNOWN_ACTION_SCHEMAS, type Violation } from "../schemas.js";
import { compareCodeUnits, editDistance } from "../values.js";
import { kernelViolation } from "./decision.js";

// Closed by default: an action type no policy declares is denied, so a near miss ("SQL", "sql ",
// "Transaction") can never slip past the policies that guard the real type.

/** The types the default policy library declares: each has a schema and policies that read it. */
export const DEFAULT_ACTION_TYPES: readonly string[] = Object.keys(KNOWN_ACTION_SCHEMAS).sort();

/** Where a bundle lists further action types its policies handle. */
export const ACTION_TYPES_FIELD = "data.policy_kernel.action_types";

/**
 * The allow-list: `given` (the kernel option) when set, else the default library's types plus
 * those the data lists at `policy_kernel.action_types`. A malformed list is a load error.
 */
export function declaredActionTypes(data: Record<string, unknown>, given: readonly string[] | undefined): ReadonlySet<string> {
  if (given !== undefined) return new Set(given);
  const listed = kernelSection(data)["action_types"];
  if (listed === undefined) return new Set(DEFAULT_ACTION_TYPES);
  if (!Array.isArray(listed) || !listed.every((type) => typeof type === "string" && type.length > 0)) {
    throw new PolicyKernelError("invalid_config", "action types must be a list of non-empty strings", {
      field: ACTION_TYPES_FIELD,
      expected: 'an array such as ["deploy", "http_request"]',
    });
  }
  return new Set([...DEFAULT_ACTION_TYPES, ...(listed as string[])]);
}

/** Characters of an agent-chosen type name quoted in a description (and compared for the closest match). */
const SHOWN_CHARS = 64;

/** The critical violation that denies an action whose type is not on the allow-list, naming the closest declared type. */
export function unknownTypeViolation(type: string, declared: ReadonlySet<string>): Violation {
  const shown = JSON.stringify(type.length > SHOWN_CHARS ? `${type.slice(0, SHOWN_CHARS)}…` : type);
  const closest = closestType(type, declared);
  const hint = closest === undefined ? "no action type is declared" : `the closest declared type is ${JSON.stringify(closest)}`;
  return kernelViolation("unknown_action_type", `action type ${shown} is not declared by any policy (type names are exact; ${hint})`, "kernel", false);
}

/** The declared type nearest to `type` by edit distance after trimming and case-folding; ties in code-unit order. */
export function closestType(type: string, declared: ReadonlySet<string>): string | undefined {
  const probe = type.slice(0, SHOWN_CHARS).trim().toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of [...declared].sort(compareCodeUnits)) {
    const distance = editDistance(probe, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
