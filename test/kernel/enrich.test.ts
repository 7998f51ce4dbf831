import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { toPolicyInput } from "../../src/kernel/enrich.js";
import { ActionSchema, PolicyInputSchema, type ActionInput } from "../../src/schemas.js";

/** Validates like the kernel boundary does, so tests feed toPolicyInput what it gets in production. */
function enrich(input: ActionInput) {
  return toPolicyInput(ActionSchema.parse(input));
}

const sqlAction = (sql: string, context: ActionInput["context"] = {}): ActionInput => ({ agentId: "agent-1", action: { type: "sql", sql }, context });

describe("toPolicyInput: clock", () => {
  it.each([
    ["2026-11-21T08:30:00+02:00", 390, 6],
    ["2026-11-21T08:30:00Z", 510, 6],
    ["2026-11-21T08:30Z", 510, 6],
    ["2026-11-21T01:00:00+05:00", 1200, 5], // previous UTC day
    ["2026-11-21T22:15:30.999-03:00", 75, 0], // next UTC day, seconds dropped
    ["2026-11-21T08:30:00.123456789-05:30", 840, 6],
    ["1969-12-31T23:59:00Z", 1439, 3], // before the epoch: floor, not truncation
  ])("%s -> minute %i, weekday %i (UTC)", (now, minuteOfDayUtc, weekdayUtc) => {
    expect(enrich(sqlAction("SELECT 1", { now })).facts.clock).toEqual({ minuteOfDayUtc, weekdayUtc });
  });

  it("leaves clock out without context.now", () => {
    const facts = enrich(sqlAction("SELECT 1")).facts;
    expect(facts).not.toHaveProperty("clock");
  });

  it("agrees with Date's UTC getters for any instant and offset", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (ms, offsetMinutes) => {
          const utc = new Date(Math.floor(ms / 1000) * 1000);
          const local = new Date(utc.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 19);
          const sign = offsetMinutes < 0 ? "-" : "+";
          const abs = Math.abs(offsetMinutes);
          const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
          const clock = enrich(sqlAction("SELECT 1", { now: `${local}${offset}` })).facts.clock;
          expect(clock).toEqual({ minuteOfDayUtc: utc.getUTCHours() * 60 + utc.getUTCMinutes(), weekdayUtc: utc.getUTCDay() });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("toPolicyInput: cost and writes", () => {
  it.each([
    [{}, 0],
    [{ costUsd: 1.5 }, 1.5],
    [{ spentUsd: 2 }, 2],
    [{ costUsd: 1.5, spentUsd: 2 }, 3.5],
  ])("context %j -> costUsdTotal %d", (context, total) => {
    expect(enrich(sqlAction("SELECT 1", context)).facts.costUsdTotal).toBe(total);
  });

  it.each([
    [sqlAction("SELECT * FROM t WHERE a = 1"), false],
    [sqlAction("WITH x AS (SELECT 1) SELECT * FROM x"), false],
    [sqlAction("UPDATE t SET a = 1 WHERE id = 2"), true],
    [sqlAction("SELECT 1; DROP TABLE users"), true],
    [sqlAction("SELECT 'unterminated"), true], // unparsable SQL is never read-only
    [sqlAction(""), true],
    [{ agentId: "a", action: { type: "transaction", amountUsd: 10, recipient: "bob" } }, true],
    [{ agentId: "a", action: { type: "message", to: "bob", text: "DROP TABLE users" } }, false],
    [{ agentId: "a", action: { type: "tool_call", tool: "search", args: { q: "x" } } }, false],
    [{ agentId: "a", action: { type: "custom_thing", payload: 1 } }, false],
  ] as const)("%j -> writes %s", (action, writes) => {
    expect(enrich(action).facts.writes).toBe(writes);
  });
});

describe("toPolicyInput: shape", () => {
  it("copies agentId, action and context, and adds SQL facts only for sql actions", () => {
    const input = enrich(sqlAction("SELECT 1; DROP TABLE users", { role: "analyst", now: "2026-11-21T08:30:00+02:00" }));
    expect(input).toEqual({
      agentId: "agent-1",
      action: { type: "sql", sql: "SELECT 1; DROP TABLE users" },
      context: { role: "analyst", now: "2026-11-21T08:30:00+02:00" },
      facts: {
        sql: {
          dialect: "any",
          statements: [
            { ordinal: 1, kind: "SELECT", tables: [], functions: [], where: null, writes: false, dialect: "postgres" },
            { ordinal: 2, kind: "DROP TABLE", tables: ["users"], functions: [], where: null, writes: true, dialect: "postgres" },
            { ordinal: 1, kind: "SELECT", tables: [], functions: [], where: null, writes: false, dialect: "sqlite" },
            { ordinal: 2, kind: "DROP TABLE", tables: ["users"], functions: [], where: null, writes: true, dialect: "sqlite" },
          ],
          readOnly: false,
        },
        clock: { minuteOfDayUtc: 390, weekdayUtc: 6 },
        costUsdTotal: 0,
        writes: true,
      },
    });
    expect(PolicyInputSchema.safeParse(input).success).toBe(true);
    const message = enrich({ agentId: "a", action: { type: "message", to: "bob", text: "hi" } });
    expect(message.facts).toEqual({ message: { recipientDomains: [], unparseableRecipient: true, pii: [] }, costUsdTotal: 0, writes: false });
    const transfer = enrich({ agentId: "a", action: { type: "transaction", amountUsd: 5, recipient: "acct" } });
    expect(Object.keys(transfer.facts)).toEqual(["costUsdTotal", "writes"]);
  });

  it("adds message facts (recipient domains, PII kinds) and keeps the text out of them", () => {
    const input = enrich({
      agentId: "a",
      action: { type: "message", to: "Eve <eve@Evil.Test>", text: "ssn 123-45-6789, mail bob@corp.io" },
      context: { now: "2026-11-21T08:30:00Z" },
    });
    expect(input.facts).toEqual({
      message: { recipientDomains: ["evil.test"], unparseableRecipient: false, pii: ["email", "ssn"] },
      clock: { minuteOfDayUtc: 510, weekdayUtc: 6 },
      costUsdTotal: 0,
      writes: false,
    });
    expect(Object.keys(input.facts)).toEqual(["message", "clock", "costUsdTotal", "writes"]);
    expect(JSON.stringify(input.facts)).not.toContain("6789");
    expect(PolicyInputSchema.safeParse(input).success).toBe(true);
  });

  it("leaves message facts out when an unvalidated message has no text, so the pii policy fails closed", () => {
    const input = toPolicyInput({ agentId: "a", action: { type: "message", to: "x@gmail.com" }, context: {} });
    expect(input.facts).not.toHaveProperty("message");
  });

  it("keeps the SQL text out of the facts and the key order stable", () => {
    const sql = "SELECT secret_marker FROM t";
    const input = enrich(sqlAction(sql, { now: "2026-11-21T08:30:00Z", costUsd: 1 }));
    expect(JSON.stringify(input.facts)).not.toContain("secret_marker");
    expect(Object.keys(input.facts)).toEqual(["sql", "clock", "costUsdTotal", "writes"]);
    expect(JSON.stringify(enrich(sqlAction(sql, { now: "2026-11-21T08:30:00Z", costUsd: 1 })))).toBe(JSON.stringify(input));
  });

  it("fails closed when a sql action without sql text reaches it unvalidated", () => {
    const input = toPolicyInput({ agentId: "a", action: { type: "sql" }, context: {} });
    expect(input.facts.sql).toEqual({ dialect: "any", statements: [], error: "action.sql is not a string", readOnly: false });
    expect(input.facts.writes).toBe(true);
  });
});
