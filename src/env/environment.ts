import { z } from "zod";
import { PolicyKernelError } from "../errors.js";
import { describeValue, isFunction, isPlainObject } from "../values.js";
import { createLogger, isLogger, type Logger } from "../logging.js";
import { ViolationSchema, type Action, type ActionBody, type ActionContext, type Decision, type Violation } from "../schemas.js";
import { assignDefined, checkProposedAction, trackedContext } from "./proposed-action.js";
import { environmentMetrics } from "./metrics.js";
import { actionSha256 } from "../kernel/frozen-action.js";
import { isAuditSink, recordSafely, type KernelAuditSink } from "../kernel/audit-sink.js";
import type { PolicyKernel } from "../kernel/types.js";
import { runsAction } from "../kernel/guarded-evaluate.js";
import {
  ENVIRONMENT_CONFIG_FIELDS,
  parseEnvironmentConfig,
  type EnvironmentConfig,
  type EnvironmentConfigInput,
} from "./config.js";
import { EnvClosed, EnvError, ResetNeeded } from "./errors.js";
import {
  assertOneRewardShaping,
  brandTaskOutcome,
  isStepRewardShaper,
  shapedStepReward,
  stepReward,
  type RewardFn,
  type RewardParts,
  type StepRewardShaper,
} from "./step-reward.js";
import { DEFAULT_SEED, createRng, type Rng, type Seed } from "./rng.js";

// ---------------------------------------------------------------- callbacks

/**
 * What `step()` accepts: an action body (`{type: "sql", sql}`) and nothing else. Context and
 * agentId are the environment's (`contextFn`, `costFn`, `agentId`); a full `{agentId, action,
 * context}` is denied with `kernel/agent_context`, and the trail records the attempt.
 */
export type StepAction = ActionBody;

/** Produces an episode's initial observation from the environment's generator. */
export type TaskGenerator<TState> = (
  rng: Rng,
  info: { readonly episode: number; readonly options: Readonly<Record<string, unknown>> | undefined },
) => TState;

/**
 * The trainer's context for an action (role, readOnly, budgets…), over the environment's own
 * now/actionsInWindow/spentUsd. `action` is the body as proposed (read it; do not keep it).
 */
export type ContextFn<TState> = (state: TState, info: { readonly step: number; readonly episode: number; readonly action: ActionBody }) => ActionContext;

/** The trainer's price of an action (`context.costUsd`): a finite number >= 0; the agent never sets it. */
export type EnvCostFn<TState> = (action: ActionBody, state: TState) => number;

/** What an executor reports for an action the kernel allowed. */
export interface ExecutorOutcome<TState, TResult> {
  readonly result: TResult;
  /** The next observation; the current one is kept when absent. */
  readonly observation?: TState;
  /** Whether the action achieved what it was for; defaults to `result !== undefined`. */
  readonly success?: boolean;
  /** The task is finished: the episode terminates. */
  readonly done?: boolean;
  /**
   * Violations found while running (an effect budget the executor enforced by rolling back, type
   * `modified`): added to the step's `info.violations`, its reward and the trail's tool_call entry.
   */
  readonly violations?: readonly Violation[];
}

/** Runs an allowed action; blocked actions never reach it. */
export type Executor<TState, TResult> = (
  state: TState,
  action: Action,
  info: { readonly rng: Rng; readonly step: number; readonly episode: number },
) => ExecutorOutcome<TState, TResult> | Promise<ExecutorOutcome<TState, TResult>>;

/**
 * Where executed actions are reported: the same audit sink (a FlightRecorder) the kernel writes
 * its decisions to, so one hash chain holds decision, then execution, in order.
 */
export type ToolCallRecorder = KernelAuditSink;

/**
 * Options of `new GovernedEnvironment(kernel, options)`. Hand-written rather than inferred because
 * the callbacks are generic; `OptionsShapeSchema` below checks the same keys at run time.
 */
