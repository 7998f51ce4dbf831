import { z } from "zod";
import { DecisionSchema, SignalNameSchema, ViolationSchema } from "../schemas.js";

/** Whether a step is part of training or evaluation; it only labels rollouts and logs. */
export const RunModeSchema = z.enum(["train", "eval"]);
export type RunMode = z.infer<typeof RunModeSchema>;

/** Agent-Lightning numbers its workers; other trainers name them. */
export const WorkerIdSchema = z.union([z.string().min(1), z.number().int().nonnegative()]);
/** A worker's name, or its number (Agent-Lightning numbers its workers). */
export type WorkerId = z.infer<typeof WorkerIdSchema>;

/** An agent failure, kept as plain data so a rollout stays JSON-serialisable. */
export const RolloutErrorSchema = z.object({ name: z.string(), message: z.string() });
export type RolloutError = z.infer<typeof RolloutErrorSchema>;

/**
 * What one `runner.step` produced. `success` is `completed && blockedActions === 0`:
 * a blocked action means the task did not happen as the agent intended, so it is not
 * rewarded as a success even when the agent handled the refusal and returned normally.
 */
export const GovernedRolloutSchema = z.object({
  /** Id of the task this rollout answers (set by `iter`), else null. */
  taskId: z.string().nullable(),
  agentId: z.string(),
  workerId: WorkerIdSchema.nullable(),
  mode: RunModeSchema,
  taskInput: z.unknown(),
  /** What the agent's `run` returned; undefined when it threw. */
  taskOutput: z.unknown(),
  /** The agent's `run` returned without throwing. */
  completed: z.boolean(),
  /** `completed` and no action was blocked. */
  success: z.boolean(),
  /** Why `run` threw (an agent error, or the block that halted it under failOnViolation). */
  error: RolloutErrorSchema.nullable(),
  /** Every violation of every proposed action, in proposal order. */
  violations: z.array(ViolationSchema),
  /** Signals of every decision (SIGSTOP, SIGKILL), in proposal order. */
  signalsSent: z.array(SignalNameSchema),
  /** Sum of `violation.penalty` (a cost magnitude, >= 0). */
  totalPenalty: z.number().nonnegative(),
  /** One decision per proposed action, in proposal order. */
  decisions: z.array(DecisionSchema),
  /** Actions the kernel refused or held (SIGKILL/SIGSTOP, runsAction); none of them reached the executor. */
  blockedActions: z.number().int().nonnegative(),
  /** Actions the kernel allowed and the executor ran. */
  executedActions: z.number().int().nonnegative(),
  executionTimeMs: z.number().nonnegative(),
});
/** A rollout's JSON fields, as GovernedRolloutSchema checks them; GovernedRollout types its input and output. */
export type RolloutData = z.infer<typeof GovernedRolloutSchema>;
/** A rollout whose input and output keep the agent's types. */
export type GovernedRollout<I = unknown, O = unknown> = Omit<RolloutData, "taskInput" | "taskOutput"> & {
  taskInput: I;
  taskOutput: O | undefined;
};

/**
 * Counters over every step the runner finished, including steps that rejected under
 * failOnViolation and steps whose agent threw.
 */
export const RunnerStatsSchema = z.object({
  totalRollouts: z.number().int().nonnegative(),
  successfulRollouts: z.number().int().nonnegative(),
  /** Violations summed over all rollouts. */
  totalViolations: z.number().int().nonnegative(),
  /** Violations per rollout: `totalViolations / totalRollouts` (the tutorial's 23 / 1500); can exceed 1; 0 without rollouts. */
  violationRate: z.number().nonnegative(),
  /** Rollouts with at least one violation. */
  rolloutsWithViolations: z.number().int().nonnegative(),
  /** Fraction of rollouts with at least one violation: `rolloutsWithViolations / totalRollouts`, in [0, 1]; 0 without rollouts. */
  rolloutViolationRate: z.number().min(0).max(1),
  /** Blocked actions summed over all rollouts. */
  blockedActions: z.number().int().nonnegative(),
});
export type RunnerStats = z.infer<typeof RunnerStatsSchema>;
