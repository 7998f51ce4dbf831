import { z } from "zod";
import { PolicyKernelError, errorMessage } from "../errors.js";
import { isAuditSink, recordSafely, type KernelAuditSink } from "../kernel/audit-sink.js";
import { runsAction, stoppingViolation } from "../kernel/guarded-evaluate.js";
import type { PolicyKernel } from "../kernel/types.js";
import { checkProposal, copyBody, readProposal, type CheckedProposal } from "../kernel/proposal.js";
import { actionSha256 } from "../kernel/frozen-action.js";
import { createLogger, isLogger, type Logger } from "../logging.js";
import type { ActionBody, ActionContext, Decision, Violation } from "../schemas.js";
import {
  actionAgent,
  type ActionAgentInput,
  type ActOutcome,
  type AgentStepContext,
  type GovernedAgent,
  type GovernedAgentFn,
} from "./agent.js";
import { ActionBlockedError, PolicyViolationError } from "./errors.js";
import {
  RunModeSchema,
  WorkerIdSchema,
  type GovernedRollout,
  type RolloutError,
  type RunMode,
  type RunnerStats,
  type WorkerId,
} from "./rollout.js";
import { TaskSchema, type TaskStore } from "./task-store.js";
import { optionsError } from "../options.js";
import { isFunction } from "../values.js";
import { eventLoopTurns } from "../event-loop.js";

/** What the executor learns about the allowed action it runs. */
export interface ExecutionInfo {
  readonly agentId: string;
  readonly mode: RunMode;
  readonly workerId: WorkerId | null;
  /** The context the kernel saw: the step's (trainer's) context with the runner's counters and `costFn`'s cost. Frozen. */
  readonly context: ActionContext;
  /** The allowing decision (it may carry warn/signal violations). */
  readonly decision: Decision;
}

/** Runs an action the kernel allowed; only ever called after an allowing decision, with the frozen copy the kernel evaluated. */
export type ActionExecutor = (action: ActionBody, info: ExecutionInfo) => unknown;

/** What `costFn` learns besides the action. */
export interface CostInfo {
  readonly agentId: string;
  readonly mode: RunMode;
  readonly workerId: WorkerId | null;
  readonly taskId: string | null;
}

/** The trainer's price of an action (`context.costUsd`): a finite number >= 0; the agent never sets it. */
export type CostFn = (action: ActionBody, info: CostInfo) => number;

/** What `onViolation` learns besides the violation itself. */
export interface ViolationInfo {
  readonly agentId: string;
  readonly mode: RunMode;
  readonly workerId: WorkerId | null;
  readonly taskId: string | null;
  readonly action: ActionBody;
  readonly decision: Decision;
}

/** Called once per violation, before the action executes; its errors are logged, never rethrown. */
export type ViolationCallback = (violation: Violation, info: ViolationInfo) => unknown;


/** Options of `new GovernedRunner(kernel, options)`; unknown keys are an error. */
export const GovernedRunnerOptionsSchema = z.strictObject({
  /** Reject the step with PolicyViolationError when an action is blocked (the agent is halted there). */
  failOnViolation: z.boolean().default(false),
  /** Log every violation at warn through `logger`. */
  logViolations: z.boolean().default(true),
  onViolation: z.custom<ViolationCallback>(isFunction, { message: "a function (violation, info) => void" }).optional(),
  /** Runs allowed actions no SIGKILL/SIGSTOP holds (runsAction); the default runs nothing and returns undefined. */
  executor: z.custom<ActionExecutor>(isFunction, { message: "a function (action, info) => result" }).optional(),
  /** A pino logger; without one the runner is silent (library default). */
  logger: z.custom<Logger>(isLogger, { message: "a pino Logger" }).optional(),
  /** Prices each proposed action (its frozen copy) as `context.costUsd`; spending is then summed per step into `spentUsd`. */
  costFn: z.custom<CostFn>(isFunction, { message: "a function (action, info) => cost in USD" }).optional(),
  /**
   * Receives a tool_call event for every action the executor ran (with its result or error).
   * Decisions and signals are the kernel's to record: give the same FlightRecorder to
   * `createPolicyKernel({ recorder })` and here, and one chain holds decision then execution.
   */
  recorder: z.custom<KernelAuditSink>(isAuditSink, { message: "an audit sink with record(event)" }).optional(),
});
export type GovernedRunnerOptions = z.input<typeof GovernedRunnerOptionsSchema>;
type ParsedRunnerOptions = z.output<typeof GovernedRunnerOptionsSchema>;

