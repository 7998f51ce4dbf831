import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/canonical-json.js";
import { FlightRecorder, computeEntryHash } from "../../src/audit/flight-recorder.js";
import { toJsonCopy } from "../../src/audit/json-value.js";

const values = fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSparseArray: true, withBoxedValues: true });

describe("toJsonCopy copies: JSON.stringify gives their canonical JSON", () => {
  it("holds for every copy it vouches for, and it vouches for most", () => {
    let vouched = 0;
    fc.assert(
      fc.property(values, (value) => {
        const copy = toJsonCopy(value);
        if (!copy.stringifiesCanonically) return;
        vouched++;
        expect(JSON.stringify(copy.value)).toBe(canonicalJson(copy.value));
      }),
      { numRuns: 20_000, seed: 21 },
    );
    expect(vouched).toBeGreaterThan(10_000); // fc.anything often draws index-like keys
  });

  it("does not vouch for a copy holding an array-index key, whose order JS objects fix", () => {
    const copy = toJsonCopy({ b: 1, nested: { "10": "x", "9": "y", a: 1 } });
    expect(copy.stringifiesCanonically).toBe(false);
    expect(JSON.stringify(copy.value)).not.toBe(canonicalJson(copy.value)); // why: {"9":…,"10":…} vs {"10":…,"9":…}
    const notIndexes = toJsonCopy({ "07": 1, "4294967295": 2, "-1": 3, b: 0, a: 0 });
    expect(notIndexes.stringifiesCanonically).toBe(true);
    expect(JSON.stringify(notIndexes.value)).toBe(canonicalJson(notIndexes.value));
  });

  it("keeps every entry's hash the canonical one, whatever the recorded values", () => {
    const recorder = new FlightRecorder({ chainId: "c", clock: () => new Date(0) });
    fc.assert(
      fc.property(
        values,
        values,
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.boolean(), fc.integer())),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
        (args, result, metadata, error, durationMs) => {
          // Every member an entry can have is drawn: the recorder writes each in its sorted place.
          const entry = recorder.recordToolCall({ agentId: "a", tool: "t", args, result, metadata, ...(error === undefined ? {} : { error }), ...(durationMs === undefined ? {} : { durationMs }) });
          expect(entry.hash).toBe(computeEntryHash(entry));
          expect(recorder.droppedEvents).toBe(0);
          recorder.record({ type: "policy_check", agentId: "a", action: { type: "x", payload: args }, now: null, decision: { allowed: true, violations: [], signals: [], provenance: { bundleRevision: null, bundleSha256: null, rulesSha256: null, dataSha256: "0".repeat(64) }, extra: result } as never });
          recorder.record({ type: "signal", agentId: "a", signal: "SIGSTOP", policy: String(error), now: null, bundleRevision: error ?? null });
        },
      ),
      { numRuns: 2_000, seed: 22 },
    );
    for (const entry of recorder.entries()) expect(entry.hash).toBe(computeEntryHash(entry));
    expect(recorder.verify()).toMatchObject({ valid: true, count: 6_000, head: recorder.head });
  });
});
