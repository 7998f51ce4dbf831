import type { Logger } from "pino";
import type { Action, Decision, Violation } from "../schemas.js";
import type { DecisionInput } from "./decision-input.js";

/** A decision the kernel made, as handed to an audit sink (the FlightRecorder implements one). */
export interface PolicyCheckEvent {
  readonly type: "policy_check";
  readonly agentId: string;
  readonly action: Action["action"];
  /** Logical time of the decision (`context.now`), or null when the action carried none. */
  readonly now: string | null;
  /**
   * The decision. From the kernel it is sealed (kernel/sealed-decision.ts): a deeply frozen copy
   * of the one the caller is returned, so a sink may keep it as it is.
   */
  readonly decision: Decision;
  /** What the decision was made on beyond agentId and action (the context, a malformed input), for replay. */
  readonly input?: DecisionInput;
}

/** A signal a decision raised (SIGSTOP: held for approval, SIGKILL: stop the agent). */
export interface SignalEvent {
  readonly type: "signal";
  readonly agentId: string;
  readonly signal: string;
  /** The policy that raised it. */
  readonly policy: string;
  readonly now: string | null;
  /** Revision of the bundle whose decision raised the signal. */
  readonly bundleRevision?: string | null;
}

/**
 * An action that passed the kernel and was executed (a tool call, a SQL statement, a message).
 * Written by whoever executes: the GovernedRunner's executor and the GovernedEnvironment.
 */
export interface ToolCallEvent {
  readonly type: "tool_call";
  readonly agentId: string;
  readonly action: Action["action"];
  /** SHA-256 of the action's canonical JSON: the policy_check entry before it recorded the same copy. */
  readonly actionSha256?: string;
  readonly now: string | null;
  /** What the execution returned (kept as a JSON-safe copy). */
  readonly result?: unknown;
  /** Set when the execution threw. */
  readonly error?: string;
  readonly bundleRevision?: string | null;
  /** Violations the executor found while running it (an effect budget it enforced by rolling back). */
  readonly violations?: readonly Violation[];
  /** Extra attributes (episode, step, success…); never overrides reserved span attributes. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Any event the kernel, runner or environment hands to an audit sink, told apart by `type`. */
export type KernelAuditEvent = PolicyCheckEvent | SignalEvent | ToolCallEvent;

/** Where the kernel reports each decision and signal, and executors each executed action; it must not throw. */
export interface KernelAuditSink {
  /** Keeps one event; called synchronously on the decision path, so it must be quick and must not throw. */
  record(event: KernelAuditEvent): void;
}

/**
 * Hands one event to the sink. A failing sink never breaks the decision or step that reported it
 * (the kernel, the runner and the environment all record through here), so its error is only logged.
 */
export function recordSafely(sink: KernelAuditSink, event: KernelAuditEvent, logger: Pick<Logger, "error">): void {
  try {
    sink.record(event);
  } catch (err) {
    logger.error({ err, event: event.type }, "audit sink failed");
  }
}

/** What the kernel, runner and environment accept as a `recorder` option: an object with `record(event)`. */
export function isAuditSink(value: unknown): value is KernelAuditSink {
  return typeof value === "object" && value !== null && typeof (value as { record?: unknown }).record === "function";
}