const isAbortSignal = (value: unknown): value is AbortSignal => value instanceof AbortSignal;

/** Options of one `runner.step`; unknown keys are an error. */
export const StepOptionsSchema = z.strictObject({
  mode: RunModeSchema.default("train"),
  /** Logical time passed to `kernel.evaluate` (policies never read the wall clock). */
  now: z.union([z.string(), z.date()]).optional(),
  /**
   * The trainer's context for every action of the step (role, readOnly, budgets); the agent cannot
   * change it. `actionsInWindow` and `spentUsd` are where the step starts: the runner adds the
   * step's own proposals and the cost of what it executed.
   */
  context: z.record(z.string(), z.unknown()).optional(),
  /** Overrides the agent's own id for this step. */
  agentId: z.string().min(1).optional(),
  workerId: WorkerIdSchema.optional(),
  taskId: z.string().min(1).optional(),
  signal: z.custom<AbortSignal>(isAbortSignal, { message: "an AbortSignal" }).optional(),
});
export type StepOptions = z.input<typeof StepOptionsSchema>;

/** Options of `runner.iter`; unknown keys are an error. */
export const IterOptionsSchema = z.strictObject({
  /** Stops pulling tasks once aborted; the step in flight finishes and is submitted. */
  signal: z.custom<AbortSignal>(isAbortSignal, { message: "an AbortSignal" }).optional(),
  /** Which initialised worker's store to use; may be omitted when exactly one worker exists. */
  workerId: WorkerIdSchema.optional(),
  /** Mode of tasks that carry none. */
  mode: RunModeSchema.default("train"),
  now: z.union([z.string(), z.date()]).optional(),
});
export type IterOptions = z.input<typeof IterOptionsSchema>;

/** How an `iter` run ended. */
export interface IterSummary {
  /** Rollouts submitted to the store. */
  readonly rollouts: number;
  readonly violations: number;
  readonly stoppedBy: "abort" | "empty";
}

const DEFAULT_AGENT_ID = "agent";

/** Everything one step accumulates; never shared between steps, so concurrent steps cannot mix. */
interface StepState {
  readonly agentId: string;
  readonly mode: RunMode;
  readonly workerId: WorkerId | null;
  readonly taskId: string | null;
  readonly now: string | Date | undefined;
  readonly context: Record<string, unknown>;
  readonly log: Logger;
  /** Indexed by proposal order, so concurrent `act` calls of one step still report deterministically. */
  readonly decisions: Decision[];
  readonly inFlight: Promise<void>[];
  /** Actions proposed so far (`actionsInWindow` counts every attempt, blocked ones too). */
  proposed: number;
  /** Cost of executed actions, and of those still being decided (reserved, released when they do not run). */
  spentUsd: number;
  reservedUsd: number;
  blocked: number;
  executed: number;
  /** Set on the first block under failOnViolation: every later `act` of the step rejects with it. */
  halt: ActionBlockedError | undefined;
  finished: boolean;
}

/**
 * Runs agents so that every action they propose passes through `kernel.evaluate` before it
 * executes. There is no ungoverned path: without a usable kernel the constructor throws.
 */
export class GovernedRunner<I = ActionAgentInput, O = unknown> {
  readonly kernel: PolicyKernel;
  readonly #options: ParsedRunnerOptions;
  readonly #logger: Logger;
  #agent: GovernedAgent<unknown, unknown> = actionAgent as GovernedAgent<unknown, unknown>;
  readonly #workers = new Map<WorkerId, TaskStore<unknown>>();
  #tornDown = false;
  #totalRollouts = 0;
  #successfulRollouts = 0;
  #totalViolations = 0;
  #rolloutsWithViolations = 0;
  #blockedActions = 0;