export interface GovernedEnvironmentOptions<TState, TResult> {
  /** Initial observation of each episode; default: null. */
  readonly taskGenerator?: TaskGenerator<TState>;
  /**
   * Task (base) reward; default: 1 when the action executed with a defined result, else 0. It
   * sees no violations: governance is priced by `reward` (or the config's severity penalties).
   */
  readonly rewardFn?: RewardFn<TState, TResult>;
  /**
   * Prices violations instead of the config's violationPenalty and successBonus, e.g. a
   * PolicyReward; then those two must be left out (an error otherwise, so nothing counts twice).
   */
  readonly reward?: StepRewardShaper;
  /** Runs allowed actions; default: the action body is its own result, observation unchanged. */
  readonly executor?: Executor<TState, TResult>;
  readonly config?: EnvironmentConfigInput;
  /** agentId stamped on action bodies; default "agent". */
  readonly agentId?: string;
  readonly contextFn?: ContextFn<TState>;
  /** Prices each action as `context.costUsd` (after contextFn); executed costs sum into `spentUsd` per episode. */
  readonly costFn?: EnvCostFn<TState>;
  /** A pino logger; the environment logs to a child with `{component: "env"}`. Silent by default. */
  readonly logger?: Logger;
  readonly recorder?: ToolCallRecorder;
}

// ---------------------------------------------------------------- results

/** `reset()`'s info. */
export interface ResetInfo {
  /** 1-based number of the episode this reset started. */
  readonly episode: number;
  /** Seed of the generator stream in use (the last seed given, else DEFAULT_SEED). */
  readonly seed: Seed;
  /** This reset re-seeded the generator (a seed was given). */
  readonly reseeded: boolean;
  readonly kernelPolicies: readonly string[];
}

/** `step()`'s info. */
export interface StepInfo {
  /** 1-based number of this step in the episode. */
  readonly step: number;
  readonly episode: number;
  /** The decision's violations, then those the executor reported (ExecutorOutcome.violations). */
  readonly violations: readonly Violation[];
  readonly decision: Decision;
  /** The action did not run (denied by the kernel, or held by SIGKILL/SIGSTOP). */
  readonly blocked: boolean;
  readonly success: boolean;
  /** The executor reported the task finished. */
  readonly done: boolean;
  readonly reward: RewardParts;
  /** Running total of this episode's rewards, bonuses included. */
  readonly totalReward: number;
  /** The action as the kernel evaluated it, context filled in: the frozen copy the executor ran. */
  readonly action: Action;
}

/** `reset()`'s Gymnasium 2-tuple. */
export type ResetResult<TState> = [observation: TState, info: ResetInfo];
/** `step()`'s Gymnasium 5-tuple. */
export type StepResult<TState> = [observation: TState, reward: number, terminated: boolean, truncated: boolean, info: StepInfo];

/** Aggregates over the environment's life. */
export interface EnvironmentMetrics {
  /** Episodes started (reset() calls). */
  readonly totalEpisodes: number;
  /** Episodes that ended (terminated or truncated); an episode abandoned by reset() did not. */
  readonly finishedEpisodes: number;
  readonly totalSteps: number;
  readonly totalViolations: number;
  /** Finished episodes that count as successful (see `GovernedEnvironment`). */
  readonly successfulEpisodes: number;
  /** successfulEpisodes / finishedEpisodes, 0 before any episode ended; always within [0, 1]. */
  readonly successRate: number;
  /** totalViolations / totalEpisodes (0 without episodes). */
  readonly violationsPerEpisode: number;
  /** totalSteps / totalEpisodes (0 without episodes). */
  readonly stepsPerEpisode: number;
  /** Mean total reward of finished episodes (0 before any ended). */
  readonly meanEpisodeReward: number;
}

/** Reset parameters, as Gymnasium's `reset(seed=None, options=None)`. */
export interface ResetParams {
  /** Re-seed the generator; without it the current stream continues. */
  readonly seed?: Seed;
  /** Passed to the task generator. */
  readonly options?: Readonly<Record<string, unknown>>;
}

// ---------------------------------------------------------------- options check

const fn = (what: string) => z.custom<(...args: never[]) => unknown>(isFunction, { message: `${what} must be a function` });

