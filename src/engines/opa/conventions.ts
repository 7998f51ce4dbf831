import { z } from "zod";
import { PolicyKernelError } from "../../errors.js";
import type { Effect, PolicyFinding, Severity } from "../../schemas.js";
import { getOwn } from "../../safe-json.js";
import { isPlainObject, shapeOf } from "../../values.js";
import { boundedDetails } from "../../violation-details.js";
import { readFindings } from "../rego/rego-engine.js";

// How the result of an OPA entrypoint someone else wrote becomes findings. OPA itself has no
// notion of a violation: each community settled on a shape (an `allow` boolean, conftest's
// `deny`/`warn` sets of messages, Gatekeeper's `violation` set of `{msg, details}`), and this
// file reads each as its authors mean it. Anything else is an error, which the kernel turns into
// a denial: a result nobody can read never lets an action through.

/** The result conventions an entrypoint can follow; see docs/guides/your-own-opa.md. */
export const ConventionSchema = z.enum(["boolean", "deny", "warn", "gatekeeper", "violations"]);
/** `boolean` (allow), `deny` (conftest messages), `warn` (non-blocking messages), `gatekeeper` ({msg, details}), `violations` (this project's typed findings). */
export type Convention = z.infer<typeof ConventionSchema>;

/** Severity and effect of a convention when neither METADATA nor configuration gives one. */
export const CONVENTION_DEFAULTS: Readonly<Record<Exclude<Convention, "violations">, { readonly severity: Severity; readonly effect: Effect }>> = Object.freeze({
  boolean: { severity: "high", effect: "block" },
  deny: { severity: "high", effect: "block" },
  gatekeeper: { severity: "high", effect: "block" },
  warn: { severity: "medium", effect: "warn" },
});

/** Most messages one entrypoint may return: more is a runaway policy, an error (so a denial), not 10^6 violations. */
export const MAX_MESSAGES = 10_000;

/** What every finding of one entrypoint carries: who raised it and how much it weighs. */
export interface FindingStamp {
  readonly policy: string;
  readonly rule: string;
  /** Undefined: the convention's default. */
  readonly severity?: Severity;
  readonly effect?: Effect;
  readonly penalty?: number;
}

/**
 * The convention an entrypoint's name suggests: its last path segment `allow*` is boolean,
 * `deny*`/`violation` and `violation_*` are messages, `warn*` non-blocking messages, and
 * `violations` this project's typed findings. Undefined when the name says nothing.
 */
export function conventionHint(entrypoint: string): Convention | undefined {
  const rule = lastSegment(entrypoint);
  if (rule === "violations") return "violations";
  if (rule.startsWith("allow")) return "boolean";
  if (rule.startsWith("warn")) return "warn";
  if (rule.startsWith("deny") || rule === "violation" || rule.startsWith("violation_")) return "deny";
  return undefined;
}

/** The rule name of an entrypoint (`httpapi/authz/allow` → `allow`). */
export function lastSegment(entrypoint: string): string {
  const parts = entrypoint.split("/").filter((part) => part.length > 0);
  return parts.at(-1) ?? entrypoint;
}

/** The package of an entrypoint as Rego writes it (`httpapi/authz/allow` → `httpapi.authz`); the rule name when there is no package. */
export function packageOf(entrypoint: string): string {
  const parts = entrypoint.split("/").filter((part) => part.length > 0);
  return parts.length > 1 ? parts.slice(0, -1).join(".") : lastSegment(entrypoint);
}

/**
 * The findings of one evaluation of `entrypoint`: its Wasm result set (`[]` when undefined,
 * `[{result}]` otherwise) read by `convention` (configured), else by the result's shape with the
 * name as a hint. Throws an "engine_error" naming the entrypoint and the shape it could not read.
 */
