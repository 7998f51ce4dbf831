import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agtSdkPeer, sdkEquivalentKernelOptions } from "../../bench/src/peers/agt-sdk.js";
import { floorDisagreement } from "../../bench/src/peers/predicate.js";
import { benchSetup } from "../../bench/src/setup.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { toPolicyInput } from "../../src/kernel/enrich.js";
import { ActionSchema, type PolicyInput } from "../../src/schemas.js";
import { actionArbitrary } from "../generators/actions.js";

// The bench's comparisons hold only if its peers decide what the kernel decides: the floor on all
// eight default policies, the agent-governance SDK on its three. Checked on the bench's own corpus
// and on generated actions, which reach corners the corpus does not (missing roles, budgets at
// the limit, wrapped clocks, unparseable SQL).
const setup = benchSetup();
const generated = fc.sample(actionArbitrary, { numRuns: 3000, seed: 2026 });

/**
 * Every limit of the configuration met exactly, one under and one over, for every role and none:
 * generated numbers rarely land on a limit, and `>` against `>=` differs only there.
 */
function boundaryActions(): unknown[] {
  const { cost, tools, transactions } = setup.config;
  const roles = [...new Set([...Object.keys(tools.allow), ...Object.keys(transactions.role_limits), "intern"]), undefined];
  const near = (n: number) => [n - 1, n, n + 1];
  const amounts = [transactions.approval_threshold_usd, transactions.default_limit_usd, ...Object.values(transactions.role_limits)].flatMap(near);
  const out: unknown[] = [];
  for (const role of roles) {
    for (const costUsd of near(cost.max_cost_usd)) {
      const context = { ...(role === undefined ? {} : { role }), costUsd, spentUsd: 0 };
      for (const amountUsd of amounts) out.push({ agentId: "a", action: { type: "transaction", amountUsd, recipient: "acme" }, context });
      for (const tool of [...new Set(Object.values(tools.allow).flat())]) out.push({ agentId: "a", action: { type: "tool_call", tool, args: {} }, context });
    }
  }
  return out;
}

const cases: { action: unknown; input: PolicyInput }[] = [
  ...setup.actions.map((action, i) => ({ action, input: setup.inputs[i]! })),
  ...[...generated, ...boundaryActions()].map((action) => ({ action, input: toPolicyInput(ActionSchema.parse(action)) })),
];

describe("the bench's peers decide like the kernel", () => {
  it("the hand-written floor: the same allowed and the same policy/rule names as the default kernel", async () => {
    const kernel = await createPolicyKernel();
    const differences: string[] = [];
    for (const { action, input } of cases) {
      const disagreement = floorDisagreement(await kernel.evaluateUntrusted(action), setup.predicate(input));
      if (disagreement !== undefined) differences.push(`${JSON.stringify(action)}: ${disagreement}`);
    }
    kernel.close();
    expect(differences.slice(0, 5)).toEqual([]);
    expect(cases.length).toBeGreaterThan(setup.actions.length + 3000);
  });

  it("the agent-governance SDK row: the same allowed as the kernel with tools, cost and transactions", async () => {
    const peer = await agtSdkPeer(setup.config);
    if ("error" in peer) throw new Error(peer.error);
    const kernel = await createPolicyKernel(sdkEquivalentKernelOptions());
    const differences: string[] = [];
    let denied = 0;
    for (const { action, input } of cases) {
      const decision = await kernel.evaluateUntrusted(action);
      if (!decision.allowed) denied++;
      if (decision.allowed !== peer.evaluate(input)) differences.push(`${JSON.stringify(action)}: kernel ${decision.allowed} ${decision.violations.map((v) => v.rule).join(",")}`);
    }
    kernel.close();
    expect(differences.slice(0, 5)).toEqual([]);
    // Both outcomes are exercised, not one side only.
    expect(denied).toBeGreaterThan(cases.length / 10);
    expect(denied).toBeLessThan(cases.length - cases.length / 10);
  });
});