const OptionsShapeSchema = z.strictObject({
  taskGenerator: fn("taskGenerator").optional(),
  rewardFn: fn("rewardFn").optional(),
  reward: z
    .custom<StepRewardShaper>(isStepRewardShaper, { message: "reward must be a step reward shaper with a shapeStep(step) method (a PolicyReward)" })
    .optional(),
  executor: fn("executor").optional(),
  config: z.unknown().optional(),
  agentId: z.string().min(1, "agentId must be a non-empty string").optional(),
  contextFn: fn("contextFn").optional(),
  costFn: fn("costFn").optional(),
  logger: z
    .custom<Logger>(isLogger, { message: "logger must be a pino Logger" })
    .optional(),
  recorder: z
    .custom<ToolCallRecorder>(isAuditSink, { message: "recorder must be an audit sink with a record(event) method (a FlightRecorder)" })
    .optional(),
});
const OPTION_NAMES = Object.keys(OptionsShapeSchema.shape);

/** Rejects keys nobody reads, so a misspelt option is an error rather than a silently ignored default. */
function rejectUnknownKeys(input: object, known: readonly string[], where: string): void {
  const unknown = Object.keys(input).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  const names = unknown.map((k) => `'${k}'`).join(", ");
  throw new PolicyKernelError("invalid_config", `${where}: unknown option${unknown.length > 1 ? "s" : ""} ${names}`, {
    field: unknown[0],
    expected: `one of ${known.join(", ")}`,
  });
}

function checkOptions(input: unknown, known: readonly string[], where: string): void {
  if (input === undefined) return;
  if (!isPlainObject(input)) {
    throw new PolicyKernelError("invalid_config", `${where} must be an options object`);
  }
  rejectUnknownKeys(input, known, where);
}

// ---------------------------------------------------------------- environment

const DEFAULT_AGENT_ID = "agent";

/**
 * A Gymnasium-style environment whose every action passes the policy kernel first.
 *
 * - The kernel evaluates before execution; a denied action, or one carrying SIGKILL or SIGSTOP
 *   (held for an approval that a training loop never gives), never reaches the executor.
 * - terminated: a critical violation (with terminateOnCritical), a SIGKILL, or executor `done`.
 *   truncated: `maxSteps` reached without termination (terminated wins when both hold).
 * - A successful episode is a finished episode that terminated because the executor reported
 *   `done` on a successful step, and in which no step had a critical violation.
 * - The kernel is shared, not owned: `close()` does not close it.
 */
export class GovernedEnvironment<TState = unknown, TResult = unknown> {
  readonly kernel: PolicyKernel;
  readonly config: EnvironmentConfig;
  readonly agentId: string;

  readonly #taskGenerator: TaskGenerator<TState>;
  readonly #rewardFn: RewardFn<TState, TResult> | undefined;
  readonly #shaper: StepRewardShaper | undefined;
  readonly #executor: Executor<TState, TResult>;
  readonly #contextFn: ContextFn<TState> | undefined;
  readonly #costFn: EnvCostFn<TState> | undefined;
  readonly #logger: Logger;
  readonly #recorder: ToolCallRecorder | undefined;
  readonly #startMs: number;

  #rng: Rng = createRng(DEFAULT_SEED);
  #seed: Seed = DEFAULT_SEED;
  #state: TState | undefined;
  #active = false;
  #terminated = false;
  #truncated = false;
  #closed = false;
  #busy = false;

  #episode = 0;
  #episodeStep = 0;
  #episodeReward = 0;
  #episodeCritical = false;
  // Env-tracked context: restarted by reset() only when config.resetKernelState. The logical
  // clock and the rate-limit window both count the attempts since then.
  #windowSteps = 0;
  #spentUsd = 0;

  #totalSteps = 0;
  #totalViolations = 0;
  #finishedEpisodes = 0;
  #successfulEpisodes = 0;
  #finishedRewardSum = 0;

