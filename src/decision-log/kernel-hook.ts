// How a kernel takes its decision log (the kernel option `decisionLog`): a DecisionLog given by the
// caller (shared by several kernels, closed by the caller), or options from which the kernel makes
// its own (closed with the kernel). The log hears decisions as any audit sink does, beside the recorder.
import type { Logger } from "pino";
import type { KernelAuditEvent, KernelAuditSink } from "../kernel/audit-sink.js";
import { createDecisionLog, isDecisionLog, type DecisionLog } from "./decision-log.js";
import type { DecisionLogOptions } from "./options.js";

/** The kernel's decision log and whether the kernel closes it. */
export interface KernelDecisionLog {
  readonly log: DecisionLog;
  readonly owned: boolean;
}

/** The decision log the option names, made (and its file opened) now; undefined without the option. */
export function kernelDecisionLog(option: DecisionLog | DecisionLogOptions | undefined, logger: Logger): KernelDecisionLog | undefined {
  if (option === undefined) return undefined;
  if (isDecisionLog(option)) return { log: option, owned: false };
  return { log: createDecisionLog(option, { logger, field: "createPolicyKernel.decisionLog" }), owned: true };
}

/** One sink feeding the recorder and the decision log; each hears every event even when the other throws. */
export function withDecisionLog(recorder: KernelAuditSink | undefined, log: KernelDecisionLog | undefined): KernelAuditSink | undefined {
  if (log === undefined) return recorder;
  if (recorder === undefined) return log.log;
  const decisions = log.log;
  return {
    record(event: KernelAuditEvent): void {
      try {
        recorder.record(event);
      } finally {
        decisions.record(event);
      }
    },
  };
}
