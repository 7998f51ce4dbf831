import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readDecision } from "../src/decision-check.js";
import { DecisionSchema } from "../src/schemas.js";
import { almostViolation } from "./generators/violations.js";

const hash = fc.oneof(fc.constant(null), fc.constantFrom("a".repeat(64), "rego-1"), fc.anything());
const almostProvenance = fc.oneof(
  fc.record({ bundleRevision: hash, bundleSha256: hash, dataSha256: hash, rulesSha256: hash, extra: fc.anything() }, { requiredKeys: ["bundleRevision", "bundleSha256", "dataSha256", "rulesSha256"] }),
  fc.record({ bundleRevision: fc.constant(null), bundleSha256: fc.constant(null), dataSha256: fc.constant("d"), rulesSha256: fc.constant(null) }),
  fc.anything(),
);
const almostDecision = fc.record(
  {
    allowed: fc.oneof({ arbitrary: fc.boolean(), weight: 6 }, { arbitrary: fc.anything(), weight: 1 }),
    violations: fc.oneof({ arbitrary: fc.array(almostViolation, { maxLength: 3 }), weight: 6 }, { arbitrary: fc.anything(), weight: 1 }),
    signals: fc.oneof({ arbitrary: fc.array(fc.constantFrom("SIGSTOP", "SIGKILL"), { maxLength: 2 }), weight: 6 }, { arbitrary: fc.array(fc.anything(), { maxLength: 2 }), weight: 1 }),
    provenance: almostProvenance,
    extra: fc.anything(),
  },
  { requiredKeys: ["allowed", "violations", "signals", "provenance"] },
);

describe("readDecision: DecisionSchema's parse without zod", () => {
  it("accepts exactly what the schema accepts, with the schema's output", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(almostDecision, almostDecision, fc.anything()), (value) => {
        const parsed = DecisionSchema.safeParse(value);
        const read = readDecision(value);
        expect(read !== undefined).toBe(parsed.success);
        if (read === undefined || !parsed.success) return;
        accepted++;
        expect(read).toStrictEqual(parsed.data);
      }),
      { numRuns: 30_000, seed: 17 },
    );
    expect(accepted).toBeGreaterThan(500); // the generator reaches valid decisions, not only garbage
  });

  it("returns fresh objects, so a rollout cannot reach into the kernel's decision", () => {
    const provenance = { bundleRevision: null, bundleSha256: null, dataSha256: "d", rulesSha256: null };
    const decision = { allowed: true, violations: [], signals: [], provenance, stray: 1 };
    const read = readDecision(decision);
    expect(read).toEqual({ allowed: true, violations: [], signals: [], provenance });
    expect(read?.provenance).not.toBe(provenance);
  });

  it("copies a frozen provenance that is not the kernel's, whose getters could answer differently later", () => {
    let reads = 0;
    const provenance = Object.freeze({
      get bundleRevision() {
        return `r${++reads}`;
      },
      bundleSha256: null,
      dataSha256: "d",
      rulesSha256: null,
    });
    const read = readDecision({ allowed: true, violations: [], signals: [], provenance });
    expect(read?.provenance).not.toBe(provenance);
    expect(Object.getOwnPropertyDescriptor(read?.provenance, "bundleRevision")?.get).toBeUndefined();
  });

  it("returns the provenance values it checked, not a second read of a getter that changes its answer", () => {
    let reads = 0;
    const provenance = {
      get bundleRevision() {
        return ++reads === 1 ? "r" : 42;
      },
      bundleSha256: null,
      dataSha256: "d",
      rulesSha256: null,
    };
    const read = readDecision({ allowed: true, violations: [], signals: [], provenance });
    expect(read?.provenance.bundleRevision).toBe("r");
    expect(reads).toBe(1);
  });
});
