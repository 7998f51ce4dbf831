import { describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { FlightRecorder, parseJsonl, verifyEntries } from "../../src/audit/flight-recorder.js";
import { FlightRecorderEmitter } from "../../src/audit/emitter.js";

const sql = (text: string) => ({ agentId: "agent-1", action: { type: "sql", sql: text }, context: { now: "2026-11-21T10:00:00Z" } });
const transfer = { agentId: "agent-2", action: { type: "transaction", amountUsd: 250, recipient: "acme" }, context: { role: "finance" } };

async function run(recorder: FlightRecorder): Promise<void> {
  const kernel = await createPolicyKernel({ recorder });
  try {
    await kernel.evaluate(sql("SELECT name FROM users WHERE id = 42"));
    await kernel.evaluate(sql("SELECT 1; DROP TABLE users"));
    await kernel.evaluate(transfer, { now: "2026-11-21T22:00:00Z" });
    await kernel.evaluateUntrusted({ agentId: 7, action: "nonsense" });
  } finally {
    kernel.close();
  }
}

describe("the real kernel writing to a FlightRecorder", () => {
  it("records every decision and signal in a chain that verifies and reads back", async () => {
    const recorder = new FlightRecorder({ clock: () => new Date("2000-01-01T00:00:00Z"), chainId: "kernel-test" });
    await run(recorder);
    const entries = recorder.entries();
    expect(entries.map((e) => e.type)).toEqual(["policy_check", "policy_check", "policy_check", "signal", "policy_check"]);
    const [clean, drop, night, stop, malformed] = entries;
    expect(clean).toMatchObject({ agentId: "agent-1", timestamp: "2026-11-21T10:00:00.000Z" });
    expect(clean?.bundleRevision).toMatch(/^rego-[0-9a-f]{16}$/);
    expect(drop?.type === "policy_check" && drop.decision.allowed).toBe(false);
    expect(night).toMatchObject({ agentId: "agent-2", timestamp: "2026-11-21T22:00:00.000Z" });
    expect(stop).toMatchObject({ type: "signal", agentId: "agent-2", signal: "SIGSTOP", policy: "transactions" });
    // No logical time on the malformed action: the injected clock, not the wall clock.
    expect(malformed?.timestamp).toBe("2000-01-01T00:00:00.000Z");
    expect(recorder.verify().valid).toBe(true);
    expect(recorder.droppedEvents).toBe(0);
    expect(verifyEntries(parseJsonl(recorder.toJsonl()), { expectedHead: recorder.head }).valid).toBe(true);

    const spans = new FlightRecorderEmitter(recorder).getSpans();
    expect(spans[1]?.attributes).toMatchObject({ "agent_os.policy_name": "sql", "agent_os.policy_result": "denied", "agent_os.policy_violated": true });
    expect(spans[3]?.attributes).toMatchObject({ "agent_os.signal_type": "SIGSTOP", "agent_os.signal_target": "agent-2" });
  });

  it("replays byte-identically with the same chain id and clock", async () => {
    const once = async () => {
      const recorder = new FlightRecorder({ clock: () => new Date("2000-01-01T00:00:00Z"), chainId: "replay" });
      await run(recorder);
      return recorder.toJsonl();
    };
    expect(await once()).toBe(await once());
  });
});
