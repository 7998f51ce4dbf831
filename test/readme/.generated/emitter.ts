import { join } from "node:path";
import { tmpdir } from "node:os";
import { createPolicyKernel, FlightRecorder, FlightRecorderEmitter, createEmitter, GovernedRunner } from "../../../src/index.js";

// A fixed chain id and clock make the trail replayable byte for byte.
const recorder = new FlightRecorder({ chainId: "readme", clock: () => new Date("2026-11-23T10:00:00Z") });
const kernel = await createPolicyKernel({ recorder });
const runner = new GovernedRunner(kernel, { recorder, executor: () => ({ rows: 1 }) });
const options = { agentId: "agent-42", context: { role: "support", now: "2026-11-23T10:00:00Z" } };
await runner.step("SELECT name FROM users WHERE id = 42", options);
await runner.step("DROP TABLE users", options);
await runner.step({ type: "transaction", amountUsd: 300, recipient: "acme" }, options);

const emitter = new FlightRecorderEmitter(recorder, { traceIdPrefix: "agentos" });
for (const span of emitter.getNewSpans()) {
  const a = span.attributes;
  console.log(span.name.padEnd(24), span.traceId, a["agent_os.policy_result"] ?? a["agent_os.signal_type"] ?? a["agent_os.tool_name"], a["agent_os.policy_name"] ?? "");
}
console.log(emitter.getViolationSummary().policiesViolated, "verified:", recorder.verify().valid);

const store: unknown[] = [];
const { stored } = await emitter.emitToStore({ emitSpan: async (span) => { store.push(span); } });
console.log("stored", stored, "exported", await emitter.exportToFile(join(tmpdir(), "training_audit.json")));

// Streaming: spans of new entries as they arrive; after abort it drains what is left, then ends.
const controller = new AbortController();
const streamed: string[] = [];
const consumer = (async () => {
  for await (const span of createEmitter(recorder, { includeToolCalls: false }).stream({ signal: controller.signal, pollIntervalMs: 10 })) streamed.push(span.name);
})();
await runner.step("SELECT 2", options);
controller.abort();
await consumer;
console.log(streamed.length, "spans streamed (tool calls excluded)");
