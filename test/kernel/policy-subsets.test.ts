// A kernel running some of the policies computes only the facts and sends only the input paths
// those read: its decisions must be the whole kernel's, restricted to those policies.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { toPolicyInput, ALL_FACTS } from "../../src/kernel/enrich.js";
import {
  businessHoursPolicy,
  costControlPolicy,
  piiPolicy,
  rateLimitPolicy,
  readOnlyPolicy,
  sqlPolicy,
  toolsPolicy,
  transactionPolicy,
  type PolicySpec,
} from "../../src/kernel/policies.js";
import { ActionSchema, type Action, type Decision } from "../../src/schemas.js";
import { DEFAULT_ACTION_TYPES } from "../../src/kernel/action-types.js";
import { DEFAULT_TOOL_REGISTRY, carriedActions } from "../../src/kernel/tool-registry.js";
import { actionArbitrary } from "../generators/actions.js";
import { readBundle } from "../../src/engines/rego/bundle.js";
import { defaultBundlePath } from "../../src/kernel/defaults.js";
import { stockAggregate } from "../helpers/stock-aggregate.js";
import { buildDecision, toViolation } from "../../src/kernel/decision.js";
import { canonicalJson } from "../../src/canonical-json.js";
import type { PolicyFinding } from "../../src/schemas.js";

/** The native actions a registered tool call carries (none for any other action, or args that do not fit). */
function carried(action: Action): Action[] {
  const body = action.action as Record<string, unknown>;
  const mapping = action.action.type === "tool_call" ? DEFAULT_TOOL_REGISTRY[String(body["tool"])] : undefined;
  if (!mapping) return [];
  const result = carriedActions(String(body["tool"]), mapping, body["args"]);
  return result.ok ? result.actions.map((native) => ({ ...action, action: native })) : [];
}

const SUBSETS: Record<string, () => PolicySpec[]> = {
  "tools, cost, transactions": () => [toolsPolicy(), costControlPolicy(), transactionPolicy()],
  "read_only alone (JSON rules reading facts.writes)": () => [readOnlyPolicy()],
  "sql and read_only": () => [sqlPolicy(), readOnlyPolicy()],
  "pii and business_hours": () => [piiPolicy(), businessHoursPolicy()],
  "rate_limit and cost (no SQL, message or clock facts)": () => [rateLimitPolicy(), costControlPolicy()],
};

let whole: PolicyKernel;
beforeAll(async () => {
  whole = await createPolicyKernel();
});
afterAll(() => whole.close());

/** The whole kernel's decision restricted to `names` (kernel-raised violations always count). */
function restricted(decision: Decision, names: ReadonlySet<string>): Pick<Decision, "allowed" | "violations" | "signals"> {
  const { allowed, violations, signals } = buildDecision(decision.violations.filter((v) => v.source === "kernel" || names.has(v.policy)), decision.provenance);
  return { allowed, violations, signals };
}

describe("a kernel running some of the policies", () => {
  for (const [label, specs] of Object.entries(SUBSETS)) {
    it(`decides as the whole kernel restricted to them: ${label}, 2,000 generated actions`, async () => {
      const kernel = await createPolicyKernel({ policies: specs() });
      const names = new Set(kernel.policyNames);
      const actions = fc.sample(actionArbitrary, { numRuns: 2_000, seed: 53 });
      let violations = 0;
      for (const action of actions) {
        const decision = await kernel.evaluate(action);
        expect({ allowed: decision.allowed, violations: decision.violations, signals: decision.signals }).toEqual(restricted(await whole.evaluate(action), names));
        violations += decision.violations.filter((v) => v.source !== "kernel").length;
      }
      // The corpus reaches these policies (not only the kernel's own checks): the lists compared are not empty.
      expect(violations).toBeGreaterThan(20);
      kernel.close();
    });
  }
});

describe("the whole kernel, computing only the facts each action type's policies read", () => {
  // Which facts each type gets is test/kernel/fact-needs.test.ts; here, that leaving the others out changes no finding.
  it("finds what the stock SDK finds on every fact, on 3,000 generated actions", async () => {
    const bundle = readBundle(defaultBundlePath());
    const stock = await stockAggregate(bundle, bundle.data);
    const actions = fc.sample(actionArbitrary, { numRuns: 3_000, seed: 89 });
    const types = new Set<string>();
    let found = 0;
    for (const raw of actions) {
      const decision = await whole.evaluate(raw);
      const rego = decision.violations.filter((v) => v.source === "rego").map((v) => canonicalJson(v)).sort();
      const action = ActionSchema.parse(raw);
      // An undeclared type is denied before any policy runs; a registered tool is evaluated as itself and as what it carries.
      const inputs = DEFAULT_ACTION_TYPES.includes(action.action.type) ? [action, ...carried(action)] : [];
      const oracle = [...new Set(inputs.flatMap((a) => stock(toPolicyInput(a, ALL_FACTS)).map((json) => canonicalJson(toViolation(JSON.parse(json) as PolicyFinding, "rego")))))];
      expect(rego).toEqual(oracle.sort());
      found += rego.length;
      types.add(ActionSchema.parse(raw).action.type);
    }
    expect(found).toBeGreaterThan(500);
    expect([...types].sort()).toEqual(expect.arrayContaining(["message", "sql", "tool_call", "transaction"]));
  });
});

describe("toPolicyInput with fact needs", () => {
  const action = ActionSchema.parse({
    agentId: "a",
    action: { type: "sql", sql: "DELETE FROM users WHERE id = 1" },
    context: { now: "2026-11-21T10:30:00Z", costUsd: 2, spentUsd: 3 },
  });

  it("computes every fact by default", () => {
    const input = toPolicyInput(action);
    expect(Object.keys(input.facts).sort()).toEqual(["clock", "costUsdTotal", "sql", "writes"]);
    expect(input).toEqual(toPolicyInput(action, ALL_FACTS));
  });

  it("leaves out what is not needed, and takes unanalysed SQL as a write", () => {
    const input = toPolicyInput(action, { sql: false, message: false, clock: false });
    expect(input.facts).toEqual({ costUsdTotal: 5, writes: true });
    const select = ActionSchema.parse({ agentId: "a", action: { type: "sql", sql: "SELECT 1" }, context: {} });
    expect(toPolicyInput(select, { sql: false, message: false, clock: false }).facts.writes).toBe(true);
    expect(toPolicyInput(select).facts.writes).toBe(false);
  });
});