  /** Builds an environment; throws an `invalid_config` PolicyKernelError for unknown or bad options. */
  constructor(kernel: PolicyKernel, options: GovernedEnvironmentOptions<TState, TResult> = {}) {
    checkOptions(options, OPTION_NAMES, "GovernedEnvironment options");
    const shape = OptionsShapeSchema.safeParse(options);
    if (!shape.success) {
      const issue = shape.error.issues[0];
      throw new PolicyKernelError("invalid_config", issue?.message ?? "invalid options", { field: issue?.path.join(".") });
    }
    this.kernel = kernel;
    this.config = parseEnvironmentConfig(options.config ?? {});
    this.agentId = options.agentId ?? DEFAULT_AGENT_ID;
    this.#taskGenerator = options.taskGenerator ?? (() => null as TState);
    this.#rewardFn = options.rewardFn;
    this.#shaper = options.reward;
    if (options.reward) assertOneRewardShaping(options.reward, options.config, options.config === undefined ? "" : "config.");
    this.#executor = options.executor ?? ((_state, action) => ({ result: action.action as TResult }));
    this.#contextFn = options.contextFn;
    this.#costFn = options.costFn;
    this.#logger = createLogger({ logger: options.logger, name: "env" }).child({ agentId: this.agentId });
    this.#recorder = options.recorder;
    this.#startMs = Date.parse(this.config.startTime);
  }

  /** The episode ended by its rules (critical violation, SIGKILL, task done). */
  get terminated(): boolean {
    return this.#terminated;
  }

  /** The episode ran out of steps. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** No episode in progress: before the first reset, after it ended, after close. Loop `while (!env.done)`. */
  get done(): boolean {
    return !this.#active;
  }

  /** 1-based number of the current (or last) episode; 0 before the first reset. */
  get episode(): number {
    return this.#episode;
  }

  /** Steps taken in the current episode. */
  get stepCount(): number {
    return this.#episodeStep;
  }

  /** The generator that task generator and executor draw from (Gymnasium's `np_random`). */
  get rng(): Rng {
    return this.#rng;
  }

  /** The current observation (undefined before the first reset). */
  get state(): TState | undefined {
    return this.#state;
  }

