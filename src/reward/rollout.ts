import { z } from "zod";
import { fromZodError, type PolicyKernelError } from "../errors.js";
import { isViolation } from "../decision-check.js";
import { ViolationSchema } from "../schemas.js";
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
