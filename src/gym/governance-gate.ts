import type { FlightRecorder } from "../audit/flight-recorder.js";
import { parseEnvironmentConfig, type EnvironmentConfig } from "../env/config.js";
import type { EnvironmentMetrics } from "../env/environment.js";
import { EnvClosed, EnvError } from "../env/errors.js";
import { assignDefined, checkProposedAction, trackedContext } from "../env/proposed-action.js";
import type { RewardParts } from "../env/step-reward.js";
import { fromZodError } from "../errors.js";
import { recordSafely } from "../kernel/audit-sink.js";
import { actionSha256 } from "../kernel/frozen-action.js";
import { runsAction } from "../kernel/guarded-evaluate.js";
import type { PolicyKernel } from "../kernel/types.js";
import { createLogger } from "../logging.js";
import type { RewardConfigInput } from "../reward/config.js";
import { PolicyReward } from "../reward/policy-reward.js";
import { ActionContextSchema, type Action, type ActionContext, type Decision, type Violation } from "../schemas.js";
import { closeEnvTrail, type EnvTrailReport } from "./env-trail.js";
import { MetricsTally } from "./metrics-tally.js";

/** Options of `new GovernanceGate`. */
export interface GovernanceGateOptions {
  /** The kernel; it must record its decisions into `trail` (its `recorder`, or a sink routed there). */
  readonly kernel: PolicyKernel;
  /** The gate's trail: each decision, then each executed action `record` reports. */
  readonly trail: FlightRecorder;
  /** agentId of every checked action; default "agent". */
  readonly agentId?: string;
  /** A critical violation sets `terminate`; default true. */
  readonly terminateOnCritical?: boolean;
  /** The logical clock's first instant (as EnvironmentConfig's). */
  readonly startTime?: string;
  /** Logical seconds each check advances the clock (as EnvironmentConfig's). */
  readonly secondsPerStep?: number;
  /** How violations are priced (PolicyReward's config). */
  readonly rewardConfig?: RewardConfigInput;
}

/** What `check` answers: the decision, whether the action may run, whether the episode ends, and its price. */
export interface GateCheck {
  readonly decision: Decision;
  /** Allowed and not held by SIGKILL/SIGSTOP: the caller may execute it (then `record` it). */
  readonly runs: boolean;
  /** A critical violation (with terminateOnCritical) or SIGKILL: the episode ends. */
  readonly terminate: boolean;
  readonly violations: readonly Violation[];
  /** The governance part of the step's reward, PolicyReward's shaping over a base of 0. */
  readonly reward: RewardParts;
  /** The violations' reward delta (<= 0): add it to the inner env's reward. */
  readonly penalty: number;
}

/** What the caller reports about an action it executed after a check that `runs`. */
export interface GateOutcome {
  /** What the execution returned (JSON), kept in the trail's tool_call entry. */
  readonly result?: unknown;
  readonly success?: boolean;
  /** What it cost; default the checked context's costUsd. Sums into the next checks' `spentUsd`. */
  readonly costUsd?: number;
}

interface Pending {
  readonly action: Action;
  readonly decision: Decision;
  readonly step: number;
  readonly episode: number;
}

const DEFAULT_AGENT_ID = "agent";

/**
 * GovernedEnvironment's governance without its executor: for an env the caller runs itself (a
 * Python env behind the stdio host). `check` evaluates the proposed action body in the trainer's
 * context over the gate's own clock and counters, exactly as `env.step` builds it; the caller runs
 * the action only when `runs`, then `record`s it, so the trail holds decision then execution.
 */
export class GovernanceGate {
  readonly agentId: string;
  readonly config: EnvironmentConfig;
  readonly #kernel: PolicyKernel;
  readonly #trail: FlightRecorder;
  readonly #reward: PolicyReward;
  readonly #startMs: number;
  readonly #tally = new MetricsTally();
  readonly #logger = createLogger({ name: "gate" });
  #episode = 0;
  #step = 0;
  #windowSteps = 0;
  #spentUsd = 0;
  #penalties = 0;
  #pending: Pending | undefined;
  #recorded = false;
  #closing: Promise<EnvTrailReport> | undefined;

  /** A gate; throws `invalid_config` naming the field for a bad option. */
  constructor(options: GovernanceGateOptions) {
    this.#kernel = options.kernel;
    this.#trail = options.trail;
    this.agentId = options.agentId ?? DEFAULT_AGENT_ID;
    this.config = parseEnvironmentConfig(
      {
        ...(options.terminateOnCritical === undefined ? {} : { terminateOnCritical: options.terminateOnCritical }),
        ...(options.startTime === undefined ? {} : { startTime: options.startTime }),
        ...(options.secondsPerStep === undefined ? {} : { secondsPerStep: options.secondsPerStep }),
      },
      "",
    );
    this.#startMs = Date.parse(this.config.startTime);
    this.#reward = new PolicyReward(null, { config: options.rewardConfig ?? {} });
  }

