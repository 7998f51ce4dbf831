import { PolicyKernelError } from "../errors.js";
import { isFunction, isPlainObject } from "../values.js";
import type { Action, Violation } from "../schemas.js";
import { TASK_OUTCOME } from "../reward/rollout.js";
import { SEVERITY_SCALE, type EnvironmentConfig } from "./config.js";

/**
 * What one step did for the task, as the task reward (`rewardFn`) sees it. It carries no
 * decision and no violations on purpose: governance is priced once, by the environment's
 * `reward` shaper, so a task reward cannot charge a violation a second time.
 */
export interface TaskOutcome<TResult> {
  /** The kernel allowed the action, no SIGKILL/SIGSTOP held it, and the executor ran it. */
  readonly executed: boolean;
  readonly blocked: boolean;
  readonly result: TResult | undefined;
  readonly success: boolean;
  readonly done: boolean;
}

/** Task (base) reward of a step: what the task pays, before governance shaping and step penalty. */
export type RewardFn<TState, TResult> = (state: TState, action: Action, outcome: TaskOutcome<TResult>) => number;

/** One step as a reward shaper reads it. */
export interface ShapedStep {
  /** The task reward (`rewardFn`'s result). */
  readonly base: number;
  readonly success: boolean;
  /** The decision's violations, then those the executor reported. */
  readonly violations: readonly Violation[];
}

/** A shaper's answer: the violation delta (<= 0), the bonus paid (>= 0) and the shaped reward. */
export interface ShapedReward {
  readonly penalty: number;
  readonly bonus: number;
  readonly reward: number;
}

/**
 * Turns a step's task reward and violations into its reward: a `PolicyReward`, or your own.
 * The environment's step penalty is added after it; nothing else is.
 */
export interface StepRewardShaper {
  /** Prices one step: called once per step, after the task reward, with the step's violations. */
  shapeStep(step: ShapedStep): ShapedReward;
}

/** A step reward split into its parts; `total` is what `step()` returns. */
export interface RewardParts {
  readonly base: number;
  /** The step penalty (config.stepPenalty). */
  readonly step: number;
  /** The violations' delta, <= 0: the shaper's penalty (by default severity-scaled violationPenalty). */
  readonly violations: number;
  readonly bonus: number;
  readonly total: number;
}

/** The environment's step reward: base + stepPenalty + severity-scaled violation penalties + success bonus. */
export function stepReward(
  config: Pick<EnvironmentConfig, "stepPenalty" | "violationPenalty" | "successBonus">,
  step: { readonly base: number; readonly violations: readonly Pick<Violation, "severity">[]; readonly success: boolean },
): RewardParts {
  let violations = 0;
  for (const v of step.violations) violations += config.violationPenalty * SEVERITY_SCALE[v.severity];
  const bonus = step.success && step.violations.length === 0 ? config.successBonus : 0;
  const total = step.base + config.stepPenalty + violations + bonus;
  return { base: step.base, step: config.stepPenalty, violations, bonus, total };
}

/** The step reward when a shaper prices governance: the shaper's reward, then the step penalty. */
export function shapedStepReward(shaper: StepRewardShaper, stepPenalty: number, step: ShapedStep): RewardParts {
  const shaped = shaper.shapeStep(step);
  if (!isPlainObject(shaped) || ![shaped.penalty, shaped.bonus, shaped.reward].every((n) => typeof n === "number" && Number.isFinite(n))) {
    throw new PolicyKernelError("invalid_input", "the reward shaper's shapeStep must return finite numbers {penalty, bonus, reward}", {
      field: "reward",
    });
  }
  return { base: step.base, step: stepPenalty, violations: shaped.penalty, bonus: shaped.bonus, total: shaped.reward + stepPenalty };
}

/** True for an object with a `shapeStep(step)` method. */
export function isStepRewardShaper(value: unknown): value is StepRewardShaper {
  return typeof value === "object" && value !== null && isFunction((value as { shapeStep?: unknown }).shapeStep);
}

/**
 * Refuses a second pricing of violations at construction: with a `reward` shaper the
 * environment's own violationPenalty and successBonus must be left out (or 0), and a
 * PolicyReward's baseRewardFn would be ignored (the task reward is the environment's rewardFn).
 */
export function assertOneRewardShaping(
  shaper: StepRewardShaper,
  configInput: unknown,
  root: string,
): void {
  const given = isPlainObject(configInput) ? configInput : {};
  for (const field of ["violationPenalty", "successBonus"] as const) {
    const value = given[field];
    if (value === undefined || value === 0) continue;
    throw new PolicyKernelError(
      "invalid_config",
      `${field} (${String(value)}) and the reward option both price violations, so every penalty would count twice: ` +
        `either drop ${field} and let the reward shaper (e.g. PolicyReward) price them, or drop the reward option to use the environment's severity penalties`,
      { field: `${root}${field}`, expected: "absent or 0 when a reward shaper is given" },
    );
  }
  const usesBase = (shaper as { usesBaseRewardFn?: unknown }).usesBaseRewardFn;
  if (usesBase === true) {
    throw new PolicyKernelError(
      "invalid_config",
      "the PolicyReward given as reward has a baseRewardFn, which an environment never calls: the task reward is the environment's rewardFn(state, action, outcome); move the base reward there",
      { field: "reward", expected: "a PolicyReward without baseRewardFn" },
    );
  }
}

/** Brands a task outcome so a PolicyReward handed one can say where it belongs instead of a schema error. */
export function brandTaskOutcome<TResult>(outcome: TaskOutcome<TResult>): TaskOutcome<TResult> {
  Object.defineProperty(outcome, TASK_OUTCOME, { value: true, enumerable: false });
  return outcome;
}
