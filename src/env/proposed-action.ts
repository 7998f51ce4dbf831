import type { ActionBody, ActionContext } from "../schemas.js";
import { checkProposal, copyBody, readProposal, type CheckedProposal } from "../kernel/proposal.js";
import type { PolicyKernel } from "../kernel/types.js";
import { isPlainObject, shapeOf } from "../values.js";
import { EnvError } from "./errors.js";

// The steps GovernedEnvironment and the GovernanceGate share between an agent's proposal and the
// kernel's decision: read the proposal at the trust boundary, copy the body once, build the
// trainer's context over the env's own clock and counters, and check the copy fail-closed.

/** The env's own clock and counters at a step: the part of the context no agent and no callback computes. */
export interface TrackedCounters {
  /** Logical time of the window's first step, in ms since the epoch. */
  readonly startMs: number;
  readonly secondsPerStep: number;
  /** Attempts since the window started (each advances the logical clock). */
  readonly windowSteps: number;
  readonly spentUsd: number;
}

/** The env-tracked part of a context: `now` from the logical clock, the rate window and the spend. */
export function trackedContext(counters: TrackedCounters): ActionContext {
  return {
    now: new Date(counters.startMs + counters.windowSteps * counters.secondsPerStep * 1000).toISOString(),
    actionsInWindow: counters.windowSteps,
    spentUsd: counters.spentUsd,
  };
}

/** `target` with the defined members of `context` written over it (one object per step, no spreads). */
export function assignDefined(target: ActionContext, context: ActionContext): ActionContext {
  const out = target as Record<string, unknown>;
  for (const key of Object.keys(context)) {
    const value = (context as Record<string, unknown>)[key];
    if (value === undefined) continue;
    // Assigning "__proto__" would set the prototype instead of adding a member.
    if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return target;
}

/** A proposal the kernel decided on, with the context it was decided in. */
export interface CheckedStep {
  readonly checked: CheckedProposal;
  readonly context: ActionContext;
}

/**
 * Reads the agent's proposal (`input` and any `rest` arguments, refused as an agent context),
 * copies its body, builds the context with `contextOf` from that copy and asks the kernel about
 * `{agentId, action, context}`, fail-closed. Nothing is awaited before the copy, so the kernel
 * checks the action as proposed. EnvError invalid_step when the body is not an object.
 */
export function checkProposedAction(
  kernel: PolicyKernel,
  agentId: string,
  input: unknown,
  rest: readonly unknown[],
  where: { readonly call: string; readonly contextFrom: string },
  contextOf: (body: ActionBody) => ActionContext,
): Promise<CheckedStep> {
  const proposal = readProposal(input, rest, where.call, where.contextFrom);
  if (!isPlainObject(proposal.body) && proposal.refusal === undefined) {
    throw new EnvError("invalid_step", `${where.call.replace(/^env\./, "")}() takes an action body {type, ...}, got ${shapeOf(proposal.body)}`);
  }
  // contextOf reads the body's frozen copy: the one the kernel checks and the executor runs.
  const body = copyBody(kernel, proposal.body);
  const context = contextOf(body as ActionBody);
  return checkProposal(kernel, { agentId, action: body, context }, proposal.refusal, context.now).then((checked) => ({ checked, context }));
}