export function findingsOf(entrypoint: string, resultSet: unknown, convention: Convention | undefined, stamp: FindingStamp): PolicyFinding[] {
  if (!Array.isArray(resultSet) || resultSet.length > 1) {
    throw shapeError(entrypoint, `expected at most one result, got ${shapeOf(resultSet)}`);
  }
  const first: unknown = resultSet[0];
  if (resultSet.length === 1 && !(isPlainObject(first) && Object.hasOwn(first, "result"))) {
    throw shapeError(entrypoint, `expected a result, got ${shapeOf(first)}`);
  }
  const value = resultSet.length === 0 ? undefined : getOwn(first as Record<string, unknown>, "result");
  const chosen = convention ?? detect(entrypoint, value);
  switch (chosen) {
    case "boolean":
      // Anything but true (false, undefined, a string "true", a set) is not an allow.
      return value === true ? [] : [finding(stamp, "boolean", `${entrypoint} is not true`)];
    case "violations":
      return value === undefined ? [] : readFindings(resultSet, entrypoint);
    default:
      return messagesOf(entrypoint, value, chosen).map((message) => finding(stamp, chosen, message.text, message.details));
  }
}

/** The convention a value's shape shows, the name breaking ties (strings: deny or warn). */
function detect(entrypoint: string, value: unknown): Convention {
  const hint = conventionHint(entrypoint);
  if (hint !== undefined) return hint;
  if (typeof value === "boolean") return "boolean";
  // No hint: undefined reads as "nothing to report" only for a set, which is never undefined in OPA.
  if (Array.isArray(value)) return "deny";
  throw shapeError(entrypoint, `expected a boolean or a set of messages, got ${shapeOf(value)}; name its convention in the configuration (boolean, deny, warn, gatekeeper, violations)`);
}

/** One message of a set, with Gatekeeper's `details` when the item carried them. */
interface Message {
  readonly text: string;
  readonly details?: unknown;
}

/** The messages of a set: strings, or objects with a string `msg` (conftest and Gatekeeper alike). */
function messagesOf(entrypoint: string, value: unknown, convention: Convention): Message[] {
  // A complete rule (`deny := msg if ...`) that did not fire is undefined: nothing to report.
  if (value === undefined) return [];
  // A boolean `deny` (`deny := true if ...`): true is one finding, false none.
  if (typeof value === "boolean" && convention !== "gatekeeper") return value ? [{ text: `${entrypoint} is true` }] : [];
  if (typeof value === "string" && convention !== "gatekeeper") return [{ text: value }];
  if (!Array.isArray(value)) throw shapeError(entrypoint, `expected a set of messages (${convention}), got ${shapeOf(value)}`);
  if (value.length > MAX_MESSAGES) throw shapeError(entrypoint, `${value.length} messages, more than the ${MAX_MESSAGES} one entrypoint may return`);
  return value.map((item: unknown, index): Message => {
    if (typeof item === "string" && convention !== "gatekeeper") return { text: item };
    if (isPlainObject(item)) {
      const msg = getOwn(item, "msg");
      if (typeof msg !== "string") throw shapeError(entrypoint, `[${index}].msg: expected a string message, got ${shapeOf(msg)}`);
      const details = getOwn(item, "details");
      return details === undefined ? { text: msg } : { text: msg, details };
    }
    const wanted = convention === "gatekeeper" ? "an object {msg, details?}" : "a string or an object {msg}";
    throw shapeError(entrypoint, `[${index}]: expected ${wanted}, got ${shapeOf(item)}`);
  });
}

function finding(stamp: FindingStamp, convention: Exclude<Convention, "violations">, description: string, details?: unknown): PolicyFinding {
  const defaults = CONVENTION_DEFAULTS[convention];
  const result: PolicyFinding = {
    policy: stamp.policy,
    rule: stamp.rule,
    severity: stamp.severity ?? defaults.severity,
    effect: stamp.effect ?? defaults.effect,
    description,
  };
  if (stamp.penalty !== undefined) result.penalty = stamp.penalty;
  if (details !== undefined) result.details = boundedDetails(details);
  return result;
}

function shapeError(entrypoint: string, problem: string): PolicyKernelError {
  return new PolicyKernelError("engine_error", `unexpected result from entrypoint ${entrypoint}: ${problem}`);
}
