import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readAction } from "../../src/kernel/action-check.js";
import { ActionSchema } from "../../src/schemas.js";

// Mostly well-formed, sometimes anything: the generator must reach valid actions, not only garbage.
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: arb, weight: 6 }, { arbitrary: fc.anything(), weight: 1 });
const amount = fc.oneof(fc.constantFrom(0, -0, 5.5, 12, -1, Number.NaN, Number.POSITIVE_INFINITY, "5"), fc.double({ min: 0 }), fc.double());
const name = fc.constantFrom("", "x", "send_message");

const body = fc.oneof(
  fc.record({ type: fc.constant("sql"), sql: maybe(fc.string()), extra: fc.anything() }, { requiredKeys: ["type"] }),
  fc.record(
    {
      type: fc.constant("tool_call"),
      tool: maybe(name),
      args: fc.oneof(fc.dictionary(fc.string(), fc.anything()), fc.object(), fc.array(fc.anything()), fc.constant(null), fc.anything({ withNullPrototype: true, withDate: true, withMap: true })),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record({ type: fc.constant("message"), to: maybe(name), text: maybe(fc.string()) }, { requiredKeys: ["type"] }),
  fc.record({ type: fc.constant("transaction"), amountUsd: amount, recipient: maybe(name) }, { requiredKeys: ["type"] }),
  fc.record({ type: maybe(fc.constantFrom("", "deploy", "SQL")), payload: fc.anything() }, { requiredKeys: [] }),
  fc.anything({ withNullPrototype: true, withDate: true }),
);

const now = fc.oneof(
  fc.constantFrom("2026-11-21T10:00:00Z", "2026-11-21T10:00:00.123+05:30", "2026-02-29T10:00:00Z", "2024-02-29T10:00Z", "2026-11-21 10:00:00Z", "2026-11-21T24:00:00Z", ""),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.anything(),
);

const context = fc.oneof(
  fc.record(
    {
      now,
      role: maybe(fc.constantFrom("analyst", "")),
      costUsd: amount,
      spentUsd: amount,
      actionsInWindow: fc.oneof(fc.constantFrom(0, 3, -1, 2.5, 2 ** 53, Number.MAX_SAFE_INTEGER), fc.integer()),
      readOnly: maybe(fc.boolean()),
      sessionId: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.anything({ withNullPrototype: true }),
);

const action = fc.record(
  { agentId: maybe(fc.constantFrom("", "agent-1")), action: body, context, extra: fc.anything() },
  { requiredKeys: ["agentId", "action"] },
);

describe("readAction: ActionSchema's acceptance without zod", () => {
  it("accepts only what the schema accepts, with the schema's output", () => {
    let fast = 0;
    let zodOnly = 0;
    fc.assert(
      fc.property(fc.oneof(action, action, action, fc.anything({ withNullPrototype: true })), (value) => {
        const parsed = ActionSchema.safeParse(value);
        const read = readAction(value);
        if (read !== undefined) {
          fast++;
          expect(parsed.success).toBe(true);
          expect(read).toEqual(parsed.data);
        } else if (parsed.success) zodOnly++;
      }),
      { numRuns: 50_000, seed: 5 },
    );
    // The fast path carries the valid actions; zod is left the unusual ones (null-prototype args...).
    expect(fast).toBeGreaterThan(1_000);
    expect(zodOnly).toBeLessThan(fast / 10);
  });

  it("keeps the body it is given (the kernel's frozen copy), drops unknown top-level keys", () => {
    const raw = { agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { role: "analyst" }, stray: 1 };
    const read = readAction(raw);
    expect(read).toEqual({ agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: { role: "analyst" } });
    expect(read?.action).toBe(raw.action);
    expect(read?.context).not.toBe(raw.context);
    expect(readAction({ agentId: "a", action: { type: "sql", sql: "SELECT 1" } })?.context).toEqual({});
  });

  it("leaves invalid actions to zod", () => {
    expect(readAction({ agentId: "a", action: { type: "transaction", amountUsd: -1, recipient: "r" } })).toBeUndefined();
    expect(readAction({ agentId: "a", action: { type: "sql", sql: "x" }, context: { now: "yesterday" } })).toBeUndefined();
    expect(readAction({ agentId: "", action: { type: "sql", sql: "x" } })).toBeUndefined();
  });
});