  /** Starts an episode; re-seeds only when `seed` is given, otherwise the generator stream continues. */
  reset(params: ResetParams = {}): ResetResult<TState> {
    if (this.#closed) throw new EnvClosed();
    if (this.#busy) throw new EnvError("step_in_progress", "reset() while a step() is still running: await each step");
    checkOptions(params, ["seed", "options"], "reset() parameters");
    const reseeded = params.seed !== undefined;
    if (params.seed !== undefined) {
      this.#rng = createRng(params.seed);
      this.#seed = params.seed;
    }
    this.#active = false;
    this.#episode += 1;
    this.#episodeStep = 0;
    this.#episodeReward = 0;
    this.#episodeCritical = false;
    this.#terminated = false;
    this.#truncated = false;
    if (this.config.resetKernelState) {
      this.#windowSteps = 0;
      this.#spentUsd = 0;
    }
    this.#state = this.#taskGenerator(this.#rng, { episode: this.#episode, options: params.options });
    this.#active = true;
    this.#logger.debug({ episode: this.#episode, seed: this.#seed, reseeded }, "episode reset");
    return [this.#state, { episode: this.#episode, seed: this.#seed, reseeded, kernelPolicies: [...this.kernel.policyNames] }];
  }

  /** Evaluates the action, runs it when allowed, and returns Gymnasium's 5-tuple. */
  // `rest` is typed never: a context argument does not compile, and at run time it is refused.
  async step(action: StepAction, ...rest: never[]): Promise<StepResult<TState>> {
    if (this.#closed) throw new EnvClosed();
    if (this.#busy) throw new EnvError("step_in_progress", "step() while another step() is still running: await each step");
    if (!this.#active) {
      throw new ResetNeeded(
        this.#episode === 0
          ? "no episode in progress: call reset() before step()"
          : `episode ${this.#episode} has ${this.#terminated ? "terminated" : "been truncated"}: call reset() before step()`,
      );
    }
    this.#busy = true;
    try {
      return await this.#step(action, rest);
    } finally {
      this.#busy = false;
    }
  }

  async #step(input: unknown, rest: readonly unknown[]): Promise<StepResult<TState>> {
    const step = this.#episodeStep + 1;
    const episode = this.#episode;
    const state = this.#state as TState;
    // Up to the kernel's copy nothing is awaited: it is of the action as proposed. Fail closed on a
    // kernel that throws or answers nonsense, as the runner does.
    const { checked, context } = await checkProposedAction(
      this.kernel,
      this.agentId,
      input,
      rest,
      { call: "env.step", contextFrom: "the environment's contextFn, costFn and agentId" },
      (body) => this.#contextOf(body, state, step),
    );
    const { now } = context;
    const { decision } = checked;
    // Without a copy there is no action to run; the step still reports what was proposed.
    const action: Action = checked.action ?? { agentId: this.agentId, action: { type: "(invalid)" }, context };
    const killed = decision.signals.includes("SIGKILL");
    const executed = runsAction(decision) && checked.action !== undefined;

    let result: TResult | undefined;
    let success = false;
    let done = false;
    let observation = state;
    let spent = 0;
    let found: readonly Violation[] = [];
    if (executed) {
      const outcome = await this.#executor(state, action, { rng: this.#rng, step, episode });
      if (typeof outcome !== "object" || outcome === null) {
        throw new EnvError("invalid_step", `executor must return {result, observation?, success?, done?, violations?}, got ${describeValue(outcome)}`);
      }
      result = outcome.result;
      success = outcome.success ?? outcome.result !== undefined;
      done = outcome.done === true;
      if (outcome.observation !== undefined) observation = outcome.observation;
      if (outcome.violations !== undefined) found = readViolations(outcome.violations);
      const cost = action.context.costUsd;
      if (typeof cost === "number" && Number.isFinite(cost) && cost > 0) spent = cost;
      if (this.#recorder) {
        const metadata = { episode, step, success };
        const event = {
          type: "tool_call",
          agentId: action.agentId,
          action: action.action,
          actionSha256: actionSha256(action.action),
          now: now ?? null,
          result,
          bundleRevision: decision.provenance.bundleRevision,
          metadata,
          ...(found.length === 0 ? {} : { violations: found }),
        } as const;
        recordSafely(this.#recorder, event, this.#logger);
      }
    }
    const violations = found.length === 0 ? decision.violations : [...decision.violations, ...found];
    const base = this.#rewardFn
      ? this.#rewardFn(state, action, brandTaskOutcome({ executed, blocked: !executed, result, success, done }))
      : executed && result !== undefined ? 1 : 0;
    if (typeof base !== "number" || !Number.isFinite(base)) {
      throw new EnvError("invalid_step", `rewardFn must return a finite number, got ${describeValue(base)}`);
    }
    const reward = this.#shaper
      ? shapedStepReward(this.#shaper, this.config.stepPenalty, { base, violations, success })
      : stepReward(this.config, { base, violations, success });
    const critical = violations.some((v) => v.severity === "critical");
    const terminated = (this.config.terminateOnCritical && critical) || killed || done;
    const truncated = !terminated && step >= this.config.maxSteps;

    // State changes only after every callback returned, so a throwing callback leaves the episode as it was.
    this.#spentUsd += spent;
    // Every attempt counts toward the window: a blocked agent retrying in a loop is still rate-limited.
    this.#windowSteps += 1;
    this.#episodeStep = step;
    this.#episodeReward += reward.total;
    this.#episodeCritical ||= critical;
    this.#totalSteps += 1;
    this.#totalViolations += violations.length;
    this.#state = observation;
    this.#terminated = terminated;
    this.#truncated = truncated;
    if (terminated || truncated) this.#finishEpisode(done && success);

    // Fields on the line rather than a child logger per step: a step is a hot path and debug is usually off.
    if (this.#logger.isLevelEnabled("debug")) {
      this.#logger.debug(
        { episode, step, allowed: decision.allowed, executed, violations: violations.length, reward: reward.total, terminated, truncated },
        "step",
      );
    }
    const info: StepInfo = {
      step,
      episode,
      violations,
      decision,
      blocked: !executed,
      success,
      done,
      reward,
      totalReward: this.#episodeReward,
      action,
    };
    return [observation, reward.total, terminated, truncated, info];
  }

  #finishEpisode(finishedByTask: boolean): void {
    this.#active = false;
    this.#finishedEpisodes += 1;
    this.#finishedRewardSum += this.#episodeReward;
    const successful = this.#terminated && finishedByTask && !this.#episodeCritical;
    if (successful) this.#successfulEpisodes += 1;
    this.#logger.info(
      { episode: this.#episode, steps: this.#episodeStep, reward: this.#episodeReward, terminated: this.#terminated, successful },
      "episode finished",
    );
  }

  /**
   * The trainer's context of an action: the environment's clock and counters, then contextFn's
   * (trusted, it may set any of them), then costFn's price. Never anything from the agent.
   */
  #contextOf(body: ActionBody, state: TState, step: number): ActionContext {
    const tracked = trackedContext({ startMs: this.#startMs, secondsPerStep: this.config.secondsPerStep, windowSteps: this.#windowSteps, spentUsd: this.#spentUsd });
    const extra = this.#contextFn ? this.#contextFn(state, { step, episode: this.#episode, action: body }) : {};
    const context = assignDefined(tracked, extra);
    if (this.#costFn) {
      const cost = this.#costFn(body, state);
      if (typeof cost !== "number" || !Number.isFinite(cost) || cost < 0) {
        throw new EnvError("invalid_step", `costFn must return a finite cost >= 0, got ${describeValue(cost)}`);
      }
      context.costUsd = cost;
    }
    return context;
  }

  /** Aggregates over every episode so far. */
  getMetrics(): EnvironmentMetrics {
    return environmentMetrics({
      episodes: this.#episode,
      finished: this.#finishedEpisodes,
      steps: this.#totalSteps,
      violations: this.#totalViolations,
      successful: this.#successfulEpisodes,
      rewardSum: this.#finishedRewardSum,
    });
  }


  /** Ends the environment; later reset()/step() throw EnvClosed. Calling it twice is fine. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#active = false;
    this.#logger.debug({ episodes: this.#episode }, "environment closed");
  }
}

/** Executor-reported violations, checked: a malformed one is an executor bug, not something to record. */
function readViolations(value: unknown): readonly Violation[] {
  const parsed = z.array(ViolationSchema).safeParse(value);
  if (!parsed.success) throw new EnvError("invalid_step", `executor violations must be Violations: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

// ---------------------------------------------------------------- factory

/** Every environment option and every EnvironmentConfig field, flattened. */
export type CreateGovernedEnvOptions<TState, TResult> = Omit<GovernedEnvironmentOptions<TState, TResult>, "config"> &
  EnvironmentConfigInput;

const FLAT_OPTION_NAMES: readonly string[] = [...OPTION_NAMES.filter((name) => name !== "config"), ...ENVIRONMENT_CONFIG_FIELDS];

/** Builds a GovernedEnvironment from flattened options; an unknown option is an error (the reference dropped them). */
export function createGovernedEnv<TState = unknown, TResult = unknown>(
  kernel: PolicyKernel,
  options: CreateGovernedEnvOptions<TState, TResult> = {},
): GovernedEnvironment<TState, TResult> {
  checkOptions(options, FLAT_OPTION_NAMES, "createGovernedEnv options");
  const config: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if ((ENVIRONMENT_CONFIG_FIELDS as readonly string[]).includes(key)) config[key] = value;
    else rest[key] = value;
  }
  // Validated here with no `config.` prefix, so the error names the flat option the caller wrote.
  parseEnvironmentConfig(config, "");
  if (isStepRewardShaper(rest["reward"])) assertOneRewardShaping(rest["reward"], config, "");
  // The config as written, not parsed: parsing fills in the default penalties, which the
  // constructor would take for penalties the caller set beside a reward shaper.
  return new GovernedEnvironment<TState, TResult>(kernel, {
    ...(rest as Omit<GovernedEnvironmentOptions<TState, TResult>, "config">),
    config: config as EnvironmentConfigInput,
  });
}
