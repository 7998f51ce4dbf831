import { z } from "zod";
import { PolicyKernelError, fromZodError } from "../errors.js";
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
/** What a reward reads of a rollout: `success` and `violations`; other fields pass through. */
export type RewardRollout = z.infer<typeof RewardRolloutSchema>;

/** A reward function: one finite number per rollout. */
export type RewardFn<R extends RewardRollout = RewardRollout> = (rollout: R) => number;

/** Anything with a `reward(rollout)` method (PolicyReward, CompositeReward, your own). */
export interface Rewarder<R extends RewardRollout = RewardRollout> {
  /** One finite reward for the rollout. */
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

/**
 * Marks a GovernedEnvironment's task outcome (what its rewardFn receives). Such an outcome has
 * no violations by design; a reward handed one is being stacked on top of the environment.
 */
export const TASK_OUTCOME: unique symbol = Symbol.for("policy-kernel.task-outcome");

/** Checks a rollout has what a reward reads; returns the error instead of throwing. */
export function checkRollout(rollout: unknown): PolicyKernelError | undefined {
  if (isRewardRollout(rollout)) return undefined;
  if (typeof rollout === "object" && rollout !== null && TASK_OUTCOME in rollout) {
    return new PolicyKernelError(
      "invalid_input",
      "a reward was given an environment's task outcome, which has no violations: to shape a GovernedEnvironment's reward with a PolicyReward, pass it as the environment's reward option and let rewardFn return the task reward only",
      { field: "rollout", expected: "a rollout {success, violations}, or the PolicyReward as the environment's reward option" },
    );
  }
  // Rejected (or unusual): the schema decides, and says what is wrong.
  const parsed = RewardRolloutSchema.safeParse(rollout);
  return parsed.success ? undefined : fromZodError("invalid_input", parsed.error, { root: "rollout" });
}
