import type { FlightRecorder } from "../audit/flight-recorder.js";
import type { EnvironmentMetrics, GovernedEnvironment } from "../env/environment.js";
import { EnvClosed, EnvError, ResetNeeded } from "../env/errors.js";
import type { RewardParts } from "../env/step-reward.js";
import type { Seed } from "../env/rng.js";
import { PolicyKernelError } from "../errors.js";
import { createPolicyKernel, type PolicyKernelOptions } from "../kernel/create-kernel.js";
import type { PolicyKernel } from "../kernel/types.js";
import type { RewardConfigInput } from "../reward/config.js";
import type { Decision, Violation } from "../schemas.js";
import { describeValue } from "../values.js";
import { MAX_STEPS, createDemoEnvironment, type EpisodeState, type StepResultData } from "../demo/episode.js";
import { KernelTap } from "../demo/kernel-tap.js";
import { toolCallRecorder } from "../demo/recorder-adapter.js";
import { createWorld, type World } from "../demo/world.js";
import { closeEnvTrail, createEnvTrail, type EnvTrailOptions, type EnvTrailReport } from "./env-trail.js";
import { MetricsTally } from "./metrics-tally.js";

/** Integer actions of the SQL env: an index into the task's candidates, 0..3. */
export const SQL_ACTION_COUNT = 4;

/** One task as the spec lists it: its id, prompt and candidate ids (an action is an index into them). */
export interface SqlTaskSpec {
  readonly id: string;
  readonly prompt: string;
  readonly candidates: readonly string[];
}

/** What a client needs to build its spaces: action count, step budget and the tasks. */
export interface SqlEnvSpec {
  readonly kind: "sql";
  readonly actionCount: number;
  readonly maxSteps: number;
  readonly taskCount: number;
  readonly tasks: readonly SqlTaskSpec[];
}

/**
 * The observation: the task's index in `spec.tasks`, which actions are still open (1 = a candidate
 * exists at that index and was not refused this episode) and the steps taken this episode.
 */
export interface SqlObservation {
  readonly task: number;
  readonly mask: readonly (0 | 1)[];
  readonly step: number;
}

/** `reset()`'s info. */
export interface SqlResetInfo {
  readonly taskId: string;
  readonly prompt: string;
  readonly episode: number;
  readonly seed: Seed;
}

/** `step()`'s info. `decision` is null for an index without a candidate (nothing was evaluated). */
export interface SqlStepInfo {
  readonly step: number;
  readonly episode: number;
  readonly taskId: string;
  readonly candidateId: string | null;
  readonly invalidAction: boolean;
  readonly blocked: boolean;
  readonly executed: boolean;
  readonly success: boolean;
  /** The decision that governed the step (in the ungoverned arm: the observing tap's allow). */
  readonly decision: Decision | null;
  readonly violations: readonly Violation[];
  readonly reward: RewardParts;
  readonly totalReward: number;
  /** Ungoverned arm only: the kernel's real decision, which the trail records and the env did not enforce. */
  readonly kernelDecision?: Decision;
}

/** `reset()`'s result, as the stdio host returns it. */
export interface SqlResetResult {
  readonly observation: SqlObservation;
  readonly info: SqlResetInfo;
}

/** `step()`'s result, as the stdio host returns it. */
export interface SqlStepResult {
  readonly observation: SqlObservation;
  readonly reward: number;
  readonly terminated: boolean;
  readonly truncated: boolean;
  readonly info: SqlStepInfo;
}

/** Parameters of `reset()`: re-seed, or pick the task. */
export interface SqlResetParams {
  readonly seed?: Seed;
  readonly options?: { readonly taskIndex?: number };
}

/** Options of `GovernedSqlEnv.create`. */
export interface GovernedSqlEnvOptions {
  /** The kernel; it must record its decisions into `trail` (its `recorder`, or a sink routed there). */
  readonly kernel: PolicyKernel;
  /** The env's trail: the kernel's decisions and the env's executed actions, in order. */
  readonly trail: FlightRecorder;
  /** false: the ungoverned arm (the kernel only observes; everything executes, everything is recorded). Default true. */
  readonly governed?: boolean;
  /** Rows one action may change before it is undone; null: none. Default as the demo's. */
  readonly rowBudget?: number | null;
  readonly rewardConfig?: RewardConfigInput;
}

/** Options of `GovernedSqlEnv.open`: an env with its own kernel and trail. */
export interface GovernedSqlEnvOpenOptions {
  /** The kernel's options (its recorder is the env's trail); default: the default library. */
  readonly kernelOptions?: PolicyKernelOptions;
  readonly trail?: EnvTrailOptions;
  readonly governed?: boolean;
  readonly rowBudget?: number | null;
  readonly rewardConfig?: RewardConfigInput;
  /** The handle the default chain id names (`policy-kernel-host/sql/<handle>`, as the host's env of that handle); default 1. */
  readonly handle?: number;
}

