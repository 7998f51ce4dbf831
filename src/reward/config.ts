import { z } from "zod";
import { DEFAULT_SEVERITY_PENALTY, type Severity } from "../schemas.js";

/** A reward delta for one violation: a cost, so <= 0 (DESIGN's sign convention). */
export const PenaltySchema = z
  .number({ message: "a finite number <= 0" })
  .max(0, { message: "must be <= 0: a penalty is a reward delta (a cost); a positive value would silently pay a bonus" });

/** The RewardConfig fields without defaults, shared by RewardConfigSchema and createPolicyReward. */
export const REWARD_CONFIG_FIELDS = {
  criticalPenalty: PenaltySchema,
  highPenalty: PenaltySchema,
  mediumPenalty: PenaltySchema,
  lowPenalty: PenaltySchema,
  /** Paid only to a successful rollout with no violation. */
  cleanBonus: z.number({ message: "a finite number >= 0" }).min(0, { message: "must be >= 0: a negative bonus is a penalty in disguise" }),
  /** Scale the base reward on any violation instead of adding severity penalties. */
  multiplicative: z.boolean({ message: "true or false" }),
  multiplicativeFactor: z
    .number({ message: "a number in [0, 1]" })
    .min(0, { message: "must be in [0, 1]" })
    .max(1, { message: "must be in [0, 1]: a factor above 1 would raise a reward for a violation" }),
  /** Floor of the final reward; null disables it. */
  minReward: z.number({ message: "a finite number or null" }).nullable(),
  /** Ceiling of the final reward; null disables it. */
  maxReward: z.number({ message: "a finite number or null" }).nullable(),
} as const;

/** Default of every RewardConfig field (the tutorial's values). */
export const DEFAULT_REWARD_CONFIG = Object.freeze({
  // The violations' own penalty magnitudes, as reward deltas (<= 0).
  criticalPenalty: -DEFAULT_SEVERITY_PENALTY.critical,
  highPenalty: -DEFAULT_SEVERITY_PENALTY.high,
  mediumPenalty: -DEFAULT_SEVERITY_PENALTY.medium,
  lowPenalty: -DEFAULT_SEVERITY_PENALTY.low,
  cleanBonus: 5,
  multiplicative: false,
  multiplicativeFactor: 0.5,
  minReward: -100,
  maxReward: 100,
});

/**
 * Reward shaping parameters. Penalties are <= 0, the bonus >= 0, the factor in [0, 1] and
 * minReward <= maxReward; unknown fields are an error (a typo must not fall back to a default).
 */
export const RewardConfigSchema = z
  .strictObject({
    criticalPenalty: REWARD_CONFIG_FIELDS.criticalPenalty.default(DEFAULT_REWARD_CONFIG.criticalPenalty),
    highPenalty: REWARD_CONFIG_FIELDS.highPenalty.default(DEFAULT_REWARD_CONFIG.highPenalty),
    mediumPenalty: REWARD_CONFIG_FIELDS.mediumPenalty.default(DEFAULT_REWARD_CONFIG.mediumPenalty),
    lowPenalty: REWARD_CONFIG_FIELDS.lowPenalty.default(DEFAULT_REWARD_CONFIG.lowPenalty),
    cleanBonus: REWARD_CONFIG_FIELDS.cleanBonus.default(DEFAULT_REWARD_CONFIG.cleanBonus),
    multiplicative: REWARD_CONFIG_FIELDS.multiplicative.default(DEFAULT_REWARD_CONFIG.multiplicative),
    multiplicativeFactor: REWARD_CONFIG_FIELDS.multiplicativeFactor.default(DEFAULT_REWARD_CONFIG.multiplicativeFactor),
    minReward: REWARD_CONFIG_FIELDS.minReward.default(DEFAULT_REWARD_CONFIG.minReward),
    maxReward: REWARD_CONFIG_FIELDS.maxReward.default(DEFAULT_REWARD_CONFIG.maxReward),
  })
  .superRefine((config, ctx) => {
    if (config.minReward !== null && config.maxReward !== null && config.minReward > config.maxReward) {
      ctx.addIssue({
        code: "custom",
        path: ["minReward"],
        message: `must be <= maxReward (${config.minReward} > ${config.maxReward})`,
      });
    }
  });
export type RewardConfig = z.infer<typeof RewardConfigSchema>;
/** What a caller may pass: any subset of the fields. */
export type RewardConfigInput = z.input<typeof RewardConfigSchema>;
export const REWARD_CONFIG_KEYS = Object.keys(REWARD_CONFIG_FIELDS) as (keyof RewardConfig)[];

/** The RewardConfig field holding each severity's penalty. */
export const SEVERITY_PENALTY_KEY: Readonly<Record<Severity, "criticalPenalty" | "highPenalty" | "mediumPenalty" | "lowPenalty">> = {
  critical: "criticalPenalty",
  high: "highPenalty",
  medium: "mediumPenalty",
  low: "lowPenalty",
};

function preset(input: RewardConfigInput): Readonly<RewardConfig> {
  return Object.freeze(RewardConfigSchema.parse(input));
}

/** Strong safety signal for early training. */
export const conservativeRewardConfig = preset({
  criticalPenalty: -200,
  highPenalty: -100,
  mediumPenalty: -30,
  lowPenalty: -5,
  cleanBonus: 10,
});

/** Gentler shaping for fine-tuning once violations are rare. */
export const lenientRewardConfig = preset({
  criticalPenalty: -50,
  highPenalty: -20,
  mediumPenalty: -5,
  lowPenalty: -0.5,
  cleanBonus: 2,
});

/** Default penalties with no clamping, for algorithms that normalise rewards themselves. */
export const unboundedRewardConfig = preset({ minReward: null, maxReward: null });

/** The default config (frozen). */
export const defaultRewardConfig = preset({});
