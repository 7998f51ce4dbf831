import { types } from "node:util";
import type { Action, Decision } from "../schemas.js";
import { buildDecision, kernelViolation } from "./decision.js";
import { DEFAULT_MAX_ACTION_BYTES, frozenCopy } from "./frozen-action.js";
import { evaluateFailClosed } from "./guarded-evaluate.js";
import type { EvaluateOptions, PolicyKernel } from "./types.js";

// The trust boundary of GovernedRunner and GovernedEnvironment: the agent proposes an action body
// and nothing else. A context, an agentId or a full `{agentId, action, context}` from the agent is
// refused (a kernel violation the trail records), never merged over the trainer's.

/** The rule of the kernel violation that denies an agent-supplied context or agentId. */
export const AGENT_CONTEXT_RULE = "agent_context";

/** What the agent proposed: the body to evaluate, and why the proposal is refused, if it is. */
export interface Proposal {
  readonly body: unknown;
  readonly refusal: { readonly rule: string; readonly description: string } | undefined;
}

/**
 * Reads a proposal without running the agent's code (own data properties only; a Proxy or a
 * getter is left for the copy to refuse). `extra` are the arguments after the body: any defined
 * one is an agent-supplied context. A value without a string `type` but with `action`, `context`
 * or `agentId` is the full-action shape: its `action` is evaluated, and refused.
 */
export function readProposal(input: unknown, extra: readonly unknown[], where: string, contextFrom: string): Proposal {
  const trainer = `context comes from the trainer (${contextFrom}), never from the agent`;
  let body = input;
  const reasons: string[] = [];
  if (isOrdinaryObject(input) && typeof dataProperty(input, "type") !== "string" && ["action", "context", "agentId"].some((key) => Object.hasOwn(input, key))) {
    body = dataProperty(input, "action");
    reasons.push(`${where} got a full action {agentId, action, context}: the agent proposes only the action body; agentId and ${trainer}`);
  }
  if (extra.some((arg) => arg !== undefined)) reasons.push(`${where} got a context argument: ${trainer}`);
  return { body, refusal: reasons.length === 0 ? undefined : { rule: AGENT_CONTEXT_RULE, description: reasons.join("; ") } };
}

/** A non-null object that is not a Proxy (its properties can be read without running its code). */
function isOrdinaryObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && !types.isProxy(value);
}

/** An own data property's value; undefined for an accessor (not called) or a missing key. */
function dataProperty(from: object, key: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(from, key);
  return descriptor && "value" in descriptor ? descriptor.value : undefined;
}

/**
 * The body's frozen copy, made where the agent proposed it, so the trainer's `contextFn` and
 * `costFn` read exactly what the kernel will check (the full action's copy then reuses it). When
 * no copy can be made the body is returned as it came: checkProposal refuses it the same way.
 */
export function copyBody(kernel: PolicyKernel, body: unknown): unknown {
  const copy = frozenCopy(body, limitOf(kernel), "action.action");
  return copy.ok ? copy.value : body;
}

function limitOf(kernel: PolicyKernel): number {
  const limit = kernel.maxActionBytes;
  return typeof limit === "number" && limit > 0 ? limit : DEFAULT_MAX_ACTION_BYTES;
}

/** An action the kernel decided on: the frozen copy it evaluated (undefined when none could be made) and the decision. */
export interface CheckedProposal {
  /** The exact object the kernel evaluated and recorded, deeply frozen: the only thing an executor may run. */
  readonly action: Action | undefined;
  readonly decision: Decision;
}

/**
 * Copies `full` once (frozen-action.ts) and asks the kernel about that copy, fail-closed. A
 * refusal (agent-supplied context) and a copy that could not be made deny whatever the kernel
 * answers: a foreign kernel that ignores `refusal` still cannot let it run. Call it before the
 * caller awaits anything, so the copy is of the action as proposed.
 */
export function checkProposal(kernel: PolicyKernel, full: Readonly<Record<string, unknown>>, refusal: Proposal["refusal"], now: string | Date | undefined): Promise<CheckedProposal> {
  const copy = frozenCopy(full, limitOf(kernel));
  const options: EvaluateOptions = { ...(now === undefined ? {} : { now }), ...(refusal === undefined ? {} : { refusal }) };
  // A copy that failed is handed over as it came: the kernel refuses it the same way and records that.
  const pending = evaluateFailClosed(kernel, copy.ok ? copy.value : full, options);
  return pending.then((decision) => {
    let checked = decision;
    if (refusal) checked = denied(checked, refusal);
    if (!copy.ok) checked = denied(checked, copy.refusal);
    return { action: copy.ok ? (copy.value as Action) : undefined, decision: checked };
  });
}

/** `decision` with a blocking kernel violation for `reason`, unless it already has one. */
function denied(decision: Decision, reason: { readonly rule: string; readonly description: string }): Decision {
  if (decision.violations.some((v) => v.policy === "kernel" && v.rule === reason.rule && v.blocked)) return decision;
  return buildDecision([...decision.violations, kernelViolation(reason.rule, reason.description, "kernel", false)], decision.provenance);
}
