import type { Decision, Violation } from "../schemas.js";
import type { GovernedRollout } from "./rollout.js";

/**
 * Thrown by `ctx.act` inside an agent when `failOnViolation` is on and the kernel blocked
 * or held (SIGKILL/SIGSTOP) the action: it stops the agent's run at that action. The runner then rejects the
 * step with a PolicyViolationError that carries the finished rollout.
 */
export class ActionBlockedError extends Error {
  /** The violation that stopped the action (stoppingViolation): the first blocking one, else the one raising SIGKILL/SIGSTOP. */
  readonly violation: Violation;
  readonly decision: Decision;

  constructor(decision: Decision, violation: Violation) {
    super(`action blocked by ${violation.policy}/${violation.rule} (${violation.severity}): ${violation.description}`);
    this.name = new.target.name;
    this.decision = decision;
    this.violation = violation;
  }
}

/**
 * A step rejected because an action was blocked or held and `failOnViolation` is on. The rollout is
 * complete (violations, penalty, decisions) and already counted in the runner's stats, so
 * no training data is lost by failing.
 */
export class PolicyViolationError<I = unknown, O = unknown> extends Error {
  /** The violation that stopped the step's action (stoppingViolation): the first blocking one, else the one raising SIGKILL/SIGSTOP. */
  readonly violation: Violation;
  /** Every violation of the step, blocking or not, in proposal order. */
  readonly violations: readonly Violation[];
  readonly rollout: GovernedRollout<I, O>;

  constructor(rollout: GovernedRollout<I, O>, violation: Violation, options?: { cause?: unknown }) {
    super(
      `step of agent '${rollout.agentId}' blocked by ${violation.policy}/${violation.rule} (${violation.severity}): ${violation.description}`,
      options,
    );
    this.name = new.target.name;
    this.violation = violation;
    this.violations = rollout.violations;
    this.rollout = rollout;
  }
}
