import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/canonical-json.js";
import { toJsonCopy } from "../../src/audit/json-value.js";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { benchCorpus } from "../../bench/src/corpus.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { KernelAuditEvent } from "../../src/kernel/audit-sink.js";
import { isSealedDecision, sealDecision, sealedDecisionJson } from "../../src/kernel/sealed-decision.js";
import type { Decision, Violation } from "../../src/schemas.js";

/** The benchmark corpus (allowed and denied actions of every type), a transfer held for approval and a malformed action. */
const actions: unknown[] = [
  ...benchCorpus().map((entry) => entry.action),
  { agentId: "agent-2", action: { type: "transaction", amountUsd: 150, recipient: "acme" }, context: { role: "admin" } },
  { agentId: 7, action: "nonsense" },
];

/** Every decision the default kernel makes on `actions`. */
async function corpusDecisions(): Promise<Decision[]> {
  const kernel = await createPolicyKernel();
  try {
    const decisions: Decision[] = [];
    for (const action of actions) decisions.push(await kernel.evaluateUntrusted(action));
    return decisions;
  } finally {
    kernel.close();
  }
}

function isDeeplyFrozen(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeeplyFrozen);
}

/** What the FlightRecorder wrote for a decision before sealing: canonicalJson of its generic JSON copy. */
const genericJson = (decision: Decision): string => canonicalJson(toJsonCopy(decision).value);

const violationArbitrary: fc.Arbitrary<Violation> = fc.record(
  {
    type: fc.constantFrom("blocked", "modified", "warned", "signal_sent"),
    policy: fc.string({ unit: "binary" }),
    rule: fc.string(),
    severity: fc.constantFrom("critical", "high", "medium", "low"),
    description: fc.string({ unit: "binary" }),
    blocked: fc.boolean(),
    // Non-finite and -0 too: JSON writes them as null and 0, whichever path encodes them.
    penalty: fc.double(),
    source: fc.constantFrom("rego", "json", "kernel"),
    signal: fc.constantFrom("SIGSTOP", "SIGKILL", "SIG\"quoted\\"),
  },
  { requiredKeys: ["type", "policy", "rule", "severity", "description", "blocked", "penalty", "source"] },
);

const decisionArbitrary: fc.Arbitrary<Decision> = fc.record({
  allowed: fc.boolean(),
  violations: fc.array(violationArbitrary, { maxLength: 4 }),
  signals: fc.array(fc.string(), { maxLength: 3 }),
  provenance: fc.record({
    bundleRevision: fc.option(fc.string({ unit: "binary" })),
    bundleSha256: fc.option(fc.string()),
    dataSha256: fc.option(fc.string()),
    rulesSha256: fc.option(fc.string()),
  }),
});

describe("sealed decisions (what the kernel hands its audit sink)", () => {
  it("are deeply frozen copies equal to the kernel's decisions, recognised only when sealed", async () => {
    const decisions = await corpusDecisions();
    // The corpus reaches every part of a decision.
    expect(decisions.some((d) => d.allowed)).toBe(true);
    expect(decisions.some((d) => d.violations.length > 1)).toBe(true);
    expect(decisions.some((d) => d.signals.length > 0)).toBe(true);
    for (const decision of decisions) {
      const sealed = sealDecision(decision);
      expect(sealed).toEqual(decision);
      expect(sealed).not.toBe(decision);
      expect(isDeeplyFrozen(sealed)).toBe(true);
      expect(isSealedDecision(sealed)).toBe(true);
      expect(isSealedDecision(decision)).toBe(false);
      expect(isSealedDecision(structuredClone(sealed))).toBe(false);
    }
  });

  it("write the same bytes the recorder's generic copy wrote: kernel decisions and generated ones", async () => {
    for (const decision of await corpusDecisions()) expect(sealedDecisionJson(sealDecision(decision))).toBe(genericJson(decision));
    fc.assert(
      fc.property(decisionArbitrary, (decision) => {
        expect(sealedDecisionJson(sealDecision(decision))).toBe(genericJson(decision));
      }),
      { numRuns: 2000 },
    );
  });

  it("stay as sealed when the caller changes its decision, provenance included", async () => {
    const [decision] = (await corpusDecisions()).filter((d) => d.violations.length > 0);
    const mutable = structuredClone(decision!);
    const sealed = sealDecision(mutable);
    const before = sealedDecisionJson(sealed);
    mutable.allowed = !mutable.allowed;
    mutable.violations[0]!.policy = "tampered";
    mutable.violations.push({ ...mutable.violations[0]! });
    mutable.signals.push("SIGKILL");
    mutable.provenance.bundleRevision = "tampered";
    expect(sealedDecisionJson(sealed)).toBe(before);
    expect(sealed).not.toEqual(mutable);
  });
});

describe("the kernel recording through a sealed decision", () => {
  it("records entries byte-identical to the generic copy's, and the decision it returns stays the caller's", async () => {
    const events: KernelAuditEvent[] = [];
    const kernel = await createPolicyKernel({ recorder: { record: (event) => events.push(event) } });
    const returned: Decision[] = [];
    try {
      for (const action of actions) returned.push(await kernel.evaluateUntrusted(action));
    } finally {
      kernel.close();
    }
    const checks = events.filter((e) => e.type === "policy_check");
    expect(checks).toHaveLength(actions.length);
    checks.forEach((event, index) => {
      expect(isSealedDecision(event.decision)).toBe(true);
      expect(event.decision).toEqual(returned[index]);
      expect(Object.isFrozen(returned[index])).toBe(false);
    });

    const recorder = () => new FlightRecorder({ chainId: "sealed", clock: () => new Date(0) });
    const sealedPath = recorder();
    const genericPath = recorder();
    for (const event of events) {
      sealedPath.record(event);
      // A plain copy is not sealed: the recorder copies and encodes it the generic way.
      genericPath.record(event.type === "policy_check" ? { ...event, decision: structuredClone(event.decision) } : event);
    }
    expect(sealedPath.droppedEvents).toBe(0);
    expect(sealedPath.size).toBe(events.length);
    // The recorder kept each sealed decision itself: the sealed path was taken, not a copy.
    const kept = sealedPath.entries().flatMap((entry) => (entry.type === "policy_check" ? [entry.decision] : []));
    expect(kept).toHaveLength(checks.length);
    kept.forEach((decision, index) => expect(decision).toBe(checks[index]?.decision));
    expect(sealedPath.toJsonl()).toBe(genericPath.toJsonl());
    expect(sealedPath.head).toBe(genericPath.head);
    expect(sealedPath.verify().valid).toBe(true);
  });

  it("keeps the recorded decision when the caller changes the one it was returned", async () => {
    const recorder = new FlightRecorder({ chainId: "mutate", clock: () => new Date(0) });
    const kernel = await createPolicyKernel({ recorder });
    try {
      const decision = await kernel.evaluate({ agentId: "agent-1", action: { type: "sql", sql: "DROP TABLE users" } });
      const recorded = JSON.stringify(recorder.entries()[0]);
      expect(decision.allowed).toBe(false);
      decision.allowed = true;
      decision.violations.length = 0;
      decision.signals.push("SIGKILL");
      expect(JSON.stringify(recorder.entries()[0])).toBe(recorded);
      expect(recorder.verify().valid).toBe(true);
    } finally {
      kernel.close();
    }
  });
});
