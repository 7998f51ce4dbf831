import type { FlightRecorder } from "../audit/flight-recorder.js";
import type { ToolCallRecord, ToolCallRecorder } from "../env/environment.js";
import type { Execution } from "./executor.js";

/** The execution result kept in the audit trail: counts, not rows, so query output (personal data) stays out of it. */
export interface RecordedResult {
  readonly rows: number;
  readonly changes: number;
  readonly error: string | null;
}

/**
 * Bridges the environment's ToolCallRecorder to FlightRecorder.recordToolCall: the two
 * records have different shapes (the environment sends `{type, action, context, episode, …}`,
 * the recorder takes `{agentId, tool, args, result, now, metadata}` and rejects other keys).
 */
export function toolCallRecorder(recorder: FlightRecorder, arm: string, bundleRevision: string | null): ToolCallRecorder {
  return {
    recordToolCall(call: ToolCallRecord): void {
      const body = call.action as Record<string, unknown>;
      const tool = call.action.type === "tool_call" && typeof body["tool"] === "string" ? body["tool"] : call.action.type;
      const execution = call.result as { execution?: Execution } | undefined;
      const result: RecordedResult | undefined = execution?.execution
        ? { rows: execution.execution.rows.length, changes: execution.execution.changes, error: execution.execution.error }
        : undefined;
      recorder.recordToolCall({
        agentId: call.agentId,
        tool,
        args: call.action,
        result,
        now: call.now,
        bundleRevision,
        metadata: { arm, episode: call.episode, step: call.step, success: call.success },
      });
    },
  };
}
