import { z } from "zod";
import { fromZodError, type PolicyKernelError } from "../errors.js";
import { SEVERITIES, SIGNAL_NAME, ViolationSchema, ViolationSourceSchema, ViolationTypeSchema } from "../schemas.js";
import { isPlainObject } from "../values.js";

/**
 * The part of a rollout rewards read. A GovernedRollout fits it structurally; the reward
 * module does not import the runner (dependency rule), so any rollout-shaped object works.
 */
export const RewardRolloutSchema = z.looseObject({
  success: z.boolean(),
  violations: z.array(ViolationSchema),
});
export type RewardRollout = z.infer<typeof RewardRolloutSchema>;

/** A reward function: one finite number per rollout. */
export type RewardFn<R extends RewardRollout = RewardRollout> = (rollout: R) => number;

/** Anything with a `reward(rollout)` method (PolicyReward, CompositeReward, your own). */
export interface Rewarder<R extends RewardRollout = RewardRollout> {
  reward(rollout: R): number;
}

const SEVERITY_SET: ReadonlySet<unknown> = new Set(SEVERITIES);
const TYPE_SET: ReadonlySet<unknown> = new Set(ViolationTypeSchema.options);
const SOURCE_SET: ReadonlySet<unknown> = new Set(ViolationSourceSchema.options);

/** ViolationSchema's checks, hand-written: never true for a value the schema rejects (a property test holds it). */
function isViolation(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const { type, policy, rule, severity, description, blocked, penalty, source, signal } = value;
  return (
    TYPE_SET.has(type) &&
    typeof policy === "string" &&
    typeof rule === "string" &&
    SEVERITY_SET.has(severity) &&
    typeof description === "string" &&
    typeof blocked === "boolean" &&
    typeof penalty === "number" &&
    Number.isFinite(penalty) &&
    penalty >= 0 &&
    SOURCE_SET.has(source) &&
    (signal === undefined || (typeof signal === "string" && SIGNAL_NAME.test(signal)))
  );
}

/**
 * The schema's acceptance for the common case, without zod: a reward is computed on every
 * training step, and parsing each violation through zod was most of PolicyReward's cost.
 */
export function isRewardRollout(rollout: unknown): boolean {
  if (!isPlainObject(rollout) || typeof rollout["success"] !== "boolean") return false;
  const violations = rollout["violations"];
  if (!Array.isArray(violations)) return false;
  for (const violation of violations) if (!isViolation(violation)) return false;
  return true;
}

/** Checks a rollout has what a reward reads; returns the error instead of throwing. */
export function checkRollout(rollout: unknown): PolicyKernelError | undefined {
  if (isRewardRollout(rollout)) return undefined;
  // Rejected (or unusual): the schema decides, and says what is wrong.
  const parsed = RewardRolloutSchema.safeParse(rollout);
  return parsed.success ? undefined : fromZodError("invalid_input", parsed.error, { root: "rollout" });
}

/** Describes a non-number for an error message (`NaN`, `a string`, `a Promise`). */
export function describeValue(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (value === null) return "null";
  if (typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function") {
    return "a Promise (reward functions must be synchronous)";
  }
  return `a ${typeof value}`;
}

/** Turns -0 into 0 so sums and stats compare and serialise as users expect. */
export function noNegativeZero(value: number): number {
  return value === 0 ? 0 : value;
}
