import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createPolicyKernel, exportJsonlSpans, FlightRecorder, summarizeJsonl, verifyJsonl } from "../../../src/index.js";

const folder = mkdtempSync(join(tmpdir(), "audit-"));
const jsonlPath = join(folder, "audit.jsonl");
const recorder = new FlightRecorder({ chainId: "long-run", clock: () => new Date("2026-11-23T10:00:00Z"), jsonlPath, retain: 1_000 });
const kernel = await createPolicyKernel({ recorder });
for (let i = 0; i < 5_000; i++) await kernel.evaluate({ agentId: "agent-1", action: { type: "sql", sql: i % 100 ? `SELECT ${i}` : "DROP TABLE users" }, context: { role: "analyst" } });
recorder.close();

console.log("recorded", recorder.size, "in memory from seq", recorder.firstRetainedSeq, "window verified:", recorder.verify().valid);
try {
  recorder.entries();
} catch (error) {
  console.log((error as Error).message.replace(jsonlPath, "audit.jsonl"));
}
const check = await verifyJsonl(jsonlPath, { expectedHead: recorder.head, expectedCount: recorder.size });
console.log("file verified:", check.valid, check.valid ? `${check.count} entries, head = recorder.head: ${check.head === recorder.head}` : check.message);
const summary = await summarizeJsonl(jsonlPath);
console.log("denied", summary.deniedChecks, "of", summary.policyChecks, summary.policiesViolated);
console.log("spans exported from the file:", await exportJsonlSpans(jsonlPath, join(folder, "spans.json"), {}, { expectedHead: recorder.head }));
