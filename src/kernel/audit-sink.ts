import type { Action, Decision } from "../schemas.js";

/** A decision the kernel made, as handed to an audit sink (the FlightRecorder implements one). */
export interface PolicyCheckEvent {
  readonly type: "policy_check";
  readonly agentId: string;
  readonly action: Action["action"];
  /** Logical time of the decision (`context.now`), or null when the action carried none. */
  readonly now: string | null;
  readonly decision: Decision;
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

export type KernelAuditEvent = PolicyCheckEvent | SignalEvent;

/** Where the kernel reports each decision and signal; it must not throw. */
export interface KernelAuditSink {
  record(event: KernelAuditEvent): void;
}