  /** Creates a runner; throws `invalid_config` without a kernel that has `evaluate` and `evaluateUntrusted`, or on a bad option. */
  constructor(kernel: PolicyKernel, options: GovernedRunnerOptions = {}) {
    if (typeof kernel !== "object" || kernel === null || !isFunction((kernel as Partial<PolicyKernel>).evaluate) || !isFunction((kernel as Partial<PolicyKernel>).evaluateUntrusted)) {
      // The reference ran the agent ungoverned here; a runner without a kernel must not exist.
      throw new PolicyKernelError("invalid_config", "GovernedRunner needs a PolicyKernel; it never runs an agent ungoverned", {
        field: "kernel",
        expected: "an object with evaluate(action, options) and evaluateUntrusted(raw, options)",
      });
    }
    const parsed = GovernedRunnerOptionsSchema.safeParse(options ?? {});
    if (!parsed.success) throw optionsError(parsed.error, "options", GovernedRunnerOptionsSchema);
    this.kernel = kernel;
    this.#options = parsed.data;
    this.#logger = createLogger({ logger: parsed.data.logger, name: "governed-runner" });
  }

  /** Sets the agent later steps run (an object with `run`, or a function); returns the runner retyped. */
  init<I2, O2>(agent: GovernedAgent<I2, O2> | GovernedAgentFn<I2, O2>): GovernedRunner<I2, O2> {
    this.#assertOpen();
    const normalised: GovernedAgent<I2, O2> | undefined = isFunction(agent)
      ? { run: agent }
      : typeof agent === "object" && agent !== null && isFunction(agent.run)
        ? agent
        : undefined;
    if (!normalised) {
      throw new PolicyKernelError("invalid_config", "init needs an agent", {
        field: "agent",
        expected: "an object with run(input, ctx) or a function (input, ctx) => output",
      });
    }
    this.#agent = normalised as GovernedAgent<unknown, unknown>;
    return this as unknown as GovernedRunner<I2, O2>;
  }

  /** Registers a worker's task store for `iter`; re-registering a worker replaces its store. */
  initWorker(workerId: WorkerId, store: TaskStore<I>): void {
    this.#assertOpen();
    const id = WorkerIdSchema.safeParse(workerId);
    if (!id.success) throw optionsError(id.error, "workerId", {});
    if (typeof store !== "object" || store === null || !isFunction(store.dequeueTask) || !isFunction(store.submitRollout)) {
      throw new PolicyKernelError("invalid_config", "initWorker needs a task store", {
        field: "store",
        expected: "an object with dequeueTask() and submitRollout(rollout, task)",
      });
    }
    this.#workers.set(id.data, store as TaskStore<unknown>);
  }

  /** Forgets a worker's store; an unknown worker is fine (teardown is idempotent). */
  teardownWorker(workerId: WorkerId): void {
    this.#workers.delete(workerId);
  }

  /** Ends the runner: workers are forgotten and later steps throw; calling it twice is fine. The kernel stays open (it is the caller's). */
  teardown(): void {
    this.#workers.clear();
    this.#tornDown = true;
  }

