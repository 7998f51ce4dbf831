import { PolicyKernelError } from "../errors.js";
import type { ActionBody, Decision } from "../schemas.js";
import type { RunMode, WorkerId } from "./rollout.js";

/** What `ctx.act` resolves to: the executor's result when allowed, only the decision when blocked. */
export type ActOutcome =
  | { readonly allowed: true; readonly result: unknown; readonly decision: Decision }
  | { readonly allowed: false; readonly decision: Decision };

/**
 * What an agent gets for one step. `act` is the agent's only way to have an action run:
 * the kernel decides first, and a blocked action never reaches the executor.
 */
export interface AgentStepContext {
  readonly agentId: string;
  readonly mode: RunMode;
  readonly workerId: WorkerId | null;
  /** Aborts when the caller of `step`/`iter` aborts; long agents should honour it. */
  readonly signal: AbortSignal | undefined;
  /**
   * Proposes one action body; resolves after the kernel decided (and, when allowed, the executor
   * ran). The context is the trainer's (step options, `costFn`): an agent that passes one (a
   * second argument, or a full `{agentId, action, context}`) is denied with `kernel/agent_context`.
   */
  act(action: ActionBody): Promise<ActOutcome>;
}

/** An agent the runner can govern; `run` may be sync or async. */
export interface GovernedAgent<I = unknown, O = unknown> {
  readonly agentId?: string;
  /** Does one task, proposing each action through `ctx.act`; what it returns becomes the rollout's `taskOutput`. */
  run(input: I, ctx: AgentStepContext): O | Promise<O>;
}

/** The plain-function form of an agent, accepted by `runner.init`. */
export type GovernedAgentFn<I = unknown, O = unknown> = (input: I, ctx: AgentStepContext) => O | Promise<O>;

/** Input of the built-in agent: SQL text, or an action body such as `{type: "tool_call", tool, args}`. */
export type ActionAgentInput = string | ActionBody;

/** Reads the built-in agent's input as one action body; anything else is the caller's mistake. */
export function toActionBody(input: unknown): ActionBody {
  if (typeof input === "string") return { type: "sql", sql: input };
  if (typeof input === "object" && input !== null && typeof (input as { type?: unknown }).type === "string") {
    return input as ActionBody;
  }
  throw new PolicyKernelError("invalid_input", "the default action agent cannot read this task input", {
    field: "taskInput",
    expected: "SQL text or an action body with a string `type`",
  });
}

/**
 * The agent a runner uses until `init(agent)`: it proposes its input as exactly one action
 * and returns the executor's result (undefined when the action was blocked). This is what
 * makes `await runner.step("SELECT name FROM users WHERE id = 42")` work out of the box.
 */
export const actionAgent: GovernedAgent<ActionAgentInput, unknown> = Object.freeze({
  agentId: "action-agent",
  async run(input: ActionAgentInput, ctx: AgentStepContext): Promise<unknown> {
    const outcome = await ctx.act(toActionBody(input));
    return outcome.allowed ? outcome.result : undefined;
  },
});
