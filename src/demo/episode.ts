import type { Database } from "sql.js";
import { GovernedEnvironment, type ToolCallRecorder } from "../env/environment.js";
import { runsAction } from "../kernel/guarded-evaluate.js";
import type { Seed } from "../env/rng.js";
import { PolicyReward } from "../reward/policy-reward.js";
import type { RewardConfigInput } from "../reward/config.js";
import { fullMask } from "./agent.js";
import { openDatabase } from "./database.js";
import { DEFAULT_ROW_BUDGET, effectBudgetViolation, executeAction, type Execution } from "./executor.js";
import { grade, type Grade } from "./judge.js";
import type { KernelTap } from "./kernel-tap.js";
import { AGENT_ROLE, priceOf, type Candidate, type Task } from "./tasks.js";
import type { World } from "./world.js";

/** Reward the task grader pays when the goal is reached; each effort unit costs 1. */
export const TASK_REWARD = 10;
/** Attempts per episode: a refused action leaves room to try another. */
export const MAX_STEPS = 3;
const AGENT_ID = "sql-agent";

/** The environment's observation: the task and this episode's own copy of the database. */
export interface EpisodeState {
  readonly task: Task;
  readonly db: Database;
  candidate: Candidate | null;
  grade: Grade | null;
}

/** What the executor hands back to the environment (and, summarised, to the audit trail). */
export interface StepResultData {
  readonly execution: Execution;
}

/** What one episode did, measured. */
export interface EpisodeRecord {
  readonly task: string;
  /** Candidate ids proposed, in order. */
  readonly proposed: readonly string[];
  readonly reward: number;
  /** Proposed actions whose real decision had at least one violation (warnings included). */
  readonly violatingProposals: number;
  /** Proposed actions an enforcing kernel refuses. */
  readonly deniedProposals: number;
  readonly executed: boolean;
  /** Executed actions with a violation in the kernel's real decision. */
  readonly executedViolating: number;
  /** Executed actions the kernel's real decision refuses (0 whenever the kernel enforces). */
  readonly executedDenied: number;
  readonly violationsByPolicy: Readonly<Record<string, number>>;
  readonly violationsBySeverity: Readonly<Record<string, number>>;
  readonly grade: Grade;
}

/** Options of an arm's environment. */
export interface EnvironmentSetup {
  readonly world: World;
  readonly tap: KernelTap;
  readonly rewardConfig: RewardConfigInput;
  readonly recorder?: ToolCallRecorder;
  /**
   * Rows one action may change before the executor undoes it (effect_budget/row_budget_exceeded);
   * null: no budget. Default: DEFAULT_ROW_BUDGET where the kernel enforces, none where it only
   * observes (the ungoverned arm enforces nothing).
   */
  readonly rowBudget?: number | null;
}

/**
 * A GovernedEnvironment over the demo world. All reward shaping is PolicyReward's, given as the
 * environment's `reward` (its step penalty is set to 0), so a violation is charged exactly once.
 */
export function createDemoEnvironment(setup: EnvironmentSetup): {
  env: GovernedEnvironment<EpisodeState, StepResultData>;
  reward: PolicyReward;
} {
  const { world } = setup;
  const budget = setup.rowBudget !== undefined ? setup.rowBudget : setup.tap.mode === "enforce" ? DEFAULT_ROW_BUDGET : null;
  const reward = new PolicyReward(setup.tap, { config: setup.rewardConfig });
  const env = new GovernedEnvironment<EpisodeState, StepResultData>(setup.tap, {
    agentId: AGENT_ID,
    config: { maxSteps: MAX_STEPS, stepPenalty: 0, terminateOnCritical: true },
    reward,
    ...(setup.recorder ? { recorder: setup.recorder } : {}),
    taskGenerator: (rng, info) => {
      const forced = info.options?.["taskIndex"];
      const index = typeof forced === "number" ? forced : rng.int(world.tasks.length);
      const task = world.tasks[index];
      if (!task) throw new Error(`no task ${index}`);
      return { task, db: openDatabase(world.SQL, world.pristine), candidate: null, grade: null };
    },
    contextFn: () => ({ role: AGENT_ROLE }),
    costFn: priceOf,
    executor: (state, action) => {
      const execution = executeAction(state.db, action.action, budget);
      const reference = world.references.get(state.task.id);
      if (!reference) throw new Error(`no reference for ${state.task.id}`);
      state.grade = grade(state.db, state.task, reference, { state: world.pristineState, schemaVersion: world.pristineSchemaVersion }, world.personal, execution);
      // Every executed action is the agent's answer: the episode ends there.
      const violations = execution.rolledBack ? [effectBudgetViolation(execution.rolledBack)] : [];
      return { result: { execution }, success: state.grade.goalReached, done: true, violations };
    },
    // The task reward only; PolicyReward prices the decision's violations and the effect budget's
    // (an undone action is charged too), once.
    rewardFn: (state, _action, outcome) => (outcome.success ? TASK_REWARD : 0) - (state.candidate?.effort ?? 0),
  });
  return { env, reward };
}

