import type { FlightRecorder } from "../audit/flight-recorder.js";
import type { ToolCallRecorder } from "../env/environment.js";
import type { KernelAuditEvent } from "../kernel/audit-sink.js";
import type { Execution } from "./executor.js";

/** The execution result kept in the audit trail: counts, not rows, so query output (personal data) stays out of it. */
export interface RecordedResult {
  readonly rows: number;
  readonly changes: number;
  readonly error: string | null;
}

/**
 * The audit sink the demo's environment writes executed actions to: the same FlightRecorder
 * the kernel records decisions in, with query output reduced to counts so personal data
 * from result rows never enters the audit trail, and the arm added as metadata.
 */
export function toolCallRecorder(recorder: FlightRecorder, arm: string): ToolCallRecorder {
  return {
    record(event: KernelAuditEvent): void {
      if (event.type !== "tool_call") {
        recorder.record(event);
        return;
      }
      const execution = (event.result as { execution?: Execution } | undefined)?.execution;
      const result: RecordedResult | undefined = execution
        ? { rows: execution.rows.length, changes: execution.changes, error: execution.error }
        : undefined;
      recorder.record({ ...event, result, metadata: { arm, ...event.metadata } });
    },
  };
}