  /**
   * Runs the agent once on `input`. Resolves with the rollout, also when the agent threw
   * (then `completed` and `success` are false). Rejects with PolicyViolationError when an
   * action was blocked and failOnViolation is on; the error carries the rollout.
   */
  async step(input: I, options: StepOptions = {}): Promise<GovernedRollout<I, O>> {
    this.#assertOpen();
    const parsed = StepOptionsSchema.safeParse(options ?? {});
    if (!parsed.success) throw optionsError(parsed.error, "stepOptions", StepOptionsSchema);
    const opts = parsed.data;
    const agent = this.#agent;
    const agentId = opts.agentId ?? agent.agentId ?? DEFAULT_AGENT_ID;
    const workerId = opts.workerId ?? null;
    const state: StepState = {
      agentId,
      mode: opts.mode,
      workerId,
      taskId: opts.taskId ?? null,
      now: opts.now,
      context: opts.context ?? {},
      log: this.#logger.child({ agentId, workerId: workerId ?? undefined, mode: opts.mode }),
      decisions: [],
      inFlight: [],
      proposed: 0,
      spentUsd: 0,
      reservedUsd: 0,
      blocked: 0,
      executed: 0,
      halt: undefined,
      finished: false,
    };
    const ctx: AgentStepContext = {
      agentId,
      mode: opts.mode,
      workerId,
      signal: opts.signal,
      // Only the body is the agent's: a second argument is refused, never merged (kernel/agent_context).
      act: (action: ActionBody, ...rest: unknown[]) => this.#act(state, action, rest),
    };

    const started = performance.now();
    let taskOutput: O | undefined;
    let completed = false;
    let error: RolloutError | null = null;
    try {
      taskOutput = (await agent.run(input, ctx)) as O;
      completed = true;
    } catch (thrown) {
      error = toRolloutError(thrown);
      if (thrown !== state.halt) state.log.error({ err: thrown }, "agent run failed");
    }
    // An agent may return without awaiting an `act`; its decision still belongs to this step.
    while (state.inFlight.length > 0) await Promise.all(state.inFlight.splice(0));
    state.finished = true;
    const executionTimeMs = performance.now() - started;

    const decisions = state.decisions.filter((d): d is Decision => d !== undefined);
    const violations = decisions.flatMap((d) => d.violations);
    const rollout: GovernedRollout<I, O> = {
      taskId: state.taskId,
      agentId,
      workerId,
      mode: opts.mode,
      taskInput: input,
      taskOutput,
      completed,
      success: completed && state.blocked === 0,
      error,
      violations,
      signalsSent: decisions.flatMap((d) => d.signals),
      totalPenalty: violations.reduce((sum, v) => sum + v.penalty, 0),
      decisions,
      blockedActions: state.blocked,
      executedActions: state.executed,
      executionTimeMs,
    };
    this.#count(rollout);
    if (state.halt && this.#options.failOnViolation) {
      throw new PolicyViolationError(rollout, state.halt.violation, { cause: state.halt });
    }
    return rollout;
  }

  /**
   * Pulls tasks from the worker's store, steps each and submits the rollout, until the signal
   * aborts or the store is empty. Store methods are always awaited. Under failOnViolation a
   * blocked step's rollout is submitted, then its PolicyViolationError ends the loop.
   */
  async iter(options: IterOptions = {}): Promise<IterSummary> {
    this.#assertOpen();
    const parsed = IterOptionsSchema.safeParse(options ?? {});
    if (!parsed.success) throw optionsError(parsed.error, "iterOptions", IterOptionsSchema);
    const { signal, mode, now } = parsed.data;
    const [workerId, store] = this.#worker(parsed.data.workerId);
    let rollouts = 0;
    let violations = 0;
    const turn = eventLoopTurns();
    for (;;) {
      // With a synchronous store and agent nothing else would run: an abort from a timer or a signal handler needs a turn.
      await turn();
      // Abort is checked before dequeuing only: a task already taken is run and submitted, never dropped.
      if (signal?.aborted) break;
      const raw = await store.dequeueTask();
      if (raw === undefined || raw === null) return { rollouts, violations, stoppedBy: "empty" };
      const task = TaskSchema.safeParse(raw);
      if (!task.success) throw optionsError(task.error, "task", TaskSchema);
      const stepOptions: StepOptions = { mode: task.data.mode ?? mode, workerId, now, signal };
      if (task.data.taskId !== undefined) stepOptions.taskId = task.data.taskId;
      let rollout: GovernedRollout<I, O>;
      try {
        rollout = await this.step(task.data.input as I, stepOptions);
      } catch (thrown) {
        if (thrown instanceof PolicyViolationError) {
          await store.submitRollout(thrown.rollout as GovernedRollout<unknown>, raw);
        }
        throw thrown;
      }
      await store.submitRollout(rollout as GovernedRollout<unknown>, raw);
      rollouts += 1;
      violations += rollout.violations.length;
    }
    return { rollouts, violations, stoppedBy: "abort" };
  }

