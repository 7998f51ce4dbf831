import fc from "fast-check";
import { toPolicyInput } from "../../src/kernel/enrich.js";
import { ActionSchema, type PolicyInput } from "../../src/schemas.js";

const sqlText = fc.oneof(
  fc.constantFrom(
    "SELECT name FROM users WHERE id = 42",
    "DROP TABLE users",
    "DELETE FROM orders",
    "UPDATE users SET a = 1 WHERE id = 2",
    "SELECT 'DROP TABLE x' FROM t",
    "SELECT 1; TRUNCATE logs",
    "CREATE USER bob",
    "SELECT 'unterminated",
    "",
  ),
  fc.string({ maxLength: 80 }),
);

const context = fc.record(
  {
    role: fc.constantFrom("analyst", "support", "admin", "intern"),
    costUsd: fc.oneof(fc.integer({ min: 0, max: 150 }), fc.double({ min: 0, max: 150, noNaN: true, noDefaultInfinity: true })),
    spentUsd: fc.integer({ min: 0, max: 150 }),
    actionsInWindow: fc.integer({ min: 0, max: 60 }),
    readOnly: fc.boolean(),
    now: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 11, 31) }).map((ms) => new Date(ms).toISOString()),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  fc.record({ type: fc.constant("sql"), sql: sqlText }),
  fc.record({ type: fc.constant("tool_call"), tool: fc.constantFrom("sql_query", "issue_refund", "search_docs", "rm_rf"), args: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }) }),
  fc.record({ type: fc.constant("message"), to: fc.constantFrom("a@example.com", "x@gmail.com", "ops@eu.example.com"), text: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("ssn 123-45-6789", "card 4111111111111111", "mail bob@corp.io")) }),
  fc.record({ type: fc.constant("transaction"), amountUsd: fc.integer({ min: 0, max: 20_000 }), recipient: fc.constantFrom("acme", "globex") }),
  fc.record({ type: fc.constantFrom("browse", "shell"), url: fc.string({ maxLength: 20 }) }),
);

/** Valid actions of every type, allowed and denied, of roughly the size agents send. */
export const actionArbitrary = fc.record({ agentId: fc.constantFrom("agent-1", "agent-2"), action: body, context });

/** Anything at all, including malformed actions, for "never throws" properties. */
export const anyInputArbitrary = fc.oneof(actionArbitrary, fc.anything(), fc.record({ agentId: fc.string(), action: fc.anything(), context: fc.anything() }));

/** `numRuns` generated actions (seeded) as the kernel enriches them: what the Rego engine is evaluated on. */
export function policyInputs(numRuns: number, seed: number): PolicyInput[] {
  return fc.sample(actionArbitrary, { numRuns, seed }).map((action) => toPolicyInput(ActionSchema.parse(action)));
}
