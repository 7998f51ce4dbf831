import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import type { PolicyKernel } from "../kernel/types.js";
import { SeveritySchema, type Violation } from "../schemas.js";
import {
  PenaltySchema,
  REWARD_CONFIG_FIELDS,
  REWARD_CONFIG_KEYS,
  RewardConfigSchema,
  defaultRewardConfig,
  SEVERITY_PENALTY_KEY,
  type RewardConfig,
} from "./config.js";
import { checkRollout, type RewardFn, type RewardRollout } from "./rollout.js";
import { describeValue, isFunction, noNegativeZero } from "../values.js";
import { optionsError } from "../options.js";

/** The default base reward: 1 for a successful rollout, else 0. */
export function successReward(rollout: RewardRollout): number {
  return rollout.success ? 1 : 0;
}

/** Options of `new PolicyReward(kernel, options)`; unknown keys are an error. */
export const PolicyRewardOptionsSchema = z.strictObject({
  /** Task reward before governance shaping; must return a finite number synchronously. */
  baseRewardFn: z.custom<RewardFn<RewardRollout>>(isFunction, { message: "a function (rollout) => number" }).optional(),
  config: RewardConfigSchema.optional(),
});
/** Options of PolicyReward, with `baseRewardFn` typed for the caller's rollout. */
export type PolicyRewardOptions<R extends RewardRollout = RewardRollout> = Omit<
  z.input<typeof PolicyRewardOptionsSchema>,
  "baseRewardFn"
> & { baseRewardFn?: RewardFn<R> };
const OPTION_KEYS = { "": Object.keys(PolicyRewardOptionsSchema.shape), config: REWARD_CONFIG_KEYS };

/** How one reward was computed, step by step (base, then penalty, then bonus, then clamp). */
export interface RewardBreakdown {
  readonly base: number;
  /** Delta from violations, <= 0 (additive: severity penalties; multiplicative: base scaled). */
  readonly penalty: number;
  /** The clean bonus if paid (successful rollout without violations), else 0. */
  readonly bonus: number;
  /** base + penalty + bonus, before clamping. */
  readonly unclamped: number;
  readonly reward: number;
  readonly violations: number;
}

/** Aggregates over `reward()` calls since construction or `resetStats()`. */
export interface PolicyRewardStats {
  /** Rollouts rewarded. */
  readonly totalRewards: number;
  /** Sum of penalty deltas (<= 0); clamping is not counted. */
  readonly totalPenalties: number;
  /** totalPenalties / totalRewards (<= 0); 0 before any reward. */
  readonly avgPenalty: number;
  /** Fraction of rewarded rollouts with at least one violation, in [0, 1]. */
  readonly violationRate: number;
  /** Fraction of rewarded rollouts with no violation (1 - violationRate; 0 before any reward). */
  readonly cleanRate: number;
  /** Mean final (clamped) reward; 0 before any reward. */
  readonly meanReward: number;
}

/**
 * Turns a rollout's violations into a shaped scalar reward. Rewards come from the rollout's
 * recorded violations; the kernel is never asked again (it is kept for API parity and so a
 * reward can be traced to the kernel whose decisions it scores).
 */
export class PolicyReward<R extends RewardRollout = RewardRollout> {
  readonly kernel: PolicyKernel | null;
  readonly config: Readonly<RewardConfig>;
  readonly #baseRewardFn: RewardFn<R>;
  /** A baseRewardFn was given (an environment refuses it: its task reward is its own rewardFn). */
  readonly usesBaseRewardFn: boolean;
  #count = 0;
  #penalties = 0;
  #withViolations = 0;
  #rewards = 0;

  /** Creates a reward; throws `invalid_config` on a bad option or config field. */
  constructor(kernel: PolicyKernel | null, options: PolicyRewardOptions<R> = {}) {
    const parsed = PolicyRewardOptionsSchema.safeParse(options ?? {});
    if (!parsed.success) throw optionsError(parsed.error, "options", OPTION_KEYS);
    this.kernel = kernel ?? null;
    this.config = parsed.data.config ? Object.freeze(parsed.data.config) : defaultRewardConfig;
    this.#baseRewardFn = (options?.baseRewardFn ?? successReward) as RewardFn<R>;
    this.usesBaseRewardFn = options?.baseRewardFn !== undefined;
  }