  /** Counters over every finished step (see RunnerStatsSchema for the two rates). */
  getStats(): RunnerStats {
    const n = this.#totalRollouts;
    return {
      totalRollouts: n,
      successfulRollouts: this.#successfulRollouts,
      totalViolations: this.#totalViolations,
      violationRate: n === 0 ? 0 : this.#totalViolations / n,
      rolloutsWithViolations: this.#rolloutsWithViolations,
      rolloutViolationRate: n === 0 ? 0 : this.#rolloutsWithViolations / n,
      blockedActions: this.#blockedActions,
    };
  }

  /** Violations per rollout (`getStats().violationRate`). */
  getViolationRate(): number {
    return this.getStats().violationRate;
  }

  #assertOpen(): void {
    if (this.#tornDown) throw new PolicyKernelError("invalid_config", "this GovernedRunner was torn down; create a new one");
  }

  #worker(requested: WorkerId | undefined): [WorkerId, TaskStore<unknown>] {
    if (requested !== undefined) {
      const store = this.#workers.get(requested);
      if (store) return [requested, store];
      throw new PolicyKernelError("invalid_config", `no worker '${String(requested)}'; call initWorker(workerId, store) first`, {
        field: "workerId",
      });
    }
    const [only, ...rest] = [...this.#workers.entries()];
    if (only && rest.length === 0) return only;
    throw new PolicyKernelError(
      "invalid_config",
      only ? "several workers are initialised; pass iter({ workerId })" : "no worker; call initWorker(workerId, store) before iter()",
      { field: "workerId" },
    );
  }