/** Reward of an index without a candidate: a wasted step. */
const INVALID_ACTION_REWARD = -1;
const INVALID_REWARD_PARTS: RewardParts = Object.freeze({ base: INVALID_ACTION_REWARD, step: 0, violations: 0, bonus: 0, total: INVALID_ACTION_REWARD });

let sharedWorld: Promise<World> | undefined;

/** The demo world, built once per process and shared by every env (it is read-only; each episode opens its own database). */
function worldOnce(): Promise<World> {
  sharedWorld ??= createWorld();
  return sharedWorld;
}

/**
 * The demo's SQL task world as a Gymnasium-style env with integer actions and a JSON observation:
 * the shape the stdio host serves and the Python package wraps. Every step that names a candidate
 * goes through the demo's GovernedEnvironment (the kernel, the executor, PolicyReward); an index
 * with no candidate is a wasted step (reward -1) the kernel never sees. Deterministic: the same
 * seed and actions give the same results and, with a fixed signing key, a byte-identical trail.
 */
export class GovernedSqlEnv {
  readonly governed: boolean;
  readonly #world: World;
  readonly #env: GovernedEnvironment<EpisodeState, StepResultData>;
  readonly #tap: KernelTap;
  readonly #trail: FlightRecorder;
  readonly #tally = new MetricsTally();
  readonly #spec: SqlEnvSpec;
  #state: EpisodeState | undefined;
  #taskIndex = 0;
  #mask: (0 | 1)[] = [];
  #episode = 0;
  #step = 0;
  #total = 0;
  #critical = false;
  #active = false;
  #closed = false;
  #closing: Promise<EnvTrailReport> | undefined;
  #owned: PolicyKernel | undefined;