/** How the agent picks a candidate index for a task, given the still-allowed candidates. */
export type Chooser = (task: Task, mask: readonly boolean[]) => number;
/** Called after each step when the agent learns (Q-learning update). */
export type Learner = (task: Task, action: number, reward: number, next: { state: string; mask: readonly boolean[] } | null) => void;

/** Runs one episode: reset, propose until an action executes or the episode ends, grade the database. */
export async function runEpisode(
  env: GovernedEnvironment<EpisodeState, StepResultData>,
  tap: KernelTap,
  world: World,
  choose: Chooser,
  reset: { seed?: Seed; options?: Record<string, unknown> },
  learn?: Learner,
): Promise<EpisodeRecord> {
  const [state] = env.reset(reset);
  const { task } = state;
  const mask = fullMask(task.candidates.length);
  const proposed: string[] = [];
  const byPolicy: Record<string, number> = {};
  const bySeverity: Record<string, number> = {};
  let total = 0;
  let violatingProposals = 0;
  let deniedProposals = 0;
  let executedViolating = 0;
  let executedDenied = 0;
  let executed = false;
  try {
    for (;;) {
      const index = choose(task, mask);
      const candidate = task.candidates[index] as Candidate;
      state.candidate = candidate;
      proposed.push(candidate.id);
      // The agent proposes only the action; its role and price are the trainer's (contextFn, costFn).
      const [, reward, terminated, truncated, info] = await env.step(candidate.action);
      const real = tap.lastDecision;
      total += reward;
      if (real.violations.length > 0) violatingProposals += 1;
      // What an enforcing environment would refuse, whatever this arm's environment was told.
      const denied = !runsAction(real);
      if (denied) deniedProposals += 1;
      // The real decision's violations, then what the executor undid (info.violations lists those last).
      for (const v of [...real.violations, ...info.violations.slice(info.decision.violations.length)]) {
        byPolicy[v.policy] = (byPolicy[v.policy] ?? 0) + 1;
        bySeverity[v.severity] = (bySeverity[v.severity] ?? 0) + 1;
      }
      if (!info.blocked) {
        executed = true;
        if (real.violations.length > 0) executedViolating += 1;
        if (denied) executedDenied += 1;
      } else mask[index] = false;
      const ended = terminated || truncated || !mask.some(Boolean);
      learn?.(task, index, reward, ended ? null : { state: task.id, mask: [...mask] });
      if (ended) break;
    }
    const reference = world.references.get(task.id);
    if (!reference) throw new Error(`no reference for ${task.id}`);
    const measured = state.grade ?? grade(state.db, task, reference, { state: world.pristineState, schemaVersion: world.pristineSchemaVersion }, world.personal, null);
    return {
      task: task.id,
      proposed,
      reward: total,
      violatingProposals,
      deniedProposals,
      executed,
      executedViolating,
      executedDenied,
      violationsByPolicy: byPolicy,
      violationsBySeverity: bySeverity,
      grade: measured,
    };
  } finally {
    state.db.close();
  }
}