  #count(rollout: GovernedRollout<I, O>): void {
    this.#totalRollouts += 1;
    if (rollout.success) this.#successfulRollouts += 1;
    this.#totalViolations += rollout.violations.length;
    if (rollout.violations.length > 0) this.#rolloutsWithViolations += 1;
    this.#blockedActions += rollout.blockedActions;
  }

  #act(state: StepState, proposed: unknown, rest: readonly unknown[]): Promise<ActOutcome> {
    if (state.finished) {
      return Promise.reject(
        new PolicyKernelError("invalid_input", "ctx.act was called after its step finished; the action was not evaluated nor run", {
          field: "ctx.act",
        }),
      );
    }
    if (state.halt) return Promise.reject(state.halt);
    const index = state.decisions.length;
    // Reserve the slot now so decisions keep proposal order whatever order evaluations finish in.
    state.decisions.length = index + 1;
    const outcome = this.#decideAndExecute(state, index, proposed, rest);
    state.inFlight.push(outcome.then(noop, noop));
    return outcome;
  }

  /** The trainer's context of the next proposal: step context, the step's counters, the trainer's price. */
  #contextOf(state: StepState, body: unknown): { context: Record<string, unknown>; cost: number; error: string | undefined } {
    const base = state.context;
    const startCount = typeof base["actionsInWindow"] === "number" ? base["actionsInWindow"] : 0;
    const startSpent = typeof base["spentUsd"] === "number" ? base["spentUsd"] : 0;
    const context: Record<string, unknown> = { ...base, actionsInWindow: startCount + state.proposed, spentUsd: startSpent + state.spentUsd + state.reservedUsd };
    const costFn = this.#options.costFn;
    if (!costFn) return { context, cost: 0, error: undefined };
    try {
      // costFn reads the body's frozen copy: the one the kernel checks and the executor runs.
      const cost = costFn(body as ActionBody, { agentId: state.agentId, mode: state.mode, workerId: state.workerId, taskId: state.taskId });
      if (typeof cost !== "number" || !Number.isFinite(cost) || cost < 0) return { context, cost: 0, error: `costFn returned ${describeCost(cost)}, not a finite cost >= 0` };
      context["costUsd"] = cost;
      return { context, cost, error: undefined };
    } catch (err) {
      return { context, cost: 0, error: `costFn threw: ${errorMessage(err)}` };
    }
  }

  async #decideAndExecute(state: StepState, index: number, proposed: unknown, rest: readonly unknown[]): Promise<ActOutcome> {
    // Everything up to checkProposal runs in the turn ctx.act was called in: the copy is of the action as proposed.
    const proposal = readProposal(proposed, rest, "ctx.act", "the step's `context` option and `costFn`");
    const body = copyBody(this.kernel, proposal.body);
    const { context, cost, error } = this.#contextOf(state, body);
    const refusal = proposal.refusal ?? (error === undefined ? undefined : { rule: "context_error", description: error });
    state.proposed += 1;
    state.reservedUsd += cost;
    let checked: CheckedProposal;
    try {
      checked = await checkProposal(this.kernel, { agentId: state.agentId, action: body, context }, refusal, state.now);
    } finally {
      state.reservedUsd -= cost;
    }
    const { decision } = checked;
    state.decisions[index] = decision;
    const action = checked.action;
    const executed: ActionBody = action?.action ?? INVALID_BODY;
    this.#report(state, executed, decision);

    // Denied, or held by SIGKILL/SIGSTOP: the same rule as GovernedEnvironment's.
    if (!runsAction(decision) || !action) {
      state.blocked += 1;
      if (this.#options.failOnViolation) {
        state.halt ??= new ActionBlockedError(decision, stoppingViolation(decision));
        throw state.halt;
      }
      return { allowed: false, decision };
    }
    // A sibling action of this step was blocked while this one was being evaluated: halted means nothing more runs.
    if (state.halt) throw state.halt;
    state.executed += 1;
    state.spentUsd += cost;
    const executor = this.#options.executor;
    const info: ExecutionInfo = { agentId: state.agentId, mode: state.mode, workerId: state.workerId, context: action.context, decision };
    const now = nowString(state.now) ?? (typeof action.context.now === "string" ? action.context.now : null);
    let result: unknown;
    try {
      // The executor gets the frozen copy the kernel evaluated and recorded: nothing else can run.
      result = executor ? await executor(executed, info) : undefined;
    } catch (err) {
      this.#recordExecution(state, executed, now, decision, { error: errorMessage(err) });
      throw err;
    }
    this.#recordExecution(state, executed, now, decision, { result });
    return { allowed: true, result, decision };
  }

  /** An executed action goes to the audit sink; a failing sink never breaks the step. */
  #recordExecution(state: StepState, action: ActionBody, now: string | null, decision: Decision, outcome: { result?: unknown; error?: string }): void {
    const recorder = this.#options.recorder;
    if (!recorder) return;
    const metadata = { mode: state.mode, ...(state.taskId == null ? {} : { taskId: state.taskId }) };
    const event = { type: "tool_call", agentId: state.agentId, action, actionSha256: actionSha256(action), now, bundleRevision: decision.provenance.bundleRevision, metadata, ...outcome } as const;
    recordSafely(recorder, event, state.log);
  }

  /** Logs and calls back for each violation of one decision; neither may break the step. */
  #report(state: StepState, action: ActionBody, decision: Decision): void {
    const { log } = state;
    const info: ViolationInfo = {
      agentId: state.agentId,
      mode: state.mode,
      workerId: state.workerId,
      taskId: state.taskId,
      action,
      decision,
    };
    for (const violation of decision.violations) {
      if (this.#options.logViolations) log.warn({ violation, actionType: action.type }, "policy violation");
      const callback = this.#options.onViolation;
      if (!callback) continue;
      try {
        const returned = callback(violation, info);
        // An async callback is not awaited (it must not slow the step) but its failure is still logged.
        if (isThenable(returned)) returned.then(noop, (err: unknown) => log.error({ err }, "onViolation callback failed"));
      } catch (err) {
        log.error({ err }, "onViolation callback failed");
      }
    }
  }
}

/** What the trail and callbacks name when no copy of the proposal could be made (it never runs). */
const INVALID_BODY: ActionBody = Object.freeze({ type: "(invalid)" });

function describeCost(value: unknown): string {
  return typeof value === "number" ? String(value) : typeof value;
}

function nowString(now: string | Date | undefined): string | null {
  if (now === undefined) return null;
  return typeof now === "string" ? now : now.toISOString();
}

function toRolloutError(thrown: unknown): RolloutError {
  if (thrown instanceof Error) return { name: thrown.name, message: thrown.message };
  return { name: "NonError", message: errorMessage(thrown) };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && isFunction((value as PromiseLike<unknown>).then);
}

function noop(): void {}

