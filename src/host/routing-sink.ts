import type { KernelAuditEvent, KernelAuditSink } from "../kernel/audit-sink.js";

/**
 * The audit sink of the host's one kernel: it forwards each event to the trail of the env being
 * served. Sound because the host serves one request at a time (a batch's requests one after
 * another, each awaited): between setting the target and the request's end, every decision the
 * kernel records is that request's. Events with no target (a bare `evaluate`) belong to no env's
 * trail and are dropped.
 */
export class RoutingAuditSink implements KernelAuditSink {
  #target: KernelAuditSink | undefined;

  /** Sends what the kernel records to `target` (undefined: nowhere) until the next call. */
  route(target: KernelAuditSink | undefined): void {
    this.#target = target;
  }

  /** Forwards the event to the current target. */
  record(event: KernelAuditEvent): void {
    this.#target?.record(event);
  }
}