  private constructor(world: World, options: GovernedSqlEnvOptions) {
    this.governed = options.governed ?? true;
    this.#world = world;
    this.#trail = options.trail;
    this.#tap = new KernelTap(options.kernel, this.governed ? "enforce" : "observe");
    const arm = this.governed ? "governed" : "ungoverned";
    this.#env = createDemoEnvironment({
      world,
      tap: this.#tap,
      rewardConfig: options.rewardConfig ?? {},
      recorder: toolCallRecorder(options.trail, arm),
      ...(options.rowBudget === undefined ? {} : { rowBudget: options.rowBudget }),
    }).env;
    this.#spec = Object.freeze({
      kind: "sql",
      actionCount: SQL_ACTION_COUNT,
      maxSteps: MAX_STEPS,
      taskCount: world.tasks.length,
      tasks: world.tasks.map((t) => ({ id: t.id, prompt: t.prompt, candidates: t.candidates.map((c) => c.id) })),
    });
  }

  /** An env over the shared demo world (built on first use, a few milliseconds). Throws `invalid_config` for bad options. */
  static async create(options: GovernedSqlEnvOptions): Promise<GovernedSqlEnv> {
    const world = await worldOnce();
    return new GovernedSqlEnv(world, options);
  }

  /**
   * An env with its own kernel (built from `kernelOptions`, recording into the env's trail) and its
   * own trail: what the stdio host builds per `make`, in process. `close()` closes both.
   */
  static async open(options: GovernedSqlEnvOpenOptions = {}): Promise<GovernedSqlEnv> {
    const trail = createEnvTrail(options.trail, sqlChainId(options.handle ?? 1));
    const kernel = await createPolicyKernel({ ...options.kernelOptions, recorder: trail });
    const env = await GovernedSqlEnv.create({
      kernel,
      trail,
      ...(options.governed === undefined ? {} : { governed: options.governed }),
      ...(options.rowBudget === undefined ? {} : { rowBudget: options.rowBudget }),
      ...(options.rewardConfig === undefined ? {} : { rewardConfig: options.rewardConfig }),
    });
    env.#owned = kernel;
    return env;
  }

  /** Action count, step budget and the tasks. */
  get spec(): SqlEnvSpec {
    return this.#spec;
  }

  /** The env's FlightRecorder. */
  get trail(): FlightRecorder {
    return this.#trail;
  }

  /** Starts an episode: re-seeds when `seed` is given; `options.taskIndex` picks the task. */
  reset(params: SqlResetParams = {}): SqlResetResult {
    if (this.#closed) throw new EnvClosed();
    const forced = params.options?.taskIndex;
    if (forced !== undefined && (!Number.isInteger(forced) || forced < 0 || forced >= this.#world.tasks.length)) {
      throw new PolicyKernelError("invalid_input", `taskIndex must be a task's index, got ${describeValue(forced)}`, {
        field: "options.taskIndex",
        expected: `an integer from 0 to ${this.#world.tasks.length - 1}`,
      });
    }
    this.#state?.db.close();
    this.#state = undefined;
    const [state, info] = this.#env.reset({
      ...(params.seed === undefined ? {} : { seed: params.seed }),
      ...(forced === undefined ? {} : { options: { taskIndex: forced } }),
    });
    this.#state = state;
    this.#taskIndex = this.#world.tasks.indexOf(state.task);
    this.#mask = Array.from({ length: SQL_ACTION_COUNT }, (_, i) => (i < state.task.candidates.length ? 1 : 0));
    this.#episode = info.episode;
    this.#step = 0;
    this.#total = 0;
    this.#critical = false;
    this.#active = true;
    this.#tally.episodeStarted();
    return { observation: this.#observation(), info: { taskId: state.task.id, prompt: state.task.prompt, episode: info.episode, seed: info.seed } };
  }

  /** Proposes the candidate at index `action` (0..3); Gymnasium's 5-tuple as an object. */
  async step(action: number): Promise<SqlStepResult> {
    if (this.#closed) throw new EnvClosed();
    if (!Number.isInteger(action) || action < 0 || action >= SQL_ACTION_COUNT) {
      throw new EnvError("invalid_step", `action must be an integer from 0 to ${SQL_ACTION_COUNT - 1} (an index into the task's candidates), got ${describeValue(action)}`);
    }
    const state = this.#state;
    if (!this.#active || state === undefined) {
      throw new ResetNeeded(this.#episode === 0 ? "no episode in progress: call reset() before step()" : `episode ${this.#episode} has ended: call reset() before step()`);
    }
    const step = this.#step + 1;
    const candidate = state.task.candidates[action];
    if (candidate === undefined) return this.#finishStep(step, { candidateId: null, blocked: true, executed: false, success: false, decision: null, violations: [], reward: INVALID_REWARD_PARTS, terminated: false, kernelDecision: undefined });
    state.candidate = candidate;
    const [, , terminated, , info] = await this.#env.step(candidate.action);
    if (info.blocked) this.#mask[action] = 0;
    return this.#finishStep(step, {
      candidateId: candidate.id,
      blocked: info.blocked,
      executed: !info.blocked,
      success: info.success,
      decision: info.decision,
      violations: info.violations,
      reward: info.reward,
      terminated,
      kernelDecision: this.governed ? undefined : this.#tap.lastDecision,
    });
  }

  #finishStep(
    step: number,
    s: { candidateId: string | null; blocked: boolean; executed: boolean; success: boolean; decision: Decision | null; violations: readonly Violation[]; reward: RewardParts; terminated: boolean; kernelDecision: Decision | undefined },
  ): SqlStepResult {
    const state = this.#state as EpisodeState;
    this.#step = step;
    this.#total += s.reward.total;
    const critical = s.violations.some((v) => v.severity === "critical");
    this.#critical ||= critical;
    const truncated = !s.terminated && step >= MAX_STEPS;
    this.#tally.stepped(s.violations.length);
    if (s.terminated || truncated) {
      this.#active = false;
      this.#tally.episodeFinished(this.#total, s.terminated && s.executed && s.success && !this.#critical);
    }
    const info: SqlStepInfo = {
      step,
      episode: this.#episode,
      taskId: state.task.id,
      candidateId: s.candidateId,
      invalidAction: s.candidateId === null,
      blocked: s.blocked,
      executed: s.executed,
      success: s.success,
      decision: s.decision,
      violations: s.violations,
      reward: s.reward,
      totalReward: this.#total,
      ...(s.kernelDecision === undefined ? {} : { kernelDecision: s.kernelDecision }),
    };
    return { observation: this.#observation(), reward: s.reward.total, terminated: s.terminated, truncated, info };
  }

  #observation(): SqlObservation {
    return { task: this.#taskIndex, mask: [...this.#mask], step: this.#step };
  }

  /** Aggregates over the env's life. */
  metrics(): EnvironmentMetrics {
    return this.#tally.metrics();
  }

  /** Ends the env and closes its trail (verified from its file when it has one); calling it twice returns the same report. */
  close(): Promise<EnvTrailReport> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<EnvTrailReport> {
    this.#closed = true;
    this.#active = false;
    this.#state?.db.close();
    this.#state = undefined;
    this.#env.close();
    try {
      return await closeEnvTrail(this.#trail);
    } finally {
      this.#owned?.close();
    }
  }
}

/** The default chain id of a hosted SQL env. */
export function sqlChainId(handle: number): string {
  return `policy-kernel-host/sql/${handle}`;
}