  /** The gate's FlightRecorder. */
  get trail(): FlightRecorder {
    return this.#trail;
  }

  /** Starts an episode: the logical clock, the rate window and the spend start again. */
  reset(): { readonly episode: number } {
    if (this.#closing !== undefined) throw new EnvClosed();
    this.#startEpisode();
    return { episode: this.#episode };
  }

  #startEpisode(): void {
    this.#episode += 1;
    this.#step = 0;
    this.#windowSteps = 0;
    this.#spentUsd = 0;
    this.#penalties = 0;
    this.#pending = undefined;
    this.#tally.episodeStarted();
  }

  /**
   * Evaluates the proposed action body with the trainer's `context` (trusted: it may set now,
   * actionsInWindow, spentUsd) over the gate's own. An action carrying agentId or a context is
   * refused (kernel/agent_context), as env.step refuses it.
   */
  async check(action: unknown, context?: unknown): Promise<GateCheck> {
    if (this.#closing !== undefined) throw new EnvClosed();
    // A check that throws must not leave the previous one to be recorded as this one's execution.
    this.#pending = undefined;
    const trainer = context === undefined ? {} : readContext(context);
    if (this.#episode === 0) this.#startEpisode();
    const step = this.#step + 1;
    const episode = this.#episode;
    const counters = { startMs: this.#startMs, secondsPerStep: this.config.secondsPerStep, windowSteps: this.#windowSteps, spentUsd: this.#spentUsd };
    const { checked } = await checkProposedAction(
      this.#kernel,
      this.agentId,
      action,
      [],
      { call: "gate.check", contextFrom: "the check's context param and the gate's clock and counters" },
      () => assignDefined(trackedContext(counters), trainer),
    );
    const { decision } = checked;
    const runs = runsAction(decision) && checked.action !== undefined;
    const critical = decision.violations.some((v) => v.severity === "critical");
    const terminate = (this.config.terminateOnCritical && critical) || decision.signals.includes("SIGKILL");
    const shaped = this.#reward.shapeStep({ base: 0, success: false, violations: decision.violations });
    const reward: RewardParts = { base: 0, step: 0, violations: shaped.penalty, bonus: shaped.bonus, total: shaped.reward };
    // Every attempt counts toward the window, as in env.step: a blocked agent retrying is still rate-limited.
    this.#windowSteps += 1;
    this.#step = step;
    this.#penalties += shaped.penalty;
    this.#pending = runs && checked.action !== undefined ? { action: checked.action, decision, step, episode } : undefined;
    this.#recorded = false;
    this.#tally.stepped(decision.violations.length);
    if (terminate) this.#tally.episodeFinished(this.#penalties, false);
    return { decision, runs, terminate, violations: decision.violations, reward, penalty: shaped.penalty };
  }

  /** Records the tool_call of the last check that `runs`; EnvError invalid_step when there is none or it was recorded. */
  record(outcome: GateOutcome = {}): void {
    if (this.#closing !== undefined) throw new EnvClosed();
    const pending = this.#pending;
    if (pending === undefined) {
      const why = this.#recorded ? "the last check's action was already recorded" : "the last check did not allow its action (runs: false), or there was no check";
      throw new EnvError("invalid_step", `record() reports an action a check allowed: ${why}`);
    }
    const success = outcome.success ?? true;
    const event = {
      type: "tool_call",
      agentId: pending.action.agentId,
      action: pending.action.action,
      actionSha256: actionSha256(pending.action.action),
      now: pending.action.context.now ?? null,
      ...(outcome.result === undefined ? {} : { result: outcome.result }),
      bundleRevision: pending.decision.provenance.bundleRevision,
      metadata: { episode: pending.episode, step: pending.step, success },
    } as const;
    recordSafely(this.#trail, event, this.#logger);
    const cost = outcome.costUsd ?? pending.action.context.costUsd;
    if (typeof cost === "number" && Number.isFinite(cost) && cost > 0) this.#spentUsd += cost;
    this.#pending = undefined;
    this.#recorded = true;
  }

  /** Aggregates over the gate's life (an episode's reward is the sum of its penalties). */
  metrics(): EnvironmentMetrics {
    return this.#tally.metrics();
  }

  /** Ends the gate and closes its trail (verified from its file when it has one); twice returns the same report. */
  close(): Promise<EnvTrailReport> {
    this.#closing ??= closeEnvTrail(this.#trail);
    return this.#closing;
  }
}

/** The trainer's context, checked as the kernel checks one: an error naming the field, not a denial. */
function readContext(value: unknown): ActionContext {
  const parsed = ActionContextSchema.safeParse(value);
  if (!parsed.success) throw fromZodError("invalid_input", parsed.error, { root: "context" });
  return parsed.data;
}
