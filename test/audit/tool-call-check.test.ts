import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FlightRecorder, ToolCallRecordSchema, isToolCallRecord } from "../../src/audit/flight-recorder.js";
import { expectSameAcceptance } from "../helpers/zod-parity.js";

// Mostly well-formed, sometimes anything: the generator must reach valid records, not only garbage.
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: arb, weight: 6 }, { arbitrary: fc.anything(), weight: 1 });

const now = fc.oneof(
  fc.constantFrom("2026-11-21T10:00:00Z", "2026-11-21T10:00:00.5+01:00", "2026-02-30T10:00:00Z", "2026-11-21", null, undefined),
  fc.date(),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const metadata = fc.oneof(
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.boolean(), fc.double(), fc.integer())),
  fc.constant(undefined),
  fc.dictionary(fc.string(), fc.anything()),
  fc.anything({ withNullPrototype: true }),
);

const record = fc.record(
  {
    agentId: maybe(fc.constantFrom("", "agent-1")),
    tool: maybe(fc.constantFrom("", "sql", "send_message")),
    args: fc.jsonValue({ maxDepth: 2 }),
    result: fc.jsonValue({ maxDepth: 2 }),
    error: maybe(fc.string()),
    durationMs: maybe(fc.oneof(fc.constantFrom(0, -0, 3.5, -1, Number.NaN, Number.POSITIVE_INFINITY), fc.double())),
    now: maybe(now),
    bundleRevision: maybe(fc.constantFrom(null, "rego-x")),
    metadata,
  },
  { requiredKeys: ["agentId", "tool"] },
);

// strictObject: a key the schema does not know is a rejection.
const withStrayKey = fc.tuple(record, fc.string(), fc.anything()).map(([value, key, member]) => ({ ...value, [key]: member }));

describe("isToolCallRecord: ToolCallRecordSchema's acceptance without zod", () => {
  it("accepts exactly what the schema accepts", () => {
    const values = fc.oneof(record, record, record, withStrayKey, fc.anything({ withNullPrototype: true }));
    expectSameAcceptance(values, ToolCallRecordSchema, isToolCallRecord, { numRuns: 30_000, seed: 13, minAccepted: 500 });
  });

  it("still names the field when a record is rejected", () => {
    const recorder = new FlightRecorder({ chainId: "c" });
    expect(() => recorder.recordToolCall({ agentId: "a", tool: "t", durationMs: -1 })).toThrow(/durationMs/);
    expect(() => recorder.recordToolCall({ agentId: "a", tool: "t", metadata: { n: Number.NaN } } as never)).toThrow(/metadata/);
    expect(recorder.size).toBe(0);
  });
});