  /**
   * The shaped reward of one rollout, recorded in the stats. Order: base reward, then the
   * violation penalty, then the clean bonus (successful clean rollouts only), then clamping.
   */
  reward(rollout: R): number {
    return this.#record(this.explain(rollout)).reward;
  }

  /**
   * Shapes one GovernedEnvironment step (pass this PolicyReward as the environment's `reward`
   * option): the environment's task reward is the base, recorded in the stats like `reward`.
   */
  shapeStep(step: { readonly base: number; readonly success: boolean; readonly violations: readonly Violation[] }): RewardBreakdown {
    const invalid = checkRollout({ success: step.success, violations: step.violations });
    if (invalid) throw invalid;
    return this.#record(this.#shape(checkedBase(step.base, "base"), step.success, step.violations));
  }

  #record(breakdown: RewardBreakdown): RewardBreakdown {
    this.#count += 1;
    this.#penalties += breakdown.penalty;
    if (breakdown.violations > 0) this.#withViolations += 1;
    this.#rewards += breakdown.reward;
    return breakdown;
  }

  /**
   * The same computation as `reward`, with every intermediate value, without touching the stats.
   *
   * Multiplicative mode applies `base - |base| * (1 - factor)` once when there is any violation:
   * `base * factor` for base >= 0 and `base * (2 - factor)` below 0. It is continuous, monotone in
   * the base and never above the base, so a violation never raises a reward (the reference's
   * `base * factor` turned -10 into -5). Severity penalties are not used in this mode, and a base
   * of 0 stays 0: pair it with a base reward that pays for success if violations must cost.
   */
  explain(rollout: R): RewardBreakdown {
    const invalid = checkRollout(rollout);
    if (invalid) throw invalid;
    return this.#shape(checkedBase(this.#baseRewardFn(rollout), "baseRewardFn"), rollout.success, rollout.violations);
  }

  #shape(base: number, success: boolean, found: readonly Violation[]): RewardBreakdown {
    const { config } = this;
    const violations = found.length;
    let penalty = 0;
    if (violations > 0) {
      if (config.multiplicative) penalty = -Math.abs(base) * (1 - config.multiplicativeFactor);
      else for (const v of found) penalty += config[SEVERITY_PENALTY_KEY[v.severity]];
    }
    // A failed rollout earns no bonus for being clean: doing nothing must not beat doing the task with a small slip.
    const bonus = success && violations === 0 ? config.cleanBonus : 0;
    const unclamped = base + penalty + bonus;
    let reward = unclamped;
    if (config.minReward !== null) reward = Math.max(reward, config.minReward);
    if (config.maxReward !== null) reward = Math.min(reward, config.maxReward);
    return {
      base,
      penalty: noNegativeZero(penalty),
      bonus,
      unclamped: noNegativeZero(unclamped),
      reward: noNegativeZero(reward),
      violations,
    };
  }

  /** A plain `(rollout) => number` bound to this reward, for APIs that take functions. */
  toFunction(): RewardFn<R> {
    return (rollout) => this.reward(rollout);
  }

  /** Aggregates since construction or the last `resetStats()`. */
  getStats(): PolicyRewardStats {
    const n = this.#count;
    if (n === 0) return { totalRewards: 0, totalPenalties: 0, avgPenalty: 0, violationRate: 0, cleanRate: 0, meanReward: 0 };
    return {
      totalRewards: n,
      totalPenalties: noNegativeZero(this.#penalties),
      avgPenalty: noNegativeZero(this.#penalties / n),
      violationRate: this.#withViolations / n,
      cleanRate: (n - this.#withViolations) / n,
      meanReward: noNegativeZero(this.#rewards / n),
    };
  }

  /** Clears the stats (e.g. between training phases). */
  resetStats(): void {
    this.#count = 0;
    this.#penalties = 0;
    this.#withViolations = 0;
    this.#rewards = 0;
  }
}

/** A base reward, checked: a finite number, else an error naming where it came from. */
function checkedBase(base: unknown, field: string): number {
  if (typeof base !== "number" || !Number.isFinite(base)) {
    throw new PolicyKernelError("invalid_input", `${field} returned ${describeValue(base)}`, { field, expected: "a finite number" });
  }
  return base;
}

/** Options of `createPolicyReward`: every RewardConfig field, `severityPenalties`, `baseRewardFn`; nothing else. */
export const CreatePolicyRewardOptionsSchema = z.strictObject({
  baseRewardFn: PolicyRewardOptionsSchema.shape.baseRewardFn,
  /** The tutorial's `severity_penalties` map; each <= 0. */
  severityPenalties: z
    .strictObject({
      critical: PenaltySchema.optional(),
      high: PenaltySchema.optional(),
      medium: PenaltySchema.optional(),
      low: PenaltySchema.optional(),
    })
    .optional(),
  criticalPenalty: REWARD_CONFIG_FIELDS.criticalPenalty.optional(),
  highPenalty: REWARD_CONFIG_FIELDS.highPenalty.optional(),
  mediumPenalty: REWARD_CONFIG_FIELDS.mediumPenalty.optional(),
  lowPenalty: REWARD_CONFIG_FIELDS.lowPenalty.optional(),
  cleanBonus: REWARD_CONFIG_FIELDS.cleanBonus.optional(),
  multiplicative: REWARD_CONFIG_FIELDS.multiplicative.optional(),
  multiplicativeFactor: REWARD_CONFIG_FIELDS.multiplicativeFactor.optional(),
  minReward: REWARD_CONFIG_FIELDS.minReward.optional(),
  maxReward: REWARD_CONFIG_FIELDS.maxReward.optional(),
});
/** Options of createPolicyReward, with `baseRewardFn` typed for the caller's rollout. */
export type CreatePolicyRewardOptions<R extends RewardRollout = RewardRollout> = Omit<
  z.input<typeof CreatePolicyRewardOptionsSchema>,
  "baseRewardFn"
> & { baseRewardFn?: RewardFn<R> };
const CREATE_KEYS = { "": Object.keys(CreatePolicyRewardOptionsSchema.shape), severityPenalties: SeveritySchema.options };

/**
 * One-liner PolicyReward from flat options. Unknown options are an error (the reference
 * dropped them silently), and so is a severity given twice with different values.
 */
export function createPolicyReward<R extends RewardRollout = RewardRollout>(
  kernel: PolicyKernel | null,
  options: CreatePolicyRewardOptions<R> = {},
): PolicyReward<R> {
  const parsed = CreatePolicyRewardOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw optionsError(parsed.error, "options", CREATE_KEYS);
  const { baseRewardFn: _fn, severityPenalties, ...fields } = parsed.data;
  const config: Partial<Record<keyof RewardConfig, unknown>> = {};
  for (const key of REWARD_CONFIG_KEYS) if (fields[key] !== undefined) config[key] = fields[key];
  for (const severity of SeveritySchema.options) {
    const value = severityPenalties?.[severity];
    if (value === undefined) continue;
    const key = SEVERITY_PENALTY_KEY[severity];
    if (config[key] !== undefined && config[key] !== value) {
      throw new PolicyKernelError("invalid_config", `severityPenalties.${severity} (${value}) contradicts ${key} (${String(config[key])})`, {
        field: `options.severityPenalties.${severity}`,
        expected: `the same value as ${key}, or only one of them`,
      });
    }
    config[key] = value;
  }
  const checked = RewardConfigSchema.safeParse(config);
  if (!checked.success) throw optionsError(checked.error, "options", CREATE_KEYS);
  const result: PolicyRewardOptions<R> = { config: checked.data };
  if (options.baseRewardFn) result.baseRewardFn = options.baseRewardFn;
  return new PolicyReward<R>(kernel, result);
}
