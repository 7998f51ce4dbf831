import { z } from "zod";
import { fromZodError } from "../errors.js";
import { DEFAULT_SEVERITY_PENALTY, type Severity } from "../schemas.js";

const rewardDelta = (field: string) =>
  z
    .number()
    .finite()
    .max(0, `${field} is a reward delta and must be <= 0 (write -10, not 10; a positive penalty would be a bonus)`);

/**
 * Environment configuration. Reward deltas are <= 0 and bonuses >= 0 (DESIGN's one sign
 * convention). The logical clock (`startTime` + `secondsPerStep`) feeds `context.now`, because
 * policies never read the wall clock; 2026-01-05T10:00:00Z is a Monday inside business hours.
 */
export const EnvironmentConfigSchema = z.strictObject({
  /** Steps after which an episode is truncated. */
  maxSteps: z.number().int().positive().default(100),
  /** Base reward delta per violation, scaled by SEVERITY_SCALE. */
  violationPenalty: rewardDelta("violationPenalty").default(-10),
  /** End the episode (terminated) on a critical violation. */
  terminateOnCritical: z.boolean().default(true),
  /** Reward delta every step pays, so shorter solutions score higher. */
  stepPenalty: rewardDelta("stepPenalty").default(-0.1),
  /** Added when a step succeeded with no violation at all. */
  successBonus: z.number().finite().min(0, "successBonus must be >= 0").default(10),
  /** Restart the logical clock, `actionsInWindow` and `spentUsd` on every reset(). */
  resetKernelState: z.boolean().default(true),
  /** Logical time of an episode's first step. */
  startTime: z.iso
    .datetime({ offset: true, message: "startTime must be an ISO 8601 date-time such as 2026-01-05T10:00:00Z" })
    .default("2026-01-05T10:00:00Z"),
  /** Logical seconds each step advances the clock (0 freezes it). */
  secondsPerStep: z.number().finite().nonnegative().default(60),
});
export type EnvironmentConfig = z.infer<typeof EnvironmentConfigSchema>;
export type EnvironmentConfigInput = z.input<typeof EnvironmentConfigSchema>;

/** Names of the config fields, for the flattened options of createGovernedEnv. */
export const ENVIRONMENT_CONFIG_FIELDS = Object.keys(EnvironmentConfigSchema.shape) as (keyof EnvironmentConfig)[];

/**
 * How `violationPenalty` scales with severity: the default penalties relative to medium
 * (critical 10, high 5, medium 1, low 0.1). Strictly decreasing, so a low violation costs less
 * than a medium one (the reference scaled both by 1, teaching the agent nothing about which is worse).
 */
export const SEVERITY_SCALE: Readonly<Record<Severity, number>> = Object.freeze({
  critical: DEFAULT_SEVERITY_PENALTY.critical / DEFAULT_SEVERITY_PENALTY.medium,
  high: DEFAULT_SEVERITY_PENALTY.high / DEFAULT_SEVERITY_PENALTY.medium,
  medium: 1,
  low: DEFAULT_SEVERITY_PENALTY.low / DEFAULT_SEVERITY_PENALTY.medium,
});

/** Validates a config; throws an `invalid_config` PolicyKernelError naming the field (`config.maxSteps`). */
export function parseEnvironmentConfig(input: unknown = {}, root = "config"): EnvironmentConfig {
  const parsed = EnvironmentConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw fromZodError("invalid_config", parsed.error, { root });
  return parsed.data;
}
